//! Loopback helpers: testkit's echo server on the acceptor, and a client that checks the echo.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::timeout;
use vespa_tls_config::{CONFIG_FILE_VAR, MIXED_MODE_VAR, MixedMode};
use vespa_tls_context::ReloadOptions;
use vespa_tls_context::TlsContext;
use vespa_tls_testkit::{Policy, TestConfig, TestPki};
pub use vespa_tls_testkit::{Seen, Server};
use vespa_tls_transport::{Acceptor, Connector, TlsSource, VespaTls};

/// Every await in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(10);

/// An echo server on loopback with `acceptor` (testkit's [`Server`]), every connection
/// bounded by [`LIMIT`].
pub async fn echo_server(acceptor: Acceptor) -> Server {
    Server::echo(acceptor)
        .idle_limit(LIMIT)
        .start()
        .await
        .expect("bind loopback")
}

/// What a client got.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Tls,
    Plaintext,
    Refused,
}

/// Writes `message`, flushes, and reads as many bytes back, the read bounded by [`LIMIT`]
/// (a timeout is `ErrorKind::TimedOut`).
pub async fn round_trip<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    message: &[u8],
) -> std::io::Result<Vec<u8>> {
    stream.write_all(message).await?;
    stream.flush().await?;
    let mut reply = vec![0u8; message.len()];
    timeout(LIMIT, stream.read_exact(&mut reply))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Ok(reply)
}

/// Whether `message` comes back unchanged ([`round_trip`]).
pub async fn echoes<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, message: &[u8]) -> bool {
    round_trip(stream, message)
        .await
        .is_ok_and(|reply| reply == message)
}

/// Connects, sends a message and checks the echo.
pub async fn exchange(connector: &Connector, address: SocketAddr, host: &str) -> Outcome {
    let connected = timeout(LIMIT, connector.connect_tcp(address, host))
        .await
        .expect("bounded");
    let Ok((mut stream, auth)) = connected else {
        return Outcome::Refused;
    };
    if !echoes(&mut stream, b"hello, vespa\n").await {
        Outcome::Refused
    } else if auth.is_tls() {
        Outcome::Tls
    } else {
        Outcome::Plaintext
    }
}

pub fn source(ctx: Option<&Arc<TlsContext>>) -> TlsSource {
    match ctx {
        Some(ctx) => TlsSource::Fixed(Arc::clone(ctx)),
        None => TlsSource::disabled(),
    }
}

/// A phase of the rollout: `None` = `VESPA_TLS_CONFIG_FILE` unset.
pub type Phase = Option<MixedMode>;

/// A process's TLS as `VespaTls::from_env` makes it, with `variables` (name, value) as the
/// whole environment.
pub fn vespa_tls_from(variables: &[(&str, std::ffi::OsString)], reload: ReloadOptions) -> VespaTls {
    VespaTls::from_lookup(
        |name| {
            variables
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, value)| value.clone())
        },
        reload,
    )
    .expect("TLS loads")
}

/// A process's TLS from the variables a Vespa process reads: `config` (none: TLS off) and
/// the mixed mode (none: unset). No watching: nothing changes here.
pub fn vespa_tls(config: Option<&Path>, mixed: Option<MixedMode>) -> VespaTls {
    let mut variables = Vec::new();
    if let Some(config) = config {
        variables.push((CONFIG_FILE_VAR, config.into()));
    }
    if let Some(mixed) = mixed {
        variables.push((MIXED_MODE_VAR, mixed.as_str().into()));
    }
    let manual = ReloadOptions::default().with_watch(false);
    vespa_tls_from(&variables, manual)
}

/// The examples' server config, written as `file_name` in the PKI's directory: it admits
/// `client.localhost` with `vespa.container.state_api` and `reader.localhost` with another
/// capability only; other certificates of the CA are refused.
pub fn example_server_config(pki: &TestPki, file_name: &str) -> PathBuf {
    let path = pki.dir().join(file_name);
    TestConfig::new(pki.server().files())
        .authorized_peers([
            Policy::new("clients")
                .cn("client.localhost")
                .capabilities(["vespa.container.state_api"]),
            Policy::new("readers")
                .cn("reader.localhost")
                .capabilities(["vespa.content.document_api"]),
        ])
        .write(&path)
        .expect("write config");
    path
}
