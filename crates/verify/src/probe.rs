//! Probing live endpoints: `vespa-tls connect` and `vespa-tls scan`.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustls_pki_types::ServerName;
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::{Escaped, MixedMode};
use vespa_tls_context::{PeerRejection, TlsContext, TlsMetrics, TlsModes};
use vespa_tls_material::CertificateFacts;
use vespa_tls_transport::{ConnectionSecurity, Connector, TlsSource, TransportError};

use crate::cli::{ConnectArgs, ProbeArgs, Protocol, ScanArgs};
use crate::frt;
use crate::json::{
    AnswerWord, Certificate, ConnectOutput, Probed, ScanOutput, TlsEstablished, TlsFailed, TlsProbe,
};
use crate::node_env::NodeEnv;
use crate::output::{
    Verdict, certificate_lines, load_options, note, plural, say, say_json, say_json_line,
};
use crate::targets::{
    Targets, parse_model_inspect, parse_target_line, read_input, read_targets_file,
};

/// An endpoint as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// As written.
    pub(crate) target: String,
    /// The host name or IP literal: what is dialled and validated.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The protocol to probe it with.
    pub(crate) protocol: Protocol,
    /// The Vespa service it belongs to (from vespa-model-inspect output).
    pub(crate) service: Option<String>,
    /// Its port tags (from vespa-model-inspect output), upper-case, space-separated.
    pub(crate) tags: Option<String>,
}

/// `host:port`, `[v6]:port`, or Vespa's `tcp/port` (localhost), with `tcp/` also allowed in
/// front of the other two.
pub(crate) fn parse_target(target: &str) -> anyhow::Result<Endpoint> {
    let rest = target.strip_prefix("tcp/").unwrap_or(target);
    let (host, port) = if let Ok(port) = rest.parse::<u16>() {
        ("localhost".to_owned(), port)
    } else if let Some(v6) = rest.strip_prefix('[') {
        let (host, port) = v6
            .split_once("]:")
            .with_context(|| format!("{target:?}: expected [IPV6]:PORT"))?;
        (
            host.to_owned(),
            port.parse::<u16>()
                .with_context(|| format!("{target:?}: invalid port"))?,
        )
    } else {
        let (host, port) = rest
            .rsplit_once(':')
            .with_context(|| format!("{target:?}: expected HOST:PORT"))?;
        if host.is_empty() || host.contains(':') {
            bail!("{target:?}: expected HOST:PORT (write IPv6 addresses as [ADDRESS]:PORT)");
        }
        (
            host.to_owned(),
            port.parse::<u16>()
                .with_context(|| format!("{target:?}: invalid port"))?,
        )
    };
    Ok(Endpoint {
        target: target.to_owned(),
        host,
        port,
        protocol: Protocol::Frt,
        service: None,
        tags: None,
    })
}

/// What the server did after a TLS handshake with our certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// A well-formed reply of the protocol.
    Reply,
    /// Bytes that are not a reply of the protocol.
    Other,
    /// Nothing, no alert and no close, before the deadline: it did not refuse us.
    Silent,
    /// A close (or reset) without a reply and without a TLS alert: not a refusal we can name,
    /// but no proof that it took our certificate either.
    Closed,
}

/// What the TLS handshake with our certificate showed.
#[derive(Debug, Clone)]
pub(crate) struct TlsInfo {
    pub(crate) protocol: String,
    pub(crate) cipher_suite: String,
    pub(crate) chain: Vec<CertificateFacts>,
    pub(crate) matched_policies: Vec<String>,
    pub(crate) authorized: bool,
    pub(crate) after: After,
    pub(crate) exchange: String,
}

/// A three-valued answer with its reason, or no answer because the probe was not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes(String),
    No(String),
    Unknown(String),
    /// Not asked: a TLS-only probe makes no plaintext claim.
    NotProbed(String),
}

impl Answer {
    fn word(&self) -> &'static str {
        match self {
            Answer::Yes(_) => "yes",
            Answer::No(_) => "no",
            Answer::Unknown(_) => "unknown",
            Answer::NotProbed(_) => "not probed",
        }
    }

    fn reason(&self) -> &str {
        match self {
            Answer::Yes(r) | Answer::No(r) | Answer::Unknown(r) | Answer::NotProbed(r) => r,
        }
    }

    fn to_json(&self) -> Probed {
        Probed {
            answer: match self {
                Answer::Yes(_) => AnswerWord::Yes,
                Answer::No(_) => AnswerWord::No,
                Answer::Unknown(_) => AnswerWord::Unknown,
                Answer::NotProbed(_) => AnswerWord::NotProbed,
            },
            reason: self.reason().to_owned(),
        }
    }
}

