//! `schema`: the JSON Schema of infra.yaml.

use crate::exit::ExitStatus;

pub fn run() -> ExitStatus {
    print!("{}", crate::spec::schema::json());
    ExitStatus::Success
}
