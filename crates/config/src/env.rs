//! The four `VESPA_TLS_*` environment variables, read through a caller-supplied lookup.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;

use crate::diagnostics::{Diagnostic, Diagnostics, Severity};

/// Names the TLS config file; when unset (or empty) everything is plaintext.
pub const CONFIG_FILE_VAR: &str = "VESPA_TLS_CONFIG_FILE";
/// The mixed-mode rollout phase.
pub const MIXED_MODE_VAR: &str = "VESPA_TLS_INSECURE_MIXED_MODE";
/// What a failed peer authorization does.
pub const AUTHORIZATION_MODE_VAR: &str = "VESPA_TLS_INSECURE_AUTHORIZATION_MODE";
/// What a failed capability check does.
pub const CAPABILITY_MODE_VAR: &str = "VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE";

/// Diagnostic codes produced by [`Environment::from_lookup`].
pub(crate) mod codes {
    /// `VESPA_TLS_CONFIG_FILE` is set but empty: TLS is off.
    pub const CONFIG_FILE_EMPTY: &str = "env-config-file-empty";
    /// A mode variable is set while `VESPA_TLS_CONFIG_FILE` is not, so it has no effect.
    pub const IGNORED_VARIABLE: &str = "env-ignored";
    /// The capability mode is unset: Java defaults to `disable`, C++ and we to `enforce`.
    pub const STACK_CAPABILITY_DEFAULT: &str = "cross-stack-capability-default";
    /// Mixed mode is set: plaintext is still possible.
    pub const INSECURE_MIXED_MODE: &str = "insecure-mixed-mode";
    /// Authorization is not enforced.
    pub const INSECURE_AUTHORIZATION_MODE: &str = "insecure-authorization-mode";
    /// `log_only` authorization with enforced capabilities is not a dry run.
    pub const PARTIAL_DRY_RUN: &str = "partial-dry-run";
}

/// Why the environment cannot be used. Names the variable, the value and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
#[non_exhaustive]
pub struct EnvError {
    /// The variable name.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

macro_rules! mode_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every value, in Vespa's documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Vespa's exact spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses Vespa's exact, case-sensitive spelling.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|m| m.as_str() == name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Mode for $name {
            fn from_name(name: &str) -> Option<Self> {
                $name::from_name(name)
            }
            fn allowed() -> String {
                let allowed: Vec<String> =
                    Self::ALL.iter().map(|m| format!("\"{}\"", m.as_str())).collect();
                allowed.join(", ")
            }
        }
    };
}

mode_enum! {
    /// `VESPA_TLS_INSECURE_MIXED_MODE`: the phase of a plaintext → TLS rollout.
    MixedMode {
        /// Phase 1: clients speak plaintext, servers accept both.
        PlaintextClientMixedServer = "plaintext_client_mixed_server",
        /// Phase 2: clients speak TLS, servers still accept both.
        TlsClientMixedServer = "tls_client_mixed_server",
        /// Phase 3 (and the default when unset): TLS only.
        TlsClientTlsServer = "tls_client_tls_server",
    }
}

impl MixedMode {
    /// Whether a server in this mode still accepts plaintext connections.
    pub fn server_accepts_plaintext(self) -> bool {
        self != MixedMode::TlsClientTlsServer
    }

    /// Whether a client in this mode connects with TLS.
    pub fn client_uses_tls(self) -> bool {
        self != MixedMode::PlaintextClientMixedServer
    }
}

mode_enum! {
    /// `VESPA_TLS_INSECURE_AUTHORIZATION_MODE`: what a peer that no policy authorizes gets.
    AuthorizationMode {
        /// No authorization runs; every peer with a valid certificate gets all capabilities.
        Disable = "disable",
        /// Unauthorized peers are logged and let through with no capabilities.
        LogOnly = "log_only",
        /// Unauthorized peers are refused (the default).
        Enforce = "enforce",
    }
}

mode_enum! {
    /// `VESPA_TLS_CAPABILITIES_ENFORCEMENT_MODE`: what a failed capability check does.
    CapabilityMode {
        /// Every check passes.
        Disable = "disable",
        /// Failures are logged (`Dry-run: …`) and allowed.
        LogOnly = "log_only",
        /// Failures are refused (our default, and C++ Vespa's).
        Enforce = "enforce",
    }
}

/// What the four variables say, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Environment {
    /// `VESPA_TLS_CONFIG_FILE` as raw bytes; `None` when unset or empty (TLS off).
    pub config_file: Option<PathBuf>,
    /// The mixed-mode phase; `TlsClientTlsServer` when unset.
    pub mixed_mode: MixedMode,
    /// The authorization mode; `Enforce` when unset.
    pub authorization_mode: AuthorizationMode,
    /// The capability enforcement mode; `Enforce` when unset.
    pub capability_mode: CapabilityMode,
}

impl Default for Environment {
    /// TLS off, every mode at its default.
    fn default() -> Self {
        Environment {
            config_file: None,
            mixed_mode: MixedMode::TlsClientTlsServer,
            authorization_mode: AuthorizationMode::Enforce,
            capability_mode: CapabilityMode::Enforce,
        }
    }
}

