//! The generated corpus: client command lines from whole sessions, EHLO replies in the
//! shapes real servers send, and a 1 MiB message as it crosses the wire.
//!
//! Everything comes from one fixed seed through [`Rng`], so every run (and every
//! machine) measures the same bytes.

/// xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
/// generators", 2016): eight lines, no dependency, and plenty for choosing words. Not for
/// anything that needs real randomness.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (the modulo bias is irrelevant at these sizes).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One element of `items`.
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16) as usize]))
            .collect()
    }
}

const FIRST: &[&str] = &[
    "anna", "ben", "carla", "david", "emma", "farid", "grace", "hiro", "ines", "jonas", "kate",
    "liam", "maria", "noah", "olga", "pierre", "quinn", "rosa", "sven", "tanya", "umar", "vera",
];
const LAST: &[&str] = &[
    "smith", "garcia", "mueller", "rossi", "kowalski", "tanaka", "dubois", "jensen", "silva",
    "okafor", "novak", "larsen", "nguyen", "schmidt", "moreau", "ivanova",
];
const ORG: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark-industries",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "aperture",
    "vandelay",
    "pied-piper",
    "massive-dynamic",
];
const TLD: &[&str] = &[
    "com", "org", "net", "co.uk", "de", "fr", "io", "com.au", "nl", "example",
];
const ROLE: &[&str] = &[
    "info", "sales", "support", "noreply", "billing", "hr", "admin", "jobs",
];
const UTF8_LOCAL: &[&str] = &[
    "jörg.müller",
    "δοκιμή",
    "用户",
    "почта",
    "josé.núñez",
    "ümit",
];
const MAILERS: &[&str] = &["mail", "mx1", "mx2", "smtp", "out", "relay", "mta-03", "o1"];
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn domain(r: &mut Rng) -> String {
    format!("{}.{}", r.pick(ORG), r.pick(TLD))
}

fn host(r: &mut Rng) -> String {
    format!("{}.{}", r.pick(MAILERS), domain(r))
}

fn ipv4(r: &mut Rng) -> String {
    // The documentation ranges (RFC 5737) and a private one, as NATed clients show.
    let net = r.pick(&["192.0.2", "198.51.100", "203.0.113", "10.20.30"]);
    format!("{net}.{}", r.range(1, 254))
}

/// An ordinary address: personal, role, VERP or SRS-rewritten, now and then quoted.
fn address(r: &mut Rng) -> String {
    let d = domain(r);
    let local = match r.below(100) {
        0..=54 => format!("{}.{}", r.pick(FIRST), r.pick(LAST)),
        55..=69 => r.pick(FIRST).to_string(),
        70..=79 => r.pick(ROLE).to_string(),
        80..=86 => format!(
            "{}+{}",
            r.pick(FIRST),
            r.pick(&["news", "shop", "git", "x1"])
        ),
        87..=92 => format!("bounce-{}-{}", r.range(10_000, 99_999_999), r.hex(8)),
        93..=98 => format!(
            "SRS0={}={}={}={}",
            r.hex(4),
            r.pick(&["Q2", "7X", "AB", "k9"]),
            domain(r),
            r.pick(FIRST)
        ),
        _ => format!("\"{} {}\"", r.pick(FIRST), r.pick(LAST)),
    };
    format!("{local}@{d}")
}

/// RFC 3461 §4 xtext: `+` and `=` and anything outside `!`..`~` as `+XX`.
fn xtext(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if (b'!'..=b'~').contains(&b) && b != b'+' && b != b'=' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("+{b:02X}"));
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// SIZE values spread over five orders of magnitude, as real traffic is.
fn size(r: &mut Rng) -> u64 {
    let scale = 10u64.pow(r.range(3, 7) as u32);
    r.range(scale / 2, scale * 3)
}

