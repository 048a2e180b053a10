//! Benchmark corpora shared by the criterion benches in `benches/benches/`.

#![forbid(unsafe_code)]

/// A mixed corpus of client command lines, as a real submission session sends them.
pub const COMMANDS: &[&str] = &[
    "EHLO client.example.org\r\n",
    "MAIL FROM:<sender.name@example.org> SIZE=12345 BODY=8BITMIME\r\n",
    "RCPT TO:<recipient.one@example.com>\r\n",
    "RCPT TO:<\"quoted local\"@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+2By@example.net\r\n",
    "RCPT TO:<Postmaster>\r\n",
    "DATA\r\n",
    "BDAT 65536 LAST\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "MAIL FROM:<> RET=HDRS ENVID=QQ314159\r\n",
    "RCPT TO:<user@[192.0.2.10]>\r\n",
    "AUTH PLAIN AHVzZXIAcGFzc3dvcmQ=\r\n",
    "STARTTLS\r\n",
    "QUIT\r\n",
];

/// A typical EHLO reply of a submission server.
pub const EHLO_REPLY: &str = "250-mx.example.com Hello client.example.org [192.0.2.1]\r\n\
250-SIZE 52428800\r\n\
250-8BITMIME\r\n\
250-PIPELINING\r\n\
250-CHUNKING\r\n\
250-SMTPUTF8\r\n\
250-AUTH PLAIN LOGIN XOAUTH2\r\n\
250-ENHANCEDSTATUSCODES\r\n\
250-DSN\r\n\
250-REQUIRETLS\r\n\
250-LIMITS RCPTMAX=100 MAILMAX=1000\r\n\
250 STARTTLS\r\n";

/// A message body of about `size` bytes in 78-character CRLF lines, dot-stuffed as on
/// the wire, ending in `CRLF . CRLF`.
pub fn wire_body(size: usize) -> Vec<u8> {
    let line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempo\r\n";
    let mut body = Vec::with_capacity(size + 128);
    let mut n = 0;
    while body.len() < size {
        if n % 50 == 0 {
            body.extend_from_slice(b"..a dot-stuffed line\r\n");
        }
        body.extend_from_slice(line);
        n += 1;
    }
    body.extend_from_slice(b".\r\n");
    body
}
