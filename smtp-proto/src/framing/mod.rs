//! Framing: splitting a byte stream into protocol units before anything is parsed.
//!
//! Only this module looks for line ends. It enforces CRLF, the length limits, and what
//! happens to a malformed line, so no parser ever sees a partial or over-long line.

pub mod data;
pub mod line;
pub mod stuff;
