//! The `--json` output of every command: the documented schema, as code.
//!
//! Each command's output is one [`Document`] type here. Its field names, types and doc comments
//! are the contract: `vespa-tls json-schema` generates a JSON Schema from them (committed under
//! `docs/schemas/`, where a test keeps the files and the types in step), and every document
//! written carries `"schema_version"` ([`SCHEMA_VERSION`]).
//!
//! The promise (docs/CLI.md, "Stability of `--json`"): within a schema version, fields are added,
//! never renamed, removed or changed in type. A change that breaks it bumps [`SCHEMA_VERSION`].
//!
//! To give a command `--json` output: define its document here (plain data, `String`s and
//! numbers; enums for closed sets of words), implement [`Document`] with the schema's file name,
//! add it to [`schemas`], write it with [`crate::output::say_json`], and run
//! `cargo xtask schemas` to write its schema. The CLI tests validate every `--json` output they
//! see against the committed schema with Python's `jsonschema`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use vespa_tls_config::{Diagnostic, Severity};
use vespa_tls_material::CertificateFacts;

/// The major version of every `--json` document; bumped only by a change that renames or
/// removes a field or changes its type.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// A command's `--json` output.
pub(crate) trait Document: Serialize + JsonSchema {
    /// The schema's file name under `docs/schemas/`, without `.json`: the command's words
    /// joined by `-` (`check`, `ca-issue`).
    const SCHEMA: &'static str;
}

/// What `say_json` writes: the document with `schema_version` first.
#[derive(Serialize)]
pub(crate) struct Versioned<'a, T: Serialize> {
    schema_version: u32,
    #[serde(flatten)]
    document: &'a T,
}

impl<'a, T: Document> Versioned<'a, T> {
    pub(crate) fn new(document: &'a T) -> Self {
        Versioned {
            schema_version: SCHEMA_VERSION,
            document,
        }
    }
}

/// Every document's schema, by file name, in the order of `vespa-tls --help`.
pub(crate) fn schemas() -> Vec<(&'static str, Value)> {
    fn entry<T: Document>() -> (&'static str, Value) {
        (T::SCHEMA, schema_of::<T>())
    }
    vec![
        entry::<CheckOutput>(),
        entry::<AuthzOutput>(),
        entry::<ConnectOutput>(),
        entry::<ScanOutput>(),
        entry::<InspectOutput>(),
        entry::<NeedsRenewalOutput>(),
        entry::<InstallOutput>(),
        entry::<EnvOutput>(),
        entry::<CaInitOutput>(),
        entry::<CaIssueOutput>(),
        entry::<CaConfigOutput>(),
        entry::<CaSignOutput>(),
        entry::<CaBundleOutput>(),
        entry::<CaIssueClusterOutput>(),
        entry::<CsrOutput>(),
        entry::<ServeEvent>(),
        entry::<DemoOutput>(),
    ]
}

/// The JSON Schema of a document, `schema_version` included.
fn schema_of<T: Document>() -> Value {
    let mut schema = schemars::schema_for!(T).to_value();
    schema["$id"] = Value::from(format!("vespa-tls/{}.json", T::SCHEMA));
    let version = serde_json::json!({
        "description": "The major version of this document's schema: within one, fields are added, never renamed or removed.",
        "type": "integer",
        "const": SCHEMA_VERSION,
    });
    if let Some(object) = schema.as_object_mut() {
        let properties = object
            .entry("properties")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        properties["schema_version"] = version;
        let required = object
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Some(required) = required.as_array_mut() {
            required.insert(0, Value::from("schema_version"));
        }
    }
    schema
}

// ---------------------------------------------------------------------------------------------
// Shared parts.

/// How much a finding matters.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum FindingSeverity {
    /// The configuration cannot work as intended (`check` exits 1).
    Error,
    /// Probably a mistake, or a place where Vespa's two stacks behave differently.
    Warning,
    /// Worth knowing.
    Note,
}

