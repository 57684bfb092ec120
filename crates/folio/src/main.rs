//! The `folio` binary: renders markdown to PDF from the command line, serves the web app and
//! API, and runs the render workers.

mod args;
mod assets;
mod commands;
mod failure;
mod settings;
mod shape;

use std::process::ExitCode;

use crate::args::{Cli, Command, DocsCommand, EventsCommand, KeysCommand, UsersCommand};
use crate::failure::Failure;

/// Typst's layout allocates and frees many small objects; jemalloc renders faster than glibc's
/// malloc at the same memory (Cargo.toml and BENCHMARKS.md say by how much).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The command line; on AWS Lambda (`provided.al2023` starts the package's `bootstrap` with no
/// arguments) the function's `Handler` setting, which Lambda passes as `_HANDLER`, names the
/// function: `folio lambda <handler>`.
fn arguments() -> Vec<std::ffi::OsString> {
    let given: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if cfg!(feature = "aws")
        && given.len() == 1
        && std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some()
        && let Some(handler) = std::env::var_os("_HANDLER")
    {
        return vec![given[0].clone(), "lambda".into(), handler];
    }
    given
}

fn main() -> ExitCode {
    folio_render::quiet_render_panics();
    let matches = <Cli as clap::CommandFactory>::command().get_matches_from(arguments());
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let result = layer(cli.command, settings::leaf(&matches)).and_then(run);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.print();
            ExitCode::from(failure.exit_code)
        }
    }
}

/// Puts the settings file under the variables and flags of the command's settings.
fn layer(command: Command, matches: &clap::ArgMatches) -> Result<Command, Failure> {
    use settings::Layered;
    Ok(match command {
        Command::Serve(settings) => Command::Serve(settings.layer(matches)?),
        Command::Docs(DocsCommand::List(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Docs(DocsCommand::List(args))
        }
        Command::Docs(DocsCommand::Import(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Docs(DocsCommand::Import(args))
        }
        Command::Events(EventsCommand::Dead(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Events(EventsCommand::Dead(args))
        }
        Command::Events(EventsCommand::Retry(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Events(EventsCommand::Retry(args))
        }
        Command::Reindex(mut args) => {
            args.settings = args.settings.layer(matches)?;
            Command::Reindex(args)
        }
        Command::Users(UsersCommand::List(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Users(UsersCommand::List(args))
        }
        Command::Users(UsersCommand::ResetPassword(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Users(UsersCommand::ResetPassword(args))
        }
        Command::Users(UsersCommand::Delete(mut args)) => {
            args.settings = args.settings.layer(matches)?;
            Command::Users(UsersCommand::Delete(args))
        }
        Command::Backup(mut args) => {
            args.settings = args.settings.layer(matches)?;
            Command::Backup(args)
        }
        Command::Keys(KeysCommand::Rotate(settings)) => {
            Command::Keys(KeysCommand::Rotate(settings.layer(matches)?))
        }
        command @ (Command::Render(_) | Command::Worker) => command,
        #[cfg(feature = "aws")]
        command @ Command::Lambda(_) => command,
    })
}

/// Runs a command with its settings layered.
fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Render(args) => commands::render::run(&args),
        Command::Docs(DocsCommand::List(args)) => block_on(commands::docs::list(&args)),
        Command::Docs(DocsCommand::Import(args)) => block_on(commands::docs::import(&args)),
        Command::Events(EventsCommand::Dead(args)) => block_on(commands::events::dead(&args)),
        Command::Events(EventsCommand::Retry(args)) => block_on(commands::events::retry(&args)),
        Command::Reindex(args) => block_on(commands::reindex::run(&args)),
        Command::Serve(settings) => block_on(commands::serve::run(settings)),
        Command::Worker => worker(),
        Command::Backup(args) => block_on(commands::backup::run(&args)),
        Command::Users(UsersCommand::List(args)) => block_on(commands::users::list(&args)),
        Command::Users(UsersCommand::ResetPassword(args)) => {
            block_on(commands::users::reset_password(&args))
        }
        Command::Users(UsersCommand::Delete(args)) => block_on(commands::users::delete(&args)),
        Command::Keys(KeysCommand::Rotate(settings)) => block_on(commands::keys::rotate(&settings)),
        #[cfg(feature = "aws")]
        Command::Lambda(args::LambdaCommand::Indexer(args)) => {
            block_on(commands::lambda::indexer(&args))
        }
        #[cfg(feature = "aws")]
        Command::Lambda(args::LambdaCommand::Api(args)) => block_on(commands::lambda::api(&args)),
        #[cfg(feature = "aws")]
        Command::Lambda(args::LambdaCommand::Reconcile(args)) => {
            block_on(commands::lambda::reconcile(&args))
        }
        #[cfg(feature = "aws")]
        Command::Lambda(args::LambdaCommand::Create(args)) => {
            block_on(commands::lambda::create(&args))
        }
        #[cfg(feature = "aws")]
        Command::Lambda(args::LambdaCommand::Query(args)) => {
            block_on(commands::lambda::query(&args))
        }
    }
}

/// `folio worker`: renders jobs for `folio serve` until its standard input closes.
fn worker() -> Result<(), Failure> {
    let memory = std::env::var(folio_workers::child::MEMORY_VARIABLE)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    folio_workers::child::main(memory).map_err(|e| Failure::document(format!("worker: {e}")))
}

/// Runs an async command on a multi-threaded runtime (renders run on its blocking pool).
fn block_on(command: impl Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::document(format!("cannot start the runtime: {e}")))?
        .block_on(command)
}
