//! The command line (the contract of docs/contract.md): parsing, and dispatch to `commands::<cmd>`.
//! No command's work is done here.

use crate::exit::ExitStatus;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::commands::{self, Global};
use crate::log;
use crate::spec::SpecError;

const EXAMPLES: &str = "\
Examples:
  cruddur-infra validate                          check infra.yaml offline
  cruddur-infra plan                              what would change in the default env
  cruddur-infra plan --detailed-exitcode          exit 2 when there are changes
  cruddur-infra --env prod plan --output json     the plan as one JSON document
  cruddur-infra --env prod plan --output markdown the pull-request comment: risks first
  cruddur-infra --env prod apply                  show the plan, ask, then apply it
  cruddur-infra apply --yes                       apply without asking (CI)
  cruddur-infra drift --output markdown           read-only drift report for CI
  cruddur-infra drift --all-envs                  every env (and account) in one report
  cruddur-infra --env prod status                 is the stack working right now (triggers, alarms)

Exit codes: 0 success / no changes, 1 error or refusal, 2 changes present
(plan --detailed-exitcode, drift) or something unhealthy (status).";

#[derive(Debug, Parser)]
#[command(
    name = "cruddur-infra",
    version,
    about = "Keep one application's AWS infrastructure exactly as infra.yaml says: plan, apply, drift. No state file.",
    after_help = EXAMPLES
)]
pub struct Cli {
    /// The spec file.
    #[arg(short = 'f', long = "file", global = true, default_value = "infra.yaml", value_name = "FILE")]
    pub file: PathBuf,
    /// The environment of the spec to use (default: the spec's default_env).
    #[arg(long, global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// The AWS endpoint (else AWS_ENDPOINT_URL, else the env's endpoint_url, else AWS's own).
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The AWS region (default: the env's region in the spec).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The AWS profile of your config and credentials files (default: AWS_PROFILE).
    #[arg(long, global = true, value_name = "PROFILE")]
    pub profile: Option<String>,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail on stderr (also RUST_LOG=debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Limit plan / apply / drift to this resource (KIND.NAME) and what it depends on. Repeatable.
    #[arg(long, global = true, value_name = "ADDRESS")]
    pub target: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

/// How a report is printed: for a terminal, as one JSON document, or as markdown for a
/// pull-request comment or a job summary (at most 60,000 characters).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportOutput {
    Human,
    Json,
    Markdown,
}

/// `dlq`'s commands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// Read the trigger's on-failure queue without consuming it: each failed batch's condition,
    /// the function version that failed, its shard and sequence range, and its records fetched
    /// from the stream (or that they expired, past the stream's 24 hours).
    #[command(after_help = "Examples:\n  cruddur-infra dlq inspect lambda_event_source_mapping.cruddur-messaging-stream\n  \
        cruddur-infra --env prod dlq inspect lambda_event_source_mapping.cruddur-messaging-stream --out failed/\n  \
        cruddur-infra dlq inspect lambda_event_source_mapping.cruddur-messaging-stream --output json | jq '.failures[].records'")]
    Inspect {
        /// The trigger's address (lambda_event_source_mapping.NAME), as plan shows it.
        #[arg(value_name = "ADDRESS")]
        address: String,
        /// Write each batch still in the stream as the event Lambda delivered (`{"Records": [...]}`),
        /// one file per batch: fixtures for the handler's tests.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value = "human")]
        output: TextOutput,
    },
    /// Invoke the trigger's function (its alias, with deploy) synchronously with each failed batch
    /// still in the stream, after showing that and asking; a batch that succeeds has its message
    /// deleted, the others are kept. Exit 0 only when every batch was redriven.
    #[command(after_help = "Examples:\n  cruddur-infra --env prod dlq redrive lambda_event_source_mapping.cruddur-messaging-stream\n  \
        cruddur-infra dlq redrive lambda_event_source_mapping.cruddur-messaging-stream --yes")]
    Redrive {
        /// The trigger's address (lambda_event_source_mapping.NAME).
        #[arg(value_name = "ADDRESS")]
        address: String,
        /// Do not ask (required when there is no terminal).
        #[arg(long)]
        yes: bool,
    },
}

/// A report for a person or for a program.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TextOutput {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the spec offline (every environment, policy files, Lambda sources); touches nothing.
    #[command(after_help = "Examples:\n  cruddur-infra validate\n  cruddur-infra validate --strict      \
        fail on an unwaived production check\n  cruddur-infra -f other/infra.yaml validate")]
    Validate {
        /// Exit 1 when a production check (pitr, deletion-protection, trigger-retries,
        /// trigger-on-failure, log-retention, iam-wildcard) reports something the spec does
        /// not waive.
        #[arg(long)]
        strict: bool,
    },
    /// Read live AWS and show what apply would change, field by field.
    #[command(after_help = "Examples:\n  cruddur-infra plan\n  cruddur-infra --env prod plan --detailed-exitcode\n  \
        cruddur-infra plan --output json | jq '.changes[] | select(.action != \"no-op\")'\n  \
        cruddur-infra --env prod plan --out release.plan\n  cruddur-infra plan --target lambda_function.cruddur-messaging-stream")]
    Plan {
        /// Exit 2 when there are changes (0 when none, 1 on error).
        #[arg(long)]
        detailed_exitcode: bool,
        /// Exit 1, before reading AWS, when a production check reports something the spec does
        /// not waive.
        #[arg(long)]
        strict: bool,
        #[arg(long, value_enum, default_value = "human")]
        output: ReportOutput,
        /// Also save the plan to FILE, for `apply FILE` (no credentials; secrets masked).
        #[arg(long, value_name = "PLANFILE")]
        out: Option<PathBuf>,
        /// Consent to this table's replacement or deletion (its items are lost); saved with
        /// --out, so that `apply FILE` may run it. Repeat for several.
        #[arg(long = "allow-data-loss", visible_alias = "allow-replace", value_name = "ADDRESS")]
        allow_data_loss: Vec<String>,
        /// Every env of the spec, concurrently (each with its own account and credentials), in
        /// one report; exit 1 when an env could not be read (the others are still reported).
        #[arg(long)]
        all_envs: bool,
    },
    /// Show the plan, ask for confirmation, make it so, and check that it converged.
    #[command(after_help = "Examples:\n  cruddur-infra apply\n  cruddur-infra --env prod apply --yes\n  \
        cruddur-infra apply release.plan\n  cruddur-infra apply --allow-data-loss dynamodb_table.cruddur-messages")]
    Apply {
        /// Do not ask (required when there is no terminal).
        #[arg(long)]
        yes: bool,
        /// Allow this table's replacement or deletion (its items are lost): the address of a
        /// destructive change of this plan (anything else is an error). Repeat for several.
        #[arg(long = "allow-data-loss", visible_alias = "allow-replace", value_name = "ADDRESS")]
        allow_data_loss: Vec<String>,
        /// A plan saved by `plan --out`: applied exactly, without a question, and refused if
        /// anything changed since it was made.
        #[arg(value_name = "PLANFILE")]
        plan_file: Option<PathBuf>,
        /// Hold the stack+env's lease on AWS during apply (the default, except against an
        /// endpoint on this machine, the local emulator).
        #[arg(long, conflicts_with = "no_lock")]
        lock: bool,
        /// Do not take the lease.
        #[arg(long)]
        no_lock: bool,
        /// How long to wait for another apply's lease (e.g. 30s, 10m; default: do not wait).
        #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = humantime::parse_duration)]
        lock_timeout: std::time::Duration,
    },
    /// Delete everything this stack's env owns (for local work): what the spec declares and
    /// what it dropped (found by the ownership marker), in reverse dependency order; never a protected env, never a table with deletion
    /// protection, a table only when named in --allow-data-loss. With --target: that resource
    /// and what depends on it, never what it depends on.
    #[command(after_help = "Examples:\n  cruddur-infra destroy            (asks you to type the env's name)\n  \
        cruddur-infra destroy --yes --allow-data-loss dynamodb_table.cruddur-messages\n  \
        cruddur-infra destroy --target lambda_function.cruddur-messaging-stream --yes")]
    Destroy {
        /// Do not ask (required when there is no terminal; on one, type the env's name).
        #[arg(long)]
        yes: bool,
        /// Allow deleting this table and its items. Repeat for several.
        #[arg(long = "allow-data-loss", value_name = "ADDRESS")]
        allow_data_loss: Vec<String>,
    },
    /// Stop managing resources and keep them: removes this stack's ownership tags from each
    /// (after showing that and asking), so that no later plan deletes or changes them. Remove
    /// them from the spec first.
    #[command(after_help = "Examples:\n  cruddur-infra forget dynamodb_table.cruddur-messages\n  \
        cruddur-infra --env prod forget lambda_function.old-worker --yes")]
    Forget {
        /// The resources' addresses (KIND.NAME), as plan shows them.
        #[arg(value_name = "ADDRESS", required = true)]
        addresses: Vec<String>,
        /// Do not ask (required when there is no terminal).
        #[arg(long)]
        yes: bool,
    },
    /// Move a function's `deploy` alias back to the version it replaced (recorded in the alias
    /// itself), after showing that and asking. Goes back one recorded version, never further.
    #[command(after_help = "Examples:\n  cruddur-infra --env prod rollback lambda_function.cruddur-messaging-stream\n  \
        cruddur-infra --env prod rollback lambda_function.cruddur-messaging-stream --yes")]
    Rollback {
        /// The function's address (lambda_function.NAME).
        #[arg(value_name = "ADDRESS")]
        address: String,
        /// Do not ask (required when there is no terminal).
        #[arg(long)]
        yes: bool,
    },
    /// The failure loop of a stream trigger: the batches its on-failure queue records, read back
    /// from the stream, and redriven to the function once it is fixed.
    Dlq {
        #[command(subcommand)]
        action: DlqCommand,
    },
    /// Read-only: exit 0 when live AWS matches the spec, 2 on drift, 1 on error.
    #[command(after_help = "Examples:\n  cruddur-infra --env prod drift\n  \
        cruddur-infra --env prod drift --output markdown >> \"$GITHUB_STEP_SUMMARY\"")]
    Drift {
        #[arg(long, value_enum, default_value = "human")]
        output: ReportOutput,
        /// Every env of the spec, concurrently (each with its own account and credentials), in
        /// one report: exit 2 when any drifted, 1 when any could not be read.
        #[arg(long)]
        all_envs: bool,
    },
    /// Read-only: is the stack working right now? Each trigger's state and last batch, its
    /// on-failure queue's depth, each alarm of the spec and its state. Exit 0 healthy, 2 when
    /// something is not, 1 on error.
    #[command(after_help = "Examples:\n  cruddur-infra --env prod status\n  \
        cruddur-infra --env prod status --output json | jq '.problems'\n  \
        cruddur-infra --env prod status --output markdown >> \"$GITHUB_STEP_SUMMARY\"")]
    Status {
        #[arg(long, value_enum, default_value = "human")]
        output: ReportOutput,
    },
    /// Read what exists (made by hand or by this tool) and write the project that declares it:
    /// DIR/infra.yaml, so that the first plan there adopts it, recreating nothing. Read-only.
    #[command(after_help = "Examples:\n  cruddur-infra import --table cruddur-messages --out cruddur\n  \
        cruddur-infra --region ca-central-1 --env prod import --table cruddur-messages --stack cruddur --out .")]
    Import {
        /// A Lambda function to import, with what it refers to. Repeatable.
        #[arg(long = "function", value_name = "NAME")]
        functions: Vec<String>,
        /// A DynamoDB table to import (with its autoscaling). Repeatable.
        #[arg(long = "table", value_name = "NAME")]
        tables: Vec<String>,
        /// An SQS queue to import. Repeatable.
        #[arg(long = "queue", value_name = "NAME")]
        queues: Vec<String>,
        /// An SNS topic to import. Repeatable.
        #[arg(long = "topic", value_name = "NAME")]
        topics: Vec<String>,
        /// A CloudWatch metric alarm to import (with the topics it notifies). Repeatable.
        #[arg(long = "alarm", value_name = "NAME")]
        alarms: Vec<String>,
        /// The folder to write the project into.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// The stack's name (default: the resources' ownership tags, else DIR's name).
        #[arg(long, value_name = "NAME")]
        stack: Option<String>,
        /// Overwrite an existing DIR/infra.yaml.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of infra.yaml (for editors: see docs/infra.schema.json).
    Schema,
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  cruddur-infra completions bash > ~/.local/share/bash-completion/completions/cruddur-infra\n  \
        cruddur-infra completions zsh > ~/.zfunc/_cruddur-infra\n  cruddur-infra completions fish > ~/.config/fish/completions/cruddur-infra.fish")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Cli {
    fn global(&self) -> Global {
        Global {
            file: self.file.clone(),
            env: self.env.clone(),
            endpoint_url: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            targets: self.target.clone(),
            strict: false,
        }
    }
}

