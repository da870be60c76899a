//! The tool's exit statuses (docs/contract.md, "Exit codes"): named once, so that no command
//! writes a bare number.

use std::process::ExitCode;

/// How a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: success, or nothing to change.
    Success = 0,
    /// 1: an error, a refusal, or a question answered no.
    Failure = 1,
    /// 2: changes are present (`plan --detailed-exitcode`, `drift`) or something is unhealthy.
    Changes = 2,
}

impl ExitStatus {
    /// [`ExitStatus::Changes`] when `changes`, else [`ExitStatus::Success`].
    pub fn changes_if(changes: bool) -> Self {
        if changes {
            ExitStatus::Changes
        } else {
            ExitStatus::Success
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s as u8)
    }
}
