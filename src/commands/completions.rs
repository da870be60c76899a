//! `completions`: a shell completion script generated from the command line's definition.

use crate::exit::ExitStatus;

pub fn run(cmd: &mut clap::Command, shell: clap_complete::Shell) -> ExitStatus {
    clap_complete::generate(shell, cmd, "cruddur-infra", &mut std::io::stdout());
    ExitStatus::Success
}