/// One transaction: MAIL, its RCPTs, then DATA or BDAT. `submission` adds what a
/// submission client sends (SMTPUTF8 addresses, DSN requests).
fn transaction(r: &mut Rng, out: &mut Vec<String>, submission: bool, chunking: bool) {
    let dsn = r.chance(if submission { 15 } else { 8 });
    let utf8 = submission && r.chance(8);
    let mut mail = if !submission && r.chance(7) {
        format!("MAIL FROM:<> SIZE={}", size(r))
    } else if utf8 {
        format!(
            "MAIL FROM:<{}@{}> SIZE={} BODY=8BITMIME SMTPUTF8",
            r.pick(UTF8_LOCAL),
            domain(r),
            size(r)
        )
    } else {
        let mut m = format!("MAIL FROM:<{}> SIZE={}", address(r), size(r));
        if r.chance(60) {
            m.push_str(" BODY=8BITMIME");
        }
        m
    };
    if dsn {
        let envid = format!("{}.{}@{}", r.hex(12), r.hex(6), host(r));
        mail.push_str(&format!(
            " RET={} ENVID={}",
            r.pick(&["HDRS", "FULL"]),
            xtext(&envid)
        ));
    }
    out.push(mail);
    // Mostly one or two recipients; a mailing list now and then.
    let rcpts = if r.chance(3) {
        r.range(10, 40)
    } else {
        r.range(1, 3)
    };
    for _ in 0..rcpts {
        let to = if r.chance(1) {
            "Postmaster".to_string()
        } else if utf8 && r.chance(50) {
            format!("{}@{}", r.pick(UTF8_LOCAL), domain(r))
        } else {
            address(r)
        };
        let mut rcpt = format!("RCPT TO:<{to}>");
        if dsn {
            let notify = r.pick(&[
                "SUCCESS,FAILURE",
                "FAILURE,DELAY",
                "NEVER",
                "SUCCESS,FAILURE,DELAY",
            ]);
            rcpt.push_str(&format!(" NOTIFY={notify}"));
            // ORCPT for a UTF-8 address needs RFC 6533's utf-8 form; clients rarely send it.
            if to.is_ascii() && to != "Postmaster" {
                rcpt.push_str(&format!(" ORCPT=rfc822;{}", xtext(&to)));
            }
        }
        out.push(rcpt);
    }
    if chunking && r.chance(60) {
        if r.chance(20) {
            out.push("BDAT 65536".to_string());
        }
        out.push(format!("BDAT {} LAST", r.range(400, 65_536)));
    } else {
        out.push("DATA".to_string());
    }
}

/// Server-to-server delivery on port 25: EHLO, usually STARTTLS, one or more
/// transactions.
fn mx_session(r: &mut Rng, out: &mut Vec<String>) {
    let client = if r.chance(5) {
        format!("[{}]", ipv4(r))
    } else {
        host(r)
    };
    out.push(format!("EHLO {client}"));
    if r.chance(80) {
        out.push("STARTTLS".to_string());
        out.push(format!("EHLO {client}"));
    }
    let chunking = r.chance(25);
    let n = if r.chance(15) { r.range(2, 4) } else { 1 };
    for i in 0..n {
        if i > 0 && r.chance(30) {
            out.push("RSET".to_string());
        }
        transaction(r, out, false, chunking);
    }
    if r.chance(5) {
        out.push("NOOP".to_string());
    }
    out.push("QUIT".to_string());
}

/// Submission on port 587 (STARTTLS) or 465 (TLS first): AUTH with an initial response.
fn submission_session(r: &mut Rng, out: &mut Vec<String>) {
    let client = match r.below(3) {
        0 => format!("[{}]", ipv4(r)),
        1 => format!("DESKTOP-{}", r.hex(7).to_ascii_uppercase()),
        _ => format!(
            "{}.{}",
            r.pick(&["laptop", "build-01", "app", "web3"]),
            domain(r)
        ),
    };
    out.push(format!("EHLO {client}"));
    if r.chance(60) {
        out.push("STARTTLS".to_string());
        out.push(format!("EHLO {client}"));
    }
    let user = format!("{}.{}@{}", r.pick(FIRST), r.pick(LAST), domain(r));
    let auth = match r.below(100) {
        0..=69 => {
            let password = r.hex(16);
            format!(
                "AUTH PLAIN {}",
                base64(format!("\0{user}\0{password}").as_bytes())
            )
        }
        70..=87 => format!("AUTH LOGIN {}", base64(user.as_bytes())),
        _ => {
            let token = format!("ya29.{}{}", r.hex(64), r.hex(64));
            let sasl = format!("user={user}\x01auth=Bearer {token}\x01\x01");
            format!("AUTH XOAUTH2 {}", base64(sasl.as_bytes()))
        }
    };
    out.push(auth);
    let chunking = r.chance(30);
    let n = if r.chance(10) { 2 } else { 1 };
    for i in 0..n {
        if i > 0 {
            out.push("RSET".to_string());
        }
        transaction(r, out, true, chunking);
    }
    out.push("QUIT".to_string());
}

