//! The environment a Vespa node's processes get: `$VESPA_HOME/conf/vespa/default-env.txt`
//! layered over this process's environment, as Vespa's start scripts layer it; and
//! `vespa-tls env`, which prints the effective `VESPA_TLS_*` settings and where each came from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::Args;
use vespa_tls_config::{
    CONFIG_FILE_VAR, DEFAULT_ENV_FILE, DefaultEnv, Diagnostic, Diagnostics, Environment, Escaped,
    Origin, Severity, TLS_VARIABLES, codes,
};
use vespa_tls_material::{MAX_FILE_SIZE, read_regular_file};

use crate::cli::Output;
use crate::json::{DefaultEnvFile, EffectiveEnv, EnvOrigin, EnvOutput, EnvVariable};
use crate::output::{Verdict, note, plural, say, say_json};

/// Where Vespa is installed, whose `conf/vespa/default-env.txt` is layered over the environment.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct VespaHome {
    /// Vespa's installation directory; its conf/vespa/default-env.txt is applied over the
    /// environment as Vespa's start scripts apply it [default: $VESPA_HOME, then /opt/vespa].
    #[arg(long, value_name = "DIR")]
    pub(crate) vespa_home: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct EnvArgs {
    #[command(flatten)]
    pub(crate) home: VespaHome,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// A finding code of this module: `--vespa-home` or `$VESPA_HOME` names a directory without a
/// default-env.txt (note).
const DEFAULT_ENV_MISSING: &str = "default-env-missing";

/// `default-env.txt` over the process environment.
#[derive(Debug)]
pub(crate) struct NodeEnv {
    /// The directory `default-env.txt` was looked for in.
    pub(crate) home: PathBuf,
    /// Whether the file exists (when it does not, the process environment is all there is).
    pub(crate) found: bool,
    /// Whether the operator named the directory (flag or `$VESPA_HOME`) rather than the default.
    explicit: bool,
    pub(crate) file: DefaultEnv,
    /// The lines Vespa skips, as errors at `path:line`.
    pub(crate) skipped: Diagnostics,
}

impl NodeEnv {
    /// Reads `default-env.txt` under `--vespa-home`, `$VESPA_HOME` or `/opt/vespa`. A missing
    /// file is an empty one (as for Vespa); an unreadable one is an error.
    pub(crate) fn load(home: &VespaHome) -> anyhow::Result<NodeEnv> {
        let from_env = std::env::var_os("VESPA_HOME").filter(|v| !v.is_empty());
        let explicit = home.vespa_home.is_some() || from_env.is_some();
        let home = home
            .vespa_home
            .clone()
            .or(from_env.map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/opt/vespa"));
        let path = home.join(DEFAULT_ENV_FILE);
        let found = match std::fs::metadata(&path) {
            Ok(_) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(anyhow!("{}: cannot read: {e}", path.display())),
        };
        let (file, skipped) = if found {
            let bytes = read_regular_file(&path, MAX_FILE_SIZE)?;
            DefaultEnv::parse(&path, &bytes)
        } else {
            DefaultEnv::parse(&path, b"")
        };
        Ok(NodeEnv {
            home,
            found,
            explicit,
            file,
            skipped,
        })
    }

    /// The path of `default-env.txt`.
    pub(crate) fn path(&self) -> &Path {
        self.file.path()
    }

    /// The variable as a Vespa process started here sees it.
    pub(crate) fn var(&self, name: &str) -> Option<OsString> {
        self.file.resolve(name, std::env::var_os(name)).value
    }

    /// The four variables read through the layered environment.
    pub(crate) fn environment(
        &self,
    ) -> Result<(Environment, Diagnostics), vespa_tls_config::EnvError> {
        Environment::from_lookup(|name| self.var(name))
    }

    /// `--config FILE`, or the effective `VESPA_TLS_CONFIG_FILE` (saying where it came from when
    /// it is missing).
    pub(crate) fn config_path(&self, given: Option<&Path>) -> anyhow::Result<PathBuf> {
        if let Some(path) = given {
            return Ok(path.to_owned());
        }
        match self.var(CONFIG_FILE_VAR) {
            Some(value) if !value.is_empty() => Ok(PathBuf::from(value)),
            _ => Err(anyhow!(
                "no TLS config file: pass --config FILE or set {CONFIG_FILE_VAR} (in the \
                 environment or in {})",
                self.path().display()
            )),
        }
    }

    /// The findings about the environment itself: skipped lines, where each `VESPA_TLS_*` value
    /// came from, and (when the file exists) where this shell disagrees with it.
    pub(crate) fn findings(&self) -> Diagnostics {
        let mut findings = self.skipped.clone();
        if !self.found && self.explicit {
            findings.push(Diagnostic::at_path(
                Severity::Note,
                DEFAULT_ENV_MISSING,
                self.path(),
                "does not exist: only the process environment counts",
            ));
        }
        findings.extend(
            self.file
                .tls_findings(|name| std::env::var_os(name))
                .into_iter()
                .filter(|d| self.found || d.code != codes::ENV_SHELL_DISAGREES)
                .collect(),
        );
        findings
    }

    /// For `connect` and `scan`: skipped lines on stderr (the rest of the file is used).
    pub(crate) fn warn_skipped(&self) {
        for finding in &self.skipped {
            note(format!("vespa-tls: {finding}"));
        }
    }
}

fn origin_json(origin: &Origin) -> EnvOrigin {
    match origin {
        Origin::Process => EnvOrigin::Process,
        Origin::File { line, action } => EnvOrigin::DefaultEnv {
            line: *line as u64,
            action: action.as_str().to_owned(),
        },
        _ => EnvOrigin::NotSet,
    }
}

fn origin_text(node: &NodeEnv, origin: &Origin) -> String {
    match origin {
        Origin::Process => "from the process environment".to_owned(),
        Origin::File { line, action } => {
            format!("{action} at {}:{line}", node.path().display())
        }
        _ => "not set".to_owned(),
    }
}

fn lossy(value: Option<&OsString>) -> Option<String> {
    value.map(|v| v.to_string_lossy().into_owned())
}

/// `vespa-tls env`: the effective `VESPA_TLS_*` settings of a node and where each came from.
pub(crate) fn run(args: &EnvArgs) -> anyhow::Result<Verdict> {
    let node = NodeEnv::load(&args.home)?;
    let mut findings = node.findings();
    let environment = node.environment();
    let effective = match &environment {
        Ok((env, env_findings)) => {
            findings.extend(env_findings.clone());
            Some(env.clone())
        }
        Err(e) => {
            findings.push(Diagnostic::at_variable(
                Severity::Error,
                "invalid-environment",
                e.variable,
                e.problem.clone(),
            ));
            None
        }
    };
    let variables: Vec<(&str, Option<OsString>, vespa_tls_config::Resolved)> = TLS_VARIABLES
        .iter()
        .map(|name| {
            let shell = std::env::var_os(name);
            let resolved = node.file.resolve(name, shell.clone());
            (*name, shell, resolved)
        })
        .collect();
    let ok = !findings.has_errors();
    if args.output.json {
        say_json(&EnvOutput {
            vespa_home: node.home.display().to_string(),
            default_env: DefaultEnvFile {
                path: node.path().display().to_string(),
                found: node.found,
                lines_used: node.file.entries().len(),
                lines_skipped: node.skipped.len(),
            },
            variables: variables
                .iter()
                .map(|(name, shell, resolved)| EnvVariable {
                    name: (*name).to_owned(),
                    value: lossy(resolved.value.as_ref()),
                    origin: origin_json(&resolved.origin),
                    shell: lossy(shell.as_ref()),
                })
                .collect(),
            effective: effective.as_ref().map(|env| EffectiveEnv {
                tls: env.tls_enabled(),
                config_file: env.config_file.as_ref().map(|p| p.display().to_string()),
                mixed_mode: env.mixed_mode.as_str().to_owned(),
                authorization_mode: env.authorization_mode.as_str().to_owned(),
                capability_mode: env.capability_mode.as_str().to_owned(),
            }),
            ok,
            findings: findings.iter().map(Into::into).collect(),
        });
    } else {
        say(if node.found {
            format!(
                "{}: {} used, {} skipped",
                node.path().display(),
                plural(node.file.entries().len(), "line"),
                node.skipped.len()
            )
        } else {
            format!(
                "{}: not found (only the process environment counts)",
                node.path().display()
            )
        });
        let width = TLS_VARIABLES.iter().map(|n| n.len()).max().unwrap_or(0);
        for (name, _, resolved) in &variables {
            let value = match &resolved.value {
                Some(v) => Escaped(&v.to_string_lossy()).to_string(),
                None => "(unset)".to_owned(),
            };
            say(format!(
                "{name:<width$}  {value}  ({})",
                origin_text(&node, &resolved.origin)
            ));
        }
        match &effective {
            Some(env) => say(match &env.config_file {
                Some(path) => format!(
                    "effective: TLS with {}, mixed mode {}, authorization {}, capabilities {}",
                    path.display(),
                    env.mixed_mode,
                    env.authorization_mode,
                    env.capability_mode
                ),
                None => "effective: TLS off (no VESPA_TLS_CONFIG_FILE): everything is plaintext"
                    .to_owned(),
            }),
            None => say("effective: none (a variable has an invalid value)"),
        }
        for finding in findings.iter().filter(|d| d.code != codes::ENV_ORIGIN) {
            say(finding.to_string());
        }
    }
    Ok(Verdict::from_ok(ok))
}