/// One finding about a config file, the environment or the files it names.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Finding {
    /// How much it matters.
    pub(crate) severity: FindingSeverity,
    /// A stable kebab-case identifier (docs/CONFIG.md, docs/AUTHORIZATION.md, docs/OPERATIONS.md).
    pub(crate) code: String,
    /// What it is about: a JSON pointer, a file path or an environment variable; null when it is
    /// about no one thing.
    pub(crate) location: Option<String>,
    /// One sentence saying what was found and what to do.
    pub(crate) message: String,
}

impl From<&Diagnostic> for Finding {
    fn from(d: &Diagnostic) -> Self {
        Finding {
            severity: match d.severity {
                Severity::Error => FindingSeverity::Error,
                Severity::Warning => FindingSeverity::Warning,
                Severity::Note => FindingSeverity::Note,
            },
            code: d.code.to_owned(),
            location: d.location.as_ref().map(ToString::to_string),
            message: d.message.clone(),
        }
    }
}

/// A certificate as an operator identifies it (key material is never shown).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Certificate {
    /// The subject distinguished name.
    pub(crate) subject: String,
    /// The issuer distinguished name.
    pub(crate) issuer: String,
    /// DNS subject alternative names.
    pub(crate) dns_names: Vec<String>,
    /// IP subject alternative names.
    pub(crate) ip_addresses: Vec<String>,
    /// URI subject alternative names.
    pub(crate) uris: Vec<String>,
    /// The serial number in hex.
    pub(crate) serial: String,
    /// Start of validity (RFC 3339).
    pub(crate) not_before: String,
    /// End of validity (RFC 3339).
    pub(crate) not_after: String,
    /// Whole days until `not_after`; negative once expired.
    pub(crate) days_to_expiry: i64,
    /// SHA-256 of the DER certificate, colon-separated upper-case hex.
    pub(crate) sha256_fingerprint: String,
}

impl Certificate {
    pub(crate) fn new(facts: &CertificateFacts, now: time::OffsetDateTime) -> Self {
        Certificate {
            subject: facts.subject.clone(),
            issuer: facts.issuer.clone(),
            dns_names: facts.dns_names.clone(),
            ip_addresses: facts.ip_addresses.iter().map(ToString::to_string).collect(),
            uris: facts.uris.clone(),
            serial: facts.serial.clone(),
            not_before: crate::output::rfc3339(facts.not_before),
            not_after: crate::output::rfc3339(facts.not_after),
            days_to_expiry: facts.days_to_expiry(now),
            sha256_fingerprint: facts.sha256_fingerprint.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// check

/// `vespa-tls check --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CheckOutput {
    /// The config file checked.
    pub(crate) config: String,
    /// Whether the three files it names were checked too (false with `--no-files`).
    pub(crate) files_checked: bool,
    /// No error-level finding.
    pub(crate) ok: bool,
    /// Error-level findings.
    pub(crate) errors: usize,
    /// Warnings.
    pub(crate) warnings: usize,
    /// Notes.
    pub(crate) notes: usize,
    /// Every finding, in the order found.
    pub(crate) findings: Vec<Finding>,
    /// Our certificate (the leaf of `files.certificates`), when it could be read.
    pub(crate) certificate: Option<Certificate>,
}

impl Document for CheckOutput {
    const SCHEMA: &'static str = "check";
}

// ---------------------------------------------------------------------------------------------
// authz

/// `vespa-tls authz --json`: the decision explained, or a certificate Vespa refuses outright.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum AuthzOutput {
    /// The `authorized-peers` rules evaluated.
    Explained(Box<AuthzExplanation>),
    /// A certificate with invalid credentials (an empty SAN, a NUL byte): denied in every mode.
    InvalidCredentials(AuthzInvalid),
}

impl Document for AuthzOutput {
    const SCHEMA: &'static str = "authz";
}

/// An authorization decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Decision {
    /// At least one policy matched (or there are no `authorized-peers`).
    Authorized,
    /// No policy matched.
    Denied,
}

