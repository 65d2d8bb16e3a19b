//! The baseline of the comparison: what a Rust service would write with tokio-rustls alone.
//!
//! `bare-server --listen ADDR --ca FILE --cert FILE --key FILE --client-name DNS [--http]`
//!
//! Mutual TLS with rustls' webpki client verifier on the aws-lc-rs provider (the provider
//! vespa-tls uses), the same key exchange preference, no session cache and no tickets; after the
//! handshake the client certificate must be valid for the DNS name `--client-name` (webpki's
//! subject-name check), else the connection is closed. Then it echoes what it reads, with a
//! 32 KiB buffer as `vespa-tls serve --protocol echo` does; with `--http`, it offers ALPN `h2`
//! and `http/1.1` and serves the comparison's axum app (`vespa_tls_benches::http::app`) with
//! `axum::serve` on that accept loop instead, as `axum-listener` does on our listener. Prints
//! `{"event":"listening","address":…}` on stdout like `vespa-tls serve --json`, runs until killed.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::{NoServerSessionStorage, ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vespa_tls_benches::server;

const PROGRAM: &str = "bare-server";

const USAGE: &str =
    "usage: bare-server --listen ADDR --ca FILE --cert FILE --key FILE --client-name DNS [--http]";

struct Args {
    listen: String,
    ca: String,
    cert: String,
    key: String,
    client_name: ServerName<'static>,
    http: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut values: [Option<String>; 5] = Default::default();
    let names = ["--listen", "--ca", "--cert", "--key", "--client-name"];
    let mut http = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--http" {
            http = true;
            continue;
        }
        let slot = names
            .iter()
            .position(|n| *n == arg)
            .ok_or_else(|| format!("unknown argument {arg:?}"))?;
        values[slot] = Some(args.next().ok_or_else(|| format!("{arg} needs a value"))?);
    }
    let [listen, ca, cert, key, client_name] =
        values.map(|v| v.ok_or_else(|| "missing argument".to_owned()));
    Ok(Args {
        listen: listen?,
        ca: ca?,
        cert: cert?,
        key: key?,
        client_name: ServerName::try_from(client_name?).map_err(|e| e.to_string())?,
        http,
    })
}

fn server_config(args: &Args) -> Result<ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let read_certs = |path: &str| {
        CertificateDer::pem_file_iter(path)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{path}: {e}"))
    };
    let mut roots = RootCertStore::empty();
    for ca in read_certs(&args.ca)? {
        roots.add(ca).map_err(|e| format!("{}: {e}", args.ca))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("{}: {e}", args.ca))?;
    let key = PrivateKeyDer::from_pem_file(&args.key).map_err(|e| format!("{}: {e}", args.key))?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(read_certs(&args.cert)?, key)
        .map_err(|e| format!("{}: {e}", args.cert))?;
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    if args.http {
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    }
    Ok(config)
}

/// Whether the client's leaf certificate is valid for `name`.
fn client_name_ok(connection: &rustls::ServerConnection, name: &ServerName<'static>) -> bool {
    let Some(leaf) = connection.peer_certificates().and_then(|c| c.first()) else {
        return false;
    };
    webpki::EndEntityCert::try_from(leaf)
        .and_then(|cert| cert.verify_is_valid_for_subject_name(name))
        .is_ok()
}

/// The `--http` accept loop as an `axum::serve` listener: TCP accept, the TLS handshake and
/// the client-name check in turn (the benchmark's connections are opened before it measures).
struct TlsListener {
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    name: Arc<ServerName<'static>>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((socket, address)) = self.listener.accept().await else {
                continue;
            };
            let _ = socket.set_nodelay(true);
            let Ok(stream) = self.acceptor.accept(socket).await else {
                continue;
            };
            if client_name_ok(stream.get_ref().1, &self.name) {
                return (stream, address);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

async fn serve(args: Args) -> Result<(), String> {
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&args)?));
    let listener = TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("{}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    server::announce_listening(address);
    let name = Arc::new(args.client_name);
    if args.http {
        let listener = TlsListener {
            listener,
            acceptor,
            name,
        };
        return axum::serve(listener, vespa_tls_benches::http::app().into_make_service())
            .await
            .map_err(|e| e.to_string());
    }
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, name) = (acceptor.clone(), Arc::clone(&name));
        tokio::spawn(async move {
            let _ = socket.set_nodelay(true);
            let Ok(mut stream) = acceptor.accept(socket).await else {
                return;
            };
            if !client_name_ok(stream.get_ref().1, &name) {
                return;
            }
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => {
                        let _ = stream.shutdown().await;
                        return;
                    }
                    Ok(n) => {
                        if stream.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}

fn main() -> std::process::ExitCode {
    match parse_args() {
        Ok(args) => server::run(PROGRAM, serve(args)),
        Err(problem) => server::fail(PROGRAM, &format!("{problem}\n{USAGE}")),
    }
}
