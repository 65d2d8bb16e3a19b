//! Parses a TLS config file and prints every finding, like `vespa-tls check --no-files`.
//!
//! ```sh
//! cargo run -q -p vespa-tls-config --example parse -- /etc/vespa/tls.json
//! ```
//! Exit status: 0 when the file is accepted without error-level findings, 1 when it is rejected
//! or has one, 2 when it cannot be read.

use std::process::ExitCode;

#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a command-line example"
)]
fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse <tls-config.json>");
        return ExitCode::from(2);
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("parse: error: {shown}: {e}");
            return ExitCode::from(2);
        }
    };
    match vespa_tls_config::parse_slice(&bytes) {
        Ok((options, diagnostics)) => {
            for finding in &diagnostics {
                println!("{shown}: {finding}");
            }
            let policies = options
                .authorized_peers
                .as_ref()
                .map_or(0, |p| p.policies().len());
            println!("{shown}: accepted ({policies} authorization policies)");
            if diagnostics.has_errors() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("parse: error: {shown}: {e}");
            ExitCode::from(1)
        }
    }
}