/// The rules evaluated for a peer.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AuthzExplanation {
    /// The config file whose rules were evaluated.
    pub(crate) config: String,
    /// The names the peer presented.
    pub(crate) peer: Peer,
    /// The decision a handshake makes.
    pub(crate) decision: Decision,
    /// The names of the policies that matched.
    pub(crate) matched_policies: Vec<String>,
    /// The capabilities granted (sorted names); empty when denied.
    pub(crate) capabilities: Vec<String>,
    /// Each policy that did not match, with the requirements it did not meet.
    pub(crate) not_matched: Vec<NotMatched>,
    /// Every policy, each requirement with what the peer presented.
    pub(crate) policies: Vec<PolicyEvaluation>,
    /// Findings about the config's rules.
    pub(crate) findings: Vec<Finding>,
}

/// A certificate Vespa refuses before any rule.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AuthzInvalid {
    /// Always `denied`.
    pub(crate) decision: Decision,
    /// Why the credentials are invalid.
    pub(crate) invalid_credentials: String,
}

/// The names a peer presents.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Peer {
    /// The subject common name Vespa uses (the last one), if any.
    pub(crate) cn: Option<String>,
    /// DNS subject alternative names.
    pub(crate) san_dns: Vec<String>,
    /// URI subject alternative names.
    pub(crate) san_uri: Vec<String>,
    /// IP subject alternative names (shown, never used for authorization).
    pub(crate) san_ip: Vec<String>,
}

/// A policy that did not match.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct NotMatched {
    /// The policy's name.
    pub(crate) policy: String,
    /// Each requirement it did not meet, as a sentence.
    pub(crate) reasons: Vec<String>,
}

/// One policy, evaluated.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct PolicyEvaluation {
    /// The policy's name.
    pub(crate) name: String,
    /// Whether every requirement was met.
    pub(crate) matched: bool,
    /// The capabilities it grants (sorted names).
    pub(crate) capabilities: Vec<String>,
    /// Its requirements, in order.
    pub(crate) requirements: Vec<RequirementEvaluation>,
}

/// One `required-credentials` entry, evaluated.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RequirementEvaluation {
    /// `CN`, `SAN_DNS` or `SAN_URI`.
    pub(crate) field: String,
    /// The pattern.
    pub(crate) must_match: String,
    /// What the peer presented for the field (every value).
    pub(crate) presented: Vec<String>,
    /// Whether the pattern matched.
    pub(crate) met: bool,
}

// ---------------------------------------------------------------------------------------------
// connect and scan

/// `vespa-tls connect --json`: what the three probes of one endpoint found.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ConnectOutput {
    /// The endpoint as given.
    pub(crate) target: String,
    /// The host name or IP literal dialled and validated.
    pub(crate) host: String,
    /// The port.
    pub(crate) port: u16,
    /// The protocol probed: `frt`, `http` or `echo`.
    pub(crate) protocol: String,
    /// The Vespa service (from vespa-model-inspect output); null otherwise.
    pub(crate) service: Option<String>,
    /// The port's tags, upper-case and space-separated (from vespa-model-inspect output); null
    /// otherwise.
    pub(crate) tags: Option<String>,
    /// The address dialled, when the name resolved.
    pub(crate) address: Option<String>,
    /// No problem.
    pub(crate) ok: bool,
    /// What makes this endpoint fail the check, one sentence each.
    pub(crate) problems: Vec<String>,
    /// The handshake with our certificate.
    pub(crate) tls: TlsProbe,
    /// Whether a handshake without a client certificate was refused.
    pub(crate) requires_client_certificate: Probed,
    /// Whether the endpoint answered plaintext.
    pub(crate) accepts_plaintext: Probed,
}

impl Document for ConnectOutput {
    const SCHEMA: &'static str = "connect";
}

/// The handshake with our certificate: what was negotiated, or why it failed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum TlsProbe {
    /// The handshake and the exchange after it succeeded.
    Ok(TlsEstablished),
    /// It failed.
    Failed(TlsFailed),
}

/// A handshake that succeeded.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TlsEstablished {
    /// Always true.
    pub(crate) ok: bool,
    /// `TLSv1.3` or `TLSv1.2`.
    pub(crate) protocol: String,
    /// The negotiated cipher suite.
    pub(crate) cipher_suite: String,
    /// The server's certificates, leaf first.
    pub(crate) server_chain: Vec<Certificate>,
    /// Whether our `authorized-peers` rules authorize the server.
    pub(crate) server_authorized_by_our_policies: bool,
    /// Which of our policies the server matched.
    pub(crate) matched_policies: Vec<String>,
    /// How the server answered after the handshake: `reply`, `other`, `silent` or `closed`.
    pub(crate) after_handshake: String,
    /// What the request after the handshake got.
    pub(crate) exchange: String,
}

