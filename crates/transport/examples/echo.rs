//! A mixed-mode echo server and client configured only by the `VESPA_TLS_*` variables.
//!
//! ```sh
//! # TLS off (no VESPA_TLS_CONFIG_FILE): plaintext.
//! cargo run -p vespa-tls-transport --example echo -- server 127.0.0.1:4080
//! cargo run -p vespa-tls-transport --example echo -- client 127.0.0.1:4080 localhost "hello"
//!
//! # Phase 2 of a rollout: TLS clients, a server that still takes plaintext.
//! export VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json
//! export VESPA_TLS_INSECURE_MIXED_MODE=tls_client_mixed_server
//! cargo run -p vespa-tls-transport --example echo -- server 127.0.0.1:4080
//! ```
//! The server prints one line per connection: the peer, TLS or plaintext, and capabilities.
//!
//! The accept loop is written out on purpose: it is the one a service writes with the published
//! crates. Tests and benchmarks use the (unpublished) testkit's `Server` instead.

use std::net::SocketAddr;
use std::process::ExitCode;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use vespa_tls_authz::CapabilitySet;
use vespa_tls_context::ReloadOptions;
use vespa_tls_transport::{ConnectionSecurity, VespaTls};

#[expect(clippy::print_stderr, reason = "a command-line example")]
#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["server", address] => server(address).await,
        ["client", address, host, message] => client(address, host, message).await,
        _ => {
            eprintln!("usage: echo server ADDR | echo client ADDR HOST MESSAGE");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo: error: {e}");
            ExitCode::from(1)
        }
    }
}

#[expect(clippy::print_stdout, reason = "a command-line example")]
async fn server(address: &str) -> Result<(), Box<dyn std::error::Error>> {
    let acceptor = VespaTls::from_env(ReloadOptions::default())?.acceptor();
    let listener = TcpListener::bind(address).await?;
    println!(
        "listening on {} ({:?})",
        listener.local_addr()?,
        acceptor.mixed_mode()
    );
    loop {
        let (socket, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let (mut stream, auth) = match acceptor.accept_tcp(socket).await {
                Ok(accepted) => accepted,
                Err(e) => {
                    println!("refused: {e}");
                    return;
                }
            };
            let security = match auth.security() {
                ConnectionSecurity::Plaintext => "plaintext".to_owned(),
                ConnectionSecurity::Tls {
                    protocol,
                    cipher_suite,
                    ..
                } => format!("{protocol} {cipher_suite}"),
            };
            let peer = auth
                .peer_credentials()
                .map(ToString::to_string)
                .unwrap_or_default();
            let capabilities = if auth.capabilities() == CapabilitySet::all() {
                "all".to_owned()
            } else {
                auth.capabilities().to_string()
            };
            println!(
                "{}: {security} {peer} capabilities {capabilities}",
                auth.peer_address()
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            );
            let mut buf = vec![0u8; 16384];
            while let Ok(n) = stream.read(&mut buf).await {
                // A TLS stream may keep the tail of a write buffered until flushed.
                if n == 0
                    || stream.write_all(&buf[..n]).await.is_err()
                    || stream.flush().await.is_err()
                {
                    break;
                }
            }
        });
    }
}

#[expect(clippy::print_stdout, reason = "a command-line example")]
async fn client(
    address: &str,
    host: &str,
    message: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let connector = VespaTls::from_env(ReloadOptions {
        watch: false,
        ..ReloadOptions::default()
    })?
    .connector();
    let address: SocketAddr = address.parse()?;
    let (mut stream, auth) = connector.connect_tcp(address, host).await?;
    stream.write_all(message.as_bytes()).await?;
    stream.flush().await?;
    let mut reply = vec![0u8; message.len()];
    stream.read_exact(&mut reply).await?;
    println!(
        "{} ({})",
        String::from_utf8_lossy(&reply),
        if auth.is_tls() { "TLS" } else { "plaintext" }
    );
    Ok(())
}
