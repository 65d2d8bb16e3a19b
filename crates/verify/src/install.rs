//! `vespa-tls install`: the seed guide's four-step refresh of a node's files, on the node.
//!
//! 1. The new files are copied next to the current ones under new names (`NAME.vN.EXT`), the
//!    key with mode 0600 from creation.
//! 2. The new set is checked by [`CheckReport::check`], the load and verification path a
//!    process uses: key and certificate match, the chain ends at the CA bundle, nothing is
//!    expired, and each `--hostname` is covered. A set with an error-level finding changes
//!    nothing: its copies are removed and the config is left as it was.
//! 3. The config, with only its `files` changed, is written to a temporary file, fsynced and
//!    renamed over the config, so a process reading it sees the old or the new file whole.
//! 4. Sets older than the newest `--keep` previous ones are removed (a process that has not
//!    reloaded yet may still read the previous set).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use time::OffsetDateTime;
use vespa_tls_config::{Environment, Files, Severity};
use vespa_tls_context::{CheckOptions, CheckReport};
use vespa_tls_material::{MAX_FILE_SIZE, codes, read_regular_file};
use vespa_tls_pki::{write_public_file, write_secret_file};

use crate::cli::Output;
use crate::json::{Certificate, InstallOutput, InstallRefused, Installed};
use crate::output::{Verdict, certificate_lines, note, plural, say, say_json};

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// The TLS config file the node's processes read (VESPA_TLS_CONFIG_FILE); it must exist.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// The new certificate chain (PEM: the node's certificate first).
    #[arg(long, value_name = "FILE")]
    pub(crate) certificates: PathBuf,
    /// The new private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub(crate) private_key: PathBuf,
    /// A new CA bundle (without it, the current one stays).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_certificates: Option<PathBuf>,
    /// The new certificate must be valid for this host name or IP address (repeatable).
    #[arg(long, value_name = "H")]
    pub(crate) hostname: Vec<String>,
    /// How many previous sets to keep after installing (a process that has not reloaded yet
    /// may still read the previous one).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) keep: usize,
    /// Check the new set and say what would change, changing nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    #[command(flatten)]
    pub(crate) output: Output,
}

/// One of the config's files: where its versions live and how they are named.
#[derive(Debug, Clone)]
struct Slot {
    dir: PathBuf,
    stem: String,
    ext: Option<String>,
}

impl Slot {
    /// The slot of the file at `current` (`host.pem`, or an installed `host.v3.pem`).
    fn of(current: &Path) -> anyhow::Result<Slot> {
        let dir = current
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_owned)
            .with_context(|| format!("{}: expected an absolute file path", current.display()))?;
        let name = current
            .file_name()
            .and_then(|n| n.to_str())
            .with_context(|| format!("{}: expected a UTF-8 file name", current.display()))?;
        let (base, ext) = match name.rsplit_once('.') {
            // `key.v8`: a versioned name without an extension.
            Some((_, ext)) if parse_version_suffix(&format!("x.{ext}")).is_some() => (name, None),
            Some((base, ext)) if !base.is_empty() => (base, Some(ext.to_owned())),
            _ => (name, None),
        };
        let stem = match parse_version_suffix(base) {
            Some((stem, _)) => stem.to_owned(),
            None => base.to_owned(),
        };
        Ok(Slot { dir, stem, ext })
    }

    fn path(&self, version: u64) -> PathBuf {
        let base = if version == 0 {
            self.stem.clone()
        } else {
            format!("{}.v{version}", self.stem)
        };
        match &self.ext {
            Some(ext) => self.dir.join(format!("{base}.{ext}")),
            None => self.dir.join(base),
        }
    }

    /// The versions present in the directory (0: the unversioned name).
    fn versions(&self) -> anyhow::Result<Vec<u64>> {
        let mut found = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("{}: cannot list", self.dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("{}: cannot list", self.dir.display()))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let base = match &self.ext {
                Some(ext) => match name.strip_suffix(&format!(".{ext}")) {
                    Some(base) => base.to_owned(),
                    None => continue,
                },
                None => name,
            };
            if base == self.stem {
                found.push(0);
            } else if let Some((stem, version)) = parse_version_suffix(&base)
                && stem == self.stem
            {
                found.push(version);
            }
        }
        found.sort_unstable();
        Ok(found)
    }
}