/// A handshake that failed.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TlsFailed {
    /// Always false.
    pub(crate) ok: bool,
    /// Why.
    pub(crate) error: String,
}

/// A three-valued answer.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AnswerWord {
    /// Yes.
    Yes,
    /// No.
    No,
    /// The probe could not tell (silence until the deadline).
    Unknown,
    /// The probe was not made.
    #[serde(rename = "not probed")]
    NotProbed,
}

/// A probe's answer with its reason.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Probed {
    /// The answer.
    pub(crate) answer: AnswerWord,
    /// What the probe saw.
    pub(crate) reason: String,
}

/// `vespa-tls scan --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ScanOutput {
    /// No probe failing and no input line skipped.
    pub(crate) ok: bool,
    /// Endpoints read.
    pub(crate) endpoints: usize,
    /// Probes made (one per address of each endpoint).
    pub(crate) probes: usize,
    /// Probes with a problem.
    pub(crate) failing: usize,
    /// Ports tagged UNUSED in vespa-model-inspect output, not probed.
    pub(crate) unused_ports_skipped: usize,
    /// Lines of vespa-model-inspect output skipped, as `file:line: why`.
    pub(crate) skipped_lines: Vec<String>,
    /// Each endpoint, in the order given, as `connect --json` reports it (without
    /// `schema_version`).
    pub(crate) results: Vec<ConnectOutput>,
}

impl Document for ScanOutput {
    const SCHEMA: &'static str = "scan";
}

// ---------------------------------------------------------------------------------------------
// ca

/// `vespa-tls ca init --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaInitOutput {
    /// The CA certificate written.
    pub(crate) certificate: PathBuf,
    /// The CA key written (mode 0600).
    pub(crate) private_key: PathBuf,
    /// The CA certificate.
    pub(crate) ca: Certificate,
}

impl Document for CaInitOutput {
    const SCHEMA: &'static str = "ca-init";
}

/// `vespa-tls ca issue --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaIssueOutput {
    /// The CA bundle written for the node.
    pub(crate) ca_certificates: PathBuf,
    /// The node's certificate chain.
    pub(crate) certificates: PathBuf,
    /// The node's key (mode 0600).
    pub(crate) private_key: PathBuf,
    /// A TLS config naming the three files.
    pub(crate) config: PathBuf,
    /// `--install-dir`: where the config says the files will be on the node; null without it.
    pub(crate) install_dir: Option<PathBuf>,
    /// How many CA certificates of an existing bundle for the node were kept (a CA rotation).
    pub(crate) ca_bundle_kept: usize,
    /// The node's certificate.
    pub(crate) certificate: Certificate,
}

impl Document for CaIssueOutput {
    const SCHEMA: &'static str = "ca-issue";
}

/// `vespa-tls ca config --out FILE --json` (without `--out` the config itself is printed).
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaConfigOutput {
    /// The config file written.
    pub(crate) written: PathBuf,
}

impl Document for CaConfigOutput {
    const SCHEMA: &'static str = "ca-config";
}

/// `vespa-tls ca sign --json`: the certificate signed, or the request refused.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum CaSignOutput {
    /// The request was signed.
    Signed(Box<CaSigned>),
    /// The CA will not sign the request (exit 1).
    Refused(CaSignRefused),
}

impl Document for CaSignOutput {
    const SCHEMA: &'static str = "ca-sign";
}

/// A signed request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaSigned {
    /// The request file.
    pub(crate) csr: PathBuf,
    /// What the request asked for.
    pub(crate) request: Request,
    /// The chain written with `--out`; null without it.
    pub(crate) written: Option<PathBuf>,
    /// The certificate signed.
    pub(crate) certificate: Certificate,
    /// The chain in PEM when not written to a file (no `--out`); null with `--out`.
    pub(crate) pem: Option<String>,
}

