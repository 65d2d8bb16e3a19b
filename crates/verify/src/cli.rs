//! The command line: every command, flag and exit code.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::node_env::{EnvArgs, VespaHome};

/// The exit-status table every command's help ends with.
macro_rules! exit_codes {
    () => {
        "\
Exit status:
  0  the answer is yes / no problems found
  1  the command ran and the answer is no (for check: an error-level finding)
  2  the command could not run (usage, unreadable input, internal error)"
    };
}

/// A command's help epilogue: its examples, then the exit-status table. Every command has one
/// (a test walks the command tree), and the man pages carry it too.
macro_rules! examples {
    ($($line:literal),+ $(,)?) => {
        concat!("Examples:\n", $("  ", $line, "\n",)+ "\n", exit_codes!())
    };
}

/// `--version`: the package version, the commit it was built from (see build.rs) and the TLS
/// and crypto libraries linked in.
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit ",
    env!("VESPA_TLS_COMMIT"),
    "\nrustls ",
    env!("VESPA_TLS_RUSTLS_VERSION"),
    "\naws-lc-rs ",
    env!("VESPA_TLS_AWS_LC_RS_VERSION"),
    " (aws-lc-sys ",
    env!("VESPA_TLS_AWS_LC_SYS_VERSION"),
    ")",
);

/// Check, verify, scan, explain and set up Vespa's internal mutual TLS.
#[derive(Debug, Parser)]
#[command(
    name = "vespa-tls",
    version,
    long_version = LONG_VERSION,
    about,
    after_help = examples!(
        "vespa-tls demo",
        "vespa-tls check --config /etc/vespa/tls.json --hostname node1.example.com",
        "vespa-tls scan --targets endpoints.txt",
        "vespa-tls completions bash > /etc/bash_completion.d/vespa-tls",
    ),
)]
pub(crate) struct Cli {
    /// Log more on stderr: -v info, -vv debug (every connection's handshake, with its fields),
    /// -vvv trace. RUST_LOG, when set, takes precedence (e.g. RUST_LOG=vespa_tls_transport=debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub(crate) verbose: u8,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check a TLS config file and the files it names; report every problem and every place
    /// where Vespa's Java and C++ processes would disagree.
    #[command(after_help = examples!(
        "vespa-tls check --config /etc/vespa/tls.json",
        "VESPA_TLS_CONFIG_FILE=/etc/vespa/tls.json vespa-tls check --hostname node1.example.com",
        "vespa-tls check --config tls.json --no-files --json",
    ))]
    Check(CheckArgs),
    /// Explain the authorization decision for a certificate or a set of names.
    #[command(after_help = examples!(
        "vespa-tls authz --config /etc/vespa/tls.json --cert client.pem",
        "vespa-tls authz --cn vespa-monitoring.example.com --san-dns i1.us-east-1.monitor.example.com",
        "vespa-tls authz --config tls.json --san-uri vespa://cluster/node1 --json",
    ))]
    Authz(AuthzArgs),
    /// Verify one live endpoint: mTLS handshake, client certificate required, plaintext refused.
    #[command(after_help = examples!(
        "vespa-tls connect node1.example.com:19070 --config /etc/vespa/tls.json",
        "vespa-tls connect tcp/19071 --protocol http",
        "vespa-tls connect node1.example.com:8080 --protocol http --allow-plaintext --json",
    ))]
    Connect(ConnectArgs),
    /// Verify many endpoints at once: the phase-3 safety check.
    #[command(after_help = examples!(
        "vespa-tls scan node1:19070 node2:19070",
        "vespa-tls scan --targets endpoints.txt --concurrency 64",
        "vespa-tls scan --targets endpoints.txt --json | jq '.results[] | select(.ok | not)'",
        "vespa-model-inspect service container | vespa-tls scan --from-model-inspect - --jsonl",
    ))]
    Scan(ScanArgs),
    /// Make a CA, node certificates and config files (no openssl needed).
    #[command(subcommand, after_help = examples!(
        "vespa-tls ca init --dir ca",
        "vespa-tls ca issue --dir ca --name node1 --san-dns node1.example.com",
        "vespa-tls ca config --dir ca --name node1 --out /etc/vespa/tls.json",
    ))]
    Ca(CaCommand),
    /// On a node: switch its config to a new certificate, key (and CA bundle) safely: new file
    /// names, a check as a handshake would make it, an atomic rename, old sets removed.
    #[command(after_help = examples!(
        "vespa-tls install --config /opt/vespa/conf/tls/tls.json --certificates new.pem --private-key new.key --hostname node1.example.com",
        "vespa-tls install --config /opt/vespa/conf/tls/tls.json --certificates new.pem --private-key new.key --ca-certificates overlap.pem --keep 2 --dry-run",
    ))]
    Install(crate::install::InstallArgs),
    /// Show every certificate of a PEM file or of a server's chain, with the credentials
    /// Vespa's authorization would see.
    #[command(after_help = examples!(
        "vespa-tls inspect /opt/vespa/conf/tls/node1.pem",
        "vespa-tls inspect node2.example.com:19070 --config /opt/vespa/conf/tls/tls.json --json",
    ))]
    Inspect(crate::inspect::InspectArgs),
    /// Whether a certificate is due for renewal: exit 0 = renew now, 1 = not yet.
    #[command(after_help = examples!(
        "vespa-tls needs-renewal --config /opt/vespa/conf/tls/tls.json --expires-in 30d",
        "vespa-tls needs-renewal node1.pem --expires-in 66% --json",
    ))]
    NeedsRenewal(crate::inspect::NeedsRenewalArgs),
    /// On a node: make a private key (mode 0600) and a certificate signing request for the CA.
    #[command(after_help = examples!(
        "vespa-tls csr --dir /opt/vespa/conf/tls --name node1 --san-dns node1.example.com",
        "vespa-tls csr --dir . --name host --key-type rsa-2048 --san-dns myhost.example.com --json",
    ))]
    Csr(crate::csr::CsrArgs),
    /// Run a server on the library, honouring the VESPA_TLS_* variables and reloading live.
    #[command(after_help = examples!(
        "VESPA_TLS_CONFIG_FILE=ca/node1/node1-tls.json vespa-tls serve --listen 127.0.0.1:19090",
        "vespa-tls serve --listen [::]:19090 --protocol frt --json",
    ))]
    Serve(ServeArgs),
    /// A self-contained tour on loopback: certificates, the three rollout phases, an
    /// unauthorized peer, a live rotation and a scan.
    #[command(after_help = examples!(
        "vespa-tls demo",
        "vespa-tls demo --dir demo-files --json",
    ))]
    Demo(DemoArgs),
    /// Print a shell completion script to stdout.
    #[command(after_help = examples!(
        "vespa-tls completions bash > /etc/bash_completion.d/vespa-tls",
        "vespa-tls completions zsh > \"${fpath[1]}/_vespa-tls\"",
        "vespa-tls completions fish > ~/.config/fish/completions/vespa-tls.fish",
    ))]
    Completions(CompletionsArgs),
    /// Print the effective VESPA_TLS_* settings of this node (default-env.txt over the
    /// environment) and where each came from.
    #[command(after_help = examples!(
        "vespa-tls env",
        "vespa-tls env --vespa-home /opt/vespa --json",
    ))]
    Env(EnvArgs),
    /// Write the man pages, one per command, into a directory (the packages ship them; after
    /// `cargo install`, this is how to get them).
    #[command(after_help = examples!(
        "vespa-tls man --dir ~/.local/share/man/man1",
        "vespa-tls man --dir /usr/local/share/man/man1",
    ))]
    Man(ManArgs),
    /// Print the JSON Schema of a command's `--json` output, or write every schema into a
    /// directory.
    #[command(after_help = examples!(
        "vespa-tls json-schema check",
        "vespa-tls json-schema ca-issue > ca-issue.schema.json",
        "vespa-tls json-schema --dir docs/schemas",
    ))]
    JsonSchema(JsonSchemaArgs),
}

