//! The shapes a handler writes against, over real sockets on 127.0.0.1: the body as an
//! `AsyncRead`, the envelope given to `data`, replies that are valid by construction
//! and their named forms, domains compared without case, the queue id shared with
//! the `Received:` header, and the refused recipients in the session's outcome.

mod support;

use smtp_server::{
    Body, BodyError, Context, Decision, EnhancedCode, ForwardPath, Handler, Outcome, RcptParams,
    Reply, Server, Session, Transaction,
};
use std::sync::{Arc, Mutex};
use support::*;
use tokio::io::AsyncReadExt;

/// A recipient as `data` saw it: path and NOTIFY.
type Rcpt = (String, Option<String>);

#[derive(Default)]
struct Seen {
    /// Per message: sender, recipients, queue id, body.
    messages: Vec<(String, Vec<Rcpt>, String, Vec<u8>)>,
    /// The io::Error kinds and inner BodyErrors of aborted bodies.
    aborted: Vec<(std::io::ErrorKind, Option<BodyError>)>,
    outcomes: Vec<Outcome>,
    /// `Context::queue_id` as each RCPT saw it.
    rcpt_ids: Vec<Option<String>>,
    /// `Context::queue_id` as `close` saw it.
    close_ids: Vec<Option<String>>,
}

#[derive(Clone, Default)]
struct Api(Arc<Mutex<Seen>>);
struct ApiSession(Arc<Mutex<Seen>>);

impl Handler for Api {
    type Session = ApiSession;
    async fn connect(&self, _: &Context) -> Result<ApiSession, Reply> {
        Ok(ApiSession(self.0.clone()))
    }
}

impl Session for ApiSession {
    async fn rcpt(&mut self, ctx: &Context, to: &ForwardPath, _: &RcptParams) -> Decision {
        // The queue id exists from the accepted MAIL on.
        let id = ctx.queue_id().map(str::to_owned);
        self.0.lock().unwrap().rcpt_ids.push(id);
        // The bare <Postmaster>; postmaster@ another domain is not ours to take.
        let Some(m) = to.mailbox() else {
            return Decision::Accept;
        };
        if !m.domain().is_some_and(|d| d.is_within("example.test")) {
            return Decision::policy_refusal();
        }
        match m.local_part().as_str() {
            "unknown" => Decision::unknown_user(),
            "full" => Decision::mailbox_full(),
            "grey" => Decision::greylisted(),
            "broken" => Decision::temporary_failure(),
            "custom" => Decision::Reply(
                Reply::policy_refusal()
                    .with_message("Not from your network")
                    .unwrap(),
            ),
            _ => Decision::Accept,
        }
    }

    async fn data(&mut self, ctx: &Context, env: &Transaction, body: &mut Body<'_>) -> Decision {
        // The first piece by `next` (our Received: header), the rest as an AsyncRead.
        let mut all = match body.next().await {
            Ok(Some(first)) => first.to_vec(),
            _ => Vec::new(),
        };
        if let Err(e) = body.read_to_end(&mut all).await {
            let inner = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<BodyError>())
                .copied();
            self.0.lock().unwrap().aborted.push((e.kind(), inner));
            return Decision::Accept; // ignored: the core has answered
        }
        let rcpts = env
            .recipients
            .iter()
            .map(|r| {
                let notify = r.params.notify.as_ref().map(|n| format!("{n:?}"));
                (r.to_string(), notify)
            })
            .collect();
        let id = ctx.queue_id().unwrap().to_owned();
        let text = format!("Ok: queued as {id}");
        self.0
            .lock()
            .unwrap()
            .messages
            .push((env.from.to_string(), rcpts, id, all));
        Decision::reply(250, EnhancedCode::OK, &text).unwrap()
    }

    fn close(&mut self, ctx: &Context, outcome: &Outcome) {
        let mut seen = self.0.lock().unwrap();
        seen.close_ids.push(ctx.queue_id().map(str::to_owned));
        seen.outcomes.push(outcome.clone());
    }
}

async fn serve(api: &Api, dsn: bool) -> (Running, Raw) {
    let mut o = options();
    o.dsn = dsn;
    o.max_recipients = 3;
    let srv =
        start(Server::builder(o, api.clone()).listener(smtp_server::Listener::starttls(local())))
            .await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    (srv, c)
}