/// A refused request.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaSignRefused {
    /// The request file.
    pub(crate) csr: PathBuf,
    /// Why the CA refuses it.
    pub(crate) refused: String,
}

/// `vespa-tls ca bundle --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaBundleOutput {
    /// The bundle written.
    pub(crate) written: PathBuf,
    /// Its CA certificates, in order.
    pub(crate) certificates: Vec<Certificate>,
}

impl Document for CaBundleOutput {
    const SCHEMA: &'static str = "ca-bundle";
}

// ---------------------------------------------------------------------------------------------
// inspect, needs-renewal, install

/// `vespa-tls inspect --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct InspectOutput {
    /// The file, or the endpoint, the certificates came from.
    pub(crate) source: String,
    /// Every certificate, in order.
    pub(crate) certificates: Vec<InspectedCertificate>,
}

impl Document for InspectOutput {
    const SCHEMA: &'static str = "inspect";
}

/// A certificate with what `inspect` adds.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct InspectedCertificate {
    /// As every command shows a certificate.
    #[serde(flatten)]
    pub(crate) certificate: Certificate,
    /// The public key's algorithm.
    pub(crate) key_type: String,
    /// Whether basicConstraints says CA.
    pub(crate) is_ca: bool,
    /// The keyUsage bits, named as in openssl's extension files; null without the extension.
    pub(crate) key_usages: Option<Vec<String>>,
    /// The extended key usages by name (an unknown one by OID); null without the extension.
    pub(crate) extended_key_usages: Option<Vec<String>>,
    /// The credentials Vespa's authorization sees, or why it refuses them.
    pub(crate) vespa_credentials: VespaCredentials,
}

/// What Vespa's authorization sees in a certificate.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum VespaCredentials {
    /// The names authorization matches.
    Valid {
        /// The last subject CN, if any.
        cn: Option<String>,
        /// DNS SANs.
        san_dns: Vec<String>,
        /// URI SANs.
        san_uri: Vec<String>,
    },
    /// Credentials Vespa refuses in every mode.
    Invalid {
        /// Why.
        invalid: String,
    },
}

/// `vespa-tls needs-renewal --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct NeedsRenewalOutput {
    /// The file the certificate was read from.
    pub(crate) certificate_file: PathBuf,
    /// Renew now (exit 0).
    pub(crate) renew: bool,
    /// Why, in a sentence.
    pub(crate) reason: String,
    /// `--expires-in` as given (`30d`, `66%`).
    pub(crate) threshold: String,
    /// The certificate.
    pub(crate) certificate: Certificate,
}

impl Document for NeedsRenewalOutput {
    const SCHEMA: &'static str = "needs-renewal";
}

/// `vespa-tls install --json`: the set installed (or checked with `--dry-run`), or refused.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum InstallOutput {
    /// The set passed the checks.
    Installed(Box<Installed>),
    /// The set has errors; nothing changed (exit 1).
    Refused(InstallRefused),
}

impl Document for InstallOutput {
    const SCHEMA: &'static str = "install";
}

/// An installed (or dry-run) set.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Installed {
    /// The config file.
    pub(crate) config: PathBuf,
    /// Whether the config now names the new set (false with `--dry-run`).
    pub(crate) installed: bool,
    /// `--dry-run`.
    pub(crate) dry_run: bool,
    /// The new set's version number.
    pub(crate) version: u64,
    /// The files the config names now.
    pub(crate) files: InstallFiles,
    /// The files it named before.
    pub(crate) previous_files: InstallFiles,
    /// Old sets' files removed (`--keep`).
    pub(crate) removed: Vec<PathBuf>,
    /// The new certificate, when it could be read.
    pub(crate) certificate: Option<Certificate>,
    /// `check`'s findings about the new set.
    pub(crate) findings: Vec<Finding>,
}

/// A refused set.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct InstallRefused {
    /// The config file.
    pub(crate) config: PathBuf,
    /// Always false.
    pub(crate) installed: bool,
    /// The errors that refused it.
    pub(crate) findings: Vec<Finding>,
}

