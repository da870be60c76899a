//! `status`: how the stack is doing right now, as plain data (like the plan, it is rendered by
//! `render` and never read back). Each kind reports its resources' health (`Kind::health`): a
//! trigger's state and last processing result and its on-failure queue's depth, an alarm's state.

use serde::Serialize;

pub const FORMAT_VERSION: u32 = 1;

/// One resource as `status` found it: what it says, and what is wrong with it (nothing: healthy).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Health {
    pub address: String,
    /// What was read, by name (`state`, `last_processing_result`, `queue_depth`, ...).
    pub facts: serde_json::Map<String, serde_json::Value>,
    #[serde(skip)]
    pub problems: Vec<String>,
}

impl Health {
    pub fn new(address: impl Into<String>) -> Self {
        Health { address: address.into(), facts: serde_json::Map::new(), problems: Vec::new() }
    }

    pub fn fact(mut self, name: &str, value: impl Serialize) -> Self {
        self.facts.insert(name.into(), serde_json::to_value(value).unwrap_or_default());
        self
    }

    pub fn problem(mut self, what: impl Into<String>) -> Self {
        self.problems.push(what.into());
        self
    }
}

/// One problem, for the report's list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    pub address: String,
    pub what: String,
}

/// The whole report of one env.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub format_version: u32,
    pub stack: String,
    pub env: String,
    pub region: String,
    pub healthy: bool,
    pub problems: Vec<Problem>,
    pub resources: Vec<Resource>,
}

/// A resource of the report: its address and facts, flattened.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Resource {
    pub address: String,
    pub healthy: bool,
    #[serde(flatten)]
    pub facts: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    pub fn new(stack: &str, env: &str, region: &str, health: Vec<Health>) -> Self {
        let problems: Vec<Problem> =
            health.iter().flat_map(|h| h.problems.iter().map(|p| Problem { address: h.address.clone(), what: p.clone() })).collect();
        let resources =
            health.into_iter().map(|h| Resource { healthy: h.problems.is_empty(), address: h.address, facts: h.facts }).collect();
        Report {
            format_version: FORMAT_VERSION,
            stack: stack.into(),
            env: env.into(),
            region: region.into(),
            healthy: problems.is_empty(),
            problems,
            resources,
        }
    }
}