/// Everything one probe of one address found.
#[derive(Debug, Clone)]
pub(crate) struct ProbeReport {
    pub(crate) endpoint: Endpoint,
    pub(crate) address: Option<SocketAddr>,
    pub(crate) tls: Result<TlsInfo, String>,
    pub(crate) requires_client_certificate: Answer,
    pub(crate) accepts_plaintext: Answer,
}

impl ProbeReport {
    /// A report for an endpoint that could not be probed at all.
    fn unreachable(endpoint: &Endpoint, why: String) -> ProbeReport {
        ProbeReport {
            endpoint: endpoint.clone(),
            address: None,
            tls: Err(why.clone()),
            requires_client_certificate: Answer::Unknown(why.clone()),
            accepts_plaintext: if endpoint.protocol == Protocol::Tls {
                Answer::NotProbed(NO_PLAINTEXT_CLAIM.into())
            } else {
                Answer::Unknown(why)
            },
        }
    }

    /// What makes this endpoint fail the check.
    pub(crate) fn problems(&self, args: &ProbeArgs, now: OffsetDateTime) -> Vec<String> {
        let mut problems = Vec::new();
        // When the handshake failed, what is unknown about the rest says nothing new.
        let allow_unknown = args.allow_unknown || self.tls.is_err();
        match &self.tls {
            Err(e) => problems.push(format!("TLS handshake failed: {e}")),
            Ok(info) => {
                if info.after == After::Closed && !args.allow_unknown {
                    problems.push(format!(
                        "unknown whether the server accepts our certificate: {}",
                        info.exchange
                    ));
                }
                if let Some(leaf) = info.chain.first() {
                    let days = leaf.days_to_expiry(now);
                    if days < args.warn_days {
                        problems.push(format!(
                            "server certificate expires in {days} days (--warn-days {})",
                            args.warn_days
                        ));
                    }
                }
            }
        }
        match &self.requires_client_certificate {
            Answer::Yes(_) | Answer::NotProbed(_) => {}
            Answer::No(r) => problems.push(format!("does not require a client certificate: {r}")),
            Answer::Unknown(r) if !allow_unknown => {
                problems.push(format!(
                    "unknown whether a client certificate is required: {r}"
                ));
            }
            Answer::Unknown(_) => {}
        }
        match &self.accepts_plaintext {
            Answer::No(_) | Answer::NotProbed(_) => {}
            Answer::Yes(r) if !args.allow_plaintext => {
                problems.push(format!("accepts plaintext: {r}"))
            }
            Answer::Unknown(r) if !allow_unknown => {
                problems.push(format!("unknown whether plaintext is accepted: {r}"));
            }
            _ => {}
        }
        problems
    }

    pub(crate) fn to_json(&self, args: &ProbeArgs, now: OffsetDateTime) -> ConnectOutput {
        let problems = self.problems(args, now);
        ConnectOutput {
            target: self.endpoint.target.clone(),
            host: self.endpoint.host.clone(),
            port: self.endpoint.port,
            protocol: protocol_name(self.endpoint.protocol).to_owned(),
            service: self.endpoint.service.clone(),
            tags: self.endpoint.tags.clone(),
            address: self.address.map(|a| a.to_string()),
            ok: problems.is_empty(),
            problems,
            tls: match &self.tls {
                Ok(info) => TlsProbe::Ok(TlsEstablished {
                    ok: true,
                    protocol: info.protocol.clone(),
                    cipher_suite: info.cipher_suite.clone(),
                    server_chain: info
                        .chain
                        .iter()
                        .map(|c| Certificate::new(c, now))
                        .collect(),
                    server_authorized_by_our_policies: info.authorized,
                    matched_policies: info.matched_policies.clone(),
                    after_handshake: after_name(info.after).to_owned(),
                    exchange: info.exchange.clone(),
                }),
                Err(e) => TlsProbe::Failed(TlsFailed {
                    ok: false,
                    error: e.clone(),
                }),
            },
            requires_client_certificate: self.requires_client_certificate.to_json(),
            accepts_plaintext: self.accepts_plaintext.to_json(),
        }
    }