/// `host.v12` → `("host", 12)`.
fn parse_version_suffix(base: &str) -> Option<(&str, u64)> {
    let (stem, version) = base.rsplit_once(".v")?;
    if stem.is_empty() || version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem, version.parse().ok()?))
}

/// A new file: where it comes from, where it goes, and whether it is the key.
struct Copy<'a> {
    slot: Slot,
    source: &'a Path,
    secret: bool,
}

pub(crate) fn run(args: &InstallArgs) -> anyhow::Result<Verdict> {
    let config_bytes = read_regular_file(&args.config, MAX_FILE_SIZE)?;
    let (options, _) = vespa_tls_config::parse_slice(&config_bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.config.display()))?;
    let current = options.files.clone();

    let mut copies = vec![
        Copy {
            slot: Slot::of(&current.certificates)?,
            source: &args.certificates,
            secret: false,
        },
        Copy {
            slot: Slot::of(&current.private_key)?,
            source: &args.private_key,
            secret: true,
        },
    ];
    if let Some(ca) = &args.ca_certificates {
        copies.push(Copy {
            slot: Slot::of(&current.ca_certificates)?,
            source: ca,
            secret: false,
        });
    }
    // Read every source before writing anything: an unreadable input changes nothing.
    let mut contents = Vec::new();
    for copy in &copies {
        contents.push(read_regular_file(copy.source, MAX_FILE_SIZE)?);
    }
    let mut version = 0;
    for copy in &copies {
        version = version.max(copy.slot.versions()?.last().copied().unwrap_or(0));
    }
    let version = version + 1;

    let mut created: Vec<PathBuf> = Vec::new();
    let written = write_copies(&copies, &contents, version, &mut created);
    if let Err(e) = written {
        remove_all(&created);
        return Err(e);
    }
    let mut files = current.clone();
    files.certificates = copies[0].slot.path(version);
    files.private_key = copies[1].slot.path(version);
    if args.ca_certificates.is_some() {
        files.ca_certificates = copies[2].slot.path(version);
    }
    let mut new_options = options.clone();
    new_options.files = files.clone();
    let new_json = new_options.to_json();

    let now = OffsetDateTime::now_utc();
    let report = CheckReport::check(
        &args.config,
        new_json.as_bytes(),
        // The set is judged on its own: the shell's VESPA_TLS_* variables are not the node's.
        Environment::from_lookup(|_| None),
        &CheckOptions {
            files: true,
            warn_days: 30,
            hostnames: &args.hostname,
            now,
        },
    );
    // A chain the CA bundle does not end is only a warning for `check` (a node may be moving
    // between CAs), but installing it would make every peer refuse this node.
    let errors: Vec<_> = report
        .findings
        .iter()
        .filter(|d| d.severity == Severity::Error || d.code == codes::CHAIN_NOT_TRUSTED)
        .collect();
    if !errors.is_empty() {
        remove_all(&created);
        if args.output.json {
            say_json(&InstallOutput::Refused(InstallRefused {
                config: args.config.clone(),
                installed: false,
                findings: errors.iter().map(|d| (*d).into()).collect(),
            }));
        }
        note(format!(
            "vespa-tls: install refused: {}: the new set has {}; nothing changed:",
            args.config.display(),
            plural(errors.len(), "error")
        ));
        // The copies are gone: name the files the operator gave instead.
        let shown = |text: String| {
            copies.iter().fold(text, |text, copy| {
                text.replace(
                    &copy.slot.path(version).display().to_string(),
                    &copy.source.display().to_string(),
                )
            })
        };
        for finding in &errors {
            note(format!("  {}", shown(finding.to_string())));
        }
        return Ok(Verdict::No);
    }
    if args.dry_run {
        remove_all(&created);
    } else {
        write_public_file(&args.config, new_json.as_bytes())?;
    }
    let removed = if args.dry_run {
        Vec::new()
    } else {
        collect_garbage(&copies, version, args.keep, &files)?
    };

    let certificate = report.certificate.as_ref();
    if args.output.json {
        say_json(&InstallOutput::Installed(Box::new(Installed {
            config: args.config.clone(),
            installed: !args.dry_run,
            dry_run: args.dry_run,
            version,
            files: (&files).into(),
            previous_files: (&current).into(),
            removed: removed.clone(),
            certificate: certificate.map(|c| Certificate::new(c, now)),
            findings: report.findings.iter().map(Into::into).collect(),
        })));
        return Ok(Verdict::Yes);
    }
    let verb = if args.dry_run {
        "would install"
    } else {
        "installed"
    };
    say(format!(
        "{verb} set v{version} in {}:",
        args.config.display()
    ));
    say(format!(
        "  certificates    {}",
        files.certificates.display()
    ));
    say(format!(
        "  private-key     {} (mode 0600)",
        files.private_key.display()
    ));
    say(format!(
        "  ca-certificates {}",
        files.ca_certificates.display()
    ));
    if let Some(leaf) = certificate {
        for line in certificate_lines(leaf, now) {
            say(line);
        }
    }
    for finding in report
        .findings
        .iter()
        .filter(|d| d.severity == Severity::Warning)
    {
        say(finding.to_string());
    }
    for path in &removed {
        say(format!("removed {}", path.display()));
    }
    if args.dry_run {
        say("dry run: nothing changed");
    }
    Ok(Verdict::Yes)
}

