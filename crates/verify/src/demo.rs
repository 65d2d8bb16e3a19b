//! `vespa-tls demo`: the whole story on loopback, in a temporary directory, in a few seconds.
//!
//! The story is a table of [`STEPS`]: each names what it shows, the [`Outcome`] it expects and
//! the function that produces the outcome it got. [`run`] sets up the certificates, runs the
//! steps in order, prints each result as it comes and, for `--json`, writes the same results.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use vespa_tls_authz::{Capability, CapabilitySet};
use vespa_tls_config::{
    AuthorizedPeers, CONFIG_FILE_VAR, CredentialField, MIXED_MODE_VAR, MixedMode, PeerPolicy,
    RequiredPeerCredential, TransportSecurityOptions,
};
use vespa_tls_context::{
    PeerRejection, ReloadOptions, ReloadingTlsContext, TlsContext, TlsMetrics, TlsModes,
};
use vespa_tls_material::CertificateFacts;
use vespa_tls_pki::{
    CaParams, CertificateAuthority, NodeParams, Validity, write_node_files, write_public_file,
};
use vespa_tls_transport::{Acceptor, Connector, TlsSource, TransportError};

use crate::cli::{DemoArgs, ProbeArgs, Protocol};
use crate::json::{DemoOutput, DemoStep};
use crate::node_env::VespaHome;
use crate::output::{Verdict, say, say_json};
use crate::probe::{Endpoint, scan_all, scan_table};

/// Every node's `authorized-peers`: the guide's two policies, the monitoring one limited to
/// telemetry.
fn rules() -> AuthorizedPeers {
    let require = |field, pattern: &str| RequiredPeerCredential {
        field,
        must_match: pattern.to_owned(),
    };
    let policies = vec![
        PeerPolicy {
            name: "cluster-p2p".to_owned(),
            description: Some("Cluster-internal node P2P access".to_owned()),
            capabilities: None,
            required_credentials: vec![require(
                CredentialField::SanDns,
                "*.mycluster.vespa.example.com",
            )],
        },
        PeerPolicy {
            name: "monitoring".to_owned(),
            description: Some("Backend monitoring service access".to_owned()),
            capabilities: Some(vec!["vespa.telemetry".to_owned()]),
            required_credentials: vec![
                require(CredentialField::Cn, "vespa-monitoring.example.com"),
                require(CredentialField::SanDns, "*.us-east-*.monitor.example.com"),
            ],
        },
    ];
    AuthorizedPeers::new(policies).expect("two policies")
}

const SETUP: &str = "1. A CA and node certificates (what the guide's Appendix A does with openssl)";
const ROLLOUT: &str = "2. Rolling TLS out: node-a serves, node-b calls it, one phase at a time";
const AUTHORIZATION: &str = "3. Authorization: who may talk to node-a, and with which capabilities";
const ROTATION: &str =
    "4. Rotating node-a's certificate live (new files, then an atomic rename of the config)";
const SCAN: &str = "5. The phase-3 safety check: scan for endpoints that still accept plaintext";

/// What one step saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A line sent came back over TLS.
    Tls,
    /// A line sent came back over plaintext.
    Plaintext,
    /// The connection, the handshake or the exchange was refused.
    Refused,
    /// The server ran the capability-checked write.
    Allowed,
    /// The server refused the write with Vespa's permission-denied message.
    Denied,
    /// New connections get the renewed certificate.
    NewCertificate,
    /// New connections still get the old certificate.
    OldCertificate,
    /// The scan finds nothing wrong with the endpoint.
    Passes,
    /// The scan reports a problem with the endpoint.
    Fails,
}

impl Outcome {
    /// The word printed and written to JSON.
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Tls => "TLS",
            Outcome::Plaintext => "plaintext",
            Outcome::Refused => "refused",
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NewCertificate => "new",
            Outcome::OldCertificate => "old",
            Outcome::Passes => "ok",
            Outcome::Fails => "fails",
        }
    }
}

/// A step's outcome and the lines that explain it.
struct Seen {
    outcome: Outcome,
    details: Vec<String>,
}

impl From<Outcome> for Seen {
    fn from(outcome: Outcome) -> Self {
        Seen {
            outcome,
            details: Vec::new(),
        }
    }
}

type StepFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Seen>> + 'a>>;

/// One step of the story.
struct Step {
    /// A short, stable identifier (`--json`'s `name`).
    name: &'static str,
    /// The section the step belongs to, printed as a heading when it changes.
    section: &'static str,
    /// What the step shows, in a sentence.
    shows: &'static str,
    expected: Outcome,
    run: for<'a> fn(&'a mut Demo) -> StepFuture<'a>,
}

/// The story, in order.
const STEPS: &[Step] = &[
    Step {
        name: "phase-0",
        section: ROLLOUT,
        shows: "phase 0: no TLS anywhere",
        expected: Outcome::Plaintext,
        run: |d| Box::pin(d.phase(None, Client::Plaintext)),
    },
    Step {
        name: "phase-1",
        section: ROLLOUT,
        shows: "phase 1: node-a mixed, node-b still plaintext",
        expected: Outcome::Plaintext,
        run: |d| {
            Box::pin(d.phase(
                Some(MixedMode::PlaintextClientMixedServer),
                Client::PhaseOne,
            ))
        },
    },
    Step {
        name: "phase-2",
        section: ROLLOUT,
        shows: "phase 2: node-b switches to TLS",
        expected: Outcome::Tls,
        run: |d| Box::pin(d.phase(Some(MixedMode::TlsClientMixedServer), Client::Tls)),
    },
    Step {
        name: "phase-2-old-client",
        section: ROLLOUT,
        shows: "phase 2: a phase-1 client still works",
        expected: Outcome::Plaintext,
        run: |d| Box::pin(d.phase(Some(MixedMode::TlsClientMixedServer), Client::PhaseOne)),
    },
    Step {
        name: "phase-3",
        section: ROLLOUT,
        shows: "phase 3: node-a TLS only",
        expected: Outcome::Tls,
        run: |d| Box::pin(d.phase(Some(MixedMode::TlsClientTlsServer), Client::TlsOnly)),
    },
    Step {
        name: "phase-3-plaintext-refused",
        section: ROLLOUT,
        shows: "phase 3: a plaintext client is refused",
        expected: Outcome::Refused,
        run: |d| Box::pin(d.plaintext_refused()),
    },
    Step {
        name: "intruder-refused",
        section: AUTHORIZATION,
        shows: "the intruder's certificate chains to our CA but is refused",
        expected: Outcome::Refused,
        run: |d| Box::pin(d.intruder_refused()),
    },
    Step {
        name: "monitor-connects",
        section: AUTHORIZATION,
        shows: "the us-east monitor connects",
        expected: Outcome::Tls,
        run: |d| Box::pin(d.monitor_connects()),
    },
    Step {
        name: "monitor-write-denied",
        section: AUTHORIZATION,
        shows: "the monitor may not use the document API (vespa.telemetry only)",
        expected: Outcome::Denied,
        run: |d| Box::pin(d.write_as(Client::Monitor)),
    },
    Step {
        name: "node-write-allowed",
        section: AUTHORIZATION,
        shows: "node-b may (cluster-p2p grants all capabilities)",
        expected: Outcome::Allowed,
        run: |d| Box::pin(d.write_as(Client::Tls)),
    },
    Step {
        name: "rotation",
        section: ROTATION,
        shows: "new connections get the new certificate",
        expected: Outcome::NewCertificate,
        run: |d| Box::pin(d.rotate()),
    },
    Step {
        name: "scan-tls-only",
        section: SCAN,
        shows: "node-a (TLS only) passes",
        expected: Outcome::Passes,
        run: |d| Box::pin(d.scan(Node::A, MixedMode::TlsClientTlsServer)),
    },
    Step {
        name: "scan-mixed",
        section: SCAN,
        shows: "node-b's server, left in mixed mode, is caught",
        expected: Outcome::Fails,
        run: |d| Box::pin(d.scan(Node::B, MixedMode::TlsClientMixedServer)),
    },
];

/// What a step came to.
struct StepReport {
    step: &'static Step,
    got: Outcome,
    details: Vec<String>,
}

impl StepReport {
    fn ok(&self) -> bool {
        self.got == self.step.expected
    }