    pub(crate) fn human(&self, args: &ProbeArgs, now: OffsetDateTime) -> Vec<String> {
        let mut lines = vec![match self.address {
            Some(a) => format!("{} ({a})", self.endpoint.target),
            None => self.endpoint.target.clone(),
        }];
        match &self.tls {
            Ok(info) => {
                lines.push(format!(
                    "  TLS with our certificate: ok ({}, {})",
                    info.protocol, info.cipher_suite
                ));
                lines.push(format!("    after the handshake: {}", info.exchange));
                for (i, cert) in info.chain.iter().enumerate() {
                    lines.push(format!("    server certificate {}:", i + 1));
                    lines.extend(
                        certificate_lines(cert, now)
                            .into_iter()
                            .map(|l| format!("    {l}")),
                    );
                }
                if info.matched_policies.is_empty() {
                    lines.push("    our rules: the server is authorized (no authorized-peers, or all capabilities)".into());
                } else {
                    lines.push(format!(
                        "    our policies matched by the server: {}",
                        info.matched_policies.join(", ")
                    ));
                }
            }
            Err(e) => lines.push(format!("  TLS with our certificate: FAILED: {e}")),
        }
        let cert = &self.requires_client_certificate;
        lines.push(format!(
            "  client certificate required: {}{}",
            cert.word(),
            if cert.reason().is_empty() {
                String::new()
            } else {
                format!(" ({})", cert.reason())
            }
        ));
        let plain = &self.accepts_plaintext;
        lines.push(format!(
            "  accepts plaintext ({}): {} ({})",
            protocol_name(self.endpoint.protocol),
            plain.word(),
            plain.reason()
        ));
        let problems = self.problems(args, now);
        if problems.is_empty() {
            lines.push("  result: ok".into());
        } else {
            for p in problems {
                lines.push(format!("  problem: {p}"));
            }
        }
        lines
    }
}

const NO_PLAINTEXT_CLAIM: &str =
    "a TLS-only probe: the port's protocol is not known, so plaintext is not tried";

fn after_name(after: After) -> &'static str {
    match after {
        After::Reply => "reply",
        After::Other => "other",
        After::Silent => "silent",
        After::Closed => "closed",
    }
}

pub(crate) fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Frt => "frt",
        Protocol::Http => "http",
        Protocol::Echo => "echo",
        Protocol::Tls => "tls",
    }
}

/// What a peer said to one protocol request.
#[derive(Debug)]
enum Spoke {
    /// A well-formed reply.
    Reply,
    /// Bytes that are not a reply (the first few are kept).
    Other(Vec<u8>),
    /// The peer closed the connection.
    Closed,
    /// The read failed (a TLS alert arrives this way).
    Failed(std::io::Error),
    /// Nothing before the deadline.
    Silent,
}

const ECHO_LINE: &[u8] = b"vespa-tls probe\n";

/// Sends one request of `protocol` and waits for the answer. For [`Protocol::Tls`] nothing is
/// sent: the wait shows whether an alert or a close comes.
async fn speak<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    protocol: Protocol,
    host: &str,
    wait: Duration,
) -> Spoke {
    let request = match protocol {
        Protocol::Frt => return ping(stream, wait).await,
        Protocol::Http => format!(
            "GET /state/v1/health HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vespa-tls\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
        Protocol::Echo => ECHO_LINE.to_vec(),
        Protocol::Tls => Vec::new(),
    };
    if !request.is_empty() {
        if let Err(e) = stream.write_all(&request).await {
            return Spoke::Failed(e);
        }
        let _ = stream.flush().await;
    }
    let result = timeout(wait, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) if got.is_empty() => return Spoke::Closed,
                // A TLS peer that closes without close_notify: still a close, not an alert.
                Err(e) if got.is_empty() && e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Spoke::Closed;
                }
                Ok(0) => return Spoke::Other(got),
                Err(e) if got.is_empty() => return Spoke::Failed(e),
                Err(_) => return Spoke::Other(got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
            let verdict = match protocol {
                Protocol::Http if got.len() >= 8 => Some(got.starts_with(b"HTTP/1.")),
                Protocol::Echo if got.len() >= ECHO_LINE.len() => Some(got.starts_with(ECHO_LINE)),
                Protocol::Echo => ECHO_LINE
                    .starts_with(&got)
                    .then_some(())
                    .map_or(Some(false), |()| None),
                Protocol::Tls => Some(false),
                Protocol::Http | Protocol::Frt => None,
            };
            match verdict {
                Some(true) => return Spoke::Reply,
                Some(false) => return Spoke::Other(got),
                None if got.len() > 65536 => return Spoke::Other(got),
                None => {}
            }
        }
    })
    .await;
    result.unwrap_or(Spoke::Silent)
}

