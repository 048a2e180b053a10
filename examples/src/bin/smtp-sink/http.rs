//! `--http`: captured messages and the fault rules as JSON, for harnesses in any
//! language.
//!
//! Our API:
//!
//! | method and path | what |
//! |---|---|
//! | `GET /api/messages` | every message: id, envelope, size, TLS, AUTH identity, subject |
//! | `GET /api/messages/{id}` | one message (`latest` for the last): also its headers, text and the session transcript |
//! | `GET /api/messages/{id}/raw` | the message as received |
//! | `DELETE /api/messages/{id}`, `DELETE /api/messages` | delete one, or all (and the sessions) |
//! | `GET /api/wait?count=N&to=ADDR&timeout=SECS` | long poll: answers once N messages (to ADDR) are there, `408` after the timeout (default 10 s) |
//! | `GET /api/sessions` | sessions that ended: peer, TLS, outcome, transcript |
//! | `GET /api/faults`, `POST /api/faults` (rules, one per line), `DELETE /api/faults` | the fault rules, changed while the server runs |
//!
//! Mailpit's `/api/v1` message endpoints that its client libraries use, with its field
//! names: `GET /api/v1/messages` (`start`, `limit`), `DELETE /api/v1/messages` (all, or
//! `{"IDs": [...]}`), `GET /api/v1/message/{ID}` (`latest` too), `GET
//! /api/v1/message/{ID}/raw`, `GET /api/v1/message/{ID}/headers`, `GET
//! /api/v1/search?query=` and `DELETE /api/v1/search?query=` (terms `to:`, `from:`,
//! `subject:` and words, all must match), `GET /api/v1/info`. Not offered: tags, read
//! status (always unread), MIME parts, HTML, relaying, the web UI.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use smtp_server::testing::{Faults, Mailbox, Message};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Clone)]
struct Api {
    mailbox: Mailbox,
    faults: Faults,
}

type Params = Query<HashMap<String, String>>;

/// Binds `addr` and serves the API in a task; the address bound.
pub(crate) async fn serve(
    addr: SocketAddr,
    mailbox: Mailbox,
    faults: Faults,
) -> Result<SocketAddr, String> {
    let app = Router::new()
        .route("/api/messages", get(list).delete(delete_all))
        .route("/api/messages/{id}", get(one).delete(delete_one))
        .route("/api/messages/{id}/raw", get(raw))
        .route("/api/wait", get(wait))
        .route("/api/sessions", get(sessions))
        .route(
            "/api/faults",
            get(rules).post(add_rules).delete(clear_rules),
        )
        .route("/api/v1/messages", get(mp_list).delete(mp_delete))
        .route("/api/v1/message/{id}", get(mp_message))
        .route("/api/v1/message/{id}/raw", get(raw))
        .route("/api/v1/message/{id}/headers", get(mp_headers))
        .route("/api/v1/search", get(mp_search).delete(mp_search_delete))
        .route("/api/v1/info", get(mp_info))
        .with_state(Api { mailbox, faults });
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--http {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP API stopped");
        }
    });
    Ok(bound)
}

fn not_found(id: &str) -> Response {
    let body = json!({ "error": format!("no message {id}") });
    (StatusCode::NOT_FOUND, axum::Json(body)).into_response()
}

/// The message `id` (`latest`: the last one).
fn find(api: &Api, id: &str) -> Option<Message> {
    let all = api.mailbox.messages();
    if id == "latest" {
        return all.last().cloned();
    }
    all.into_iter().find(|m| m.id == id)
}