    fn human(&self) -> Vec<String> {
        let mark = if self.ok() { "ok " } else { "UNEXPECTED" };
        let mut lines = vec![format!(
            "   [{mark}] {}: {}",
            self.step.shows,
            self.got.as_str()
        )];
        lines.extend(self.details.iter().map(|d| format!("         {d}")));
        lines
    }

    fn failure(&self) -> Option<String> {
        (!self.ok()).then(|| {
            format!(
                "{}: expected {}, got {}",
                self.step.shows,
                self.step.expected.as_str(),
                self.got.as_str()
            )
        })
    }

    fn json(&self) -> DemoStep {
        DemoStep {
            name: self.step.name.to_owned(),
            step: self.step.shows.to_owned(),
            expected: self.step.expected.as_str().to_owned(),
            got: self.got.as_str().to_owned(),
            ok: self.ok(),
            details: self.details.clone(),
        }
    }
}

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<Verdict> {
    let temp;
    let dir = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            dir.canonicalize()?
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("vespa-tls-demo-")
                .tempdir()?;
            temp.path().to_owned()
        }
    };
    let json = args.output.json;
    let runtime = crate::probe::runtime()?;
    let started = Instant::now();
    let reports = runtime.block_on(async {
        let (mut demo, setup) = Demo::set_up(&dir)?;
        if !json {
            say("");
            say(format!("== {SETUP}"));
            for line in setup {
                say(format!("   {line}"));
            }
        }
        let mut reports = Vec::with_capacity(STEPS.len());
        let mut section = SETUP;
        for step in STEPS {
            let seen = (step.run)(&mut demo).await?;
            let report = StepReport {
                step,
                got: seen.outcome,
                details: seen.details,
            };
            if !json {
                if step.section != section {
                    section = step.section;
                    say("");
                    say(format!("== {section}"));
                }
                for line in report.human() {
                    say(line);
                }
            }
            reports.push(report);
        }
        anyhow::Ok(reports)
    })?;
    let failures: Vec<String> = reports.iter().filter_map(StepReport::failure).collect();
    if json {
        say_json(&DemoOutput {
            ok: failures.is_empty(),
            directory: dir.display().to_string(),
            seconds: started.elapsed().as_secs_f64(),
            steps: reports.iter().map(StepReport::json).collect(),
            failures: failures.clone(),
        });
    } else {
        say("");
        if failures.is_empty() {
            say(format!(
                "demo complete in {:.1?}: every step behaved as expected.",
                started.elapsed()
            ));
        } else {
            say(format!(
                "demo finished with {} unexpected results:",
                failures.len()
            ));
            for failure in &failures {
                say(format!("  {failure}"));
            }
        }
    }
    Ok(Verdict::from_ok(failures.is_empty()))
}

/// The nodes of the story.
#[derive(Debug, Clone, Copy)]
enum Node {
    A,
    B,
}

/// Who calls node-a.
#[derive(Debug, Clone, Copy)]
enum Client {
    /// No TLS at all (phase 0).
    Plaintext,
    /// node-b in phase 1: plaintext, but its server side is mixed.
    PhaseOne,
    /// node-b in phase 3: TLS, and its server side TLS only (as a client the same as phase 2).
    TlsOnly,
    /// node-b with TLS.
    Tls,
    /// The monitoring client.
    Monitor,
    /// The intruder: same CA, no policy matches it.
    Intruder,
}

/// What the steps share: the directory, the CA, the four identities and node-a's port.
struct Demo {
    dir: PathBuf,
    ca: CertificateAuthority,
    validity: Validity,
    a: NodeFiles,
    b: NodeFiles,
    monitor: NodeFiles,
    intruder: NodeFiles,
    /// node-a's port: its first server takes one, every restart takes it back.
    port: u16,
}

