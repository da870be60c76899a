//! The helpers every kind uses, one file per job. None of them names a kind.

pub mod changes;
pub mod cloudwatch;
pub mod ec2;
pub mod import;
pub mod ownership;
pub mod pricing;
pub mod reading;
pub mod references;
pub mod retry;
pub mod wait;