impl Environment {
    /// Reads the four variables through `lookup` (usually `|name| std::env::var_os(name)`).
    ///
    /// An empty value counts as unset. When the config file is unset the other three are not
    /// parsed (a note says they are ignored). A mode value that is unknown or not UTF-8 is an
    /// error naming the variable, the value and the allowed values.
    ///
    /// ```
    /// use std::ffi::OsString;
    /// use vespa_tls_config::{Environment, MixedMode};
    /// let (env, _notes) = Environment::from_lookup(|name| match name {
    ///     "VESPA_TLS_CONFIG_FILE" => Some(OsString::from("/etc/vespa/tls.json")),
    ///     "VESPA_TLS_INSECURE_MIXED_MODE" => Some(OsString::from("tls_client_mixed_server")),
    ///     _ => None,
    /// }).unwrap();
    /// assert_eq!(env.mixed_mode, MixedMode::TlsClientMixedServer);
    /// ```
    pub fn from_lookup<F>(mut lookup: F) -> Result<(Environment, Diagnostics), EnvError>
    where
        F: FnMut(&str) -> Option<OsString>,
    {
        let mut diagnostics = Diagnostics::new();
        let raw_config = lookup(CONFIG_FILE_VAR);
        let mut read = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let mixed = read(MIXED_MODE_VAR);
        let authz = read(AUTHORIZATION_MODE_VAR);
        let capability = read(CAPABILITY_MODE_VAR);

        let Some(config_file) = raw_config else {
            for (name, value) in [
                (MIXED_MODE_VAR, &mixed),
                (AUTHORIZATION_MODE_VAR, &authz),
                (CAPABILITY_MODE_VAR, &capability),
            ] {
                if value.is_some() {
                    diagnostics.push(Diagnostic::at_variable(
                        Severity::Warning,
                        codes::IGNORED_VARIABLE,
                        name,
                        format!("is set but has no effect because {CONFIG_FILE_VAR} is not set"),
                    ));
                }
            }
            return Ok((Environment::default(), diagnostics));
        };
        let config_file = if config_file.is_empty() {
            None
        } else {
            Some(PathBuf::from(config_file))
        };
        let config_file = match config_file {
            Some(path) => path,
            None => {
                diagnostics.push(Diagnostic::at_variable(
                    Severity::Warning,
                    codes::CONFIG_FILE_EMPTY,
                    CONFIG_FILE_VAR,
                    "is set but empty: TLS is off and everything is plaintext",
                ));
                return Ok((Environment::default(), diagnostics));
            }
        };

        let mixed_mode = match mode::<MixedMode>(MIXED_MODE_VAR, mixed)? {
            Some(mode) => {
                if mode != MixedMode::TlsClientTlsServer {
                    diagnostics.push(Diagnostic::at_variable(
                        Severity::Warning,
                        codes::INSECURE_MIXED_MODE,
                        MIXED_MODE_VAR,
                        format!(
                            "is \"{mode}\": this node still accepts plaintext; finish the rollout \
                             with tls_client_tls_server"
                        ),
                    ));
                }
                mode
            }
            None => MixedMode::TlsClientTlsServer,
        };
        let authorization_mode = mode::<AuthorizationMode>(AUTHORIZATION_MODE_VAR, authz)?
            .unwrap_or(AuthorizationMode::Enforce);
        let capability_mode = match mode::<CapabilityMode>(CAPABILITY_MODE_VAR, capability)? {
            Some(mode) => mode,
            None => {
                diagnostics.push(Diagnostic::at_variable(
                    Severity::Note,
                    codes::STACK_CAPABILITY_DEFAULT,
                    CAPABILITY_MODE_VAR,
                    "is unset: capabilities are enforced here and by Vespa's C++ services, but not \
                     by its Java services (default disable); set it explicitly",
                ));
                CapabilityMode::Enforce
            }
        };
        match authorization_mode {
            AuthorizationMode::Enforce => {}
            AuthorizationMode::Disable => diagnostics.push(Diagnostic::at_variable(
                Severity::Warning,
                codes::INSECURE_AUTHORIZATION_MODE,
                AUTHORIZATION_MODE_VAR,
                "is \"disable\": no authorization runs and every peer with a valid certificate \
                 gets all capabilities (as on Vespa's Java services; its C++ services grant none)",
            )),
            AuthorizationMode::LogOnly => {
                diagnostics.push(Diagnostic::at_variable(
                    Severity::Warning,
                    codes::INSECURE_AUTHORIZATION_MODE,
                    AUTHORIZATION_MODE_VAR,
                    "is \"log_only\": unauthorized peers are logged and let through with no \
                     capabilities",
                ));
                if capability_mode == CapabilityMode::Enforce {
                    diagnostics.push(Diagnostic::at_variable(
                        Severity::Warning,
                        codes::PARTIAL_DRY_RUN,
                        CAPABILITY_MODE_VAR,
                        "is \"enforce\" while authorization is \"log_only\": unauthorized peers get \
                         no capabilities, so their capability-checked requests are refused; set \
                         both to log_only for a dry run",
                    ));
                }
            }
        }
        Ok((
            Environment {
                config_file: Some(config_file),
                mixed_mode,
                authorization_mode,
                capability_mode,
            },
            diagnostics,
        ))
    }

    /// Whether TLS is configured at all.
    pub fn tls_enabled(&self) -> bool {
        self.config_file.is_some()
    }
}

fn mode<T: Mode>(variable: &'static str, value: Option<OsString>) -> Result<Option<T>, EnvError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let Some(text) = value.to_str() else {
        return Err(EnvError {
            variable,
            problem: format!(
                "value {value:?} is not valid UTF-8, expected one of {}",
                T::allowed()
            ),
        });
    };
    match T::from_name(text) {
        Some(mode) => Ok(Some(mode)),
        None => Err(EnvError {
            variable,
            problem: format!("unknown value \"{text}\", expected one of {}", T::allowed()),
        }),
    }
}

/// The shared shape of the three mode enums.
trait Mode: Sized {
    fn from_name(name: &str) -> Option<Self>;
    fn allowed() -> String;
}
