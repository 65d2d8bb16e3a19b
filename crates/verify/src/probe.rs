//! Probing live endpoints: `vespa-tls connect` and `vespa-tls scan`.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rustls_pki_types::ServerName;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use vespa_tls_config::MixedMode;
use vespa_tls_context::{PeerRejection, TlsContext, TlsMetrics, TlsModes};
use vespa_tls_material::CertificateFacts;
use vespa_tls_transport::{ConnectionSecurity, Connector, TlsSource, TransportError};

use crate::cli::{ConnectArgs, ProbeArgs, Protocol, ScanArgs};
use crate::frt;
use crate::output::{
    Verdict, certificate_json, certificate_lines, config_path, load_options, note, say, say_json,
};

/// An endpoint as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// As written.
    pub(crate) target: String,
    /// The host name or IP literal: what is dialled and validated.
    pub(crate) host: String,
    pub(crate) port: u16,
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
    })
}

/// What the TLS handshake with our certificate showed.
#[derive(Debug, Clone)]
pub(crate) struct TlsInfo {
    pub(crate) protocol: String,
    pub(crate) cipher_suite: String,
    pub(crate) chain: Vec<CertificateFacts>,
    pub(crate) matched_policies: Vec<String>,
    pub(crate) authorized: bool,
    pub(crate) exchange: String,
}

/// A three-valued answer with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Yes(String),
    No(String),
    Unknown(String),
}

impl Answer {
    fn word(&self) -> &'static str {
        match self {
            Answer::Yes(_) => "yes",
            Answer::No(_) => "no",
            Answer::Unknown(_) => "unknown",
        }
    }

    fn reason(&self) -> &str {
        match self {
            Answer::Yes(r) | Answer::No(r) | Answer::Unknown(r) => r,
        }
    }
}

/// Everything one probe found.
#[derive(Debug, Clone)]
pub(crate) struct ProbeReport {
    pub(crate) endpoint: Endpoint,
    pub(crate) address: Option<SocketAddr>,
    pub(crate) tls: Result<TlsInfo, String>,
    pub(crate) requires_client_certificate: Answer,
    pub(crate) accepts_plaintext: Answer,
}