/// An old client or a script: HELO and nothing else.
fn helo_session(r: &mut Rng, out: &mut Vec<String>) {
    out.push(format!("HELO {}", host(r)));
    out.push(format!("MAIL FROM:<{}>", address(r)));
    out.push(format!("RCPT TO:<{}>", address(r)));
    out.push("DATA".to_string());
    if r.chance(20) {
        out.push("NOOP".to_string());
    }
    out.push("QUIT".to_string());
}

/// Whole sessions, until `lines` command lines (without CRLF) are there.
pub fn commands(r: &mut Rng, lines: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(lines + 64);
    while out.len() < lines {
        match r.below(100) {
            0..=59 => mx_session(r, &mut out),
            60..=89 => submission_session(r, &mut out),
            _ => helo_session(r, &mut out),
        }
    }
    out
}

/// One EHLO reply with CRLFs, in the shape of Postfix, Exchange, Gmail, Exim or a newer
/// server announcing recent extensions.
fn ehlo_reply(r: &mut Rng) -> String {
    let client = ipv4(r);
    let tls = r.chance(50);
    let submission = r.chance(30);
    let mut lines: Vec<String> = Vec::new();
    let mut push = |cond: bool, s: &str| {
        if cond {
            lines.push(s.to_string());
        }
    };
    match r.below(100) {
        0..=39 => {
            let first = host(r);
            let size = format!("SIZE {}", r.pick(&["10240000", "52428800", "36700160"]));
            let vrfy = r.chance(40);
            let utf8 = r.chance(60);
            let legacy_auth = r.chance(30);
            push(true, &first);
            push(true, "PIPELINING");
            push(true, &size);
            push(vrfy, "VRFY");
            push(true, "ETRN");
            push(!tls, "STARTTLS");
            push(submission, "AUTH PLAIN LOGIN");
            push(submission && legacy_auth, "AUTH=PLAIN LOGIN");
            push(true, "ENHANCEDSTATUSCODES");
            push(true, "8BITMIME");
            push(true, "DSN");
            push(utf8, "SMTPUTF8");
            push(true, "CHUNKING");
        }
        40..=59 => {
            let first = format!(
                "{}{}.{}.prod.outlook.com Hello [{client}]",
                r.pick(&["AM0PR", "DB8PR", "BN8PR", "SY4PR"]),
                r.range(1, 99),
                r.pick(&["eurprd01", "eurprd04", "namprd12", "ausprd01"])
            );
            push(true, &first);
            push(true, "SIZE 157286400");
            push(true, "PIPELINING");
            push(true, "DSN");
            push(true, "ENHANCEDSTATUSCODES");
            push(!tls, "STARTTLS");
            push(submission, "AUTH LOGIN XOAUTH2");
            push(submission, "X-EXPS GSSAPI NTLM");
            push(true, "8BITMIME");
            push(true, "BINARYMIME");
            push(true, "CHUNKING");
            push(true, "SMTPUTF8");
            push(submission, "XRDST");
        }
        60..=74 => {
            let (first, size) = if submission {
                (
                    format!("smtp.gmail.com at your service, [{client}]"),
                    "SIZE 35882577",
                )
            } else {
                (
                    format!("mx.google.com at your service, [{client}]"),
                    "SIZE 157286400",
                )
            };
            push(true, &first);
            push(true, size);
            push(true, "8BITMIME");
            push(!tls, "STARTTLS");
            push(
                submission && tls,
                "AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH",
            );
            push(true, "ENHANCEDSTATUSCODES");
            push(true, "PIPELINING");
            push(true, "CHUNKING");
            push(true, "SMTPUTF8");
        }
        75..=89 => {
            let first = format!("{} Hello {} [{client}]", host(r), host(r));
            let pipe_connect = r.chance(30);
            push(true, &first);
            push(true, "SIZE 52428800");
            push(true, "8BITMIME");
            push(true, "PIPELINING");
            push(pipe_connect, "PIPE_CONNECT");
            push(submission, "AUTH PLAIN LOGIN CRAM-MD5");
            push(true, "CHUNKING");
            push(!tls, "STARTTLS");
            push(true, "PRDR");
            push(true, "HELP");
        }
        _ => {
            let first = format!("{} you had me at EHLO", host(r));
            let size = format!("SIZE {}", r.range(10, 100) * 1_048_576);
            push(true, &first);
            push(true, "8BITMIME");
            push(true, "BINARYMIME");
            push(true, "CHUNKING");
            push(true, "DELIVERBY 604800");
            push(true, "DSN");
            push(true, "ENHANCEDSTATUSCODES");
            push(true, "FUTURERELEASE 2592000 2026-12-31T23:59:59Z");
            push(true, "LIMITS RCPTMAX=100 MAILMAX=1000");
            push(true, "MT-PRIORITY MIXER");
            push(true, "PIPELINING");
            push(true, "REQUIRETLS");
            push(true, &size);
            push(true, "SMTPUTF8");
            push(!tls, "STARTTLS");
        }
    }
    let last = lines.len() - 1;
    let mut reply = String::new();
    for (i, l) in lines.iter().enumerate() {
        reply.push_str(if i == last { "250 " } else { "250-" });
        reply.push_str(l);
        reply.push_str("\r\n");
    }
    reply
}

