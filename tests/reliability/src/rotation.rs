//! The three ways a node's certificate is replaced while it serves.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use vespa_tls_config::Files;
use vespa_tls_pki::{IssuedCertificate, write_public_file, write_secret_file};
use vespa_tls_testkit::Policy;

use crate::error::ScenarioError;
use crate::pki::{config, write_config};

/// How certificates are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The seed guide's recipe: new files under new names, then a new config file renamed
    /// over the one `VESPA_TLS_CONFIG_FILE` names.
    ConfigRename,
    /// A Kubernetes Secret volume: files under a timestamped directory, reached through the
    /// `..data` symlink, which the kubelet swaps atomically (a new link renamed over it).
    DataSymlinkSwap,
    /// `cp new.pem host.pem; cp new.key host.key`: the files are rewritten in place,
    /// truncated and then written a chunk at a time, certificate first, then the key.
    InPlace {
        /// Pause between the certificate and the key (longer than the reload debounce makes
        /// a reload see the new certificate with the old key).
        between: Duration,
    },
}

impl Method {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Method::ConfigRename => "config-rename",
            Method::DataSymlinkSwap => "data-symlink-swap",
            Method::InPlace { .. } => "in-place",
        }
    }
}

/// Writes one node's material, generation after generation, by one [`Method`].
#[derive(Debug)]
pub struct Rotator {
    method: Method,
    base: PathBuf,
    config_path: PathBuf,
    policies: Vec<Policy>,
    ca_bundle_pem: String,
    generation: usize,
}

impl Rotator {
    /// Lays out generation 0 (`first`, trusting `ca_bundle_pem`) under `base` (created) and
    /// writes the config file, with `policies` as its `authorized-peers` (none: every peer).
    pub fn new(
        method: Method,
        base: &Path,
        first: &IssuedCertificate,
        ca_bundle_pem: &str,
        policies: &[Policy],
    ) -> Result<Rotator, ScenarioError> {
        std::fs::create_dir_all(base).map_err(|e| ScenarioError::io(base, "create", e))?;
        let rotator = Rotator {
            method,
            base: base.to_owned(),
            config_path: base.join("tls.json"),
            policies: policies.to_vec(),
            ca_bundle_pem: ca_bundle_pem.to_owned(),
            generation: 0,
        };
        match method {
            Method::ConfigRename => {
                let dir = rotator.write_generation(first)?;
                rotator.write_config(&rotator.files_in(&dir))?;
            }
            Method::DataSymlinkSwap => {
                let data = rotator.write_generation(first)?;
                let secret = base.join("secret");
                symlink(&data, &secret.join("..data"))?;
                for name in ["ca.crt", "tls.crt", "tls.key"] {
                    symlink(Path::new("..data").join(name).as_path(), &secret.join(name))?;
                }
                rotator.write_config(&rotator.stable_files())?;
            }
            Method::InPlace { .. } => {
                let files = rotator.stable_files();
                let dir = base.join("files");
                std::fs::create_dir_all(&dir).map_err(|e| ScenarioError::io(&dir, "create", e))?;
                write_public_file(&files.ca_certificates, ca_bundle_pem.as_bytes())?;
                write_public_file(&files.certificates, first.certificates_pem().as_bytes())?;
                write_secret_file(&files.private_key, first.key_pem.expose().as_bytes())?;
                rotator.write_config(&files)?;
            }
        }
        Ok(rotator)
    }

    /// The config file to follow.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The CA bundle the next rotation writes.
    pub fn set_ca_bundle(&mut self, ca_bundle_pem: &str) {
        ca_bundle_pem.clone_into(&mut self.ca_bundle_pem);
    }

    /// The `authorized-peers` the next rotation writes (with
    /// [`Method::ConfigRename`] and [`Method::InPlace`]; the symlink swap's config is static,
    /// as a mounted ConfigMap would be).
    pub fn set_authorized_peers(&mut self, policies: &[Policy]) {
        self.policies = policies.to_vec();
    }

