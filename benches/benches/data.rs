//! DATA body throughput: decoding (dot-unstuffing and line-ending validation of every
//! line, fed in 64 KiB reads as a socket would deliver them) and the client's encoding
//! (dot-stuffing, CRLF checked, in 64 KiB pieces).
//!
//! `cargo bench -p smtp-benches --bench data`; compare with the `memcpy` line.

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtp_benches::wire_body;
use smtp_proto::framing::stuff::{BareEndingsOut, DotStuffer};
use smtp_proto::{BareLineEndings, BodyStep, DotDecoder};
use std::hint::black_box;

fn data(c: &mut Criterion) {
    let body = wire_body(4 << 20);
    let mut g = c.benchmark_group("data");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("DotDecoder, 64 KiB reads", |b| {
        let mut buf = BytesMut::with_capacity(128 << 10);
        b.iter(|| {
            let mut d = DotDecoder::new(BareLineEndings::Reject);
            let mut n = 0usize;
            'outer: for read in body.chunks(64 << 10) {
                buf.extend_from_slice(read);
                loop {
                    match d.decode(&mut buf) {
                        BodyStep::Chunk(c) => n += c.len(),
                        BodyStep::NeedInput => break,
                        BodyStep::End => break 'outer,
                    }
                }
            }
            buf.clear();
            black_box(n)
        })
    });
    g.bench_function(
        "DotStuffer (the client's DATA encoding), 64 KiB pieces",
        |b| {
            let content = &body[..body.len() - 3];
            let mut out = BytesMut::with_capacity(128 << 10);
            b.iter(|| {
                let mut s = DotStuffer::new(true, BareEndingsOut::Refuse);
                let mut n = 0usize;
                for piece in content.chunks(64 << 10) {
                    s.encode(piece, &mut out).unwrap();
                    n += out.split().len();
                }
                s.finish(&mut out).unwrap();
                n += out.split().len();
                black_box(n)
            })
        },
    );
    g.bench_function("memcpy of the same reads", |b| {
        let mut buf = BytesMut::with_capacity(128 << 10);
        b.iter(|| {
            let mut n = 0usize;
            for read in body.chunks(64 << 10) {
                buf.extend_from_slice(read);
                n += buf.split().len();
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, data);
criterion_main!(benches);
