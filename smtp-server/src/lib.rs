//! # smtp-server
//!
//! The tokio + rustls binding of the `smtp-proto` server state machine. Not built yet:
//! this crate is a placeholder in the workspace until its issue lands, and only
//! re-exports the protocol core.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use smtp_proto as proto;