/// The three files of a config, keyed as in the config file.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct InstallFiles {
    /// The CA bundle.
    #[serde(rename = "ca-certificates")]
    pub(crate) ca_certificates: PathBuf,
    /// The certificate chain.
    pub(crate) certificates: PathBuf,
    /// The private key.
    #[serde(rename = "private-key")]
    pub(crate) private_key: PathBuf,
}

impl From<&vespa_tls_config::Files> for InstallFiles {
    fn from(files: &vespa_tls_config::Files) -> Self {
        InstallFiles {
            ca_certificates: files.ca_certificates.clone(),
            certificates: files.certificates.clone(),
            private_key: files.private_key.clone(),
        }
    }
}

/// `vespa-tls ca issue-cluster --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CaIssueClusterOutput {
    /// The hosts file read.
    pub(crate) hosts_file: PathBuf,
    /// Each host, in the order of the file.
    pub(crate) hosts: Vec<ClusterHost>,
}

impl Document for CaIssueClusterOutput {
    const SCHEMA: &'static str = "ca-issue-cluster";
}

/// One host's bundle.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ClusterHost {
    /// The host's name.
    pub(crate) host: String,
    /// Its other names (SANs).
    pub(crate) aliases: Vec<String>,
    /// The directory with its files, to copy to the host.
    pub(crate) bundle: PathBuf,
    /// Where the files go on the host.
    pub(crate) install_dir: PathBuf,
    /// The config's path on the host.
    pub(crate) config: PathBuf,
    /// Its certificate.
    pub(crate) certificate: Certificate,
}

/// `vespa-tls env --json`: a node's effective `VESPA_TLS_*` settings and where each came from.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EnvOutput {
    /// The Vespa home whose `conf/vespa/default-env.txt` was read.
    pub(crate) vespa_home: String,
    /// The default-env file.
    pub(crate) default_env: DefaultEnvFile,
    /// Each `VESPA_TLS_*` variable.
    pub(crate) variables: Vec<EnvVariable>,
    /// The settings a Vespa process on this node would use; null when a value is invalid.
    pub(crate) effective: Option<EffectiveEnv>,
    /// No error-level finding.
    pub(crate) ok: bool,
    /// Findings about the file and the values.
    pub(crate) findings: Vec<Finding>,
}

impl Document for EnvOutput {
    const SCHEMA: &'static str = "env";
}

/// `default-env.txt`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DefaultEnvFile {
    /// Its path.
    pub(crate) path: String,
    /// Whether it exists.
    pub(crate) found: bool,
    /// Lines that set or unset a variable.
    pub(crate) lines_used: usize,
    /// Lines skipped (see the findings).
    pub(crate) lines_skipped: usize,
}

/// One variable.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EnvVariable {
    /// Its name.
    pub(crate) name: String,
    /// The value a Vespa process gets; null when unset.
    pub(crate) value: Option<String>,
    /// Where the value comes from.
    pub(crate) origin: EnvOrigin,
    /// The value in this shell; null when unset.
    pub(crate) shell: Option<String>,
}

/// Where a variable's value comes from.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub(crate) enum EnvOrigin {
    /// The process environment.
    Process,
    /// A line of default-env.txt.
    DefaultEnv {
        /// The line number.
        line: u64,
        /// What the line does (`override`, `fallback`, `unset`).
        action: String,
    },
    /// Nowhere: unset.
    NotSet,
}

/// The effective settings.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct EffectiveEnv {
    /// Whether TLS is on (a config file is set).
    pub(crate) tls: bool,
    /// The config file; null when TLS is off.
    pub(crate) config_file: Option<String>,
    /// The mixed mode.
    pub(crate) mixed_mode: String,
    /// The authorization mode.
    pub(crate) authorization_mode: String,
    /// The capability enforcement mode.
    pub(crate) capability_mode: String,
}

// ---------------------------------------------------------------------------------------------
// csr

/// `vespa-tls csr --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CsrOutput {
    /// The key written (mode 0600).
    pub(crate) private_key: PathBuf,
    /// The request written.
    pub(crate) csr: PathBuf,
    /// What it asks for.
    pub(crate) request: Request,
}

impl Document for CsrOutput {
    const SCHEMA: &'static str = "csr";
}

