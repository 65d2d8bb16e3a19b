//! `vespa-tls`: the operator's tool for Vespa's internal mutual TLS.
//!
//! Exit status: 0 = yes / no problems, 1 = the command ran and the answer is no,
//! 2 = the command could not run. Errors go to stderr as one line, thing first.

mod authz;
mod bundle;
mod ca;
mod check;
mod cli;
mod cluster;
mod csr;
mod demo;
pub mod frt;
mod generate;
mod inspect;
mod install;
mod json;
mod metrics_http;
mod node_env;
mod output;
mod probe;
mod serve;
mod targets;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use crate::cli::{CaCommand, Cli, Command};
use crate::output::Verdict;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Library warnings (a failed reload, a refused peer) reach stderr; serve and the demo
    // report connections and reloads themselves. -v raises the level; RUST_LOG overrides it.
    let level = match (cli.verbose, &cli.command) {
        (0, Command::Demo(_)) => LevelFilter::ERROR,
        (0, _) => LevelFilter::WARN,
        (1, _) => LevelFilter::INFO,
        (2, _) => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) if !directives.trim().is_empty() => EnvFilter::try_new(&directives)
            .unwrap_or_else(|error| {
                output::note(format!(
                    "vespa-tls: warning: RUST_LOG={directives:?} is not a valid filter ({error}); \
                     logging at {level}"
                ));
                EnvFilter::new(level.to_string())
            }),
        _ => EnvFilter::new(level.to_string()),
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let result = match &cli.command {
        Command::Check(args) => check::run(args),
        Command::Authz(args) => authz::run(args),
        Command::Connect(args) => probe::connect(args),
        Command::Scan(args) => probe::scan(args),
        Command::Ca(CaCommand::Init(args)) => ca::init(args),
        Command::Ca(CaCommand::Issue(args)) => ca::issue(args),
        Command::Ca(CaCommand::Config(args)) => ca::config(args),
        Command::Ca(CaCommand::Sign(args)) => csr::sign(args),
        Command::Ca(CaCommand::Bundle(args)) => bundle::run(args),
        Command::Ca(CaCommand::IssueCluster(args)) => cluster::run(args),
        Command::Csr(args) => csr::csr(args),
        Command::Install(args) => install::run(args),
        Command::Inspect(args) => inspect::inspect(args),
        Command::NeedsRenewal(args) => inspect::needs_renewal(args),
        Command::Serve(args) => serve::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Completions(args) => generate::completions(args),
        Command::Man(args) => generate::man(args),
        Command::Env(args) => node_env::run(args),
        Command::JsonSchema(args) => generate::json_schema(args),
    };
    match result {
        Ok(Verdict::Yes) => ExitCode::SUCCESS,
        Ok(Verdict::No) => ExitCode::from(1),
        Err(error) => {
            output::note(format!("vespa-tls: error: {error:#}"));
            ExitCode::from(2)
        }
    }
}
