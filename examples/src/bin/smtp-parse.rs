//! Reads SMTP command lines (CRLF or LF) from stdin and prints each parsed command, or
//! the reply a server would send for it.
//!
//! ```sh
//! printf 'MAIL FROM:<a@example.com> SIZE=10\r\n' | cargo run -p smtp-examples --bin smtp-parse
//! ```

use smtp_proto::{CommandDecoder, Limits, LineEndings};
use std::io::Read;

fn main() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("smtp-parse: reading stdin: {e}");
        std::process::exit(2);
    }
    let mut buf = bytes::BytesMut::from(&input[..]);
    let mut decoder =
        CommandDecoder::new(Limits::default()).with_line_endings(LineEndings::AllowBareLf);
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(cmd)) => println!("{cmd:?}"),
            Ok(None) => break,
            Err(e) => {
                let reply = e.reply();
                println!("error: {e} -> {reply}");
            }
        }
    }
    if !buf.is_empty() {
        println!("incomplete line left: {:?}", String::from_utf8_lossy(&buf));
    }
}
