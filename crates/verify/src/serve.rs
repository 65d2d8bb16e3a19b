//! `vespa-tls serve`: a server on the library, configured only by the environment.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use http_body_util::Full;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{Signal, SignalKind, signal};
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_config::{Environment, Escaped};
use vespa_tls_context::{ReloadEvent, ReloadOptions, ReloadingTlsContext, TlsModes};
use vespa_tls_transport::http;
use vespa_tls_transport::{
    Acceptor, ConnectionAuthContext, ConnectionSecurity, TlsSource, TransportStream,
};

use crate::cli::{ServeArgs, ServeProtocol};
use crate::frt;
use crate::json::{ConnectionEvent, ServeEvent, TlsSettings};
use crate::output::{Verdict, note, say, say_json_line};

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if !(value.is_finite() && value > 0.0 && value <= 1e7) {
        bail!("{flag} must be a positive number of seconds, found {value}");
    }
    Ok(Duration::from_secs_f64(value))
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<Verdict> {
    let handshake_timeout = seconds(args.handshake_timeout, "--handshake-timeout")?;
    let interval = seconds(args.reload_interval, "--reload-interval")?;
    let (env, findings) = Environment::from_lookup(|name| std::env::var_os(name))?;
    for finding in &findings {
        note(format!("vespa-tls serve: {finding}"));
    }
    let runtime = crate::probe::runtime()?;
    runtime.block_on(serve(args, env, handshake_timeout, interval))
}

async fn serve(
    args: &ServeArgs,
    env: Environment,
    handshake_timeout: Duration,
    interval: Duration,
) -> anyhow::Result<Verdict> {
    let json = args.output.json;
    let source = match &env.config_file {
        None => {
            event(
                json,
                ServeEvent::Tls(TlsSettings {
                    tls: false,
                    config: None,
                    mixed_mode: None,
                    authorization_mode: None,
                    capability_mode: None,
                    certificate_sha256: None,
                }),
                "TLS is off (VESPA_TLS_CONFIG_FILE is not set): plaintext only".into(),
            );
            TlsSource::disabled()
        }
        Some(path) => {
            let options = ReloadOptions::default().with_interval(interval);
            let reloading = ReloadingTlsContext::from_file(path, TlsModes::from(&env), options)?;
            let status = reloading.status();
            event(
                json,
                ServeEvent::Tls(TlsSettings {
                    tls: true,
                    config: Some(path.display().to_string()),
                    mixed_mode: Some(env.mixed_mode.as_str().to_owned()),
                    authorization_mode: Some(env.authorization_mode.as_str().to_owned()),
                    capability_mode: Some(env.capability_mode.as_str().to_owned()),
                    certificate_sha256: Some(status.certificate.sha256_fingerprint.clone()),
                }),
                format!(
                    "TLS config {} ({}, authorization {}, capabilities {}); certificate {} sha256 {}",
                    path.display(),
                    env.mixed_mode,
                    env.authorization_mode,
                    env.capability_mode,
                    Escaped(&status.certificate.subject),
                    status.certificate.sha256_fingerprint
                ),
            );
            let reloading = Arc::new(reloading);
            watch_reloads(Arc::clone(&reloading), json);
            TlsSource::Reloading(reloading)
        }
    };
    if let Some(address) = &args.metrics_listen {
        let listener = crate::metrics_http::bind(address, args.metrics_listen_public).await?;
        let bound = listener.local_addr()?;
        crate::metrics_http::spawn(listener, source.collector());
        event(
            json,
            ServeEvent::MetricsListening {
                address: bound.to_string(),
            },
            format!("metrics at http://{bound}/metrics"),
        );
    }
    let mut acceptor =
        Acceptor::new(source, env.mixed_mode).with_handshake_timeout(handshake_timeout);
    if args.protocol == ServeProtocol::Http {
        acceptor = acceptor.with_alpn_protocols(http::ALPN_PROTOCOLS);
    }
    let listener = listen(&args.listen)
        .await
        .with_context(|| format!("{}: cannot listen", args.listen))?;
    let address = listener.local_addr()?;
    if json {
        say_json_line(&ServeEvent::Listening {
            address: address.to_string(),
        });
    } else {
        say(format!("listening on {address}"));
    }
    // Both signals are registered once: a listener made anew on every accept costs each
    // connection a registration.
    let mut stop = Stop::new()?;
    if args.protocol == ServeProtocol::Http {
        serve_http(listener, acceptor.clone(), json, args.quiet, &mut stop).await?;
    } else {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (socket, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            vespa_tls_transport::pause_after_accept_error(&address.to_string(), &error).await;
                            continue;
                        }
                    };
                    let (acceptor, protocol, quiet) = (acceptor.clone(), args.protocol, args.quiet);
                    tokio::spawn(async move {
                        match acceptor.accept_tcp_from(socket, peer).await {
                            Ok((stream, auth)) => {
                                if !quiet {
                                    connection_event(json, &auth);
                                }
                                let _ = handle(stream, protocol).await;
                            }
                            Err(e) if !quiet => event(json, ServeEvent::Refused { error: e.to_string() }, format!("refused: {e}")),
                            Err(_) => {}
                        }
                    });
                }
                () = stop.requested() => break,
            }
        }
    }
    let counters = acceptor.metrics().snapshot();
    event(
        json,
        ServeEvent::Stopped {
            counters: counters.entries().into_iter().collect(),
        },
        format!(
            "stopped: {} TLS, {} plaintext, {} failed handshakes",
            counters.server.tls_connections,
            counters.server.insecure_connections,
            counters.server.failed_tls_handshakes
        ),
    );
    Ok(Verdict::Yes)
}

