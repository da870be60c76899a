//! Conversions between the function's configuration and Lambda's types.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_lambda::types as lam;

use super::FunctionConfig;

pub(super) fn config_of(c: &lam::FunctionConfiguration) -> FunctionConfig {
    let vpc = c.vpc_config();
    FunctionConfig {
        runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        handler: c.handler().unwrap_or_default().to_string(),
        role_arn: c.role().unwrap_or_default().to_string(),
        memory_mb: c.memory_size().unwrap_or(128) as i64,
        timeout_s: c.timeout().unwrap_or(3) as i64,
        environment: c.environment().and_then(|e| e.variables()).map(|v| v.clone().into_iter().collect()).unwrap_or_default(),
        late_environment: BTreeMap::new(),
        sensitive: BTreeSet::new(),
        subnets: vpc.map(|v| v.subnet_ids().iter().cloned().collect()).unwrap_or_default(),
        security_groups: vpc.map(|v| v.security_group_ids().iter().cloned().collect()).unwrap_or_default(),
        description: c.description().filter(|d| !d.is_empty()).map(str::to_string),
        tracing: Some(c.tracing_config().and_then(|t| t.mode()).map_or("PassThrough", |m| m.as_str()).to_string()),
    }
}

pub(super) fn vpc_config(c: &FunctionConfig) -> lam::VpcConfig {
    lam::VpcConfig::builder()
        .set_subnet_ids(Some(c.subnets.iter().cloned().collect()))
        .set_security_group_ids(Some(c.security_groups.iter().cloned().collect()))
        .build()
}

pub(super) fn tracing_config(config: &FunctionConfig) -> Option<lam::TracingConfig> {
    config.tracing.as_deref().map(|m| lam::TracingConfig::builder().mode(lam::TracingMode::from(m)).build())
}