impl Demo {
    /// Writes the CA and the four identities; returns what to say about them.
    fn set_up(dir: &Path) -> anyhow::Result<(Demo, Vec<String>)> {
        let now = time::OffsetDateTime::now_utc().replace_nanosecond(0)?;
        let validity = Validity::new(
            now - time::Duration::hours(1),
            now + time::Duration::days(365),
        );
        let ca = CertificateAuthority::new_root(&CaParams::new("Vespa demo root CA", validity))?;
        write_public_file(&dir.join("ca.pem"), ca.cert_pem().as_bytes())?;
        let a = write_node(dir, &ca, "node-a", &node_params("node-a", validity))?;
        let b = write_node(dir, &ca, "node-b", &node_params("node-b", validity))?;
        let monitor = write_node(
            dir,
            &ca,
            "monitor",
            &NodeParams::new("vespa-monitoring.example.com", validity)
                .with_dns("localhost")
                .with_dns("i1.us-east-1.monitor.example.com"),
        )?;
        let intruder = write_node(
            dir,
            &ca,
            "intruder",
            &NodeParams::new("intruder.example.org", validity)
                .with_dns("localhost")
                .with_dns("intruder.example.org"),
        )?;
        let lines = vec![
            format!("files in {}", dir.display()),
            "node-a, node-b: SAN DNS node-X.mycluster.vespa.example.com (policy cluster-p2p: all capabilities)".into(),
            "monitor: CN vespa-monitoring.example.com, SAN DNS i1.us-east-1.monitor.example.com (policy monitoring: vespa.telemetry)".into(),
            "intruder: signed by the same CA, but no policy matches it".into(),
        ];
        let demo = Demo {
            dir: dir.to_owned(),
            ca,
            validity,
            a,
            b,
            monitor,
            intruder,
            port: 0,
        };
        Ok((demo, lines))
    }

    fn connector(&self, client: Client) -> Connector {
        let (source, mode) = match client {
            Client::Plaintext => (TlsSource::disabled(), MixedMode::TlsClientTlsServer),
            Client::PhaseOne => (tls(&self.b), MixedMode::PlaintextClientMixedServer),
            Client::Tls => (tls(&self.b), MixedMode::TlsClientMixedServer),
            Client::TlsOnly => (tls(&self.b), MixedMode::TlsClientTlsServer),
            Client::Monitor => (tls(&self.monitor), MixedMode::TlsClientTlsServer),
            Client::Intruder => (tls(&self.intruder), MixedMode::TlsClientTlsServer),
        };
        Connector::new(source, mode)
    }

    /// Starts node-a (again) on its port: with TLS in `mode`, or without TLS for `None`.
    async fn start_a(&mut self, mode: Option<MixedMode>) -> anyhow::Result<Server> {
        let acceptor = match mode {
            Some(mode) => Acceptor::new(tls(&self.a), mode),
            None => Acceptor::new(TlsSource::disabled(), MixedMode::TlsClientTlsServer),
        };
        self.start(acceptor).await
    }

    async fn start(&mut self, acceptor: Acceptor) -> anyhow::Result<Server> {
        let server = start(acceptor, self.port).await?;
        self.port = server.address.port();
        Ok(server)
    }

    async fn phase(&mut self, server: Option<MixedMode>, client: Client) -> anyhow::Result<Seen> {
        let settings = self.settings(server, client);
        let started = self.start_a(server).await?;
        Ok(Seen {
            outcome: talk(&self.connector(client), started.address).await,
            details: settings,
        })
    }

    /// What an operator sets on each node for this step, in the guide's words: node-a with the
    /// server's mode, node-b with the client's.
    fn settings(&self, server: Option<MixedMode>, client: Client) -> Vec<String> {
        let client_mode = match client {
            Client::Plaintext => None,
            Client::PhaseOne => Some(MixedMode::PlaintextClientMixedServer),
            Client::Tls => Some(MixedMode::TlsClientMixedServer),
            _ => Some(MixedMode::TlsClientTlsServer),
        };
        vec![
            format!("node-a: {}", variables(&self.a.config, server)),
            format!("node-b: {}", variables(&self.b.config, client_mode)),
        ]
    }

    async fn plaintext_refused(&mut self) -> anyhow::Result<Seen> {
        let mut details = self.settings(Some(MixedMode::TlsClientTlsServer), Client::Plaintext);
        let server = self.start_a(Some(MixedMode::TlsClientTlsServer)).await?;
        let outcome = talk(&self.connector(Client::Plaintext), server.address).await;
        let counters = server.acceptor.metrics().snapshot().server;
        details.push(format!(
            "node-a counters: tls_connections {}, insecure_connections {}, failed_tls_handshakes {}",
            counters.tls_connections, counters.insecure_connections, counters.failed_tls_handshakes
        ));
        Ok(Seen { outcome, details })
    }

