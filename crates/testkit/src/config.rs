//! TLS configs for tests, built on `vespa-tls-config`'s typed model instead of JSON text.
//!
//! [`TestConfig`] starts from Vespa's three files with every default and sets what a test
//! needs; the result is the options themselves, their JSON (`to_json()`, what the parser reads
//! back to an equal value), a written config file, or a [`TlsContext`] built from them.
//!
//! ```
//! use vespa_tls_context::TlsModes;
//! use vespa_tls_testkit::{Policy, TestConfig, TestPki};
//! let pki = TestPki::new()?;
//! let server = TestConfig::new(pki.server().files())
//!     .authorized_peers([Policy::new("clients")
//!         .cn("client.*")
//!         .capabilities(["vespa.telemetry"])])
//!     .context_with(TlsModes::default());
//! let client = TestConfig::new(pki.client().files())
//!     .disable_hostname_validation(true)
//!     .context();
//! assert!(client.options().disable_hostname_validation);
//! # drop(server);
//! # Ok::<(), vespa_tls_testkit::TestkitError>(())
//! ```

use std::path::Path;
use std::sync::Arc;

use vespa_tls_config::{
    AuthorizedPeers, CipherSuite, CredentialField, Files, PeerPolicy, RequiredPeerCredential,
    TlsProtocol, TransportSecurityOptions,
};
use vespa_tls_context::{ContextError, TlsContext, TlsMetrics, TlsModes};

use crate::error::TestkitError;

/// A TLS config for a test: [`TransportSecurityOptions`] with setters for what tests vary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestConfig {
    options: TransportSecurityOptions,
}

/// One `authorized-peers` policy for a [`TestConfig`]: a name, the credentials it requires and
/// the capabilities it grants (all, unless [`Policy::capabilities`] is called).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    policy: PeerPolicy,
}

impl TestConfig {
    /// A config naming `files`, with every other member at its default: no `authorized-peers`
    /// (every peer of the CA, all capabilities), all ciphers and protocols, hostname
    /// validation on.
    pub fn new(files: &Files) -> Self {
        TestConfig {
            options: TransportSecurityOptions::with_files(files.clone()),
        }
    }

    /// Sets `authorized-peers` to `policies`, in order. Panics when the list is empty or a
    /// policy requires no credential: the parser rejects both, and a test meaning "no rules"
    /// leaves the member out.
    #[track_caller]
    pub fn authorized_peers<P: Into<PeerPolicy>>(
        mut self,
        policies: impl IntoIterator<Item = P>,
    ) -> Self {
        let policies: Vec<PeerPolicy> = policies.into_iter().map(Into::into).collect();
        if let Some(empty) = policies.iter().find(|p| p.required_credentials.is_empty()) {
            panic!("policy {:?} requires no credential", empty.name);
        }
        self.options.authorized_peers =
            Some(AuthorizedPeers::new(policies).expect("authorized-peers needs a policy"));
        self
    }

    /// Sets `accepted-ciphers`, in order.
    pub fn accepted_ciphers(mut self, ciphers: impl IntoIterator<Item = CipherSuite>) -> Self {
        self.options.accepted_ciphers = Some(ciphers.into_iter().collect());
        self
    }

    /// Sets `accepted-protocols`, in order.
    pub fn accepted_protocols(mut self, protocols: impl IntoIterator<Item = TlsProtocol>) -> Self {
        self.options.accepted_protocols = Some(protocols.into_iter().collect());
        self
    }

    /// Sets `disable-hostname-validation`.
    pub fn disable_hostname_validation(mut self, disable: bool) -> Self {
        self.options.disable_hostname_validation = disable;
        self
    }

    /// The options.
    pub fn options(&self) -> &TransportSecurityOptions {
        &self.options
    }

    /// The options, by value.
    pub fn into_options(self) -> TransportSecurityOptions {
        self.options
    }

    /// The config file's JSON (canonical form: every member written out).
    pub fn to_json(&self) -> String {
        self.options.to_json()
    }