/// Maps the command line onto a command's options and runs it.
async fn run(cli: Cli) -> Result<ExitStatus> {
    let g = cli.global();
    match cli.command {
        Command::Validate { strict } => commands::validate::run(&Global { strict, ..g }),
        Command::Plan { detailed_exitcode, strict, output, out, allow_data_loss, all_envs } => {
            let g = Global { strict, ..g };
            let output = match output {
                ReportOutput::Human => commands::plan::Output::Human,
                ReportOutput::Json => commands::plan::Output::Json,
                ReportOutput::Markdown => commands::plan::Output::Markdown,
            };
            commands::plan::run(&g, commands::plan::Options { detailed_exitcode, output, out, allow_data_loss, all_envs }).await
        }
        Command::Apply { yes, allow_data_loss, plan_file, lock, no_lock, lock_timeout } => {
            let lock = if lock {
                Some(true)
            } else if no_lock {
                Some(false)
            } else {
                None
            };
            commands::apply::run(&g, commands::apply::Options { yes, allow_data_loss, plan_file, lock, lock_timeout }).await
        }
        Command::Destroy { yes, allow_data_loss } => commands::destroy::run(&g, commands::destroy::Options { yes, allow_data_loss }).await,
        Command::Forget { addresses, yes } => commands::forget::run(&g, commands::forget::Options { addresses, yes }).await,
        Command::Rollback { address, yes } => commands::rollback::run(&g, commands::rollback::Options { address, yes }).await,
        Command::Dlq { action: DlqCommand::Inspect { address, out, output } } => {
            let json = matches!(output, TextOutput::Json);
            commands::dlq::inspect(&g, commands::dlq::InspectOptions { address, out, json }).await
        }
        Command::Dlq { action: DlqCommand::Redrive { address, yes } } => {
            commands::dlq::redrive(&g, commands::dlq::RedriveOptions { address, yes }).await
        }
        Command::Drift { output, all_envs } => {
            let output = match output {
                ReportOutput::Human => commands::drift::Output::Human,
                ReportOutput::Json => commands::drift::Output::Json,
                ReportOutput::Markdown => commands::drift::Output::Markdown,
            };
            commands::drift::run(&g, output, all_envs).await
        }
        Command::Status { output } => {
            let output = match output {
                ReportOutput::Human => commands::status::Output::Human,
                ReportOutput::Json => commands::status::Output::Json,
                ReportOutput::Markdown => commands::status::Output::Markdown,
            };
            commands::status::run(&g, output).await
        }
        Command::Import { functions, tables, queues, topics, alarms, out, stack, force } => {
            commands::import::run(&g, commands::import::Options { functions, tables, queues, topics, alarms, out, stack, force }).await
        }
        Command::Schema => Ok(commands::schema::run()),
        Command::Completions { shell } => Ok(commands::completions::run(&mut <Cli as clap::CommandFactory>::command(), shell)),
    }
}

fn report(e: &anyhow::Error) {
    if let Some(SpecError::Invalid { problems }) = e.downcast_ref::<SpecError>() {
        for p in problems {
            eprintln!("error: {}", crate::render::escape_controls(&p.to_string(), true));
        }
        eprintln!("{} problem(s) in the spec; nothing was read or changed in AWS.", problems.len());
        return;
    }
    // Messages quote AWS's words: no control character reaches the terminal.
    eprintln!("error: {}", crate::render::escape_controls(&format!("{e:#}"), true));
}

pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let rust_log_debug = std::env::var("RUST_LOG").is_ok_and(|v| v.contains("debug") || v.contains("trace"));
    log::set_level(if cli.quiet { -1 } else { (cli.verbose as i8).max(rust_log_debug as i8) });
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Failure.into();
        }
    };
    match rt.block_on(run(cli)) {
        Ok(status) => status.into(),
        Err(e) => {
            report(&e);
            ExitStatus::Failure.into()
        }
    }
}
