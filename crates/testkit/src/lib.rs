//! Test fixtures for vespa-tls: a throw-away PKI for localhost and deliberately broken material.
//!
//! Built on `vespa-tls-pki`. One call, [`TestPki::new`], makes a CA and a server and a client
//! certificate carrying `DNS:localhost` and `IP:127.0.0.1` (as Vespa's own test certificates
//! do), writes Vespa's three files and a config file for each into a temp dir, and deletes
//! the dir on drop. [`TestPki::fixture`] writes one of the [`Fixture`]s: expired, not yet valid,
//! signed by another CA, serverAuth-only, encrypted keys, PKCS#1 / SEC1 / Ed25519 keys, the leaf
//! not first, a key that does not match, empty files, keys and certificates in the wrong file.
//!
//! On the network side: [`Server`], an accept loop over the library's `Acceptor` (or bare
//! tokio-rustls) that echoes or sinks, for a bounded number of connections or until dropped,
//! and records each connection's outcome; [`LegacyClientHello`] and the other ClientHellos our
//! own client never sends; [`Served`], a child process killed on drop whose output is kept and
//! waited on with bounded waits (a `listening` event, s_server's `ACCEPT` line: [`SServer`]).
//!
//! This crate is `publish = false`: a dev-dependency of the product crates, a normal one only
//! of the unpublished tools and harnesses (`benches`, `tests/reliability`). Every certificate
//! is made at test time; no private key is committed.
//!
//! ```
//! use vespa_tls_testkit::{Fixture, TestPki};
//! let pki = TestPki::new()?;
//! let broken = pki.fixture(Fixture::KeyDoesNotMatch)?;
//! assert!(broken.files.private_key.exists());
//! # Ok::<(), vespa_tls_testkit::TestkitError>(())
//! ```
#![warn(missing_docs)]

mod config;
mod convert;
mod curl;
mod error;
mod escape;
mod glob;
mod hello;
mod leaf;
mod memory;
mod openssl;
mod pki;
mod process;
mod python;
mod seed;
mod server;

pub use config::{Policy, TestConfig, replace_file};
pub use convert::{
    EncryptedBy, ed25519_self_signed, encrypt_pkcs8, legacy_encrypted_sec1, pkcs8_to_pkcs1,
    pkcs8_to_sec1,
};
pub use curl::{CurlReply, HEALTH_UP, MISSING_CAPABILITIES, curl, curl_identity, curl_or_skip};
pub use error::{ConvertProblem, TestkitError};
pub use escape::assert_printed_escaped;
pub use glob::glob_regex;
pub use hello::{LegacyClientHello, oversized_hello_config, real_client_hello};
pub use leaf::self_signed_der;
pub use memory::{HandshakeOutcome, handshake_in_memory};
pub use openssl::{AppendixCa, HostKey, Openssl, SKIPPED};
pub use pki::{
    Fixture, FixtureFiles, InMemoryNode, LOCALHOST_DNS, LOCALHOST_IP, Node, TestPki,
    TestPkiBuilder, bind_loopback, config_json, read_certificates,
};
pub use process::{
    KEEP_LINES, Listening, SServer, Served, ServedError, clear_tls_env, json_event,
    openssl_peer_args,
};
pub use python::{python_with, python_with_or_skip};
pub use seed::{SEED_CONFIG, seed_options};
pub use server::{
    Accepted, BACKLOG, Flavour, Handshaker, IDLE_LIMIT, KEEP, Seen, Server, ServerBuilder, Tally,
    WAIT_LIMIT,
};
