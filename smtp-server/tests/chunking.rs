//! The binding does not depend on how the client's bytes are cut into reads: any split
//! of a pipelined session gives the same replies and the same message.

mod support;

use proptest::prelude::*;
use smtp_server::ListenerKind;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SESSION: &[u8] = b"EHLO c.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n\
RCPT TO:<reject@y.test>\r\nDATA\r\nSubject: s\r\n\r\n..dotted\r\nline\r\n.\r\n\
MAIL FROM:<c@x.test>\r\nRCPT TO:<d@y.test>\r\nDATA\r\nsecond\r\n.\r\nQUIT\r\n";

/// Runs SESSION cut at `cuts`; returns what the server wrote and the messages, with the
/// Received headers' variable date and id taken out.
fn run(cuts: Vec<usize>) -> (String, Vec<String>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let pki = Pki::localhost();
        let rec = Recorder::default();
        let server = builder(&rec, &pki, options())
            .received_header(false)
            .bind()
            .await
            .unwrap();
        let (mut client, server_end) = tokio::io::duplex(1 << 16);
        let task = tokio::spawn(async move {
            let a = "127.0.0.1:2525".parse().unwrap();
            server
                .serve_connection(server_end, a, a, ListenerKind::StartTls)
                .await;
        });
        let mut at = 0;
        let mut cuts = cuts;
        cuts.sort_unstable();
        for c in cuts.into_iter().chain([SESSION.len()]) {
            let c = c.min(SESSION.len());
            if c > at {
                client.write_all(&SESSION[at..c]).await.unwrap();
                client.flush().await.unwrap();
                tokio::task::yield_now().await;
                at = c;
            }
        }
        let mut out = Vec::new();
        client.read_to_end(&mut out).await.unwrap();
        task.await.unwrap();
        let msgs = rec
            .messages()
            .into_iter()
            .map(|m| String::from_utf8(m).unwrap())
            .collect();
        (String::from_utf8(out).unwrap(), msgs)
    })
}

#[test]
fn whole_session_in_one_write() {
    let (out, msgs) = run(vec![]);
    assert!(
        out.ends_with("250 2.0.0 Queued as TEST1\r\n221 2.0.0 Bye\r\n"),
        "{out}"
    );
    assert_eq!(
        msgs,
        vec!["Subject: s\r\n\r\n.dotted\r\nline\r\n", "second\r\n"]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_split_gives_the_same_session(cuts in proptest::collection::vec(0..SESSION.len(), 0..12)) {
        let whole = run(vec![]);
        prop_assert_eq!(run(cuts), whole);
    }

    #[test]
    fn byte_by_byte_near_the_end_of_data(start in 100..SESSION.len()) {
        let cuts: Vec<usize> = (start..SESSION.len()).collect();
        prop_assert_eq!(run(cuts), run(vec![]));
    }
}