    /// Replaces the files of the config file with `next` by this rotator's method.
    /// Blocking (it writes files and, in place, pauses between chunks): call it off the
    /// async workers.
    pub fn rotate(&mut self, next: &IssuedCertificate) -> Result<(), ScenarioError> {
        self.generation += 1;
        match self.method {
            Method::ConfigRename => {
                let dir = self.write_generation(next)?;
                self.write_config(&self.files_in(&dir))?;
                // Two generations back is no longer named by any config a reload can read.
                if self.generation >= 2 {
                    let old = self.generation_dir(self.generation - 2);
                    let _ = std::fs::remove_dir_all(old);
                }
            }
            Method::DataSymlinkSwap => {
                let data = self.write_generation(next)?;
                let secret = self.base.join("secret");
                let staging = secret.join("..data_tmp");
                let _ = std::fs::remove_file(&staging);
                symlink(&data, &staging)?;
                let target = secret.join("..data");
                std::fs::rename(&staging, &target)
                    .map_err(|e| ScenarioError::io(&target, "rename over", e))?;
                let old = self.generation_dir(self.generation - 1);
                let _ = std::fs::remove_dir_all(old);
            }
            Method::InPlace { between } => {
                let files = self.stable_files();
                overwrite_slowly(&files.certificates, next.certificates_pem().as_bytes())?;
                std::thread::sleep(between);
                overwrite_slowly(&files.private_key, next.key_pem.expose().as_bytes())?;
                overwrite_slowly(&files.ca_certificates, self.ca_bundle_pem.as_bytes())?;
                overwrite_slowly(
                    &self.config_path,
                    config(&files, &self.policies).to_json().as_bytes(),
                )?;
            }
        }
        Ok(())
    }

    fn write_config(&self, files: &Files) -> Result<(), ScenarioError> {
        write_config(&self.config_path, &config(files, &self.policies).to_json())
    }

    /// The paths a config names when they never change (symlinks or in-place files).
    fn stable_files(&self) -> Files {
        let dir = match self.method {
            Method::DataSymlinkSwap => self.base.join("secret"),
            _ => self.base.join("files"),
        };
        let (ca, cert, key) = match self.method {
            Method::DataSymlinkSwap => ("ca.crt", "tls.crt", "tls.key"),
            _ => ("ca.pem", "node.pem", "node.key"),
        };
        Files {
            ca_certificates: dir.join(ca),
            certificates: dir.join(cert),
            private_key: dir.join(key),
        }
    }

    fn files_in(&self, dir: &Path) -> Files {
        Files {
            ca_certificates: dir.join("ca.pem"),
            certificates: dir.join("node.pem"),
            private_key: dir.join("node.key"),
        }
    }

    fn generation_dir(&self, generation: usize) -> PathBuf {
        match self.method {
            Method::DataSymlinkSwap => self
                .base
                .join("secret")
                .join(format!("..2026_11_27_gen_{generation:04}")),
            _ => self.base.join(format!("gen-{generation:04}")),
        }
    }

    /// Writes one generation's three files into their own directory (each renamed into place).
    fn write_generation(&self, node: &IssuedCertificate) -> Result<PathBuf, ScenarioError> {
        let dir = self.generation_dir(self.generation);
        let (ca, cert, key) = match self.method {
            Method::DataSymlinkSwap => ("ca.crt", "tls.crt", "tls.key"),
            _ => ("ca.pem", "node.pem", "node.key"),
        };
        let files = Files {
            ca_certificates: dir.join(ca),
            certificates: dir.join(cert),
            private_key: dir.join(key),
        };
        std::fs::create_dir_all(&dir).map_err(|e| ScenarioError::io(&dir, "create", e))?;
        write_public_file(&files.ca_certificates, self.ca_bundle_pem.as_bytes())?;
        write_public_file(&files.certificates, node.certificates_pem().as_bytes())?;
        write_secret_file(&files.private_key, node.key_pem.expose().as_bytes())?;
        // The kubelet's `..data` link is relative: it names the directory, not a path.
        Ok(match self.method {
            Method::DataSymlinkSwap => dir
                .file_name()
                .map(PathBuf::from)
                .expect("a generation directory has a name"),
            _ => dir,
        })
    }
}

/// Truncates `path` and writes `contents` 97 bytes at a time with a short pause between
/// chunks and a flush after each: a reader can see any prefix.
pub(crate) fn overwrite_slowly(path: &Path, contents: &[u8]) -> Result<(), ScenarioError> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .create(true)
        .open(path)
        .map_err(|e| ScenarioError::io(path, "open for writing", e))?;
    for chunk in contents.chunks(97) {
        file.write_all(chunk)
            .and_then(|()| file.flush())
            .map_err(|e| ScenarioError::io(path, "write", e))?;
        std::thread::sleep(Duration::from_millis(2));
    }
    file.sync_all()
        .map_err(|e| ScenarioError::io(path, "sync", e))
}

fn symlink(target: &Path, link: &Path) -> Result<(), ScenarioError> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir).map_err(|e| ScenarioError::io(dir, "create", e))?;
    }
    std::os::unix::fs::symlink(target, link).map_err(|e| ScenarioError::io(link, "symlink", e))
}
