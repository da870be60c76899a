//! `schema`: the JSON Schema of infra.yaml.

use std::process::ExitCode;

pub fn run() -> ExitCode {
    print!("{}", crate::spec::schema::json());
    ExitCode::SUCCESS
}
