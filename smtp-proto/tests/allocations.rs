//! A typical command or reply is decoded without touching the heap: values are held
//! inline, and the decoders reuse their buffers. Counted with an instrumented global
//! allocator.

use bytes::BytesMut;
use smtp_proto::{CommandDecoder, ReplyDecoder};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use std::alloc::System;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Allocations (and reallocations) made while `f` runs. The counter is global: this
/// file holds one test so that nothing else runs beside it.
fn allocations_during(f: impl FnOnce()) -> usize {
    let region = Region::new(GLOBAL);
    f();
    let c = region.change();
    c.allocations + c.reallocations
}

const COMMANDS: &[&str] = &[
    "EHLO client.example.org\r\n",
    "MAIL FROM:<sender.name@example.org> SIZE=12345 BODY=8BITMIME\r\n",
    "MAIL FROM:<> RET=HDRS ENVID=QQ314159\r\n",
    "RCPT TO:<recipient.one@example.com>\r\n",
    "RCPT TO:<\"quoted local\"@example.net> NOTIFY=SUCCESS,FAILURE\r\n",
    "RCPT TO:<Postmaster>\r\n",
    "RCPT TO:<user@[192.0.2.10]>\r\n",
    "DATA\r\n",
    "BDAT 65536 LAST\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "STARTTLS\r\n",
    "QUIT\r\n",
];

#[test]
fn typical_commands_and_replies_decode_without_allocating() {
    commands();
    one_line_replies();
}

fn commands() {
    let mut decoder = CommandDecoder::default();
    for line in COMMANDS {
        let mut buf = BytesMut::from(line.as_bytes());
        let mut cmd = None;
        let n = allocations_during(|| cmd = Some(decoder.decode(&mut buf)));
        let cmd = cmd.unwrap().unwrap().unwrap();
        assert_eq!(n, 0, "{line:?} took {n} allocations ({cmd:?})");
    }
}

fn one_line_replies() {
    let mut decoder = ReplyDecoder::default();
    // The first reply may size the decoder's buffers; the next ones reuse them.
    let mut warm = BytesMut::from(&b"220 mx.example.com ESMTP ready\r\n"[..]);
    decoder.decode(&mut warm).unwrap().unwrap();
    // A text of up to 38 octets is held inline; a longer one takes one allocation.
    for line in [
        "250 2.1.0 Sender ok\r\n",
        "250 2.1.5 Recipient ok\r\n",
        "354 End data with <CR><LF>.<CR><LF>\r\n",
        "250 2.0.0 Ok: queued as 4Zk1Jd3f0Wz9vBT\r\n",
        "550 5.1.1 No such user here\r\n",
        "221 2.0.0 Bye\r\n",
    ] {
        let mut buf = BytesMut::from(line.as_bytes());
        let mut reply = None;
        let n = allocations_during(|| reply = Some(decoder.decode(&mut buf)));
        let reply = reply.unwrap().unwrap().unwrap();
        assert_eq!(n, 0, "{line:?} took {n} allocations ({reply:?})");
        drop(reply);
    }
}
