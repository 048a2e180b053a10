//! Runnable example programs of the SMTP toolkit (`smtp-sink`, `smtp-send`,
//! `smtp-tls-check` arrive with their issue). For now the package holds `smtp-parse`, a
//! small filter that parses SMTP command lines from stdin and prints what they mean.

#![forbid(unsafe_code)]