/// An `frt.rpc.ping` ([`frt::ping`]), the one FRT client this tool has.
async fn ping<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, wait: Duration) -> Spoke {
    match timeout(wait, frt::ping(stream)).await {
        Err(_) => Spoke::Silent,
        Ok(Ok(frt::PingOutcome::Answered)) => Spoke::Reply,
        Ok(Ok(frt::PingOutcome::Closed)) => Spoke::Closed,
        Ok(Ok(frt::PingOutcome::NotFrt(bytes))) => Spoke::Other(bytes),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Spoke::Closed,
        Ok(Err(e)) => Spoke::Failed(e),
    }
}

fn is_tls_alert(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x15 && bytes[1] == 0x03
}

/// The TLS alert a failed read carries, if it is one.
fn received_alert(e: &std::io::Error) -> Option<rustls::AlertDescription> {
    match e.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::AlertReceived(alert) => Some(*alert),
        _ => None,
    }
}

fn handshake_error(e: &TransportError) -> String {
    match e.rustls_error() {
        Some(rustls_error) => match PeerRejection::from_rustls(rustls_error) {
            Some(rejection) => rejection.to_string(),
            None => rustls_error.to_string(),
        },
        None => e.to_string(),
    }
}

/// Every address `endpoint.host` resolves to, in the resolver's order, without repeats.
pub(crate) async fn resolve(
    endpoint: &Endpoint,
    wait: Duration,
) -> Result<Vec<SocketAddr>, String> {
    let why = || format!("cannot resolve {}", endpoint.host);
    match timeout(
        wait,
        tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port)),
    )
    .await
    {
        Ok(Ok(addresses)) => {
            let mut all: Vec<SocketAddr> = Vec::new();
            for address in addresses {
                if !all.contains(&address) {
                    all.push(address);
                }
            }
            if all.is_empty() { Err(why()) } else { Ok(all) }
        }
        Ok(Err(e)) => Err(format!("{}: {e}", why())),
        Err(_) => Err(format!("{} within {wait:?}", why())),
    }
}

/// Runs the three probes against the first address of one endpoint (`connect`).
pub(crate) async fn probe(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    wait: Duration,
) -> ProbeReport {
    match resolve(endpoint, wait).await {
        Ok(addresses) => probe_address(context, endpoint, addresses[0], wait).await,
        Err(why) => ProbeReport::unreachable(endpoint, why),
    }
}

/// Runs the probes the endpoint's protocol calls for against one address.
pub(crate) async fn probe_address(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    address: SocketAddr,
    wait: Duration,
) -> ProbeReport {
    let protocol = endpoint.protocol;
    let tls = probe_tls(context, endpoint, address, wait).await;
    let after = tls.as_ref().ok().map(|info| info.after);
    let requires_client_certificate =
        probe_anonymous(context, endpoint, address, after, wait).await;
    let accepts_plaintext = if protocol == Protocol::Tls {
        Answer::NotProbed(NO_PLAINTEXT_CLAIM.into())
    } else {
        probe_plaintext(endpoint, address, wait).await
    };
    ProbeReport {
        endpoint: endpoint.clone(),
        address: Some(address),
        tls,
        requires_client_certificate,
        accepts_plaintext,
    }
}