impl ProbeReport {
    /// What makes this endpoint fail the check.
    pub(crate) fn problems(&self, args: &ProbeArgs, now: OffsetDateTime) -> Vec<String> {
        let mut problems = Vec::new();
        // When the handshake failed, what is unknown about the rest says nothing new.
        let allow_unknown = args.allow_unknown || self.tls.is_err();
        match &self.tls {
            Err(e) => problems.push(format!("TLS handshake failed: {e}")),
            Ok(info) => {
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
            Answer::Yes(_) => {}
            Answer::No(r) => problems.push(format!("does not require a client certificate: {r}")),
            Answer::Unknown(r) if !args.allow_unknown => {
                problems.push(format!(
                    "unknown whether a client certificate is required: {r}"
                ));
            }
            Answer::Unknown(_) => {}
        }
        match &self.accepts_plaintext {
            Answer::No(_) => {}
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

    pub(crate) fn to_json(&self, args: &ProbeArgs, now: OffsetDateTime) -> Value {
        let problems = self.problems(args, now);
        json!({
            "target": self.endpoint.target,
            "address": self.address.map(|a| a.to_string()),
            "ok": problems.is_empty(),
            "problems": problems,
            "tls": match &self.tls {
                Ok(info) => json!({
                    "ok": true,
                    "protocol": info.protocol,
                    "cipher_suite": info.cipher_suite,
                    "server_chain": info.chain.iter().map(|c| certificate_json(c, now)).collect::<Vec<_>>(),
                    "server_authorized_by_our_policies": info.authorized,
                    "matched_policies": info.matched_policies,
                    "exchange": info.exchange,
                }),
                Err(e) => json!({"ok": false, "error": e}),
            },
            "requires_client_certificate": {"answer": self.requires_client_certificate.word(), "reason": self.requires_client_certificate.reason()},
            "accepts_plaintext": {"answer": self.accepts_plaintext.word(), "reason": self.accepts_plaintext.reason()},
        })
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
            protocol_name(args.protocol),
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

pub(crate) fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Frt => "frt",
        Protocol::Http => "http",
        Protocol::Echo => "echo",
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

/// Sends one request of `protocol` and waits for the answer.
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
    };
    if let Err(e) = stream.write_all(&request).await {
        return Spoke::Failed(e);
    }
    let _ = stream.flush().await;
    let result = timeout(wait, async {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) if got.is_empty() => return Spoke::Closed,
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
        Ok(Err(e)) => Spoke::Failed(e),
    }
}

fn is_tls_alert(bytes: &[u8]) -> bool {
    bytes.len() >= 2 && bytes[0] == 0x15 && bytes[1] == 0x03
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

/// Runs the three probes against one endpoint.
pub(crate) async fn probe(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    protocol: Protocol,
    wait: Duration,
) -> ProbeReport {
    let resolved = timeout(
        wait,
        tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port)),
    )
    .await;
    let address = match resolved {
        Ok(Ok(mut addresses)) => addresses.next(),
        _ => None,
    };
    let Some(address) = address else {
        let why = format!("cannot resolve {}", endpoint.host);
        return ProbeReport {
            endpoint: endpoint.clone(),
            address: None,
            tls: Err(why.clone()),
            requires_client_certificate: Answer::Unknown(why.clone()),
            accepts_plaintext: Answer::Unknown(why),
        };
    };
    let tls = probe_tls(context, endpoint, address, protocol, wait).await;
    let requires_client_certificate =
        probe_anonymous(context, endpoint, address, protocol, wait).await;
    let accepts_plaintext = probe_plaintext(endpoint, address, protocol, wait).await;
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
    protocol: Protocol,
    wait: Duration,
) -> Result<TlsInfo, String> {
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
    // certificate; an alert or a close right after the handshake means it did not.
    let exchange = match speak(&mut stream, protocol, &endpoint.host, wait).await {
        Spoke::Reply => format!("well-formed {} reply", protocol_name(protocol)),
        Spoke::Other(bytes) => format!("{} bytes that are not a {} reply", bytes.len(), protocol_name(protocol)),
        Spoke::Silent => format!("no {} reply within {wait:?} (the certificate was not refused)", protocol_name(protocol)),
        Spoke::Closed => return Err("the server closed the connection right after the handshake: it refused our certificate".into()),
        Spoke::Failed(e) => return Err(format!("the server refused our certificate: {e}")),
    };
    Ok(TlsInfo {
        protocol: protocol_version,
        cipher_suite: suite,
        chain,
        authorized: true,
        matched_policies: auth.matched_policies().to_vec(),
        exchange,
    })
}

async fn probe_anonymous(
    context: &Arc<TlsContext>,
    endpoint: &Endpoint,
    address: SocketAddr,
    protocol: Protocol,
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
    match speak(&mut stream, protocol, &endpoint.host, wait).await {
        Spoke::Failed(e) => Answer::Yes(format!("refused without a certificate: {e}")),
        Spoke::Closed => Answer::Yes("closed without a certificate".into()),
        Spoke::Reply | Spoke::Other(_) => {
            Answer::No("data flowed without a client certificate".into())
        }
        Spoke::Silent => Answer::Unknown(format!("no alert, close or reply within {wait:?}")),
    }
}

async fn probe_plaintext(
    endpoint: &Endpoint,
    address: SocketAddr,
    protocol: Protocol,
    wait: Duration,
) -> Answer {
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

pub(crate) fn probe_context(args: &ProbeArgs) -> anyhow::Result<Arc<TlsContext>> {
    let path = config_path(args.config.as_deref())?;
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
    let endpoint = parse_target(&args.target)?;
    let wait = wait(&args.probe)?;
    let context = probe_context(&args.probe)?;
    let runtime = runtime()?;
    let report = runtime.block_on(probe(&context, &endpoint, args.probe.protocol, wait));
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

pub(crate) fn read_targets(args: &ScanArgs) -> anyhow::Result<Vec<Endpoint>> {
    let mut targets: Vec<String> = args.endpoints.clone();
    if let Some(file) = &args.targets {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("{}: cannot read", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or_default().trim();
            if !line.is_empty() {
                parse_target(line).with_context(|| format!("{}:{}", file.display(), n + 1))?;
                targets.push(line.to_owned());
            }
        }
    }
    if targets.is_empty() {
        bail!("no endpoints to scan");
    }
    targets.iter().map(|t| parse_target(t)).collect()
}

pub(crate) fn scan(args: &ScanArgs) -> anyhow::Result<Verdict> {
    let endpoints = read_targets(args)?;
    let wait = wait(&args.probe)?;
    let context = probe_context(&args.probe)?;
    let runtime = runtime()?;
    let reports = runtime.block_on(scan_all(
        &context,
        &endpoints,
        args.probe.protocol,
        wait,
        args.concurrency.max(1),
    ));
    let now = OffsetDateTime::now_utc();
    let failing = reports
        .iter()
        .filter(|r| !r.problems(&args.probe, now).is_empty())
        .count();
    if args.output.json {
        say_json(&json!({
            "ok": failing == 0,
            "endpoints": reports.len(),
            "failing": failing,
            "results": reports.iter().map(|r| r.to_json(&args.probe, now)).collect::<Vec<_>>(),
        }));
    } else {
        for line in scan_table(&reports, &args.probe, now) {
            say(line);
        }
    }
    Ok(Verdict::from_ok(failing == 0))
}

/// Probes every endpoint, `concurrency` at a time, in the order given; shows progress on a
/// terminal.
pub(crate) async fn scan_all(
    context: &Arc<TlsContext>,
    endpoints: &[Endpoint],
    protocol: Protocol,
    wait: Duration,
    concurrency: usize,
) -> Vec<ProbeReport> {
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let total = endpoints.len();
    let progress = std::io::stderr().is_terminal();
    let mut tasks = Vec::with_capacity(total);
    for endpoint in endpoints {
        let (context, endpoint, limit, done) = (
            Arc::clone(context),
            endpoint.clone(),
            Arc::clone(&limit),
            Arc::clone(&done),
        );
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            let report = probe(&context, &endpoint, protocol, wait).await;
            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if progress {
                note(format!(
                    "\x1b[1A\x1b[2Kscanned {n}/{total}: {}",
                    endpoint.target
                ));
            }
            report
        }));
    }
    if progress {
        note(format!(
            "scanning {total} endpoints, {concurrency} at a time"
        ));
    }
    let mut reports = Vec::with_capacity(total);
    for (task, endpoint) in tasks.into_iter().zip(endpoints) {
        reports.push(task.await.unwrap_or_else(|e| ProbeReport {
            endpoint: endpoint.clone(),
            address: None,
            tls: Err(format!("internal error: {e}")),
            requires_client_certificate: Answer::Unknown("internal error".into()),
            accepts_plaintext: Answer::Unknown("internal error".into()),
        }));
    }
    reports
}

pub(crate) fn scan_table(
    reports: &[ProbeReport],
    args: &ProbeArgs,
    now: OffsetDateTime,
) -> Vec<String> {
    let width = reports
        .iter()
        .map(|r| r.endpoint.target.len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut lines = vec![format!(
        "{:<width$}  {:<8}  {:<11}  {:<9}  {:>7}  RESULT",
        "ENDPOINT", "TLS", "CLIENT CERT", "PLAINTEXT", "EXPIRES"
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
        };
        let plain = match &report.accepts_plaintext {
            Answer::Yes(_) => "ACCEPTED",
            Answer::No(_) => "refused",
            Answer::Unknown(_) => "unknown",
        };
        let result = if problems.is_empty() {
            "ok".to_owned()
        } else {
            failing += 1;
            format!("FAIL: {}", problems.join("; "))
        };
        lines.push(format!(
            "{:<width$}  {tls:<8}  {cert:<11}  {plain:<9}  {expires:>7}  {result}",
            report.endpoint.target
        ));
    }
    lines.push(format!(
        "{} endpoints, {} ok, {failing} failing",
        reports.len(),
        reports.len() - failing
    ));
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
