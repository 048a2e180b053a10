//! Chunk-boundary independence of the binding: however the server's replies are cut
//! into reads, the client sends the same bytes and reports the same delivery.

mod support;

use proptest::prelude::*;
use smtp_client::{Connection, Envelope, TlsPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SCRIPT: &[(&str, &str)] = &[
    ("", "220 mx.test ESMTP ready\r\n"),
    (
        "\r\n",
        "250-mx.test greets you\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 8BITMIME\r\n",
    ),
    (
        "DATA\r\n",
        "250 2.1.0 ok\r\n250 2.1.5 ok\r\n450-4.2.1 busy\r\n450 4.2.1 try later\r\n354 go\r\n",
    ),
    ("\r\n.\r\n", "250-2.0.0 queued\r\n250 2.0.0 as X1\r\n"),
    ("QUIT\r\n", "221 2.0.0 bye\r\n"),
];

/// Runs one session with the server's replies cut at `cuts` (offsets into each reply).
fn session(cuts: &[usize]) -> (String, Vec<Option<u16>>, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client_io, mut server_io) = tokio::io::duplex(64);
        let cuts = cuts.to_vec();
        let server = tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut cut = cuts.into_iter();
            for (expect, reply) in SCRIPT {
                while !expect.is_empty() && !seen.ends_with(expect.as_bytes()) {
                    let mut b = [0u8; 256];
                    let n = server_io.read(&mut b).await.unwrap();
                    assert!(n > 0, "client closed early");
                    seen.extend_from_slice(&b[..n]);
                }
                let mut rest = reply.as_bytes();
                while !rest.is_empty() {
                    let k = match cut.next() {
                        Some(c) => (c % rest.len()).max(1),
                        None => rest.len(),
                    };
                    server_io.write_all(&rest[..k]).await.unwrap();
                    server_io.flush().await.unwrap();
                    tokio::task::yield_now().await;
                    rest = &rest[k..];
                }
            }
            String::from_utf8(seen).unwrap()
        });
        let mut o = support::client(&support::Ca::new(), TlsPolicy::None);
        o.hello_name = "client.test".into();
        let mut c = Connection::from_stream(client_io, "mx.test", o)
            .await
            .unwrap();
        let env =
            Envelope::new("<a@example.test>", ["<b@example.test>", "<c@example.test>"]).unwrap();
        let d = c.send(env, "Subject: x\n\nbody\n").await.unwrap();
        let codes = d
            .recipients
            .iter()
            .map(|r| r.reply.as_ref().map(|r| r.code().get()))
            .collect();
        let msg = d.message_reply().unwrap().to_string();
        c.quit().await.unwrap();
        (server.await.unwrap(), codes, msg)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_split_of_the_replies_gives_the_same_session(cuts in proptest::collection::vec(1usize..40, 0..30)) {
        let whole = session(&[]);
        let split = session(&cuts);
        prop_assert_eq!(&whole, &split);
        prop_assert_eq!(whole.1, vec![Some(250), Some(450)]);
    }
}
