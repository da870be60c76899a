//! The spec: parse `infra.yaml`, merge an environment's overrides, validate, and resolve it
//! into one [`Desired`] model. Every problem names the file, line, column and field.

pub mod emit;
pub mod filter;
pub mod monitoring;
pub mod position;
pub mod refs;
pub mod schema;
pub mod types;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use position::{Pos, PositionIndex};
pub use types::*;

/// Larger spec files are refused before parsing.
pub const MAX_SPEC_BYTES: u64 = 1024 * 1024;

/// One problem in the user's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub pos: Option<Pos>,
    /// The field path (`tables.cruddur-messages.capacity`), empty for the whole file.
    pub field: String,
    pub message: String,
    /// The production check it reports (`pitr`), for a warning that `waive:` can silence and
    /// `--strict` makes an error.
    pub check: Option<&'static str>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(p) = self.pos {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: cannot read the spec: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}", problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
    Invalid { problems: Vec<Problem> },
    #[error("{}: no environment `{name}`; the spec declares: {}", path.display(), known.join(", "))]
    UnknownEnv { path: PathBuf, name: String, known: Vec<String> },
}

impl SpecError {
    fn one(p: Problem) -> Self {
        SpecError::Invalid { problems: vec![p] }
    }
}

/// A parsed spec file, not yet resolved for an environment.
#[derive(Debug, Clone)]
pub struct SpecDocument {
    pub path: PathBuf,
    /// The folder that relative paths in the spec (policies, sources) are read from.
    pub base_dir: PathBuf,
    pub file: SpecFile,
    index: PositionIndex,
    /// Lambda folder → its package's hash (or why it cannot be packaged): each folder is zipped
    /// once, however many envs name it.
    packages: std::cell::RefCell<std::collections::BTreeMap<PathBuf, Result<String, String>>>,
}

/// The spec resolved for one environment: what the tool makes real.
#[derive(Debug, Clone)]
pub struct Desired {
    pub spec_path: PathBuf,
    pub base_dir: PathBuf,
    pub stack: String,
    pub env: String,
    pub region: String,
    pub endpoint_url: Option<String>,
    /// Per-service endpoints of the env (`endpoints:`), by service key.
    pub endpoints: std::collections::BTreeMap<String, String>,
    pub account_id: Option<String>,
    pub protected: bool,
    /// The env's `name_suffix` ("" when none): see [`Desired::aws_name`].
    pub name_suffix: String,
    pub resources: Resources,
    /// The text of every policy file the resources name, by the path written in the spec.
    pub files: std::collections::BTreeMap<String, String>,
    /// Function name → base64(sha256) of its deterministic deployment package.
    pub code: std::collections::BTreeMap<String, String>,
    /// The env's `profile` and `assume_role`: how its account is reached.
    pub profile: Option<String>,
    pub assume_role: Option<AssumeRoleSpec>,
    /// Only part of the spec (`--target`): resources it does not declare are not looked for,
    /// so nothing is pruned.
    pub partial: bool,
    /// The production checks this env waives, with why (top level and the env's own; empty
    /// unless the env is protected: the checks apply only there).
    pub waived: std::collections::BTreeMap<String, String>,
}

impl Desired {
    /// The AWS name of a table, role or function whose spec key is `key`: the key and the
    /// env's `name_suffix`.
    pub fn aws_name(&self, key: &str) -> String {
        format!("{key}{}", self.name_suffix)
    }

    /// The spec key of a resource found by its AWS name: the name without the env's
    /// `name_suffix`.
    pub fn spec_key(&self, aws_name: &str) -> String {
        aws_name.strip_suffix(self.name_suffix.as_str()).filter(|k| !k.is_empty()).unwrap_or(aws_name).to_string()
    }
}

/// One env resolved: its name, model and warnings.
pub type EnvModel = (String, Desired, Warnings);

/// Non-fatal findings (e.g. wildcard resources in a policy).
pub type Warnings = Vec<Problem>;