fn iso(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Our summary of a message.
fn summary(m: &Message) -> Value {
    json!({
        "id": m.id,
        "from": m.from_address(),
        "to": m.to(),
        "size": m.data.len(),
        "subject": m.header("subject"),
        "received": iso(m.received),
        "peer": m.peer.to_string(),
        "helo": m.hello.as_ref().map(|(_, h)| h.to_string()),
        "auth": m.auth,
        "tls": m.tls.as_ref().map(|t| json!({
            "version": t.info.version(),
            "cipher": t.info.cipher(),
            "key_exchange": t.key_exchange,
            "sni": t.info.sni(),
            "starttls": t.starttls,
        })),
    })
}

async fn list(State(api): State<Api>) -> impl IntoResponse {
    let all: Vec<Value> = api.mailbox.messages().iter().map(summary).collect();
    axum::Json(json!({ "count": all.len(), "messages": all }))
}

async fn one(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(m) = find(&api, &id) else {
        return not_found(&id);
    };
    let mut v = summary(&m);
    v["headers"] = json!(m.headers());
    v["text"] = json!(m.body());
    v["transcript"] = json!(m.transcript.to_string().lines().collect::<Vec<_>>());
    v["recipients"] = json!(
        m.recipients
            .iter()
            .map(|r| json!({ "address": r.to_string().trim_matches(['<', '>']), "params": format!("{:?}", r.params) }))
            .collect::<Vec<_>>()
    );
    axum::Json(v).into_response()
}

async fn raw(State(api): State<Api>, Path(id): Path<String>) -> Response {
    match find(&api, &id) {
        Some(m) => ([(header::CONTENT_TYPE, "message/rfc822")], m.data).into_response(),
        None => not_found(&id),
    }
}

async fn delete_one(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let id = find(&api, &id).map_or(id, |m| m.id);
    if api.mailbox.remove(&id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        not_found(&id)
    }
}

async fn delete_all(State(api): State<Api>) -> StatusCode {
    api.mailbox.clear();
    StatusCode::NO_CONTENT
}

async fn wait(State(api): State<Api>, Query(q): Params) -> Response {
    let count: usize = q.get("count").and_then(|c| c.parse().ok()).unwrap_or(1);
    let secs = match q.get("timeout").map(|t| t.parse::<f64>()) {
        None => 10.0,
        Some(Ok(s)) if s.is_finite() && s >= 0.0 => s,
        Some(_) => {
            let body = json!({ "error": "timeout: a number of seconds, 0 to 600" });
            return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
        }
    };
    let to = q.get("to").map(|t| t.to_ascii_lowercase());
    let matching = |m: &Message| {
        to.as_ref()
            .is_none_or(|t| m.to().iter().any(|a| a.eq_ignore_ascii_case(t)))
    };
    let limit = Duration::from_secs_f64(secs.clamp(0.0, 600.0));
    let waited = api
        .mailbox
        .wait_for(
            |all| all.iter().filter(|m| matching(m)).count() >= count,
            limit,
        )
        .await;
    match waited {
        Ok(all) => {
            let found: Vec<Value> = all.iter().filter(|m| matching(m)).map(summary).collect();
            axum::Json(json!({ "count": found.len(), "messages": found })).into_response()
        }
        Err(e) => {
            let body = json!({ "error": e.to_string() });
            (StatusCode::REQUEST_TIMEOUT, axum::Json(body)).into_response()
        }
    }
}

async fn sessions(State(api): State<Api>) -> impl IntoResponse {
    let all: Vec<Value> = api
        .mailbox
        .sessions()
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "peer": s.peer.to_string(),
                "tls": s.tls.as_ref().map(|t| t.info.version()),
                "auth": s.auth,
                "accepted": s.outcome.accepted,
                "rejected": s.outcome.rejected,
                "error": s.outcome.error,
                "transcript": s.transcript.to_string().lines().collect::<Vec<_>>(),
            })
        })
        .collect();
    axum::Json(json!({ "count": all.len(), "sessions": all }))
}

fn rule_list(api: &Api) -> Value {
    let rules: Vec<String> = api.faults.rules().iter().map(|r| r.to_string()).collect();
    json!({ "rules": rules })
}

async fn rules(State(api): State<Api>) -> impl IntoResponse {
    axum::Json(rule_list(&api))
}

/// Rules, one per line; all are checked before any is added.
async fn add_rules(State(api): State<Api>, body: String) -> Response {
    let mut parsed = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.parse() {
            Ok(rule) => parsed.push(rule),
            Err(e) => {
                let body = json!({ "error": format!("{line}: {e}") });
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
        }
    }
    for rule in parsed {
        api.faults.add(rule);
    }
    axum::Json(rule_list(&api)).into_response()
}

async fn clear_rules(State(api): State<Api>) -> impl IntoResponse {
    api.faults.clear();
    axum::Json(rule_list(&api))
}

// Mailpit's endpoints, with its field names.

/// `Name <address>` (or a bare address) as Mailpit's `{Name, Address}`.
fn mp_address(s: &str) -> Value {
    let s = s.trim();
    match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => json!({
            "Name": s[..i].trim().trim_matches('"'),
            "Address": &s[i + 1..s.len() - 1],
        }),
        _ => json!({ "Name": "", "Address": s }),
    }
}

fn mp_addresses(m: &Message, field: &str) -> Vec<Value> {
    m.header(field)
        .map(|v| {
            v.split(',')
                .filter(|a| !a.trim().is_empty())
                .map(mp_address)
                .collect()
        })
        .unwrap_or_default()
}

fn mp_summary(m: &Message) -> Value {
    let mut to = mp_addresses(m, "to");
    if to.is_empty() {
        to = m.to().iter().map(|a| mp_address(a)).collect();
    }
    let from = m
        .header("from")
        .map_or_else(|| mp_address(&m.from_address()), |f| mp_address(&f));
    let snippet: String = m.body().split_whitespace().collect::<Vec<_>>().join(" ");
    json!({
        "ID": m.id,
        "MessageID": m.header("message-id").unwrap_or_default().trim_matches(['<', '>']),
        "Read": false,
        "From": from,
        "To": to,
        "Cc": mp_addresses(m, "cc"),
        "Bcc": [],
        "ReplyTo": mp_addresses(m, "reply-to"),
        "Subject": m.header("subject").unwrap_or_default(),
        "Created": iso(m.received),
        "Tags": [],
        "Size": m.data.len(),
        "Attachments": 0,
        "Snippet": snippet.chars().take(250).collect::<String>(),
    })
}

