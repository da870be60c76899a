//! `completions`: a shell completion script generated from the command line's definition.

use std::process::ExitCode;

pub fn run(cmd: &mut clap::Command, shell: clap_complete::Shell) -> ExitCode {
    clap_complete::generate(shell, cmd, "cruddur-infra", &mut std::io::stdout());
    ExitCode::SUCCESS
}