#[derive(Debug, Args)]
pub(crate) struct JsonSchemaArgs {
    /// The command, its words joined by `-` (`check`, `ca-issue`, `serve`).
    #[arg(required_unless_present = "dir", conflicts_with = "dir")]
    pub(crate) command: Option<String>,
    /// Write `COMMAND.json` for every command into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub(crate) struct ManArgs {
    /// The directory to write `vespa-tls.1`, `vespa-tls-check.1`, … into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: PathBuf,
}

/// Output format shared by every command.
#[derive(Debug, Clone, Args)]
pub(crate) struct Output {
    /// Write a machine-readable result to stdout (human output is the default).
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The TLS config file [default: $VESPA_TLS_CONFIG_FILE].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Check the config file only, not the three files it names.
    #[arg(long)]
    pub(crate) no_files: bool,
    /// Check that our certificate is valid for this host name or IP address.
    #[arg(long, value_name = "H")]
    pub(crate) hostname: Vec<String>,
    /// Warn about certificates that expire within this many days.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub(crate) warn_days: i64,
    /// Also write the result (ok, errors, warnings, certificate expiry) to this file in the
    /// Prometheus text format, for node_exporter's textfile collector; replaced atomically.
    #[arg(long, value_name = "FILE")]
    pub(crate) prometheus: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) home: VespaHome,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// Names a peer presents: repeatable identity flags, spelled the same in every command.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct Identity {
    /// Subject common name.
    #[arg(long, value_name = "CN")]
    pub(crate) cn: Vec<String>,
    /// DNS subject alternative name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub(crate) san_dns: Vec<String>,
    /// URI subject alternative name (repeatable).
    #[arg(long, value_name = "URI")]
    pub(crate) san_uri: Vec<String>,
    /// IP subject alternative name (repeatable).
    #[arg(long, value_name = "IP")]
    pub(crate) san_ip: Vec<IpAddr>,
}