    async fn intruder_refused(&mut self) -> anyhow::Result<Seen> {
        let mut server = self.start_a(Some(MixedMode::TlsClientTlsServer)).await?;
        let outcome = talk(&self.connector(Client::Intruder), server.address).await;
        // The server records why it refused once its side of the handshake has failed.
        let reason = tokio::time::timeout(
            Duration::from_secs(3),
            server.last_refusal.wait_for(Option::is_some),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .and_then(|reason| reason.clone());
        Ok(Seen {
            outcome,
            details: reason
                .map(|r| format!("node-a says: {r}"))
                .into_iter()
                .collect(),
        })
    }

    async fn monitor_connects(&mut self) -> anyhow::Result<Seen> {
        let server = self.start_a(Some(MixedMode::TlsClientTlsServer)).await?;
        Ok(talk(&self.connector(Client::Monitor), server.address)
            .await
            .into())
    }

    /// A capability-checked write (`vespa.content.document_api`) as `client`.
    async fn write_as(&mut self, client: Client) -> anyhow::Result<Seen> {
        let server = self.start_a(Some(MixedMode::TlsClientTlsServer)).await?;
        let reply = request(
            &self.connector(client),
            server.address,
            b"PUT /document/v1/demo\n",
        )
        .await;
        Ok(match reply.strip_prefix("DENIED ") {
            Some(message) => Seen {
                outcome: Outcome::Denied,
                details: vec![message.to_owned()],
            },
            None if reply == "OK" => Outcome::Allowed.into(),
            None => Seen {
                outcome: Outcome::Refused,
                details: vec![format!("reply: {reply:?}")],
            },
        })
    }

    async fn rotate(&mut self) -> anyhow::Result<Seen> {
        let reloading = Arc::new(ReloadingTlsContext::from_file(
            &self.a.config,
            TlsModes::default(),
            ReloadOptions::default().with_debounce(Duration::from_millis(100)),
        )?);
        let server = self
            .start(Acceptor::new(
                TlsSource::Reloading(Arc::clone(&reloading)),
                MixedMode::TlsClientTlsServer,
            ))
            .await?;
        let client = self.connector(Client::Tls);
        let old = served_fingerprint(&client, server.address).await?;
        let renewed = self.ca.issue(&node_params("node-a", self.validity))?;
        write_node_files(
            &self.dir.join("node-a-2"),
            "node-a",
            &renewed,
            &self.ca.ca_bundle_pem(),
        )?;
        let new_config = std::fs::read_to_string(&self.a.config)?.replace(
            &path_text(&self.dir.join("node-a"))?,
            &path_text(&self.dir.join("node-a-2"))?,
        );
        let staging = self.a.config.with_extension("json.new");
        write_public_file(&staging, new_config.as_bytes())?;
        let renamed = Instant::now();
        std::fs::rename(&staging, &self.a.config)?;
        let expected = CertificateFacts::from_der(&renewed.cert_der)
            .map(|f| f.sha256_fingerprint)
            .unwrap_or_default();
        // Bounded: the reload follows the rename within the debounce and one look.
        let mut now_served = old.clone();
        while now_served != expected && renamed.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            now_served = served_fingerprint(&client, server.address).await?;
        }
        Ok(Seen {
            outcome: if now_served == expected {
                Outcome::NewCertificate
            } else {
                Outcome::OldCertificate
            },
            details: vec![
                format!("before: sha256 {old}"),
                format!(
                    "after:  sha256 {now_served} ({} ms after the rename)",
                    renamed.elapsed().as_millis()
                ),
            ],
        })
    }