    /// Writes the config file to `path` atomically (a temporary name, then rename), mode 0644.
    pub fn write(&self, path: &Path) -> Result<(), TestkitError> {
        vespa_tls_pki::write_public_file(path, self.to_json().as_bytes())?;
        Ok(())
    }

    /// A context for this config with both modes `enforce`; panics when it cannot be built.
    #[track_caller]
    pub fn context(&self) -> TlsContext {
        self.context_with(TlsModes::default())
    }

    /// A context for this config with `modes`; panics when it cannot be built.
    #[track_caller]
    pub fn context_with(&self, modes: TlsModes) -> TlsContext {
        match self.try_context(modes) {
            Ok(context) => context,
            Err(e) => panic!(
                "context for {}: {e}",
                self.options.files.certificates.display()
            ),
        }
    }

    /// A context for this config with `modes`, or why it cannot be built. The options go
    /// through the parser first, as a config file's would; panics if the parser refuses them.
    #[track_caller]
    pub fn try_context(&self, modes: TlsModes) -> Result<TlsContext, ContextError> {
        let (context, _) =
            TlsContext::from_options(&self.parsed(), modes, Arc::new(TlsMetrics::default()))?;
        Ok(context)
    }

    /// The options as the parser reads them back from [`TestConfig::to_json`]: equal to
    /// [`TestConfig::options`] for every config the parser accepts. Panics with the parser's
    /// reason otherwise (say, `accepted-ciphers` without a TLS 1.2 suite), so a test cannot
    /// build a context no config file could give.
    #[track_caller]
    pub fn parsed(&self) -> TransportSecurityOptions {
        let json = self.to_json();
        match vespa_tls_config::parse(&json) {
            Ok((options, _)) => options,
            Err(e) => panic!("the parser refuses this test config: {e}\n{json}"),
        }
    }
}

impl From<TestConfig> for TransportSecurityOptions {
    fn from(config: TestConfig) -> Self {
        config.options
    }
}

impl Policy {
    /// A policy named `name` that requires nothing yet and grants all capabilities.
    pub fn new(name: &str) -> Self {
        Policy {
            policy: PeerPolicy {
                name: name.to_owned(),
                description: None,
                capabilities: None,
                required_credentials: Vec::new(),
            },
        }
    }

    /// Also requires the CN to match `pattern`.
    pub fn cn(self, pattern: &str) -> Self {
        self.require(CredentialField::Cn, pattern)
    }

    /// Also requires a DNS SAN to match `pattern`.
    pub fn san_dns(self, pattern: &str) -> Self {
        self.require(CredentialField::SanDns, pattern)
    }

    /// Also requires a URI SAN to match `pattern`.
    pub fn san_uri(self, pattern: &str) -> Self {
        self.require(CredentialField::SanUri, pattern)
    }

    /// Also requires `field` to match `pattern`.
    pub fn require(mut self, field: CredentialField, pattern: &str) -> Self {
        self.policy
            .required_credentials
            .push(RequiredPeerCredential {
                field,
                must_match: pattern.to_owned(),
            });
        self
    }

    /// Grants these capabilities and capability sets (names as written in the file) instead
    /// of all.
    pub fn capabilities<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.policy.capabilities = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: &str) -> Self {
        self.policy.description = Some(text.to_owned());
        self
    }
}

impl From<Policy> for PeerPolicy {
    fn from(policy: Policy) -> Self {
        policy.policy
    }
}

/// Replaces `path` with `contents` atomically, as a rotation should: writes a sibling
/// (`path` with extension `tmp`) and renames it over `path`, so a reload that reads `path`
/// sees the old contents or the new ones, never half of them.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<(), TestkitError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).map_err(|error| TestkitError::Io {
        path: tmp.clone(),
        action: "write",
        error,
    })?;
    std::fs::rename(&tmp, path).map_err(|error| TestkitError::Io {
        path: path.to_owned(),
        action: "rename over",
        error,
    })
}