async fn probe_tls(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    address: SocketAddr,
    wait: Duration,
) -> Result<TlsInfo, String> {
    let protocol = endpoint.protocol;
    let connector = Connector::new(
        TlsSource::Fixed(Arc::clone(context)),
        MixedMode::TlsClientTlsServer,
    )
    .with_handshake_timeout(wait);
    let (mut stream, auth) = connector
        .connect_tcp(address, &endpoint.host)
        .await
        .map_err(|e| handshake_error(&e))?;
    let (protocol_version, suite) = match auth.security() {
        ConnectionSecurity::Tls {
            protocol,
            cipher_suite,
            ..
        } => (protocol.to_string(), cipher_suite.to_string()),
        ConnectionSecurity::Plaintext => {
            return Err("internal error: the connection is not TLS".into());
        }
    };
    let chain = stream
        .peer_certificates()
        .map(|c| c.iter().filter_map(CertificateFacts::from_der).collect())
        .unwrap_or_default();
    // In TLS 1.3 our side finishes first: only a reply (or silence) shows the server took our
    // certificate, and only a TLS alert shows it refused it. A plain close says neither: a
    // server that does not speak the protocol closes too.
    let name = protocol_name(protocol);
    let (after, exchange) = match speak(&mut stream, protocol, &endpoint.host, wait).await {
        Spoke::Reply => (After::Reply, format!("well-formed {name} reply")),
        Spoke::Other(bytes) if protocol == Protocol::Tls => (
            After::Other,
            format!(
                "the server sent {} bytes unasked (the certificate was not refused)",
                bytes.len()
            ),
        ),
        Spoke::Other(bytes) => (
            After::Other,
            format!("{} bytes that are not a {name} reply", bytes.len()),
        ),
        Spoke::Silent if protocol == Protocol::Tls => (
            After::Silent,
            format!("no alert or close within {wait:?} (the certificate was not refused)"),
        ),
        Spoke::Silent => (
            After::Silent,
            format!("no {name} reply within {wait:?} (the certificate was not refused)"),
        ),
        Spoke::Closed => (
            After::Closed,
            format!(
                "the server closed the connection without a reply or TLS alert (a close is not a \
                 refusal of our certificate, which comes as an alert; is this a {name} port?)"
            ),
        ),
        Spoke::Failed(e) => match received_alert(&e) {
            Some(alert) => {
                return Err(format!(
                    "the server refused our certificate: it sent the TLS alert {alert:?}"
                ));
            }
            None => (
                After::Closed,
                format!(
                    "the connection failed after the handshake without a TLS alert ({e}; not a \
                     refusal of our certificate, which comes as an alert)"
                ),
            ),
        },
    };
    Ok(TlsInfo {
        protocol: protocol_version,
        cipher_suite: suite,
        chain,
        authorized: true,
        matched_policies: auth.matched_policies().to_vec(),
        after,
        exchange,
    })
}

async fn probe_anonymous(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    address: SocketAddr,
    with_certificate: Option<After>,
    wait: Duration,
) -> Answer {
    let tcp = match timeout(wait, TcpStream::connect(address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Answer::Unknown(format!("cannot connect: {e}")),
        Err(_) => return Answer::Unknown(format!("no TCP connection within {wait:?}")),
    };
    let Ok(name) = ServerName::try_from(endpoint.host.clone()) else {
        return Answer::Unknown(format!(
            "{:?} is not a valid TLS server name",
            endpoint.host
        ));
    };
    let connector = tokio_rustls::TlsConnector::from(context.client_config_without_certificate());
    let mut stream = match timeout(wait, connector.connect(name, tcp)).await {
        Err(_) => return Answer::Unknown(format!("no handshake within {wait:?}")),
        Ok(Err(e)) => {
            return Answer::Yes(format!("the handshake without a certificate failed: {e}"));
        }
        Ok(Ok(stream)) => stream,
    };
    match speak(&mut stream, endpoint.protocol, &endpoint.host, wait).await {
        Spoke::Failed(e) => match received_alert(&e) {
            Some(alert) => Answer::Yes(format!(
                "refused without a certificate: it sent the TLS alert {alert:?}"
            )),
            None if with_certificate == Some(After::Closed) => Answer::Unknown(format!(
                "the connection failed without a certificate ({e}), as it closed with one"
            )),
            None => Answer::Yes(format!("refused without a certificate: {e}")),
        },
        Spoke::Closed if with_certificate == Some(After::Closed) => Answer::Unknown(
            "closed without a certificate, but also with one: no sign either way".into(),
        ),
        Spoke::Closed => Answer::Yes("closed without a certificate".into()),
        Spoke::Reply | Spoke::Other(_) => {
            Answer::No("data flowed without a client certificate".into())
        }
        Spoke::Silent => Answer::Unknown(format!("no alert, close or reply within {wait:?}")),
    }
}

async fn probe_plaintext(endpoint: &Endpoint, address: SocketAddr, wait: Duration) -> Answer {
    let protocol = endpoint.protocol;
    let mut tcp = match timeout(wait, TcpStream::connect(address)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Answer::Unknown(format!("cannot connect: {e}")),
        Err(_) => return Answer::Unknown(format!("no TCP connection within {wait:?}")),
    };
    match speak(&mut tcp, protocol, &endpoint.host, wait).await {
        Spoke::Reply => Answer::Yes(format!(
            "well-formed {} reply over plaintext",
            protocol_name(protocol)
        )),
        Spoke::Other(bytes) if is_tls_alert(&bytes) => {
            Answer::No("answered with a TLS alert".into())
        }
        Spoke::Other(bytes) => Answer::Yes(format!(
            "answered {} plaintext bytes that are not a {} reply",
            bytes.len(),
            protocol_name(protocol)
        )),
        Spoke::Closed => Answer::No("closed the connection".into()),
        Spoke::Failed(e) => Answer::No(format!("connection failed: {e}")),
        Spoke::Silent => Answer::Unknown(format!("no reply, alert or close within {wait:?}")),
    }
}

/// The node's environment and the context our probes present: `--config`, or the effective
/// `VESPA_TLS_CONFIG_FILE` of `--vespa-home`'s default-env.txt over the environment.
pub(crate) fn probe_context(args: &ProbeArgs) -> anyhow::Result<Arc<TlsContext>> {
    let node = NodeEnv::load(&args.home)?;
    node.warn_skipped();
    let path = node.config_path(args.config.as_deref())?;
    let (options, _) = load_options(&path)?;
    let (context, _) = TlsContext::from_options(
        &options,
        TlsModes::default(),
        Arc::new(TlsMetrics::default()),
    )
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Arc::new(context))
}