#[tokio::test]
async fn data_gets_the_envelope_and_reads_the_body_as_async_read() {
    let api = Api::default();
    let (srv, mut c) = serve(&api, true).await;
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    let r = c
        .cmd("RCPT TO:<b@example.test> NOTIFY=SUCCESS,FAILURE")
        .await;
    assert!(r.starts_with("250"), "{r}");
    assert!(
        c.cmd("RCPT TO:<C@Mail.EXAMPLE.test>")
            .await
            .starts_with("250")
    );
    assert!(c.cmd("DATA").await.starts_with("354"));
    let body = format!(
        "Subject: big\r\n\r\n{}..dot\r\n.\r\n",
        "x".repeat(70_000) + "\r\n"
    );
    c.send_bytes(body.as_bytes()).await;
    let reply = c.reply().await.unwrap();
    c.cmd("QUIT").await;
    assert!(c.closed().await);
    srv.shutdown().await;

    let seen = api.0.lock().unwrap();
    let (from, rcpts, id, all) = &seen.messages[0];
    assert_eq!(from, "<a@x.test>");
    assert_eq!(rcpts[0].0, "<b@example.test>");
    assert!(
        rcpts[0].1.as_deref().unwrap().contains("success: true"),
        "{rcpts:?}"
    );
    assert_eq!(rcpts[1], ("<C@Mail.EXAMPLE.test>".to_owned(), None));
    // The reply names the queue id, and so does the Received: header.
    assert_eq!(reply, format!("250 2.0.0 Ok: queued as {id}\r\n"));
    let m = String::from_utf8(all.clone()).unwrap();
    let received = &m[..m.find(";\r\n").unwrap()];
    assert!(received.contains(&format!(" id {id}")), "{received}");
    assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    // Nothing lost or added between next() and the AsyncRead, dots unstuffed.
    let expected = format!(
        "Subject: big\r\n\r\n{}.dot\r\n",
        "x".repeat(70_000) + "\r\n"
    );
    assert!(m.ends_with(&expected), "{} bytes", m.len());
    assert_eq!(seen.outcomes[0].accepted, 1);
    assert_eq!(seen.outcomes[0].refused_recipients, 0);
    // One id from MAIL to the end of the message, and none once it is over.
    assert_eq!(seen.rcpt_ids, vec![Some(id.clone()), Some(id.clone())]);
    assert_eq!(seen.close_ids, vec![None]);
}

#[tokio::test]
async fn an_aborted_body_is_an_io_error_carrying_the_body_error() {
    let api = Api::default();
    let (srv, mut c) = serve(&api, false).await;
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<b@example.test>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send_bytes(b"Subject: x\r\n\r\nbare\nLF\r\n.\r\n").await;
    let r = c.reply().await.unwrap();
    assert!(r.starts_with("550 5.5.2"), "{r}");
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let seen = api.0.lock().unwrap();
    assert!(seen.messages.is_empty());
    let (kind, inner) = seen.aborted[0];
    assert_eq!(kind, std::io::ErrorKind::InvalidData);
    assert!(matches!(inner, Some(BodyError::Aborted(_))), "{inner:?}");
}

#[tokio::test]
async fn named_replies_reach_the_client_and_every_refused_rcpt_is_counted() {
    let api = Api::default();
    let (srv, mut c) = serve(&api, false).await;
    // Refused by the session itself: RCPT before MAIL, bad syntax.
    assert!(c.cmd("RCPT TO:<b@example.test>").await.starts_with("503"));
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<b@@example.test>").await.starts_with("501"));
    // Refused by the handler, with the named replies.
    for (to, want) in [
        ("unknown@example.test", "550 5.1.1 No such user here\r\n"),
        (
            "full@example.test",
            "452 4.2.2 Mailbox full, try again later\r\n",
        ),
        (
            "grey@example.test",
            "451 4.7.1 Greylisted, try again later\r\n",
        ),
        (
            "broken@example.test",
            "451 4.3.0 Temporary failure, try again later\r\n",
        ),
        ("custom@example.test", "550 5.7.1 Not from your network\r\n"),
        ("b@elsewhere.test", "550 5.7.1 Refused by policy\r\n"),
        // Not below example.test, whatever its ending.
        ("b@badexample.test", "550 5.7.1 Refused by policy\r\n"),
    ] {
        assert_eq!(c.cmd(&format!("RCPT TO:<{to}>")).await, want, "{to}");
    }
    // Domains compare without case; the bare <Postmaster> is always taken, the
    // postmaster of a domain not ours is not.
    assert!(c.cmd("RCPT TO:<b@EXAMPLE.Test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<Postmaster>").await.starts_with("250"));
    assert!(
        c.cmd("RCPT TO:<postmaster@other.test>")
            .await
            .starts_with("550 5.7.1")
    );
    assert!(c.cmd("RCPT TO:<c@example.test>").await.starts_with("250"));
    // Past max_recipients (3): refused by the session.
    assert!(c.cmd("RCPT TO:<d@example.test>").await.starts_with("452"));
    c.cmd("QUIT").await;
    assert!(c.closed().await);
    srv.shutdown().await;
    let seen = api.0.lock().unwrap();
    assert_eq!(seen.outcomes[0].refused_recipients, 2 + 7 + 1 + 1);
    assert_eq!(seen.outcomes[0].accepted, 0);
}