/// Mailpit lists the newest first.
fn mp_page(all: Vec<Message>, total: usize, q: &HashMap<String, String>) -> Value {
    let start: usize = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit: usize = q.get("limit").and_then(|s| s.parse().ok()).unwrap_or(50);
    let page: Vec<Value> = all
        .iter()
        .rev()
        .skip(start)
        .take(limit)
        .map(mp_summary)
        .collect();
    json!({
        "total": total,
        "unread": total,
        "count": page.len(),
        "messages_count": all.len(),
        "messages_unread": all.len(),
        "start": start,
        "tags": [],
        "messages": page,
    })
}

async fn mp_list(State(api): State<Api>, Query(q): Params) -> impl IntoResponse {
    let all = api.mailbox.messages();
    let total = all.len();
    axum::Json(mp_page(all, total, &q))
}

/// All messages, or those of `{"IDs": [...]}` (the key in any case, as Mailpit's Go
/// decoder takes it).
async fn mp_delete(State(api): State<Api>, body: Bytes) -> Response {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
    let mut ids: Vec<String> = Vec::new();
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return bad(&e.to_string()),
        };
        let Some(fields) = v.as_object() else {
            return bad("a JSON object was expected");
        };
        if let Some((_, list)) = fields.iter().find(|(k, _)| k.eq_ignore_ascii_case("ids")) {
            let Some(list) = list.as_array() else {
                return bad("IDs: an array of message IDs was expected");
            };
            for id in list {
                let Some(id) = id.as_str() else {
                    return bad("IDs: an array of message IDs was expected");
                };
                ids.push(id.to_owned());
            }
        }
    }
    if ids.is_empty() {
        api.mailbox.clear();
    } else {
        for id in ids {
            api.mailbox.remove(&id);
        }
    }
    (StatusCode::OK, "ok").into_response()
}

async fn mp_message(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(m) = find(&api, &id) else {
        return not_found(&id);
    };
    let mut v = mp_summary(&m);
    v["ReturnPath"] = json!(m.from_address());
    v["Date"] = json!(iso(m.received));
    v["Text"] = json!(m.body());
    v["HTML"] = json!("");
    v["Inline"] = json!([]);
    v["Attachments"] = json!([]);
    axum::Json(v).into_response()
}

async fn mp_headers(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(m) = find(&api, &id) else {
        return not_found(&id);
    };
    let mut map: serde_json::Map<String, Value> = serde_json::Map::new();
    for (n, v) in m.headers() {
        let entry = map.entry(n).or_insert_with(|| json!([]));
        if let Some(a) = entry.as_array_mut() {
            a.push(json!(v));
        }
    }
    axum::Json(Value::Object(map)).into_response()
}

/// Mailpit's search terms: `to:`, `from:`, `subject:` and plain words (case ignored).
fn matches_query(m: &Message, query: &str) -> bool {
    query.split_whitespace().all(|term| {
        let term = term.to_lowercase();
        let has = |hay: &str| {
            hay.to_lowercase()
                .contains(term.split_once(':').map_or(&term[..], |(_, v)| v))
        };
        match term.split_once(':') {
            Some(("to", _)) => {
                m.to().iter().any(|a| has(a)) || m.header("to").is_some_and(|h| has(&h))
            }
            Some(("from", _)) => {
                has(&m.from_address()) || m.header("from").is_some_and(|h| has(&h))
            }
            Some(("subject", _)) => m.header("subject").is_some_and(|h| has(&h)),
            _ => has(&m.text()),
        }
    })
}

async fn mp_search(State(api): State<Api>, Query(q): Params) -> impl IntoResponse {
    let query = q.get("query").cloned().unwrap_or_default();
    let all = api.mailbox.messages();
    let total = all.len();
    let found: Vec<Message> = all
        .into_iter()
        .filter(|m| matches_query(m, &query))
        .collect();
    axum::Json(mp_page(found, total, &q))
}

async fn mp_search_delete(State(api): State<Api>, Query(q): Params) -> impl IntoResponse {
    let query = q.get("query").cloned().unwrap_or_default();
    for m in api.mailbox.messages() {
        if matches_query(&m, &query) {
            api.mailbox.remove(&m.id);
        }
    }
    (StatusCode::OK, "ok")
}

async fn mp_info(State(api): State<Api>) -> impl IntoResponse {
    let n = api.mailbox.messages().len();
    axum::Json(json!({
        "Version": concat!("smtp-sink ", env!("CARGO_PKG_VERSION")),
        "LatestVersion": "",
        "Database": "",
        "DatabaseSize": 0,
        "Messages": n,
        "Unread": n,
        "Tags": {},
        "RuntimeStats": {},
    }))
}
