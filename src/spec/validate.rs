//! Offline checks of one resolved environment: names AWS accepts, capacity rules, key types,
//! references, policy files and the Lambda source folder.

use std::collections::BTreeMap;

use super::refs;
use super::types::*;
use super::{Desired, Pos, Problem, SpecDocument};
use crate::policy;

/// Tags that the tool writes itself; users may not set them.
pub const RESERVED_TAGS: &[&str] = &["managed-by", "cruddur-infra:stack", "cruddur-infra:env"];

pub const RUNTIMES: &[&str] = &[
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.2",
    "ruby3.3",
    "provided.al2",
    "provided.al2023",
];

/// Environment variable names that Lambda reserves.
const RESERVED_ENV: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// The production checks, by id: what each asks of the spec.
pub const CHECKS: &[(&str, &str)] = &[
    (PITR, "a table has point-in-time recovery"),
    (DELETION_PROTECTION, "a table has deletion protection"),
    (TRIGGER_RETRIES, "a stream trigger bounds its retries (maximum_retry_attempts or maximum_record_age_s)"),
    (TRIGGER_ON_FAILURE, "a stream trigger has an on-failure destination"),
    (LOG_RETENTION, "a function's logs have a retention"),
    (IAM_WILDCARD, "an inline policy names its actions and resources (no wildcards)"),
    (ALARMS, "a function with a trigger has its monitoring pack, sent to a topic (`monitoring: { notify: [...] }`)"),
];
const PITR: &str = "pitr";
const DELETION_PROTECTION: &str = "deletion-protection";
const TRIGGER_RETRIES: &str = "trigger-retries";
const TRIGGER_ON_FAILURE: &str = "trigger-on-failure";
const LOG_RETENTION: &str = "log-retention";
const IAM_WILDCARD: &str = "iam-wildcard";
const ALARMS: &str = "alarms";
/// Not a check that a waiver silences: an error in every env (an alarm that can fire only once
/// records are lost warns of nothing).
const ALARM_THRESHOLDS: &str = "alarm-thresholds";

/// What SNS subscribes.
/// SNS protocols a subscription of the spec may use (`firehose` needs a subscription role, which
/// the spec cannot say yet).
const PROTOCOLS: &[&str] = &["email", "email-json", "sqs", "lambda", "https", "http", "sms"];

/// CloudWatch's units (StandardUnit).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Policy and source files larger than this are refused.
const MAX_POLICY_BYTES: u64 = 64 * 1024;

struct Checker<'a> {
    doc: &'a SpecDocument,
    env: &'a str,
    /// The env's name_suffix, part of every table, role and function name.
    suffix: &'a str,
    /// The env's region: an alarm's topic must be in it.
    region: &'a str,
    res: &'a Resources,
    /// A production env: the production checks apply.
    protected: bool,
    /// The checks the spec waives (top level and this env), with why.
    waived: BTreeMap<String, String>,
    problems: Vec<Problem>,
    warnings: Vec<Problem>,
    /// The policy files read, by the path written in the spec: the plan uses these texts.
    files: BTreeMap<String, String>,
}