fn write_copies(
    copies: &[Copy<'_>],
    contents: &[Vec<u8>],
    version: u64,
    created: &mut Vec<PathBuf>,
) -> anyhow::Result<()> {
    for (copy, bytes) in copies.iter().zip(contents) {
        let target = copy.slot.path(version);
        if target.exists() {
            bail!(
                "{}: already exists (another install running?); nothing changed",
                target.display()
            );
        }
        if copy.secret {
            write_secret_file(&target, bytes)?;
        } else {
            write_public_file(&target, bytes)?;
        }
        created.push(target);
    }
    Ok(())
}

fn remove_all(paths: &[PathBuf]) {
    for path in paths {
        if let Err(e) = std::fs::remove_file(path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            note(format!("vespa-tls: {}: cannot remove: {e}", path.display()));
        }
    }
}

/// Removes every version of each slot older than the newest `keep` before `version`; never a
/// file the new config names.
fn collect_garbage(
    copies: &[Copy<'_>],
    version: u64,
    keep: usize,
    files: &Files,
) -> anyhow::Result<Vec<PathBuf>> {
    let named = [
        &files.ca_certificates,
        &files.certificates,
        &files.private_key,
    ];
    let mut removed = Vec::new();
    for copy in copies {
        let older: Vec<u64> = copy
            .slot
            .versions()?
            .into_iter()
            .filter(|v| *v < version)
            .collect();
        let drop = older.len().saturating_sub(keep);
        for old in &older[..drop] {
            let path = copy.slot.path(*old);
            if named.contains(&&path) {
                continue;
            }
            std::fs::remove_file(&path)
                .with_context(|| format!("{}: cannot remove an old set's file", path.display()))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_name_versions_next_to_the_current_file() {
        // (current file, its slot's version 7)
        let table = [
            ("/etc/tls/host.pem", "/etc/tls/host.v7.pem"),
            ("/etc/tls/host.v3.pem", "/etc/tls/host.v7.pem"),
            ("/etc/tls/host.key", "/etc/tls/host.v7.key"),
            ("/etc/tls/ca.v2.bundle.pem", "/etc/tls/ca.v2.bundle.v7.pem"),
            ("/etc/tls/key", "/etc/tls/key.v7"),
            ("/etc/tls/.hidden", "/etc/tls/.hidden.v7"),
        ];
        for (current, expected) in table {
            let slot = Slot::of(Path::new(current)).expect("slot");
            assert_eq!(slot.path(7), Path::new(expected), "{current}");
            assert_eq!(Slot::of(&slot.path(7)).expect("slot").path(8), slot.path(8));
        }
        assert_eq!(parse_version_suffix("host.v"), None);
        assert_eq!(parse_version_suffix("host.vx1"), None);
        assert_eq!(parse_version_suffix("host.v12"), Some(("host", 12)));
    }
}
