//! cruddur-infra: keeps one application's AWS infrastructure exactly as a YAML spec says.
//!
//! spec (parse, validate, resolve an env) → observe (read live, concurrently) → plan (pure
//! diff) → apply (steps, waits, retries, re-observe) → render (reads only the plan).

pub mod apply;
pub mod aws;
pub mod cli;
pub mod commands;
pub mod discover;
pub mod engine;
pub mod exit;
pub mod ids;
pub mod kinds;
pub mod lease;
pub mod log;
pub mod pace;
pub mod package;
pub mod plan;
pub mod policy;
pub mod render;
pub mod saved;
pub mod spec;
pub mod status;