    /// Starts `node`'s server in `mode` and scans it as node-b would (`vespa-tls scan`).
    async fn scan(&mut self, node: Node, mode: MixedMode) -> anyhow::Result<Seen> {
        let server = match node {
            Node::A => self.start_a(Some(mode)).await?,
            Node::B => start(Acceptor::new(tls(&self.b), mode), 0).await?,
        };
        let port = server.address.port();
        let endpoints = [Endpoint {
            target: format!("127.0.0.1:{port}"),
            host: "127.0.0.1".into(),
            port,
            protocol: Protocol::Echo,
            service: None,
            tags: None,
        }];
        let probe_args = ProbeArgs {
            config: None,
            protocol: Protocol::Echo,
            timeout: 3.0,
            allow_plaintext: false,
            allow_unknown: false,
            warn_days: 30,
            home: VespaHome::default(),
        };
        let reports = scan_all(
            &self.b.context,
            &endpoints,
            Duration::from_secs(3),
            4,
            false,
            |_| {},
        )
        .await;
        let now = time::OffsetDateTime::now_utc();
        let passes = reports
            .iter()
            .all(|r| r.problems(&probe_args, now).is_empty());
        Ok(Seen {
            outcome: if passes {
                Outcome::Passes
            } else {
                Outcome::Fails
            },
            details: scan_table(&reports, &probe_args, now),
        })
    }
}

fn node_params(name: &str, validity: Validity) -> NodeParams {
    NodeParams::new(format!("{name}.vespa.local"), validity)
        .with_dns("localhost")
        .with_dns(format!("{name}.mycluster.vespa.example.com"))
        .with_ip(std::net::IpAddr::from([127, 0, 0, 1]))
}

/// A node's `VESPA_TLS_*` settings as the guide has the operator type them: no config file
/// (phase 0), the config file and `VESPA_TLS_INSECURE_MIXED_MODE` (phases 1 and 2), or the
/// config file with the mixed mode removed (phase 3).
fn variables(config: &Path, mode: Option<MixedMode>) -> String {
    match mode {
        None => format!("{CONFIG_FILE_VAR} unset (no TLS)"),
        Some(MixedMode::TlsClientTlsServer) => format!(
            "{CONFIG_FILE_VAR}={}, {MIXED_MODE_VAR} unset",
            config.display()
        ),
        Some(mode) => format!(
            "{CONFIG_FILE_VAR}={} {MIXED_MODE_VAR}={mode}",
            config.display()
        ),
    }
}

/// One identity's files and the context built from them.
struct NodeFiles {
    config: PathBuf,
    context: Arc<TlsContext>,
}

fn write_node(
    dir: &Path,
    ca: &CertificateAuthority,
    name: &str,
    params: &NodeParams,
) -> anyhow::Result<NodeFiles> {
    let issued = ca.issue(params)?;
    let written = write_node_files(&dir.join(name), name, &issued, &ca.ca_bundle_pem())?;
    let mut options = TransportSecurityOptions::with_files(written.files);
    options.authorized_peers = Some(rules());
    let config = dir.join(name).join("tls.json");
    write_public_file(&config, options.to_json().as_bytes())?;
    let (context, _) = TlsContext::from_options(
        &options,
        TlsModes::default(),
        Arc::new(TlsMetrics::default()),
    )?;
    Ok(NodeFiles {
        config,
        context: Arc::new(context),
    })
}

fn tls(node: &NodeFiles) -> TlsSource {
    TlsSource::Fixed(Arc::clone(&node.context))
}

/// A node's server: echoes lines, answers `PUT` after a capability check; stops on drop.
struct Server {
    address: SocketAddr,
    acceptor: Acceptor,
    /// Why the last refused handshake was refused.
    last_refusal: watch::Receiver<Option<String>>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(acceptor: Acceptor, port: u16) -> anyhow::Result<Server> {
    // A restarted node takes its old port back; the old listener closes asynchronously.
    let deadline = Instant::now() + Duration::from_secs(5);
    let listener = loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => break listener,
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => return Err(anyhow::anyhow!("127.0.0.1:{port}: cannot listen: {e}")),
        }
    };
    let address = listener.local_addr()?;
    let (refusal, last_refusal) = watch::channel(None);
    let task_acceptor = acceptor.clone();
    let task = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (acceptor, refusal) = (task_acceptor.clone(), refusal.clone());
            tokio::spawn(async move {
                match acceptor.accept_tcp(socket).await {
                    Ok((mut stream, auth)) => {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = stream.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            // A capability-checked "write" command, like a document API.
                            if buf[..n].starts_with(b"PUT") {
                                let required = CapabilitySet::of(&[Capability::ContentDocumentApi]);
                                let reply = match auth.verify_capabilities(
                                    required,
                                    "put",
                                    "/document/v1/demo",
                                ) {
                                    Ok(()) => "OK\n".to_owned(),
                                    Err(denied) => format!("DENIED {denied}\n"),
                                };
                                let _ = stream.write_all(reply.as_bytes()).await;
                                let _ = stream.flush().await;
                                continue;
                            }
                            if stream.write_all(&buf[..n]).await.is_err()
                                || stream.flush().await.is_err()
                            {
                                break;
                            }
                        }
                    }
                    Err(e) => {
                        let text = match e.rustls_error().and_then(PeerRejection::from_rustls) {
                            Some(rejection) => rejection.to_string(),
                            None => e.to_string(),
                        };
                        refusal.send_replace(Some(text));
                    }
                }
            });
        }
    });
    Ok(Server {
        address,
        acceptor,
        last_refusal,
        task,
    })
}

