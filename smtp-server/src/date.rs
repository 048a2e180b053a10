//! The RFC 5322 §3.3 `date-time` of the `Received:` header, in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// `Thu, 03 Dec 2026 17:08:48 +0000` for `t`.
pub(crate) fn rfc5322(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    smtp_proto::date::UtcDateTime::from_unix(secs).rfc5322()
}