#[derive(Debug, Args)]
pub(crate) struct AuthzArgs {
    /// The TLS config file [default: $VESPA_TLS_CONFIG_FILE]; its files need not exist.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A PEM certificate to evaluate (the first certificate in the file).
    #[arg(long, value_name = "PEM", conflicts_with_all = ["cn", "san_dns", "san_uri", "san_ip"])]
    pub(crate) cert: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) identity: Identity,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// The plaintext protocol a probe speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Protocol {
    /// Vespa's RPC protocol: an frt.rpc.ping request.
    Frt,
    /// HTTP: GET /state/v1/health.
    Http,
    /// A line echoed back (what `vespa-tls serve` speaks by default).
    Echo,
    /// TLS only: the handshake and any alert after it; nothing is sent and no plaintext claim
    /// is made (for ports whose protocol is not known).
    Tls,
}

#[derive(Debug, Clone, Args)]
pub(crate) struct ProbeArgs {
    /// The TLS config file [default: $VESPA_TLS_CONFIG_FILE].
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The protocol of the plaintext probe (and of the exchange after the handshake), for
    /// endpoints that do not name their own.
    #[arg(long, value_enum, default_value_t = Protocol::Frt)]
    pub(crate) protocol: Protocol,
    /// Seconds to wait for each connection, handshake and reply.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub(crate) timeout: f64,
    /// Do not fail when an endpoint still accepts plaintext (phases 1 and 2).
    #[arg(long)]
    pub(crate) allow_plaintext: bool,
    /// Do not fail when it is unknown whether an endpoint accepts plaintext.
    #[arg(long)]
    pub(crate) allow_unknown: bool,
    /// Fail on a server certificate that expires within this many days.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub(crate) warn_days: i64,
    #[command(flatten)]
    pub(crate) home: VespaHome,
}