pub(crate) fn wait(args: &ProbeArgs) -> anyhow::Result<Duration> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        bail!(
            "--timeout must be between 0 and 3600 seconds, found {}",
            args.timeout
        );
    }
    Ok(Duration::from_secs_f64(args.timeout))
}

pub(crate) fn connect(args: &ConnectArgs) -> anyhow::Result<Verdict> {
    let mut endpoint = parse_target(&args.target)?;
    endpoint.protocol = args.probe.protocol;
    let wait = wait(&args.probe)?;
    let context = probe_context(&args.probe)?;
    let runtime = runtime()?;
    let report = runtime.block_on(probe(&context, &endpoint, wait));
    let now = OffsetDateTime::now_utc();
    if args.output.json {
        say_json(&report.to_json(&args.probe, now));
    } else {
        for line in report.human(&args.probe, now) {
            say(line);
        }
    }
    Ok(Verdict::from_ok(
        report.problems(&args.probe, now).is_empty(),
    ))
}

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The endpoints of the command line, `--targets` and `--from-model-inspect`, and the
/// model-inspect lines that could not be used.
pub(crate) fn read_targets(args: &ScanArgs) -> anyhow::Result<Targets> {
    let default = args.probe.protocol;
    let mut targets = Targets::default();
    for target in &args.endpoints {
        targets.endpoints.push(parse_target_line(target, default)?);
    }
    if let Some(file) = &args.targets {
        targets.endpoints.extend(read_targets_file(file, default)?);
    }
    if let Some(file) = &args.from_model_inspect {
        let name = if file.as_os_str() == "-" {
            "stdin".to_owned()
        } else {
            file.display().to_string()
        };
        let found = parse_model_inspect(&name, &read_input(file)?);
        if found.endpoints.is_empty() && found.skipped.is_empty() {
            bail!(
                "{name}: no tcp/HOST:PORT lines; give the output of `vespa-model-inspect service \
                 TYPE`, `host HOST` or `cluster NAME` (`services` lists service types only)"
            );
        }
        targets.endpoints.extend(found.endpoints);
        targets.skipped.extend(found.skipped);
        targets.unused += found.unused;
    }
    if targets.endpoints.is_empty() {
        bail!("no endpoints to scan");
    }
    Ok(targets)
}

pub(crate) fn scan(args: &ScanArgs) -> anyhow::Result<Verdict> {
    let targets = read_targets(args)?;
    for skipped in &targets.skipped {
        note(format!(
            "vespa-tls: error: {skipped} (line skipped; the scan fails)"
        ));
    }
    let wait = wait(&args.probe)?;
    let context = probe_context(&args.probe)?;
    let runtime = runtime()?;
    let now = OffsetDateTime::now_utc();
    let jsonl = args.jsonl;
    let reports = runtime.block_on(scan_all(
        &context,
        &targets.endpoints,
        wait,
        args.concurrency.max(1),
        true,
        |report: &ProbeReport| {
            if jsonl {
                say_json_line(&report.to_json(&args.probe, now));
            }
        },
    ));
    let failing = reports
        .iter()
        .filter(|r| !r.problems(&args.probe, now).is_empty())
        .count();
    let ok = failing == 0 && targets.skipped.is_empty();
    if jsonl {
        // The results are already out, one per line.
    } else if args.output.json {
        say_json(&ScanOutput {
            ok,
            endpoints: targets.endpoints.len(),
            probes: reports.len(),
            failing,
            unused_ports_skipped: targets.unused,
            skipped_lines: targets.skipped.clone(),
            results: reports
                .iter()
                .map(|r| r.to_json(&args.probe, now))
                .collect(),
        });
    } else {
        for line in scan_table(&reports, &args.probe, now) {
            say(line);
        }
        if targets.unused > 0 {
            say(format!(
                "{} tagged UNUSED not probed",
                plural(targets.unused, "port")
            ));
        }
        if !targets.skipped.is_empty() {
            say(format!(
                "{} of vespa-model-inspect output skipped (see stderr): not every endpoint was probed",
                plural(targets.skipped.len(), "line")
            ));
        }
    }
    Ok(Verdict::from_ok(ok))
}