/// Sends a line and checks the echo.
async fn talk(connector: &Connector, address: SocketAddr) -> Outcome {
    let Ok((mut stream, auth)) = connector.connect_tcp(address, "localhost").await else {
        return Outcome::Refused;
    };
    let line = b"hello\n";
    if stream.write_all(line).await.is_err() || stream.flush().await.is_err() {
        return Outcome::Refused;
    }
    let mut reply = [0u8; 6];
    match tokio::time::timeout(Duration::from_secs(3), stream.read_exact(&mut reply)).await {
        Ok(Ok(_)) if &reply == line && auth.is_tls() => Outcome::Tls,
        Ok(Ok(_)) if &reply == line => Outcome::Plaintext,
        _ => Outcome::Refused,
    }
}

/// Sends one command line and returns the reply line ("refused" when there is none).
async fn request(connector: &Connector, address: SocketAddr, line: &[u8]) -> String {
    let Ok((mut stream, _)) = connector.connect_tcp(address, "localhost").await else {
        return "refused".into();
    };
    if stream.write_all(line).await.is_err() || stream.flush().await.is_err() {
        return "refused".into();
    }
    let mut reply = Vec::new();
    let mut buf = [0u8; 1024];
    while !reply.ends_with(b"\n") {
        match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => reply.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&reply).trim().to_owned()
}

fn path_text(path: &Path) -> anyhow::Result<String> {
    match path.to_str() {
        Some(s) => Ok(s.to_owned()),
        None => bail!("{}: the demo needs a UTF-8 path", path.display()),
    }
}

async fn served_fingerprint(connector: &Connector, address: SocketAddr) -> anyhow::Result<String> {
    let (stream, _) = connector
        .connect_tcp(address, "localhost")
        .await
        .map_err(|e: TransportError| anyhow::anyhow!("{e}"))?;
    let leaf = stream
        .peer_certificates()
        .and_then(|c| c.first())
        .context("no server certificate")?;
    Ok(CertificateFacts::from_der(leaf)
        .map(|f| f.sha256_fingerprint)
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_named_once_and_grouped_by_section() {
        let mut names: Vec<&str> = STEPS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), STEPS.len(), "a step name is used twice");
        // The runner prints a heading when the section changes: each section is one run.
        let order = [SETUP, ROLLOUT, AUTHORIZATION, ROTATION, SCAN];
        let position = |section| order.iter().position(|s| *s == section).expect("known");
        for pair in STEPS.windows(2) {
            assert!(
                position(pair[0].section) <= position(pair[1].section),
                "{} comes after {}",
                pair[1].name,
                pair[0].name
            );
        }
    }

    #[test]
    fn a_step_that_sees_something_else_is_a_failure_naming_both() {
        let step = &STEPS[0];
        let report = StepReport {
            step,
            got: Outcome::Refused,
            details: vec!["why".into()],
        };
        assert!(!report.ok());
        assert_eq!(
            report.failure().as_deref(),
            Some("phase 0: no TLS anywhere: expected plaintext, got refused")
        );
        assert_eq!(
            report.human()[0],
            "   [UNEXPECTED] phase 0: no TLS anywhere: refused"
        );
        assert!(!report.json().ok);
        assert_eq!(report.json().details, ["why"]);
    }
}