/// Binds with a listen backlog of 1024: tokio's default of 128 drops SYNs under a burst of
/// handshakes, which shows up as one-second client latencies.
async fn listen(address: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for address in tokio::net::lookup_host(address).await? {
        let socket = if address.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(address).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address")))
}

/// `--protocol http`: the transport's concurrent-handshake listener, hyper-util's HTTP/1.1 +
/// h2 server and the capability layer. Refused handshakes are logged by the library (stderr).
async fn serve_http(
    listener: TcpListener,
    acceptor: Acceptor,
    json: bool,
    quiet: bool,
    stop: &mut Stop,
) -> anyhow::Result<()> {
    let mut listener = http::Listener::new(listener, acceptor)?;
    let service = health_service();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (connection, _) = accepted?;
                if !quiet {
                    connection_event(json, connection.auth());
                }
                let service = service.clone();
                tokio::spawn(async move {
                    let _ = http::serve_connection(connection, service).await;
                });
            }
            () = stop.requested() => return Ok(()),
        }
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, either of which stops the server.
struct Stop {
    interrupt: Signal,
    terminate: Signal,
}

impl Stop {
    fn new() -> std::io::Result<Self> {
        Ok(Stop {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Resolves when either signal arrives.
    async fn requested(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}

/// The health service behind the capability check Vespa's state API has.
fn health_service() -> http::RequireCapabilities<Health> {
    http::RequireCapabilities::new(Health, CapabilitySet::of(&[Capability::ContainerStateApi]))
}

/// `GET /state/v1/health` → 200 `{"status":{"code":"up"}}`; anything else 404 or 405, as JSON.
#[derive(Debug, Clone, Copy)]
struct Health;

impl tower_service::Service<::http::Request<hyper::body::Incoming>> for Health {
    type Response = ::http::Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: ::http::Request<hyper::body::Incoming>) -> Self::Future {
        let (status, body) = match (request.method(), request.uri().path()) {
            (&::http::Method::GET | &::http::Method::HEAD, HEALTH_PATH) => {
                (::http::StatusCode::OK, HEALTH_UP)
            }
            (_, HEALTH_PATH) => (
                ::http::StatusCode::METHOD_NOT_ALLOWED,
                r#"{"error-code":"405","message":"Method not allowed"}"#,
            ),
            _ => (
                ::http::StatusCode::NOT_FOUND,
                r#"{"error-code":"404","message":"Not found"}"#,
            ),
        };
        let mut response = ::http::Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response.headers_mut().insert(
            ::http::header::CONTENT_TYPE,
            ::http::HeaderValue::from_static("application/json"),
        );
        std::future::ready(Ok(response))
    }
}

/// Vespa's health page.
const HEALTH_PATH: &str = "/state/v1/health";
const HEALTH_UP: &str = r#"{"status":{"code":"up"}}"#;

async fn handle(
    mut stream: TransportStream<tokio::net::TcpStream>,
    protocol: ServeProtocol,
) -> std::io::Result<()> {
    match protocol {
        ServeProtocol::Frt => frt::serve_pings(stream).await,
        // HTTP connections are served by `serve_http` and never come here.
        ServeProtocol::Http => Ok(()),
        ServeProtocol::Echo => {
            let mut buf = vec![0u8; 32 * 1024];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return stream.shutdown().await;
                }
                stream.write_all(&buf[..n]).await?;
                // TLS may keep the tail of a write buffered until flushed.
                stream.flush().await?;
            }
        }
    }
}

fn connection_event(json: bool, auth: &ConnectionAuthContext) {
    let peer = auth
        .peer_address()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let capabilities = if auth.capabilities() == CapabilitySet::all() {
        "all".to_owned()
    } else {
        auth.capabilities().sorted_names().join(", ")
    };
    let alpn = auth
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).escape_default().to_string());
    let (security, detail) = match auth.security() {
        ConnectionSecurity::Plaintext => ("plaintext".to_owned(), String::new()),
        ConnectionSecurity::Tls {
            protocol,
            cipher_suite,
            ..
        } => (
            format!("{protocol} {cipher_suite}"),
            auth.peer_credentials()
                .map(|c| format!(" {c}"))
                .unwrap_or_default(),
        ),
    };
    event(
        json,
        ServeEvent::Connection(ConnectionEvent {
            peer: peer.clone(),
            tls: auth.is_tls(),
            security: security.clone(),
            credentials: auth.peer_credentials().map(ToString::to_string),
            matched_policies: auth.matched_policies().to_vec(),
            capabilities: capabilities.clone(),
            alpn: alpn.clone(),
        }),
        format!(
            "{peer}: {security}{detail} policies [{}] capabilities [{capabilities}]{}",
            auth.matched_policies().join(", "),
            alpn.as_deref()
                .map(|p| format!(" ALPN {p}"))
                .unwrap_or_default()
        ),
    );
}

fn watch_reloads(reloading: Arc<ReloadingTlsContext>, json: bool) {
    let events = reloading.subscribe();
    std::thread::spawn(move || {
        while let Ok(e) = events.recv() {
            match e {
                ReloadEvent::Reloaded { generation } => {
                    let status = reloading.status();
                    event(
                        json,
                        ServeEvent::Reloaded {
                            generation,
                            certificate_sha256: status.certificate.sha256_fingerprint.clone(),
                        },
                        format!(
                            "reloaded: generation {generation}, certificate {} sha256 {}",
                            Escaped(&status.certificate.subject),
                            status.certificate.sha256_fingerprint
                        ),
                    );
                }
                ReloadEvent::Failed { error } => event(
                    json,
                    ServeEvent::ReloadFailed {
                        error: error.to_string(),
                    },
                    format!("reload failed, old config remains in effect: {error}"),
                ),
                // An event this version does not know about changes nothing it shows.
                _ => {}
            }
        }
    });
}

/// One log line: a JSON object on stdout with `--json`, else text on stderr.
fn event(json: bool, event: ServeEvent, text: String) {
    if json {
        say_json_line(&event);
    } else {
        note(format!("vespa-tls serve: {text}"));
    }
}