/// Progress on stderr: one line rewritten in place on a terminal; otherwise a line at the
/// start, at every tenth of the work and at the end.
struct Progress {
    show: bool,
    terminal: bool,
    total: usize,
    step: usize,
}

impl Progress {
    fn new(show: bool, total: usize) -> Progress {
        Progress {
            show,
            terminal: std::io::stderr().is_terminal(),
            total,
            step: total.div_ceil(10).max(1),
        }
    }

    fn start(&self, endpoints: usize, concurrency: usize) {
        if self.show {
            note(format!(
                "scanning {} ({} {}), {concurrency} at a time",
                plural(endpoints, "endpoint"),
                self.total,
                if self.total == 1 {
                    "address"
                } else {
                    "addresses"
                }
            ));
        }
    }

    fn done(&self, n: usize, last: &str) {
        if !self.show {
            return;
        }
        if self.terminal {
            note(format!("\x1b[1A\x1b[2Kscanned {n}/{}: {last}", self.total));
        } else if n.is_multiple_of(self.step) || n == self.total {
            note(format!("scanned {n}/{}", self.total));
        }
    }
}

/// Probes every resolved address of every endpoint, `concurrency` probes at a time; calls
/// `each` with every report as it completes and returns them all in the order given (an
/// endpoint's addresses in the resolver's order). Shows progress on stderr when `progress`.
pub(crate) async fn scan_all(
    context: &Arc<TlsContext>,
    endpoints: &[Endpoint],
    wait: Duration,
    concurrency: usize,
    progress: bool,
    mut each: impl FnMut(&ProbeReport),
) -> Vec<ProbeReport> {
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
    // Resolve first (bounded too), so progress counts addresses.
    let mut resolving = tokio::task::JoinSet::new();
    for (index, endpoint) in endpoints.iter().enumerate() {
        let (endpoint, limit) = (endpoint.clone(), Arc::clone(&limit));
        resolving.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (index, resolve(&endpoint, wait).await)
        });
    }
    let mut resolved: Vec<Option<Result<Vec<SocketAddr>, String>>> = vec![None; endpoints.len()];
    while let Some(joined) = resolving.join_next().await {
        if let Ok((index, addresses)) = joined {
            resolved[index] = Some(addresses);
        }
    }
    let mut slots: Vec<Option<ProbeReport>> = Vec::new();
    let mut work = Vec::new();
    for (endpoint, addresses) in endpoints.iter().zip(resolved) {
        match addresses.unwrap_or_else(|| Err("internal error: resolving failed".into())) {
            Ok(addresses) => {
                for address in addresses {
                    work.push((slots.len(), endpoint.clone(), address));
                    slots.push(None);
                }
            }
            Err(why) => slots.push(Some(ProbeReport::unreachable(endpoint, why))),
        }
    }
    let progress = Progress::new(progress, slots.len());
    progress.start(endpoints.len(), concurrency);
    let mut done = 0;
    for report in slots.iter().flatten() {
        done += 1;
        each(report);
        progress.done(done, &report.endpoint.target);
    }
    let mut probing = tokio::task::JoinSet::new();
    let mut pending = std::collections::HashMap::new();
    for (slot, endpoint, address) in work {
        let (context, limit) = (Arc::clone(context), Arc::clone(&limit));
        let task_endpoint = endpoint.clone();
        let handle = probing.spawn(async move {
            let _permit = limit.acquire_owned().await;
            (
                slot,
                probe_address(&context, &task_endpoint, address, wait).await,
            )
        });
        pending.insert(handle.id(), (slot, endpoint, address));
    }
    while let Some(joined) = probing.join_next_with_id().await {
        let (slot, report) = match joined {
            Ok((id, (slot, report))) => {
                pending.remove(&id);
                (slot, report)
            }
            Err(e) => {
                let Some((slot, endpoint, address)) = pending.remove(&e.id()) else {
                    continue;
                };
                let mut report =
                    ProbeReport::unreachable(&endpoint, format!("internal error: {e}"));
                report.address = Some(address);
                (slot, report)
            }
        };
        done += 1;
        each(&report);
        progress.done(done, &report.endpoint.target);
        slots[slot] = Some(report);
    }
    slots.into_iter().flatten().collect()
}