impl SpecDocument {
    /// Reads and parses a spec file. Types and unknown fields are checked here; the
    /// resources themselves are checked per environment by [`SpecDocument::resolve`].
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let read_err = |source| SpecError::Read { path: path.to_path_buf(), source };
        let meta = std::fs::metadata(path).map_err(read_err)?;
        if meta.len() > MAX_SPEC_BYTES {
            return Err(SpecError::one(Problem {
                file: path.into(),
                pos: None,
                field: String::new(),
                message: format!("the spec is {} bytes; more than {MAX_SPEC_BYTES} is refused", meta.len()),
                check: None,
            }));
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        let source = String::from_utf8(bytes).map_err(|e| {
            let off = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..off]).into_owned();
            let line = text.matches('\n').count() + 1;
            let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            SpecError::one(Problem {
                file: path.into(),
                pos: Some(Pos { line, column }),
                field: String::new(),
                message: "the spec is not valid UTF-8 text".into(),
                check: None,
            })
        })?;
        Self::parse(path, &source)
    }

    /// Parses spec text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, source: &str) -> Result<Self, SpecError> {
        let value: Value = serde_yaml::from_str(source).map_err(|e| {
            SpecError::one(Problem {
                file: path.into(),
                pos: e.location().map(|l| Pos { line: l.line(), column: l.column() }),
                field: String::new(),
                message: format!("not valid YAML: {}", strip_location(&e.to_string())),
                check: None,
            })
        })?;
        if value.is_null() {
            return Err(SpecError::one(Problem {
                file: path.into(),
                pos: None,
                field: String::new(),
                message: "the spec is empty".into(),
                check: None,
            }));
        }
        let index = PositionIndex::build(source);
        let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
        let mut doc = SpecDocument { path: path.into(), base_dir, file: placeholder(), index, packages: Default::default() };
        doc.file = doc.typed(value, None)?;
        if !doc.file.environments.contains_key(&doc.file.default_env) {
            return Err(SpecError::one(doc.problem(
                &["default_env"],
                None,
                format!("`{}` is not one of the environments ({})", doc.file.default_env, doc.env_names().join(", ")),
            )));
        }
        Ok(doc)
    }

    pub fn env_names(&self) -> Vec<String> {
        self.file.environments.keys().cloned().collect()
    }

    /// Deserializes `value` into `T`, turning a serde error into a located problem.
    /// `env`: the environment whose overrides may have supplied the value.
    fn typed<T: DeserializeOwned>(&self, value: Value, env: Option<&str>) -> Result<T, SpecError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path: Vec<String> = e
                .path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            let inner = e.into_inner().to_string();
            // For an unknown field, point at the field itself.
            if let Some(field) = inner.strip_prefix("unknown field `").and_then(|s| s.split('`').next()) {
                if path.last().map(String::as_str) != Some(field) {
                    path.push(field.to_string());
                }
            }
            let refs: Vec<&str> = path.iter().map(String::as_str).collect();
            SpecError::one(self.problem(&refs, env, humanize(&inner)))
        })
    }

    /// A problem at `path`, placed at the override of `env` where that is where the value
    /// is written, else at the base spec.
    pub fn problem(&self, path: &[&str], env: Option<&str>, message: String) -> Problem {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        let (base_len, base_pos) = self.index.lookup(&path);
        let mut pos = base_pos;
        if let Some(env) = env {
            let mut over = vec!["environments".to_string(), env.to_string(), "overrides".to_string()];
            over.extend(path.iter().cloned());
            let (over_len, over_pos) = self.index.lookup(&over);
            // The override wins where it writes the very field, or more of the path than the base.
            let full = over_len == over.len();
            if over_len > 3 && (full || over_len - 3 > base_len) {
                pos = over_pos;
            }
        }
        Problem { file: self.path.clone(), pos, field: path.join("."), message, check: None }
    }

    /// The hash of a Lambda folder's package, built once per folder.
    fn package_hash(&self, dir: &Path) -> Result<String, String> {
        let mut cache = self.packages.borrow_mut();
        cache.entry(dir.to_path_buf()).or_insert_with(|| crate::package::build(dir).map(|p| p.sha256).map_err(|e| format!("{e:#}"))).clone()
    }

    /// Resolves every env of the file: each good env's model and warnings, and the problems of
    /// all the others at once (deduplicated). Errors other than problems (unreadable) stop it.
    pub fn resolve_every_env(&self) -> Result<(Vec<EnvModel>, Vec<Problem>), SpecError> {
        let mut resolved = Vec::new();
        let mut problems = Vec::new();
        for env in self.env_names() {
            match self.resolve(&env) {
                Ok((d, w)) => resolved.push((env, d, w)),
                Err(SpecError::Invalid { problems: p }) => problems.extend(p),
                Err(e) => return Err(e),
            }
        }
        problems.dedup();
        Ok((resolved, problems))
    }

    /// Merges the overrides of `env` over the resources, checks types, and validates.
    pub fn resolve(&self, env: &str) -> Result<(Desired, Warnings), SpecError> {
        let Some(env_spec) = self.file.environments.get(env) else {
            return Err(SpecError::UnknownEnv { path: self.path.clone(), name: env.into(), known: self.env_names() });
        };
        let mut resources = Value::Mapping(Default::default());
        for (k, v) in [
            ("tables", &self.file.tables),
            ("queues", &self.file.queues),
            ("topics", &self.file.topics),
            ("vpc_endpoints", &self.file.vpc_endpoints),
            ("roles", &self.file.roles),
            ("functions", &self.file.functions),
            ("alarms", &self.file.alarms),
        ] {
            if !v.is_null() {
                resources.as_mapping_mut().unwrap().insert(Value::String(k.into()), v.clone());
            }
        }
        if let Some(over) = &env_spec.overrides {
            if !over.is_null() && !over.is_mapping() {
                return Err(SpecError::one(self.problem(
                    &["environments", env, "overrides"],
                    None,
                    "overrides must be a mapping: a partial spec (tables:, roles:, ...)".into(),
                )));
            }
            deep_merge(&mut resources, over);
        }
        let resources: Resources = self.typed(resources, Some(env))?;
        let desired = Desired {
            spec_path: self.path.clone(),
            base_dir: self.base_dir.clone(),
            stack: self.file.stack.clone(),
            env: env.into(),
            region: env_spec.region.clone(),
            endpoint_url: env_spec.endpoint_url.clone(),
            endpoints: env_spec.endpoints.clone(),
            account_id: env_spec.account_id.clone(),
            protected: env_spec.protected,
            name_suffix: env_spec.name_suffix.clone().unwrap_or_default(),
            resources,
            files: Default::default(),
            code: Default::default(),
            profile: env_spec.profile.clone(),
            assume_role: env_spec.assume_role.clone(),
            partial: false,
            waived: if env_spec.protected {
                self.file.waive.iter().chain(env_spec.waive.iter()).map(|(k, v)| (k.clone(), v.clone())).collect()
            } else {
                Default::default()
            },
        };
        let (problems, warnings, files) = validate::validate(self, &desired);
        if problems.is_empty() {
            let mut desired = desired;
            desired.files = files;
            let mut problems = Vec::new();
            for (name, f) in &desired.resources.functions {
                match self.package_hash(&self.base_dir.join(&f.source)) {
                    Ok(sha) => {
                        desired.code.insert(name.clone(), sha);
                    }
                    Err(e) => problems.push(self.problem(&["functions", name, "source"], Some(env), format!("cannot package: {e}"))),
                }
            }
            if !problems.is_empty() {
                return Err(SpecError::Invalid { problems });
            }
            Ok((desired, warnings))
        } else {
            Err(SpecError::Invalid { problems })
        }
    }
}

fn placeholder() -> SpecFile {
    SpecFile {
        version: 0,
        stack: String::new(),
        default_env: String::new(),
        environments: Default::default(),
        tables: Value::Null,
        queues: Value::Null,
        topics: Value::Null,
        alarms: Value::Null,
        vpc_endpoints: Value::Null,
        roles: Value::Null,
        functions: Value::Null,
        waive: Default::default(),
    }
}

/// Deep merge: mappings merge key by key, anything else in `over` replaces.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => deep_merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// serde_yaml appends " at line L column C"; the position is shown separately.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// Rewrites serde's wording where it would puzzle a user.
fn humanize(msg: &str) -> String {
    let msg = strip_location(msg);
    if msg.contains("untagged enum RouteTables") {
        return "expected `all` or a list of route table ids (rtb-...)".into();
    }
    if msg.starts_with("unknown field") {
        return msg.replace(", expected", "; expected");
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing required field {rest}");
    }
    msg.replace("i64", "a whole number").replace("u32", "a whole number")
}

#[cfg(test)]
mod tests;
