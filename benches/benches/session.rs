//! Server session throughput: whole pipelined transactions (EHLO once, then MAIL, RCPT,
//! DATA, a 4 KiB body, end of data) through `ServerSession` with every decision accepted.
//!
//! `cargo bench -p smtp-benches --bench session`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtp_benches::wire_body;
use smtp_proto::{Output, ServerOptions, ServerSession, TransportSecurity};
use std::hint::black_box;
use std::sync::Arc;

fn session(c: &mut Criterion) {
    let mut tx =
        b"MAIL FROM:<sender@example.org>\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n".to_vec();
    tx.extend_from_slice(&wire_body(4096));
    let opts = Arc::new(ServerOptions::default());
    let mut g = c.benchmark_group("server session");
    g.throughput(Throughput::Elements(100));
    g.bench_function("100 messages of 4 KiB on one connection", |b| {
        b.iter(|| {
            let mut s = ServerSession::new(opts.clone(), TransportSecurity::Plain);
            s.feed(b"EHLO client.example.org\r\n");
            let mut sent = 0usize;
            let mut left = 100;
            loop {
                match s.poll().unwrap() {
                    Output::Transmit(b) => sent += b.len(),
                    Output::Event(_) => {
                        let _ = s.accept();
                    }
                    Output::NeedInput if left > 0 => {
                        s.feed(&tx);
                        left -= 1;
                    }
                    Output::NeedInput => break,
                    _ => break,
                }
            }
            black_box(sent)
        })
    });
    g.finish();
}

criterion_group!(benches, session);
criterion_main!(benches);