pub(crate) fn scan_table(
    reports: &[ProbeReport],
    args: &ProbeArgs,
    now: OffsetDateTime,
) -> Vec<String> {
    let endpoint = |r: &ProbeReport| match r.address {
        // The address is shown when the name is not already it.
        Some(a) if a.ip().to_string() != r.endpoint.host.trim_matches(['[', ']']) => {
            format!("{} ({})", r.endpoint.target, a.ip())
        }
        _ => r.endpoint.target.clone(),
    };
    let issuer = |r: &ProbeReport| match &r.tls {
        Ok(info) => info
            .chain
            .first()
            .map_or("-".to_owned(), |c| Escaped(&c.issuer).to_string()),
        Err(_) => "-".to_owned(),
    };
    let width = reports
        .iter()
        .map(|r| endpoint(r).len())
        .max()
        .unwrap_or(8)
        .max(8);
    let issuer_width = reports
        .iter()
        .map(|r| issuer(r).chars().count())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut lines = vec![format!(
        "{:<width$}  {:<5}  {:<8}  {:<11}  {:<10}  {:>7}  {:<issuer_width$}  RESULT",
        "ENDPOINT", "PROBE", "TLS", "CLIENT CERT", "PLAINTEXT", "EXPIRES", "ISSUER"
    )];
    let mut failing = 0;
    for report in reports {
        let problems = report.problems(args, now);
        let (tls, expires) = match &report.tls {
            Ok(info) => (
                info.protocol.clone(),
                info.chain
                    .first()
                    .map_or("-".into(), |c| format!("{}d", c.days_to_expiry(now))),
            ),
            Err(_) => ("FAILED".into(), "-".into()),
        };
        let cert = match &report.requires_client_certificate {
            Answer::Yes(_) => "required",
            Answer::No(_) => "NOT REQ.",
            Answer::Unknown(_) => "unknown",
            Answer::NotProbed(_) => "-",
        };
        let plain = match &report.accepts_plaintext {
            Answer::Yes(_) => "ACCEPTED",
            Answer::No(_) => "refused",
            Answer::Unknown(_) => "unknown",
            Answer::NotProbed(_) => "not probed",
        };
        let result = if problems.is_empty() {
            "ok".to_owned()
        } else {
            failing += 1;
            format!("FAIL: {}", problems.join("; "))
        };
        lines.push(format!(
            "{:<width$}  {:<5}  {tls:<8}  {cert:<11}  {plain:<10}  {expires:>7}  {:<issuer_width$}  {result}",
            endpoint(report),
            protocol_name(report.endpoint.protocol),
            issuer(report),
        ));
    }
    let not_probed = reports
        .iter()
        .filter(|r| matches!(r.accepts_plaintext, Answer::NotProbed(_)))
        .count();
    let mut summary = format!(
        "{} endpoints, {} ok, {failing} failing",
        reports.len(),
        reports.len() - failing
    );
    if not_probed > 0 {
        summary.push_str(&format!(
            " ({not_probed} probed with TLS only: no plaintext claim)"
        ));
    }
    lines.push(summary);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let t = |s: &str| parse_target(s).map(|e| (e.host, e.port));
        assert_eq!(
            t("node1.example.com:19070").unwrap(),
            ("node1.example.com".into(), 19070)
        );
        assert_eq!(t("tcp/19070").unwrap(), ("localhost".into(), 19070));
        assert_eq!(t("tcp/node1:4080").unwrap(), ("node1".into(), 4080));
        assert_eq!(t("[::1]:4080").unwrap(), ("::1".into(), 4080));
        assert_eq!(t("127.0.0.1:1").unwrap(), ("127.0.0.1".into(), 1));
        for bad in [
            "node1",
            ":80",
            "::1:80",
            "host:port",
            "host:70000",
            "[::1]80",
            "",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alerts_are_recognised() {
        assert!(is_tls_alert(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]));
        assert!(!is_tls_alert(b"HTTP/1.1 200 OK"));
        assert!(!is_tls_alert(&[0x15]));
    }
}
