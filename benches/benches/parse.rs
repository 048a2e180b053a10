//! Command and EHLO-reply parsing throughput.
//!
//! `cargo bench -p smtp-benches --bench parse` reports time per corpus pass; criterion's
//! throughput lines give commands/s (elements) and MB/s (bytes).

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smtp_benches::{COMMANDS, EHLO_REPLY};
use smtp_proto::{CommandDecoder, ReplyDecoder, decode_capabilities};
use std::hint::black_box;

fn commands(c: &mut Criterion) {
    let corpus: Vec<u8> = COMMANDS.concat().into_bytes();
    let mut g = c.benchmark_group("commands");
    g.throughput(Throughput::Elements(COMMANDS.len() as u64));
    g.bench_function("decode mixed corpus (elements)", |b| {
        let mut decoder = CommandDecoder::default();
        b.iter(|| {
            let mut buf = BytesMut::from(&corpus[..]);
            while let Some(cmd) = decoder.decode(&mut buf).unwrap() {
                black_box(cmd);
            }
        })
    });
    g.throughput(Throughput::Bytes(corpus.len() as u64));
    g.bench_function("decode mixed corpus (bytes)", |b| {
        let mut decoder = CommandDecoder::default();
        b.iter(|| {
            let mut buf = BytesMut::from(&corpus[..]);
            while let Some(cmd) = decoder.decode(&mut buf).unwrap() {
                black_box(cmd);
            }
        })
    });
    g.finish();
}

fn ehlo(c: &mut Criterion) {
    let mut g = c.benchmark_group("ehlo reply");
    g.throughput(Throughput::Bytes(EHLO_REPLY.len() as u64));
    g.bench_function("decode + capabilities", |b| {
        let mut decoder = ReplyDecoder::default();
        b.iter(|| {
            let mut buf = BytesMut::from(EHLO_REPLY.as_bytes());
            let reply = decoder.decode(&mut buf).unwrap().unwrap();
            black_box(decode_capabilities(&reply).unwrap())
        })
    });
    g.finish();
}

/// Each corpus line alone, parsed from a complete line (no framing): shows which
/// grammar paths cost what.
fn per_line(c: &mut Criterion) {
    let mut g = c.benchmark_group("per line");
    let opts = smtp_proto::ParseOptions::default().with_smtputf8(true);
    for line in COMMANDS {
        let bytes = bytes::Bytes::copy_from_slice(line.trim_end().as_bytes());
        let name: String = line.trim_end().chars().take(24).collect();
        g.bench_function(name, |b| {
            b.iter(|| black_box(smtp_proto::decode_command(black_box(&bytes), &opts).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, commands, ehlo, per_line);
criterion_main!(benches);