fn name_ok(name: &str, min: usize, max: usize, extra: &str) -> bool {
    (min..=max).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_aws_id(s: &str, prefix: &str) -> bool {
    s.strip_prefix(prefix).is_some_and(|h| (8..=17).contains(&h.len()) && h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

fn region_ok(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Lambda's and IAM's tag characters (their API models' pattern `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`):
/// letters, separators, numbers and `_.:/=+-@`.
fn tag_chars_ok(s: &str) -> bool {
    let separator = |c: char| {
        matches!(c, ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}')
    };
    s.chars().all(|c| c.is_alphabetic() || c.is_numeric() || separator(c) || "_.:/=+-@".contains(c))
}

/// IAM's text of descriptions (`[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`) and policy
/// documents (`[\u0009\u000A\u000D\u0020-\u00FF]+`): Latin-1, printable. The first character it
/// refuses, if any.
fn latin1_refused(s: &str, document: bool) -> Option<char> {
    s.chars().find(|&c| {
        let ok = matches!(c, '\t' | '\n' | '\r' | ' '..='~')
            || (if document { ('\u{7f}'..='\u{ff}').contains(&c) } else { ('\u{a1}'..='\u{ff}').contains(&c) });
        !ok
    })
}

/// The longest name a table's scaling policy gets (`scaling::policy_name`: the write
/// dimension's metric, then `table/NAME[/index/INDEX]`); Application Auto Scaling takes 256.
fn scaling_policy_name(table: &str, index: Option<&str>) -> String {
    match index {
        None => format!("DynamoDBWriteCapacityUtilization:table/{table}"),
        Some(i) => format!("DynamoDBWriteCapacityUtilization:table/{table}/index/{i}"),
    }
}

impl Checker<'_> {
    fn err(&mut self, path: &[&str], msg: impl Into<String>) {
        let p = self.doc.problem(path, Some(self.env), msg.into());
        if !self.problems.contains(&p) {
            self.problems.push(p);
        }
    }

    fn warn(&mut self, path: &[&str], msg: impl Into<String>) {
        let p = self.doc.problem(path, Some(self.env), msg.into());
        self.warnings.push(p);
    }

    /// A production check's finding at `path`: a warning with its id (see [`Self::as_check`]).
    fn check(&mut self, id: &'static str, path: &[&str], msg: String) {
        let p = self.doc.problem(path, Some(self.env), msg);
        if let Some(p) = self.as_check(id, p) {
            self.warnings.push(p);
        }
    }

    /// `p` as the finding of check `id`: its id and how to waive it in the message. None when the
    /// check does not apply here (only in a protected env, except the stream trigger's, which
    /// apply everywhere) or the spec waives it.
    fn as_check(&self, id: &'static str, mut p: Problem) -> Option<Problem> {
        let everywhere = matches!(id, TRIGGER_RETRIES | TRIGGER_ON_FAILURE);
        if !(self.protected || everywhere) || self.waived.contains_key(id) {
            return None;
        }
        // Its id first, how to waive it last.
        p.message = format!("[{id}] {} (or waive it: `waive: {{ {id}: \"why\" }}`)", p.message);
        p.check = Some(id);
        Some(p)
    }

    fn refs_in(&mut self, path: &[&str], text: &str) {
        for occ in refs::occurrences(text) {
            if let Err(e) = refs::parse(&occ.expr, self.res) {
                self.err(path, e);
            }
        }
    }

    /// Tags of a service whose API model restricts their characters (Lambda, IAM).
    fn strict_tags(&mut self, base: &[&str], tags: &BTreeMap<String, String>, service: &str) {
        for (k, v) in tags {
            let mut p = base.to_vec();
            p.push(k);
            if !tag_chars_ok(k) || (!v.contains("${") && !tag_chars_ok(v)) {
                self.err(&p, format!("{service} takes only letters, numbers, spaces and `_.:/=+-@` in tag keys and values"));
            }
        }
    }

    fn tags(&mut self, base: &[&str], tags: &BTreeMap<String, String>) {
        if tags.len() > 50 - RESERVED_TAGS.len() {
            self.err(base, format!("{} tags; AWS allows 50 per resource and the tool adds {}", tags.len(), RESERVED_TAGS.len()));
        }
        for (k, v) in tags {
            let mut p = base.to_vec();
            p.push(k);
            if k.is_empty() || k.chars().count() > 128 {
                self.err(&p, "a tag key must be 1 to 128 characters");
            }
            if v.chars().count() > 256 {
                self.err(&p, "a tag value must be at most 256 characters");
            }
            if k.starts_with("aws:") {
                self.err(&p, "tag keys starting with `aws:` are reserved by AWS");
            }
            if RESERVED_TAGS.contains(&k.as_str()) {
                self.err(&p, format!("the tag `{k}` is written by cruddur-infra itself; choose another key"));
            }
            self.refs_in(&p, v);
        }
    }

    /// Checks a policy file named at `path` in the spec: it exists, is small, is a JSON policy
    /// document, and its references resolve.
    fn policy_file(&mut self, path: &[&str], rel: &str) {
        let file = self.doc.base_dir.join(rel);
        let text = match std::fs::metadata(&file) {
            Err(e) => {
                self.err(path, format!("cannot read policy file {}: {e}", file.display()));
                return;
            }
            Ok(m) if !m.is_file() => {
                self.err(path, format!("{} is not a file", file.display()));
                return;
            }
            Ok(m) if m.len() > MAX_POLICY_BYTES => {
                self.err(path, format!("policy file {} is {} bytes; more than {MAX_POLICY_BYTES} is refused", file.display(), m.len()));
                return;
            }
            Ok(_) => match std::fs::read(&file).map(String::from_utf8) {
                Ok(Ok(t)) => t,
                Ok(Err(_)) => {
                    self.err(path, format!("policy file {} is not valid UTF-8 text", file.display()));
                    return;
                }
                Err(e) => {
                    self.err(path, format!("cannot read policy file {}: {e}", file.display()));
                    return;
                }
            },
        };
        self.files.insert(rel.to_string(), text.clone());
        for p in policy::check(&text) {
            let field = if p.field.is_empty() { String::new() } else { p.field };
            let prob =
                Problem { file: file.clone(), pos: Some(Pos { line: p.line, column: p.column }), field, message: p.message, check: None };
            if p.warning {
                // In a protected env a wildcard is a production check (waivable, `--strict`);
                // elsewhere a plain warning.
                let prob = if self.protected { self.as_check(IAM_WILDCARD, prob) } else { Some(prob) };
                self.warnings.extend(prob);
            } else {
                self.problems.push(prob);
            }
        }
        for occ in refs::occurrences(&text) {
            if let Err(e) = refs::parse(&occ.expr, self.res) {
                let (line, column) = policy::position_of(&text, &format!("${{{}", occ.expr));
                self.problems.push(Problem {
                    file: file.clone(),
                    pos: Some(Pos { line, column }),
                    field: String::new(),
                    message: e,
                    check: None,
                });
            }
        }
    }

    fn capacity(&mut self, path: &[&str], billing: Billing, cap: &Option<Capacity>, what: &str) {
        let mut cpath = path.to_vec();
        cpath.push("capacity");
        match (billing, cap) {
            (Billing::Provisioned, None) => {
                self.err(&cpath, format!("{what} needs `capacity: {{ read: N, write: N }}` because billing is provisioned"))
            }
            (Billing::OnDemand, Some(_)) => self.err(
                &cpath,
                format!("{what} is on_demand, which has no provisioned capacity: remove `capacity` or set `billing: provisioned`"),
            ),
            (Billing::Provisioned, Some(c)) => {
                for (field, v) in [("read", c.read), ("write", c.write)] {
                    if !(1..=40_000).contains(&v) {
                        let mut p = cpath.clone();
                        p.push(field);
                        self.err(&p, format!("{field} capacity must be between 1 and 40000 units, not {v}"));
                    }
                }
                if let Some(a) = &c.autoscale {
                    self.autoscale(&cpath, c, a);
                }
            }
            (Billing::OnDemand, None) => {}
        }
    }

    /// `capacity.autoscale`: AWS's limits (1 ≤ min ≤ max ≤ 40000, a target of 20 to 90 %), and
    /// the capacity, its starting value, within the range.
    fn autoscale(&mut self, cpath: &[&str], c: &Capacity, a: &Autoscale) {
        let mut apath = cpath.to_vec();
        apath.push("autoscale");
        // `tables.T.capacity` or `tables.T.global_secondary_indexes.I.capacity`.
        let table = format!("{}{}", cpath.get(1).copied().unwrap_or(""), self.suffix);
        let policy = scaling_policy_name(&table, cpath.get(3).copied());
        if policy.chars().count() > 256 {
            self.err(
                &apath,
                format!("its scaling policy would be named `{policy}`, {} characters; Application Auto Scaling takes 256: shorten the table or index name", policy.chars().count()),
            );
        }
        let at = |field: &'static str| {
            let mut p = apath.clone();
            p.push(field);
            p
        };
        if !(1..=40_000).contains(&a.min) {
            self.err(&at("min"), format!("autoscale min must be between 1 and 40000 units, not {}", a.min));
        } else if !(1..=40_000).contains(&a.max) {
            self.err(&at("max"), format!("autoscale max must be between 1 and 40000 units, not {}", a.max));
        } else if a.min > a.max {
            self.err(&at("max"), format!("autoscale max ({}) is below its min ({})", a.max, a.min));
        } else {
            for (field, v) in [("read", c.read), ("write", c.write)] {
                if !(a.min..=a.max).contains(&v) {
                    let mut p = cpath.to_vec();
                    p.push(field);
                    self.err(
                        &p,
                        format!(
                            "{field} capacity {v} is the starting value of an autoscaled capacity: it must be within autoscale's {}..{}",
                            a.min, a.max
                        ),
                    );
                }
            }
        }
        if !(20.0..=90.0).contains(&a.target_utilization) {
            self.err(
                &at("target_utilization"),
                format!("autoscale target_utilization is a percentage between 20 and 90, not {}", a.target_utilization),
            );
        }
    }

    fn key(&mut self, path: &[&str], key: &KeySpec, types: &mut BTreeMap<String, (AttrType, String)>, owner: &str) {
        let mut p = path.to_vec();
        p.push("name");
        if key.name.is_empty() || key.name.len() > 255 {
            self.err(&p, "an attribute name must be 1 to 255 bytes");
        }
        match types.get(&key.name) {
            Some((ty, first)) if *ty != key.ty => {
                let msg = format!(
                    "attribute `{}` is type {} here but type {} in {first}; one attribute has one type in a table",
                    key.name, key.ty, ty
                );
                let mut tp = path.to_vec();
                tp.push("type");
                self.err(&tp, msg);
            }
            Some(_) => {}
            None => {
                types.insert(key.name.clone(), (key.ty, owner.to_string()));
            }
        }
    }

    fn table(&mut self, name: &str, t: &TableSpec) {
        let base = ["tables", name];
        if !name_ok(&format!("{name}{}", self.suffix), 3, 255, "_.-") {
            self.err(&base, "a table name must be 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-` and `.`");
        }
        let mut types = BTreeMap::new();
        self.key(&["tables", name, "partition_key"], &t.partition_key, &mut types, "the table's partition key");
        if let Some(sk) = &t.sort_key {
            self.key(&["tables", name, "sort_key"], sk, &mut types, "the table's sort key");
            if sk.name == t.partition_key.name {
                self.err(&["tables", name, "sort_key", "name"], "the sort key must differ from the partition key");
            }
        }
        self.capacity(&base, t.billing, &t.capacity, &format!("table `{name}`"));
        if let Some(days) = t.point_in_time_recovery.and_then(|p| p.days()) {
            if !(1..=35).contains(&days) {
                let mut p = base.to_vec();
                p.extend(["point_in_time_recovery", "recovery_period_days"]);
                self.err(&p, format!("a recovery period is 1 to 35 days, not {days}"));
            }
        }
        if let Some(TableEncryption::Kms { kms_key }) = &t.encryption {
            let ok = kms_key.starts_with("arn:") && kms_key.split(':').nth(2) == Some("kms") && kms_key.contains(":key/");
            if !ok {
                self.err(
                    &["tables", name, "encryption", "kms_key"],
                    format!("`{kms_key}` is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID): DescribeTable names the key by its ARN, so the spec does too"),
                );
            }
        }
        match &t.ttl {
            Some(Ttl::Switch(true)) => self.err(
                &["tables", name, "ttl"],
                "name the attribute that holds each item's expiry (`ttl: { attribute: expires_at }`), or say `false`",
            ),
            Some(Ttl::On { attribute }) if attribute.is_empty() || attribute.len() > 255 => {
                self.err(&["tables", name, "ttl", "attribute"], "an attribute name is 1 to 255 characters")
            }
            _ => {}
        }
        if t.global_secondary_indexes.len() > 20 {
            self.err(&["tables", name, "global_secondary_indexes"], "a table has at most 20 global secondary indexes");
        }
        for (iname, g) in &t.global_secondary_indexes {
            let ib = ["tables", name, "global_secondary_indexes", iname.as_str()];
            if !name_ok(iname, 3, 255, "_.-") {
                self.err(&ib, "an index name must be 3 to 255 characters of a-z, A-Z, 0-9, `_`, `-` and `.`");
            }
            let owner = format!("index `{iname}`");
            let pk: Vec<&str> = ib.iter().copied().chain(["partition_key"]).collect();
            self.key(&pk, &g.partition_key, &mut types, &owner);
            if let Some(sk) = &g.sort_key {
                let skp: Vec<&str> = ib.iter().copied().chain(["sort_key"]).collect();
                self.key(&skp, sk, &mut types, &owner);
                if sk.name == g.partition_key.name {
                    self.err(&skp, "an index's sort key must differ from its partition key");
                }
            }
            self.capacity(&ib, t.billing, &g.capacity, &format!("index `{iname}` of a provisioned table"));
            if let Projection::Include(attrs) = &g.projection {
                let pp: Vec<&str> = ib.iter().copied().chain(["projection"]).collect();
                if attrs.is_empty() {
                    self.err(&pp, "`include` needs at least one attribute (or use `keys_only`)");
                }
                if attrs.len() > 100 {
                    self.err(&pp, "an index projects at most 100 non-key attributes");
                }
                let mut seen = std::collections::BTreeSet::new();
                for a in attrs {
                    if !seen.insert(a) {
                        self.err(&pp, format!("attribute `{a}` is listed twice"));
                    }
                }
            }
        }
        self.tags(&["tables", name, "tags"], &t.tags);
        if !t.point_in_time_recovery.is_some_and(|p| p.enabled()) {
            self.check(
                PITR,
                &base,
                format!("table `{name}` has no point-in-time recovery: an item deleted or overwritten by mistake cannot be restored (`point_in_time_recovery: true`)"),
            );
        }
        if !t.deletion_protection {
            self.check(
                DELETION_PROTECTION,
                &base,
                format!("table `{name}` can be deleted by any caller allowed to (`deletion_protection: true`)"),
            );
        }
    }

    fn endpoint(&mut self, name: &str, e: &VpcEndpointSpec) {
        if !matches!(e.service.as_str(), "dynamodb" | "s3") {
            self.err(
                &["vpc_endpoints", name, "service"],
                format!("`{}` has no gateway endpoint; gateway endpoints exist for `dynamodb` and `s3`", e.service),
            );
        }
        if e.vpc != "default" && !is_aws_id(&e.vpc, "vpc-") {
            self.err(&["vpc_endpoints", name, "vpc"], format!("`{}` is neither `default` nor a VPC id (vpc-...)", e.vpc));
        }
        if let Some(id) = &e.adopt {
            if !is_aws_id(id, "vpce-") {
                self.err(&["vpc_endpoints", name, "adopt"], format!("`{id}` is not an endpoint id (vpce-...)"));
            }
        }
        match &e.route_tables {
            RouteTables::Word(w) if w == "all" => {}
            RouteTables::Word(w) => {
                self.err(&["vpc_endpoints", name, "route_tables"], format!("`{w}`: expected `all` or a list of route table ids"))
            }
            RouteTables::List(ids) => {
                if ids.is_empty() {
                    self.err(&["vpc_endpoints", name, "route_tables"], "an empty list: name route tables, or say `all`");
                }
                for (i, id) in ids.iter().enumerate() {
                    if !is_aws_id(id, "rtb-") {
                        let idx = i.to_string();
                        self.err(&["vpc_endpoints", name, "route_tables", &idx], format!("`{id}` is not a route table id (rtb-...)"));
                    }
                }
            }
        }
        if let Some(p) = &e.policy {
            self.policy_file(&["vpc_endpoints", name, "policy"], p);
        }
    }

    fn role(&mut self, name: &str, r: &RoleSpec) {
        if !name_ok(&format!("{name}{}", self.suffix), 1, 64, "+=,.@_-") {
            self.err(&["roles", name], "a role name must be 1 to 64 characters of a-z, A-Z, 0-9 and `+=,.@_-`");
        }
        if r.trust.is_empty() {
            self.err(&["roles", name, "trust"], "name at least one service that may assume the role (e.g. lambda.amazonaws.com)");
        }
        for (i, s) in r.trust.iter().enumerate() {
            let ok = s.strip_suffix(".amazonaws.com").is_some_and(|p| !p.is_empty() && name_ok(p, 1, 64, "-."));
            if !ok {
                let idx = i.to_string();
                self.err(&["roles", name, "trust", &idx], format!("`{s}` is not a service principal such as lambda.amazonaws.com"));
            }
        }
        if r.managed_policies.len() > 20 {
            self.err(&["roles", name, "managed_policies"], "a role can have at most 20 managed policies attached");
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, arn) in r.managed_policies.iter().enumerate() {
            let idx = i.to_string();
            let path = ["roles", name, "managed_policies", idx.as_str()];
            let ok = arn.split(':').collect::<Vec<_>>().as_slice().len() == 6
                && arn.starts_with("arn:aws")
                && arn.split(':').nth(2) == Some("iam")
                && arn.split(':').nth(5).is_some_and(|r| r.starts_with("policy/") && r.len() > 7)
                && arn.split(':').nth(4).is_some_and(|a| a == "aws" || (a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())));
            if !ok {
                self.err(
                    &path,
                    format!("`{arn}` is not a managed policy ARN (arn:aws:iam::aws:policy/NAME or arn:aws:iam::ACCOUNT:policy/NAME)"),
                );
            }
            if !seen.insert(arn) {
                self.err(&path, format!("`{arn}` is listed twice"));
            }
        }
        for (pname, file) in &r.inline_policies {
            let path = ["roles", name, "inline_policies", pname.as_str()];
            if !name_ok(pname, 1, 128, "+=,.@_-") {
                self.err(&path, "an inline policy name must be 1 to 128 characters of a-z, A-Z, 0-9 and `+=,.@_-`");
            }
            self.policy_file(&path, file);
            // As sent: the document is parsed and written again, so an escape (`\u2014`) is sent
            // as the character itself.
            let sent = self.files.get(file).and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok()).map(|v| v.to_string());
            if let Some(c) = sent.and_then(|t| latin1_refused(&t, true)) {
                self.err(
                    &path,
                    format!("IAM takes only Latin-1 characters in a policy document, not `{c}` (U+{:04X}) in {file}", c as u32),
                );
            }
        }
        if let Some(d) = &r.description {
            if d.chars().count() > 1000 {
                self.err(&["roles", name, "description"], "a role description is at most 1000 characters");
            }
            if let Some(c) = latin1_refused(d, false) {
                self.err(
                    &["roles", name, "description"],
                    format!("IAM takes only printable Latin-1 characters in a role description, not `{c}` (U+{:04X})", c as u32),
                );
            }
        }
        if let Some(p) = &r.path {
            // IAM: `/` alone, or `/` + segments + `/`, at most 512 printable ASCII characters.
            let ok = p.len() <= 512
                && p.starts_with('/')
                && p.ends_with('/')
                && !p.contains("//")
                && p.chars().all(|c| ('!'..='~').contains(&c));
            if !ok {
                self.err(
                    &["roles", name, "path"],
                    format!("`{p}` is not an IAM path: `/`, or segments between slashes such as `/service-role/`"),
                );
            }
        }
        self.tags(&["roles", name, "tags"], &r.tags);
        self.strict_tags(&["roles", name, "tags"], &r.tags, "IAM");
    }

    fn topic(&mut self, name: &str, t: &TopicSpec) {
        if !name_ok(&format!("{name}{}", self.suffix), 1, 256, "_-") {
            self.err(&["topics", name], "a topic name must be 1 to 256 characters of a-z, A-Z, 0-9, `_` and `-`");
        }
        for (i, s) in t.subscriptions.iter().enumerate() {
            let idx = i.to_string();
            if !PROTOCOLS.contains(&s.protocol.as_str()) {
                self.err(
                    &["topics", name, "subscriptions", &idx, "protocol"],
                    format!("`{}` is not an SNS protocol; protocols: {}", s.protocol, PROTOCOLS.join(", ")),
                );
            }
            if s.endpoint.trim().is_empty() || (s.protocol.starts_with("email") && !s.endpoint.contains('@')) {
                self.err(
                    &["topics", name, "subscriptions", &idx, "endpoint"],
                    format!("`{}` is not an endpoint for {}", s.endpoint, s.protocol),
                );
            }
            self.refs_in(&["topics", name, "subscriptions", &idx, "endpoint"], &s.endpoint);
        }
        self.tags(&["topics", name, "tags"], &t.tags);
    }

    /// Whom an alarm tells: topics of this spec or SNS topic ARNs, at most 5.
    fn notify(&mut self, path: &[&str], notify: &[String]) {
        if notify.len() > 5 {
            self.err(path, format!("CloudWatch takes at most 5 actions per state, not {}", notify.len()));
        }
        for (i, n) in notify.iter().enumerate() {
            let sns_arn = n.starts_with("arn:") && n.split(':').nth(2) == Some("sns") && n.split(':').count() == 6;
            if sns_arn && n.split(':').nth(3) != Some(self.region) {
                let mut p = path.to_vec();
                let idx = i.to_string();
                p.push(&idx);
                self.err(
                    &p,
                    format!("`{n}` is in another region: CloudWatch notifies only a topic of the alarm's region ({})", self.region),
                );
            }
            if !self.res.topics.contains_key(n) && !sns_arn {
                let known: Vec<&str> = self.res.topics.keys().map(String::as_str).collect();
                let mut p = path.to_vec();
                let idx = i.to_string();
                p.push(&idx);
                self.err(
                    &p,
                    format!(
                        "`{n}` is neither a topic of this spec (topics: {}) nor the ARN of an SNS topic",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                );
            }
        }
    }

    fn alarm(&mut self, name: &str, a: &AlarmSpec) {
        let full = format!("{name}{}", self.suffix);
        if full.is_empty() || full.chars().count() > 255 || full.chars().any(char::is_control) {
            self.err(&["alarms", name], "an alarm name must be 1 to 255 characters, with no control character");
        }
        if let Some((_, from)) = crate::spec::monitoring::pack_keys(self.res).into_iter().find(|(k, _)| k == name) {
            self.err(
                &["alarms", name],
                format!("`{name}` is the name of an alarm that {from} derives: choose another name, or tune it there"),
            );
        }
        for (field, v) in [("namespace", &a.namespace), ("metric", &a.metric)] {
            if v.is_empty() || v.chars().count() > 255 {
                self.err(&["alarms", name, field], format!("a {field} is 1 to 255 characters"));
            }
        }
        if a.dimensions.len() > 30 {
            self.err(&["alarms", name, "dimensions"], "a metric has at most 30 dimensions");
        }
        for (k, v) in &a.dimensions {
            self.refs_in(&["alarms", name, "dimensions", k], v);
        }
        if !([10, 20, 30].contains(&a.period_s) || (a.period_s >= 60 && a.period_s % 60 == 0)) {
            self.err(&["alarms", name, "period_s"], format!("a period is 10, 20, 30, or a multiple of 60 seconds, not {}", a.period_s));
        }
        // What PutMetricAlarm refuses: the periods evaluated span at most a day, or 7 days with
        // periods of an hour or more.
        let span_max = if a.period_s >= 3600 { 604_800 } else { 86_400 };
        if a.evaluation_periods < 1 {
            self.err(&["alarms", name, "evaluation_periods"], "at least one period is evaluated");
        } else if a.period_s.saturating_mul(a.evaluation_periods) > span_max {
            self.err(
                &["alarms", name, "evaluation_periods"],
                format!(
                    "{} periods of {} s span more than CloudWatch evaluates ({span_max} s with periods {} an hour)",
                    a.evaluation_periods,
                    a.period_s,
                    if a.period_s >= 3600 { "of" } else { "under" }
                ),
            );
        }
        if let Some(d) = a.datapoints_to_alarm.filter(|d| *d < 1 || *d > a.evaluation_periods) {
            self.err(
                &["alarms", name, "datapoints_to_alarm"],
                format!("{d} is not between 1 and evaluation_periods ({})", a.evaluation_periods),
            );
        }
        if !a.threshold.is_finite() {
            self.err(&["alarms", name, "threshold"], "the threshold is a number");
        }
        if let Some(u) = a.unit.as_deref().filter(|u| !UNITS.contains(u)) {
            self.err(&["alarms", name, "unit"], format!("`{u}` is not a CloudWatch unit; units: {}", UNITS.join(", ")));
        }
        if a.description.as_ref().is_some_and(|d| d.chars().count() > 1024) {
            self.err(&["alarms", name, "description"], "an alarm description is at most 1024 characters");
        }
        self.notify(&["alarms", name, "notify"], &a.notify);
        self.tags(&["alarms", name, "tags"], &a.tags);
    }

    /// The functions' and tables' monitoring packs: whom they tell, their thresholds, and the
    /// checks `alarms` (a protected env's stream consumer is watched) and `alarm-thresholds`.
    fn monitoring(&mut self) {
        let thresholds = |m: &[(&'static str, Option<Threshold>)]| -> Vec<(&'static str, Threshold)> {
            m.iter().filter_map(|(f, t)| Some((*f, (*t)?))).collect()
        };
        // Two packs deriving the same alarm name (two functions sharing an on-failure queue, a
        // function and a table whose names meet) would overwrite each other.
        let mut seen: BTreeMap<String, String> = BTreeMap::new();
        for (key, from) in crate::spec::monitoring::pack_keys(self.res) {
            if let Some(first) = seen.get(&key) {
                let path: Vec<&str> = from.split('.').collect();
                self.err(
                    &path,
                    format!("both {first} and {from} derive the alarm `{key}`: turn one off there, or write it under `alarms:`"),
                );
            } else {
                seen.insert(key, from);
            }
        }
        for (name, t) in &self.res.tables {
            let Some(m) = &t.monitoring else { continue };
            self.notify(&["tables", name, "monitoring", "notify"], &m.notify);
            for (field, th) in thresholds(&[("throttles", m.throttles)]) {
                self.threshold(&["tables", name, "monitoring", field], th);
            }
        }
        for (name, f) in &self.res.functions {
            let Some(m) = &f.monitoring else {
                if !f.triggers.is_empty() {
                    self.check(
                        ALARMS,
                        &["functions", name],
                        format!(
                            "nobody is told when the trigger of `{name}` fails or falls behind: add `monitoring: {{ notify: [TOPIC] }}`"
                        ),
                    );
                }
                continue;
            };
            let path = ["functions", name, "monitoring"];
            self.notify(&["functions", name, "monitoring", "notify"], &m.notify);
            if m.notify.is_empty() && !f.triggers.is_empty() {
                self.check(ALARMS, &path, format!("the alarms of `{name}` tell nobody: name a topic in `notify`"));
            }
            for (field, th) in thresholds(&[
                ("errors", m.errors),
                ("throttles", m.throttles),
                ("iterator_age_s", m.iterator_age_s),
                ("dlq_depth", m.dlq_depth),
            ]) {
                self.threshold(&["functions", name, "monitoring", field], th);
            }
            if f.triggers.is_empty() && (m.iterator_age_s.is_some() || m.dlq_depth.is_some()) {
                self.err(&path, format!("`{name}` has no trigger: iterator_age_s and dlq_depth watch a trigger's stream and queue"));
            }
            // An iterator-age alarm at or past the age where records are dropped fires only once
            // they are lost.
            if let Some(age) = crate::spec::monitoring::iterator_age_s(f) {
                let bound = f.triggers.iter().filter_map(|t| t.maximum_record_age_s.filter(|a| *a > 0)).min();
                let retention = crate::spec::monitoring::STREAM_RETENTION_S;
                let lost_at = bound.unwrap_or(retention).min(retention);
                if age >= lost_at as f64 {
                    let why = match bound {
                        Some(b) if b < retention => format!("the trigger drops records older than {b} s (maximum_record_age_s)"),
                        _ => "the stream keeps a record 24 h".to_string(),
                    };
                    self.err(
                        &["functions", name, "monitoring", "iterator_age_s"],
                        format!("[{ALARM_THRESHOLDS}] an iterator age of {age} s can only alarm once records are lost: {why}; choose less"),
                    );
                }
            }
        }
    }

    fn threshold(&mut self, path: &[&str], t: Threshold) {
        match t {
            Threshold::Switch(true) => self.err(path, "`true` is not a threshold: write a number, or `false` to turn this alarm off"),
            Threshold::Value(v) if !v.is_finite() || v <= 0.0 => self
                .err(path, format!("a threshold is a number above 0, not {v} (a pack's alarm fires at or above it: 0 is always reached)")),
            _ => {}
        }
    }

    fn queue(&mut self, name: &str, q: &QueueSpec) {
        let full = format!("{name}{}", self.suffix);
        if full.ends_with(".fifo") {
            self.err(&["queues", name], "FIFO queues are not supported (a stream's on-failure destination is a standard queue)");
        } else if !name_ok(&full, 1, 80, "_-") {
            self.err(&["queues", name], "a queue name must be 1 to 80 characters of a-z, A-Z, 0-9, `_` and `-`");
        }
        if let Some(v) = q.message_retention_s.filter(|v| !(60..=1_209_600).contains(v)) {
            self.err(&["queues", name, "message_retention_s"], format!("message retention is 60 to 1209600 seconds (14 days), not {v}"));
        }
        if let Some(v) = q.visibility_timeout_s.filter(|v| !(0..=43_200).contains(v)) {
            self.err(&["queues", name, "visibility_timeout_s"], format!("the visibility timeout is 0 to 43200 seconds, not {v}"));
        }
        if let Some(QueueEncryption::Kms { kms_key }) = &q.encryption {
            if kms_key.trim().is_empty() {
                self.err(&["queues", name, "encryption", "kms_key"], "name a KMS key (id, ARN or alias such as alias/aws/sqs)");
            }
        }
        self.tags(&["queues", name, "tags"], &q.tags);
    }

    /// A function's `deploy`: an alias name Lambda takes, a bake that watches something.
    fn deploy(&mut self, name: &str, d: &crate::spec::DeploySpec) {
        let a = &d.alias;
        if !name_ok(a, 1, 128, "_-") || a.chars().all(|c| c.is_ascii_digit()) {
            self.err(
                &["functions", name, "deploy", "alias"],
                format!("`{a}` is not an alias name: 1 to 128 characters of a-z, A-Z, 0-9, `_` and `-`, not only digits"),
            );
        }
        if !(0..=3600).contains(&d.bake_s) {
            self.err(&["functions", name, "deploy", "bake_s"], format!("a bake is 0 to 3600 seconds, not {}", d.bake_s));
        }
        if !(0..=1000).contains(&d.keep_versions) {
            self.err(&["functions", name, "deploy", "keep_versions"], format!("keep_versions is 0 to 1000, not {}", d.keep_versions));
        }
        if d.rollback == Some(crate::spec::Rollback::OnAlarm) && d.bake_s == 0 {
            self.err(&["functions", name, "deploy", "rollback"], "rollback: on_alarm needs a bake (bake_s) to watch the alarms during");
        }
        let watched = crate::spec::monitoring::of_function_in(self.res, name);
        if d.bake_s > 0 && watched.is_empty() {
            self.err(
                &["functions", name, "deploy", "bake_s"],
                format!(
                    "a bake watches the alarms of `{name}`, and it has none: give it `monitoring`, or an `alarms:` entry on its FunctionName"
                ),
            );
        } else if d.bake_s > 0 {
            // An alarm reacts no sooner than its breaching periods, and CloudWatch evaluates
            // about once a minute on metrics that arrive late (docs/aws-behaviour.md, rule 43).
            let all = crate::spec::monitoring::all(self.res);
            let soonest = watched
                .iter()
                .filter_map(|k| all.get(k))
                .map(|(a, _)| a.period_s * a.datapoints_to_alarm.unwrap_or(a.evaluation_periods) + 60)
                .min()
                .unwrap_or(0);
            if d.bake_s < soonest {
                self.warn(
                    &["functions", name, "deploy", "bake_s"],
                    format!(
                        "a bake of {} s is shorter than the quickest of its alarms can go to ALARM (about {soonest} s: its breaching \
                         periods and a minute of CloudWatch evaluation): it can catch nothing",
                        d.bake_s
                    ),
                );
            }
        }
    }

    fn function(&mut self, name: &str, f: &FunctionSpec) {
        if !name_ok(&format!("{name}{}", self.suffix), 1, 64, "_-") {
            self.err(&["functions", name], "a function name must be 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-`");
        }
        if let Some(d) = &f.deploy {
            self.deploy(name, d);
        }
        if !RUNTIMES.contains(&f.runtime.as_str()) {
            self.err(&["functions", name, "runtime"], format!("unknown runtime `{}`; known: {}", f.runtime, RUNTIMES.join(", ")));
        }
        let (module, func) = f.handler.rsplit_once('.').unwrap_or(("", ""));
        if f.handler.chars().count() > 128 || f.handler.chars().any(char::is_whitespace) {
            self.err(&["functions", name, "handler"], "a handler is at most 128 characters, with no white space");
        } else if module.is_empty() || func.is_empty() {
            self.err(&["functions", name, "handler"], format!("`{}` is not of the form module.function", f.handler));
        }
        let src = self.doc.base_dir.join(&f.source);
        if !src.is_dir() {
            self.err(&["functions", name, "source"], format!("the source folder {} does not exist", src.display()));
        } else if f.runtime.starts_with("python") && !module.is_empty() {
            let file = src.join(format!("{}.py", module.replace('.', "/")));
            if !file.is_file() {
                self.err(&["functions", name, "handler"], format!("the handler's module {} does not exist", file.display()));
            }
        }
        if !self.res.roles.contains_key(&f.role) && !f.role.starts_with("arn:") {
            let known: Vec<&str> = self.res.roles.keys().map(String::as_str).collect();
            self.err(
                &["functions", name, "role"],
                format!(
                    "`{}` is not a role of this spec (roles: {})",
                    f.role,
                    if known.is_empty() { "none".into() } else { known.join(", ") }
                ),
            );
        }
        if !(128..=10_240).contains(&f.memory_mb) {
            self.err(&["functions", name, "memory_mb"], format!("memory must be between 128 and 10240 MB, not {}", f.memory_mb));
        }
        if !(1..=900).contains(&f.timeout_s) {
            self.err(&["functions", name, "timeout_s"], format!("timeout must be between 1 and 900 seconds, not {}", f.timeout_s));
        }
        const RETENTION: &[i64] =
            &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
        if let Some(d) = f.log_retention_days.filter(|d| !RETENTION.contains(d)) {
            let allowed: Vec<String> = RETENTION.iter().map(i64::to_string).collect();
            self.err(
                &["functions", name, "log_retention_days"],
                format!("CloudWatch Logs keeps logs {} days, not {d}", allowed.join(", ")),
            );
        }
        if let Some(c) = f.reserved_concurrency.filter(|c| !(0..=100_000).contains(c)) {
            self.err(&["functions", name, "reserved_concurrency"], format!("reserved concurrency is 0 or more executions, not {c}"));
        }
        if let Some(v) = &f.vpc {
            if v != "default" && !is_aws_id(v, "vpc-") {
                self.err(&["functions", name, "vpc"], format!("`{v}` is neither `default` nor a VPC id (vpc-...)"));
            }
            if !f.subnets.is_empty() {
                self.err(&["functions", name, "subnets"], "name either `vpc` (all of its subnets) or `subnets`, not both");
            }
        }
        for (field, prefix, most) in [("subnets", "subnet-", 16), ("security_groups", "sg-", 5)] {
            let ids = if field == "subnets" { &f.subnets } else { &f.security_groups };
            for (i, id) in ids.iter().enumerate() {
                if !is_aws_id(id, prefix) {
                    self.err(&["functions", name, field, &i.to_string()], format!("`{id}` is not an id ({prefix}...)"));
                }
            }
            if ids.len() > most {
                self.err(&["functions", name, field], format!("a function takes at most {most} {}", field.replace('_', " ")));
            }
        }
        if f.subnets.is_empty() != f.security_groups.is_empty() {
            let field = if f.subnets.is_empty() { "security_groups" } else { "subnets" };
            self.err(&["functions", name, field], "`subnets` and `security_groups` go together: name both (or `vpc` for a whole VPC)");
        }
        for (k, v) in &f.environment {
            let path = ["functions", name, "environment", k.as_str()];
            let ok = k.len() >= 2
                && k.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                self.err(
                    &path,
                    "an environment variable name is a letter, then one or more letters, digits and `_` (Lambda takes no shorter name)",
                );
            }
            if RESERVED_ENV.contains(&k.as_str()) {
                self.err(&path, format!("`{k}` is reserved by Lambda"));
            }
            self.refs_in(&path, v);
        }
        for (i, k) in f.sensitive.iter().enumerate() {
            if !f.environment.contains_key(k) {
                let idx = i.to_string();
                self.err(&["functions", name, "sensitive", &idx], format!("`{k}` is not a variable of `environment`"));
            }
        }
        let env_bytes: usize = f.environment.iter().map(|(k, v)| k.len() + v.len()).sum();
        if env_bytes > 4096 {
            self.err(&["functions", name, "environment"], "Lambda allows at most 4 KB of environment variables");
        }
        let mut tables_seen = std::collections::BTreeSet::new();
        for (i, t) in f.triggers.iter().enumerate() {
            let idx = i.to_string();
            match self.res.tables.get(&t.table) {
                None => self.err(&["functions", name, "triggers", &idx, "table"], format!("`{}` is not a table of this spec", t.table)),
                Some(tab) if tab.stream == StreamView::Off => self.err(
                    &["functions", name, "triggers", &idx, "table"],
                    format!("table `{}` has no stream (stream: off); give it a stream to trigger on", t.table),
                ),
                Some(_) => {}
            }
            if !tables_seen.insert(&t.table) {
                self.err(&["functions", name, "triggers", &idx, "table"], format!("table `{}` triggers this function twice", t.table));
            }
            if !(1..=10_000).contains(&t.batch_size) {
                self.err(
                    &["functions", name, "triggers", &idx, "batch_size"],
                    format!("batch size must be between 1 and 10000, not {}", t.batch_size),
                );
            }
            type Range = (&'static str, Option<i64>, fn(i64) -> bool, &'static str);
            let ranges: [Range; 4] = [
                (
                    "maximum_retry_attempts",
                    t.maximum_retry_attempts,
                    |v| (-1..=10_000).contains(&v),
                    "-1 (until the record expires) or 0 to 10000",
                ),
                (
                    "maximum_record_age_s",
                    t.maximum_record_age_s,
                    |v| v == -1 || (60..=604_800).contains(&v),
                    "-1 (no limit) or 60 to 604800 seconds",
                ),
                ("parallelization_factor", t.parallelization_factor, |v| (1..=10).contains(&v), "1 to 10"),
                ("batching_window_s", t.batching_window_s, |v| (0..=300).contains(&v), "0 to 300 seconds"),
            ];
            for (field, value, ok, allowed) in ranges {
                if let Some(v) = value.filter(|v| !ok(*v)) {
                    self.err(&["functions", name, "triggers", &idx, field], format!("{field} is {allowed}, not {v}"));
                }
            }
            if t.filter.len() > super::filter::MAX_FILTERS {
                self.err(
                    &["functions", name, "triggers", &idx, "filter"],
                    format!("at most {} filter patterns (AWS's quota per trigger), not {}", super::filter::MAX_FILTERS, t.filter.len()),
                );
            }
            let forever = |v: Option<i64>| v.is_none_or(|v| v == -1);
            if forever(t.maximum_retry_attempts) && forever(t.maximum_record_age_s) {
                self.check(
                    TRIGGER_RETRIES,
                    &["functions", name, "triggers", &idx],
                    format!(
                        "the trigger on `{}` retries a failing batch until its records expire (24 h), and its shard waits \
                         behind it: bound it (`maximum_retry_attempts: 3`)",
                        t.table
                    ),
                );
            }
            if t.on_failure.is_none() {
                self.check(
                    TRIGGER_ON_FAILURE,
                    &["functions", name, "triggers", &idx],
                    format!("the trigger on `{}` drops a batch that fails for good without a trace: name a queue in `on_failure`", t.table),
                );
            }
            if let Some(dest) = &t.on_failure {
                let path = ["functions", name, "triggers", &idx, "on_failure"];
                if dest.starts_with("arn:") {
                    if !matches!(dest.split(':').nth(2), Some("sqs" | "sns")) || dest.split(':').count() != 6 {
                        self.err(&path, format!("`{dest}` is not the ARN of an SQS queue or an SNS topic"));
                    }
                } else if !self.res.queues.contains_key(dest) {
                    let known: Vec<&str> = self.res.queues.keys().map(String::as_str).collect();
                    self.err(
                        &path,
                        format!(
                            "`{dest}` is neither a queue of this spec (queues: {}) nor the ARN of an SQS queue or SNS topic",
                            if known.is_empty() { "none".into() } else { known.join(", ") }
                        ),
                    );
                }
            }
            for (i, p) in t.filter.iter().enumerate() {
                let path = ["functions", name, "triggers", &idx, "filter", &i.to_string()];
                if !p.is_object() {
                    self.err(&path, "a filter pattern is a mapping (`{ eventName: [INSERT] }`)");
                } else if let Some(why) = super::filter::problem(p) {
                    self.err(&path, why);
                } else if let Some(why) = self.res.tables.get(&t.table).and_then(|tb| super::filter::stream_problem(p, tb.stream)) {
                    self.err(&path, why);
                }
            }
        }
        self.tags(&["functions", name, "tags"], &f.tags);
        self.strict_tags(&["functions", name, "tags"], &f.tags, "Lambda");
        if f.log_retention_days.is_none() {
            self.check(LOG_RETENTION, &["functions", name], format!("function `{name}` keeps its logs forever (`log_retention_days: 30`)"));
        }
        if let Some(d) = &f.description {
            self.refs_in(&["functions", name, "description"], d);
            if d.chars().count() > 256 {
                self.err(
                    &["functions", name, "description"],
                    format!("a function description is at most 256 characters, not {}", d.chars().count()),
                );
            }
        }
    }
}

/// Validates one resolved environment. Returns (errors, warnings, the policy files' texts).
pub fn validate(doc: &SpecDocument, d: &Desired) -> (Vec<Problem>, Vec<Problem>, BTreeMap<String, String>) {
    // The waivers, with where each is written: at the top of the spec, and under this env.
    let env = d.env.as_str();
    let top = doc.file.waive.iter().map(|(id, why)| (vec!["waive"], id, why));
    let own = doc
        .file
        .environments
        .get(env)
        .into_iter()
        .flat_map(|e| e.waive.iter().map(|(id, why)| (vec!["environments", env, "waive"], id, why)));
    let waivers: Vec<(Vec<&str>, &String, &String)> = top.chain(own).collect();
    let mut c = Checker {
        doc,
        env: &d.env,
        suffix: &d.name_suffix,
        region: &d.region,
        res: &d.resources,
        protected: d.protected,
        waived: waivers.iter().map(|(_, id, why)| (id.to_string(), why.to_string())).collect(),
        problems: Vec::new(),
        warnings: Vec::new(),
        files: BTreeMap::new(),
    };
    if doc.file.version != 1 {
        c.err(&["version"], format!("version {} is not supported; this tool reads version 1", doc.file.version));
    }
    if !name_ok(&d.stack, 1, 64, "_-") {
        c.err(&["stack"], "a stack name must be 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-`");
    }
    if let Some(e) = doc.file.environments.get(env) {
        for k in e.endpoints.keys() {
            if !crate::aws::SERVICES.contains(&k.as_str()) {
                c.err(
                    &["environments", env, "endpoints", k],
                    format!("unknown service `{k}`; services: {}", crate::aws::SERVICES.join(", ")),
                );
            }
        }
    }
    if let Some(r) = &d.assume_role {
        let account = r.arn.split(':').nth(4).unwrap_or("");
        let is_role = r.arn.starts_with("arn:")
            && r.arn.split(':').nth(2) == Some("iam")
            && r.arn.split(':').nth(5).is_some_and(|x| x.starts_with("role/"));
        if !is_role || account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
            c.err(
                &["environments", env, "assume_role", "arn"],
                format!("`{}` is not a role ARN such as arn:aws:iam::123456789012:role/deployer", r.arn),
            );
        }
        match &r.session_name {
            Some(n) if !name_ok(n, 2, 64, "_+=,.@-") => c.err(
                &["environments", env, "assume_role", "session_name"],
                "a session name must be 2 to 64 characters of a-z, A-Z, 0-9 and `_+=,.@-`",
            ),
            Some(_) => {}
            None => {
                let default = format!("cruddur-infra-{}-{}", d.stack, d.env);
                if !name_ok(&default, 2, 64, "_+=,.@-") {
                    c.err(
                        &["environments", env, "assume_role"],
                        format!("the default session name `{default}` is not 2 to 64 characters of a-z, A-Z, 0-9 and `_+=,.@-` (STS refuses it): set `session_name`"),
                    );
                }
            }
        }
        if let Some(x) = &r.external_id {
            if x.len() < 2 || x.len() > 1224 {
                c.err(&["environments", env, "assume_role", "external_id"], "an external id must be 2 to 1224 characters");
            }
        }
    }
    let ids: Vec<&str> = CHECKS.iter().map(|(id, _)| *id).collect();
    for (mut path, id, why) in waivers {
        path.push(id);
        if !ids.contains(&id.as_str()) {
            c.err(&path, format!("`{id}` is not a check; checks: {}", ids.join(", ")));
        } else if why.trim().is_empty() {
            c.err(&path, "say why the check is waived");
        }
    }
    if !name_ok(env, 1, 64, "_-") {
        c.err(&["environments", env], "an environment name must be 1 to 64 characters of a-z, A-Z, 0-9, `_` and `-`");
    }
    if !region_ok(&d.region) {
        c.err(&["environments", env, "region"], format!("`{}` is not an AWS region name such as us-east-1", d.region));
    }
    if let Some(a) = &d.account_id {
        if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) {
            c.err(&["environments", env, "account_id"], format!("`{a}` is not a 12-digit AWS account id (quote it in YAML)"));
        }
    }
    if let Some(u) = &d.endpoint_url {
        if !(u.starts_with("http://") || u.starts_with("https://")) || u.len() < 10 {
            c.err(&["environments", env, "endpoint_url"], format!("`{u}` is not an http(s) URL"));
        }
    }
    if d.resources.tables.is_empty()
        && d.resources.roles.is_empty()
        && d.resources.functions.is_empty()
        && d.resources.vpc_endpoints.is_empty()
        && d.resources.queues.is_empty()
        && d.resources.topics.is_empty()
        && d.resources.alarms.is_empty()
    {
        c.warn(&[], "the spec declares no resources");
    }
    for (n, t) in &d.resources.tables {
        c.table(n, t);
    }
    for (n, q) in &d.resources.queues {
        c.queue(n, q);
    }
    for (n, e) in &d.resources.vpc_endpoints {
        c.endpoint(n, e);
    }
    for (n, r) in &d.resources.roles {
        c.role(n, r);
    }
    for (n, f) in &d.resources.functions {
        c.function(n, f);
    }
    for (n, t) in &d.resources.topics {
        c.topic(n, t);
    }
    for (n, a) in &d.resources.alarms {
        c.alarm(n, a);
    }
    c.monitoring();
    (c.problems, c.warnings, c.files)
}