#[derive(Debug, Args)]
pub(crate) struct ConnectArgs {
    #[arg(help = "HOST:PORT, [IPV6]:PORT, or Vespa's port-only form tcp/PORT (localhost)")]
    pub(crate) target: String,
    #[command(flatten)]
    pub(crate) probe: ProbeArgs,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct ScanArgs {
    /// Endpoints as HOST:PORT.
    #[arg(required_unless_present_any = ["targets", "from_model_inspect"])]
    pub(crate) endpoints: Vec<String>,
    /// A file (or - for stdin) with one endpoint per line, HOST:PORT [frt|http|echo|tls]
    /// (blank lines and # comments ignored).
    #[arg(long, value_name = "FILE")]
    pub(crate) targets: Option<PathBuf>,
    /// The output of `vespa-model-inspect service TYPE` (or `host`, `cluster`, with or without
    /// -u), a file or - for stdin: every port, probed as its tags say (HTTP: http; RPC, ADMIN,
    /// MESSAGING: frt; UNUSED: skipped; others: TLS only).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_model_inspect: Option<PathBuf>,
    /// Write each result as one JSON line as soon as it is known (instead of the table).
    #[arg(long, conflicts_with = "json")]
    pub(crate) jsonl: bool,
    /// How many endpoints to probe at once.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub(crate) concurrency: usize,
    #[command(flatten)]
    pub(crate) probe: ProbeArgs,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// Key algorithms for `ca` commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyTypeArg {
    /// ECDSA on P-256 (the default; what the seed guide's Appendix A makes).
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA with a 2048-bit modulus.
    #[value(name = "rsa-2048")]
    Rsa2048,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CaCommand {
    /// Create a root CA in DIR: ca.pem and ca.key (mode 0600).
    #[command(after_help = examples!(
        "vespa-tls ca init --dir ca",
        "vespa-tls ca init --dir ca --key-type ecdsa-p384 --cn 'Example Vespa CA' --days 1825",
    ))]
    Init(CaInitArgs),
    /// Issue a node certificate signed by the CA in DIR, into DIR/NAME/.
    #[command(after_help = examples!(
        "vespa-tls ca issue --dir ca --name node1 --san-dns node1.example.com --san-ip 10.0.0.1",
        "vespa-tls ca issue --dir ca --name monitor --cn vespa-monitoring.example.com --days 90",
    ))]
    Issue(CaIssueArgs),
    /// Print (or write) a TLS config file for node NAME with absolute paths.
    #[command(after_help = examples!(
        "vespa-tls ca config --dir ca --name node1",
        "vespa-tls ca config --dir ca --name node1 --out /etc/vespa/tls.json --json",
    ))]
    Config(CaConfigArgs),
    /// Sign a certificate signing request under the CA's profile (exit 1: request refused).
    #[command(after_help = examples!(
        "vespa-tls ca sign --dir ca --csr node1.csr --out node1.pem",
        "vespa-tls ca sign --dir ca --csr host.csr --san-dns myhost.example.com --days 90 --out host.pem",
    ))]
    Sign(crate::csr::CaSignArgs),
    /// Build a CA bundle from CA certificate files (old + new CA for a rotation's overlap).
    #[command(after_help = examples!(
        "vespa-tls ca bundle --out overlap.pem old-ca/ca.pem new-ca/ca.pem",
        "vespa-tls ca bundle --out new-only.pem new-ca/ca.pem --json",
    ))]
    Bundle(crate::bundle::CaBundleArgs),
    /// Issue a bundle per host of a cluster (hosts.xml or a host list): key, certificate, CA
    /// bundle, a config with node paths admitting the cluster, and default-env.txt lines.
    #[command(after_help = examples!(
        "vespa-tls ca issue-cluster --dir ca --hosts hosts.xml --install-dir /opt/vespa/conf/tls --out bundles",
        "vespa-tls ca issue-cluster --dir ca --hosts hosts.txt --install-dir /opt/vespa/conf/tls --out bundles --san-dns localhost --json",
    ))]
    IssueCluster(crate::cluster::IssueClusterArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CaInitArgs {
    /// The CA directory (created if missing).
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub(crate) key_type: KeyTypeArg,
    /// The CA's common name.
    #[arg(long, value_name = "CN", default_value = "Vespa TLS root CA")]
    pub(crate) cn: String,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 3650)]
    pub(crate) days: i64,
    /// Replace an existing CA in DIR.
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct CaIssueArgs {
    /// The CA directory made by `ca init`.
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// The node's name: its files go to DIR/NAME/.
    #[arg(long, value_name = "N")]
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) identity: Identity,
    /// Validity in days.
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub(crate) days: i64,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = KeyTypeArg::EcdsaP256)]
    pub(crate) key_type: KeyTypeArg,
    /// The absolute directory the three files will have on the node: the config names them there
    /// (without it, it names them where they are written, on this machine).
    #[arg(long, value_name = "DIR")]
    pub(crate) install_dir: Option<PathBuf>,
    /// Replace NAME's existing key and certificate (its CA bundle keeps every CA it had).
    #[arg(long)]
    pub(crate) force: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct CaConfigArgs {
    /// The CA directory made by `ca init`.
    #[arg(long, value_name = "D")]
    pub(crate) dir: PathBuf,
    /// The node's name, as given to `ca issue`.
    #[arg(long, value_name = "N")]
    pub(crate) name: String,
    /// Write the config here (atomically) instead of printing it.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// The absolute directory the three files will have on the node (without it, the config
    /// names them where they are on this machine).
    #[arg(long, value_name = "DIR")]
    pub(crate) install_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: Output,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR")]
    pub(crate) listen: String,
    /// What to speak after the handshake.
    #[arg(long, value_enum, default_value_t = ServeProtocol::Echo)]
    pub(crate) protocol: ServeProtocol,
    /// Seconds a client has for the TLS detection and handshake.
    #[arg(long, value_name = "S", default_value_t = 10.0)]
    pub(crate) handshake_timeout: f64,
    /// Seconds between reloads when no file change is seen.
    #[arg(long, value_name = "S", default_value_t = 3600.0)]
    pub(crate) reload_interval: f64,
    /// Do not log each connection (for load tests).
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Serve the TLS metrics as plaintext HTTP `GET /metrics` (Prometheus text format) on this
    /// address; a loopback address unless --metrics-listen-public is given.
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<String>,
    /// Allow --metrics-listen on a non-loopback address (the page is plaintext and
    /// unauthenticated).
    #[arg(long, requires = "metrics_listen")]
    pub(crate) metrics_listen_public: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// What `serve` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ServeProtocol {
    /// Echo every byte back.
    Echo,
    /// Answer frt.rpc.ping like a Vespa service.
    Frt,
    /// HTTP/1.1 and HTTP/2 (ALPN `h2`, `http/1.1`; in mixed mode also plaintext HTTP/1.1 and
    /// h2c): `GET /state/v1/health` answers `{"status":{"code":"up"}}`; every request requires
    /// capability `vespa.container.state_api` (else 403, as Vespa answers).
    Http,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the demo's files in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) output: Output,
}