/// A certificate signing request (PKCS#10), as an operator identifies it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Request {
    /// The requested subject distinguished name.
    pub(crate) subject: String,
    /// Requested DNS subject alternative names.
    pub(crate) dns_names: Vec<String>,
    /// Requested IP subject alternative names.
    pub(crate) ip_addresses: Vec<String>,
    /// Requested URI subject alternative names.
    pub(crate) uris: Vec<String>,
    /// The key's algorithm, e.g. `ecdsa-p256`.
    pub(crate) key_type: String,
}

// ---------------------------------------------------------------------------------------------
// serve

/// `vespa-tls serve --json`: one event per line.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub(crate) enum ServeEvent {
    /// Whether TLS is on, and how (the first line).
    Tls(TlsSettings),
    /// The metrics endpoint listens (`--metrics-listen`).
    MetricsListening {
        /// The address, with the port chosen for port 0.
        address: String,
    },
    /// The server listens.
    Listening {
        /// The address, with the port chosen for port 0.
        address: String,
    },
    /// A connection accepted.
    Connection(ConnectionEvent),
    /// A connection refused (failed handshake, plaintext in TLS-only mode, timeout).
    Refused {
        /// Why.
        error: String,
    },
    /// The config and files were reloaded.
    Reloaded {
        /// Counts reloads, from 1 at start.
        generation: u64,
        /// The certificate now served.
        certificate_sha256: String,
    },
    /// A reload failed; the previous config remains in effect.
    ReloadFailed {
        /// Why.
        error: String,
    },
    /// SIGINT or SIGTERM: the server stopped (the last line).
    Stopped {
        /// The TLS metrics, by name.
        counters: BTreeMap<String, u64>,
    },
}

impl Document for ServeEvent {
    const SCHEMA: &'static str = "serve";
}

/// The `tls` event.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct TlsSettings {
    /// False when `VESPA_TLS_CONFIG_FILE` is unset: plaintext only.
    pub(crate) tls: bool,
    /// The config file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) config: Option<String>,
    /// `VESPA_TLS_INSECURE_MIXED_MODE`'s value in effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mixed_mode: Option<String>,
    /// `VESPA_TLS_INSECURE_AUTHORIZATION_MODE`'s value in effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) authorization_mode: Option<String>,
    /// `VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE`'s value in effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) capability_mode: Option<String>,
    /// The certificate served.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) certificate_sha256: Option<String>,
}

/// The `connection` event.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ConnectionEvent {
    /// The peer's address.
    pub(crate) peer: String,
    /// Whether the connection is TLS.
    pub(crate) tls: bool,
    /// `plaintext`, or the TLS version and cipher suite.
    pub(crate) security: String,
    /// The peer's certificate names, as Vespa logs them; null for plaintext.
    pub(crate) credentials: Option<String>,
    /// The policies the peer matched.
    pub(crate) matched_policies: Vec<String>,
    /// The capabilities granted: `all`, or sorted names joined by `, `.
    pub(crate) capabilities: String,
    /// The ALPN protocol the TLS handshake settled on (`h2`, `http/1.1`); null for plaintext
    /// and when the client offered none.
    pub(crate) alpn: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// demo

/// `vespa-tls demo --json`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DemoOutput {
    /// Every step behaved as expected.
    pub(crate) ok: bool,
    /// Where the demo's files are.
    pub(crate) directory: String,
    /// How long it took.
    pub(crate) seconds: f64,
    /// Each step, in order.
    pub(crate) steps: Vec<DemoStep>,
    /// Each unexpected result, as a sentence.
    pub(crate) failures: Vec<String>,
}

impl Document for DemoOutput {
    const SCHEMA: &'static str = "demo";
}

/// One step of the demo.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct DemoStep {
    /// A short, stable identifier, e.g. `phase-3-plaintext-refused`.
    pub(crate) name: String,
    /// What the step shows.
    pub(crate) step: String,
    /// The outcome expected.
    pub(crate) expected: String,
    /// The outcome seen.
    pub(crate) got: String,
    /// Whether they agree.
    pub(crate) ok: bool,
    /// What explains the outcome.
    pub(crate) details: Vec<String>,
}