/// `n` EHLO replies, each with its CRLFs.
pub fn ehlo_replies(r: &mut Rng, n: usize) -> Vec<String> {
    (0..n).map(|_| ehlo_reply(r)).collect()
}

/// A message of about `size` wire bytes: headers, a text part with the odd line that
/// starts with a period (dot-stuffed on the wire), then a base64 attachment. Every body
/// line is 76 characters (RFC 2045 §6.8's limit for base64). Returns the wire form
/// (ending in CRLF . CRLF) and the message as the receiver must see it.
pub fn message(r: &mut Rng, size: usize) -> (Vec<u8>, Vec<u8>) {
    let mut plain = String::new();
    let boundary = format!("=_{}", r.hex(24));
    for h in [
        format!("Received: from {} ([{}]) by {}", host(r), ipv4(r), host(r)),
        format!("From: {}", address(r)),
        format!("To: {}", address(r)),
        "Subject: Quarterly figures, as discussed".to_string(),
        format!("Message-ID: <{}@{}>", r.hex(20), host(r)),
        "MIME-Version: 1.0".to_string(),
        format!("Content-Type: multipart/mixed; boundary=\"{boundary}\""),
        String::new(),
        format!("--{boundary}"),
        "Content-Type: text/plain; charset=utf-8".to_string(),
        String::new(),
    ] {
        plain.push_str(&h);
        plain.push_str("\r\n");
    }
    const WORDS: &[&str] = &[
        "the",
        "figures",
        "for",
        "this",
        "quarter",
        "are",
        "attached",
        "and",
        "as",
        "we",
        "discussed",
        "on",
        "Tuesday",
        "margins",
        "improved",
        "in",
        "every",
        "region",
        "but",
        "one",
        "see",
        "table",
        "below",
        "for",
        "details",
        "regards",
    ];
    for i in 0..400 {
        let mut line = String::from(if i % 25 == 7 { "." } else { "" });
        while line.len() < 76 {
            line.push_str(r.pick(WORDS));
            line.push(' ');
        }
        line.truncate(76);
        plain.push_str(&line);
        plain.push_str("\r\n");
    }
    plain.push_str(&format!(
        "--{boundary}\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    ));
    let closing = format!("--{boundary}--\r\n");
    // Base64 lines never start with a period: the stuffed ones are all above.
    let stuffed = plain.matches("\r\n.").count();
    while plain.len() + stuffed + closing.len() + 3 + 78 <= size {
        let raw: Vec<u8> = (0..57).map(|_| r.below(256) as u8).collect();
        plain.push_str(&base64(&raw));
        plain.push_str("\r\n");
    }
    plain.push_str(&closing);
    // Dot-stuffing (RFC 5321 §4.5.2): a period at the start of a line gets another.
    let mut wire = Vec::with_capacity(size + 16);
    for line in plain.split_inclusive("\r\n") {
        if line.starts_with('.') {
            wire.push(b'.');
        }
        wire.extend_from_slice(line.as_bytes());
    }
    wire.extend_from_slice(b".\r\n");
    (wire, plain.into_bytes())
}
