//! `${...}` references in policy files and string values: `${aws.region}`, `${aws.account_id}`,
//! `${tables.NAME.name|arn|stream_arn}`, `${roles.NAME.name|arn}`, `${queues.NAME.name|arn|url}`,
//! `${topics.NAME.name|arn}`, `${functions.NAME.name|arn}`.

use std::collections::BTreeMap;

use super::types::Resources;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Region,
    AccountId,
    TableName(String),
    TableArn(String),
    TableStreamArn(String),
    RoleName(String),
    RoleArn(String),
    QueueName(String),
    QueueArn(String),
    QueueUrl(String),
    TopicName(String),
    TopicArn(String),
    FunctionName(String),
    FunctionArn(String),
}

impl Reference {
    /// The spec section and resource name the reference points at (`("tables", "t")`).
    pub fn target(&self) -> Option<(&'static str, &str)> {
        match self {
            Reference::Region | Reference::AccountId => None,
            Reference::TableName(n) | Reference::TableArn(n) | Reference::TableStreamArn(n) => Some(("tables", n)),
            Reference::RoleName(n) | Reference::RoleArn(n) => Some(("roles", n)),
            Reference::QueueName(n) | Reference::QueueArn(n) | Reference::QueueUrl(n) => Some(("queues", n)),
            Reference::TopicName(n) | Reference::TopicArn(n) => Some(("topics", n)),
            Reference::FunctionName(n) | Reference::FunctionArn(n) => Some(("functions", n)),
        }
    }

    /// Whether the value exists only once the resource does (a stream ARN, a queue's URL); a
    /// name or an ARN can be written into a policy before.
    pub fn exists_only_once_made(&self) -> bool {
        matches!(self, Reference::TableStreamArn(_) | Reference::QueueUrl(_))
    }

    /// The key of an observed value (`tables.t.stream_arn`) in [`RefContext::values`].
    pub fn key(&self) -> Option<String> {
        match self {
            Reference::TableStreamArn(n) => Some(format!("tables.{n}.stream_arn")),
            Reference::QueueUrl(n) => Some(format!("queues.{n}.url")),
            _ => None,
        }
    }
}

/// One `${...}` occurrence: its byte offset in the text and its expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurrence {
    pub offset: usize,
    pub expr: String,
}

/// Marks the expression of a `${` that is never closed.
const UNCLOSED: &str = "\u{0}unclosed";

/// Finds every `${...}` in `text`. An opening `${` without a closing `}` is returned with
/// the rest of the text as its expression, so that validation reports it.
pub fn occurrences(text: &str) -> Vec<Occurrence> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(i) = text[rest..].find("${") {
        let start = rest + i;
        match text[start + 2..].find('}') {
            Some(j) => {
                out.push(Occurrence { offset: start, expr: text[start + 2..start + 2 + j].to_string() });
                rest = start + 2 + j + 1;
            }
            None => {
                out.push(Occurrence { offset: start, expr: format!("{}{UNCLOSED}", &text[start + 2..]) });
                break;
            }
        }
    }
    out
}

/// Parses one expression's syntax, without checking that what it names exists.
pub fn parse_syntax(expr: &str) -> Result<Reference, String> {
    if let Some(open) = expr.strip_suffix(UNCLOSED) {
        return Err(format!("`${{{open}` is not closed: add a `}}`"));
    }
    let expr = expr.trim();
    match expr {
        "aws.region" => return Ok(Reference::Region),
        "aws.account_id" => return Ok(Reference::AccountId),
        _ => {}
    }
    let known = "known references: ${aws.region}, ${aws.account_id}, ${tables.NAME.name|arn|stream_arn}, ${roles.NAME.name|arn}, \
                 ${queues.NAME.name|arn|url}, ${topics.NAME.name|arn}, ${functions.NAME.name|arn}";
    if let Some(rest) = expr.strip_prefix("tables.") {
        let (name, attr) = rest.rsplit_once('.').ok_or_else(|| format!("`${{{expr}}}` names no attribute; {known}"))?;
        return match attr {
            "name" => Ok(Reference::TableName(name.into())),
            "arn" => Ok(Reference::TableArn(name.into())),
            "stream_arn" => Ok(Reference::TableStreamArn(name.into())),
            _ => Err(format!("`${{{expr}}}`: a table has `name`, `arn` and `stream_arn`, not `{attr}`")),
        };
    }
    if let Some(rest) = expr.strip_prefix("roles.") {
        let (name, attr) = rest.rsplit_once('.').ok_or_else(|| format!("`${{{expr}}}` names no attribute; {known}"))?;
        return match attr {
            "name" => Ok(Reference::RoleName(name.into())),
            "arn" => Ok(Reference::RoleArn(name.into())),
            _ => Err(format!("`${{{expr}}}`: a role has `name` and `arn`, not `{attr}`")),
        };
    }
    if let Some(rest) = expr.strip_prefix("queues.") {
        let (name, attr) = rest.rsplit_once('.').ok_or_else(|| format!("`${{{expr}}}` names no attribute; {known}"))?;
        return match attr {
            "name" => Ok(Reference::QueueName(name.into())),
            "arn" => Ok(Reference::QueueArn(name.into())),
            "url" => Ok(Reference::QueueUrl(name.into())),
            _ => Err(format!("`${{{expr}}}`: a queue has `name`, `arn` and `url`, not `{attr}`")),
        };
    }
    type Make = fn(String) -> Reference;
    let named: [(&str, &str, Make, Make); 2] = [
        ("topics.", "topic", Reference::TopicName, Reference::TopicArn),
        ("functions.", "function", Reference::FunctionName, Reference::FunctionArn),
    ];
    for (section, what, name_of, arn_of) in named {
        if let Some(rest) = expr.strip_prefix(section) {
            let (name, attr) = rest.rsplit_once('.').ok_or_else(|| format!("`${{{expr}}}` names no attribute; {known}"))?;
            return match attr {
                "name" => Ok(name_of(name.into())),
                "arn" => Ok(arn_of(name.into())),
                _ => Err(format!("`${{{expr}}}`: a {what} has `name` and `arn`, not `{attr}`")),
            };
        }
    }
    Err(format!("unknown reference `${{{expr}}}`; {known}"))
}

/// Parses one expression and checks that it names something the spec declares.
pub fn parse(expr: &str, resources: &Resources) -> Result<Reference, String> {
    let r = parse_syntax(expr)?;
    let expr = expr.trim();
    match &r {
        Reference::TableName(n) | Reference::TableArn(n) | Reference::TableStreamArn(n) => {
            let Some(table) = resources.tables.get(n) else {
                return Err(format!("`${{{expr}}}` refers to table `{n}`, which this spec does not declare"));
            };
            if matches!(r, Reference::TableStreamArn(_)) && table.stream == super::types::StreamView::Off {
                return Err(format!("`${{{expr}}}`: table `{n}` has no stream (stream: off), so it has no stream ARN"));
            }
        }
        Reference::RoleName(n) | Reference::RoleArn(n) if !resources.roles.contains_key(n) => {
            return Err(format!("`${{{expr}}}` refers to role `{n}`, which this spec does not declare"));
        }
        Reference::QueueName(n) | Reference::QueueArn(n) | Reference::QueueUrl(n) if !resources.queues.contains_key(n) => {
            return Err(format!("`${{{expr}}}` refers to queue `{n}`, which this spec does not declare"));
        }
        Reference::TopicName(n) | Reference::TopicArn(n) if !resources.topics.contains_key(n) => {
            return Err(format!("`${{{expr}}}` refers to topic `{n}`, which this spec does not declare"));
        }
        Reference::FunctionName(n) | Reference::FunctionArn(n) if !resources.functions.contains_key(n) => {
            return Err(format!("`${{{expr}}}` refers to function `{n}`, which this spec does not declare"));
        }
        _ => {}
    }
    Ok(r)
}

/// What is known when references are resolved: the region always, the account once STS has
/// answered, stream ARNs once the tables have been read.
#[derive(Debug, Clone, Default)]
pub struct RefContext {
    pub region: String,
    pub account_id: Option<String>,
    pub partition: String,
    /// Values read from AWS, by reference (`tables.NAME.stream_arn` → the current ARN).
    pub values: BTreeMap<String, String>,
    /// The env's `name_suffix`: table and role names (and their ARNs) carry it.
    pub name_suffix: String,
    /// A role's IAM path when its spec names one (else the tool's, [`ROLE_PATH`]): the ARN of
    /// a role not made yet.
    pub role_paths: BTreeMap<String, String>,
}

/// The IAM path of the roles the tool makes: discovery lists only this path (roles are not in
/// the Resource Groups Tagging API), never the whole account.
pub const ROLE_PATH: &str = "/cruddur-infra/";

/// The marker that stands for a value known only after apply (like Terraform's).
pub const KNOWN_AFTER_APPLY: &str = "(known after apply)";

impl RefContext {
    fn value(&self, r: &Reference) -> Option<String> {
        let account = self.account_id.as_deref();
        let p = if self.partition.is_empty() { "aws" } else { &self.partition };
        Some(match r {
            Reference::Region => self.region.clone(),
            Reference::AccountId => account?.to_string(),
            Reference::TableName(n)
            | Reference::RoleName(n)
            | Reference::QueueName(n)
            | Reference::TopicName(n)
            | Reference::FunctionName(n) => {
                format!("{n}{}", self.name_suffix)
            }
            Reference::TopicArn(n) => format!("arn:{p}:sns:{}:{}:{n}{}", self.region, account?, self.name_suffix),
            Reference::FunctionArn(n) => format!("arn:{p}:lambda:{}:{}:function:{n}{}", self.region, account?, self.name_suffix),
            Reference::QueueArn(n) => format!("arn:{p}:sqs:{}:{}:{n}{}", self.region, account?, self.name_suffix),
            Reference::QueueUrl(_) => self.values.get(&r.key()?)?.clone(),
            Reference::TableArn(n) => format!("arn:{p}:dynamodb:{}:{}:table/{n}{}", self.region, account?, self.name_suffix),
            Reference::TableStreamArn(_) => self.values.get(&r.key()?)?.clone(),
            Reference::RoleArn(n) => self.role_arn(n)?,
        })
    }

    /// The ARN of the spec's role `key`: as read, for a role that exists (made before roles
    /// had a path, it has none), else where the tool makes it (under [`ROLE_PATH`]).
    pub fn role_arn(&self, key: &str) -> Option<String> {
        if let Some(arn) = self.values.get(&format!("roles.{key}.arn")) {
            return Some(arn.clone());
        }
        let p = if self.partition.is_empty() { "aws" } else { &self.partition };
        let path = self.role_paths.get(key).map_or(ROLE_PATH, String::as_str);
        Some(format!("arn:{p}:iam::{}:role{path}{key}{}", self.account_id.as_deref()?, self.name_suffix))
    }

    /// Replaces every reference in `text`. A value not known yet becomes
    /// [`KNOWN_AFTER_APPLY`]; the boolean says whether everything was known.
    /// The text must have passed validation (every reference parses).
    pub fn resolve(&self, text: &str) -> (String, bool) {
        let mut out = String::with_capacity(text.len());
        let mut complete = true;
        let mut last = 0;
        for occ in occurrences(text) {
            out.push_str(&text[last..occ.offset]);
            let value = parse_syntax(&occ.expr).ok().and_then(|r| self.value(&r));
            match value {
                Some(v) => out.push_str(&v),
                None => {
                    complete = false;
                    out.push_str(KNOWN_AFTER_APPLY);
                }
            }
            last = occ.offset + 2 + occ.expr.len() + 1;
        }
        out.push_str(&text[last.min(text.len())..]);
        (out, complete)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::types::*;

    fn resources() -> Resources {
        let mut r = Resources::default();
        r.tables.insert(
            "t.1".into(),
            TableSpec {
                billing: Billing::OnDemand,
                stream: StreamView::NewImage,
                ..TableSpec::new(KeySpec { name: "pk".into(), ty: AttrType::S })
            },
        );
        r
    }

    #[test]
    fn parses_known_references_and_rejects_unknown_ones() {
        let r = resources();
        assert_eq!(parse("tables.t.1.arn", &r), Ok(Reference::TableArn("t.1".into())));
        assert_eq!(parse("aws.region", &r), Ok(Reference::Region));
        assert!(parse("tables.nope.arn", &r).unwrap_err().contains("does not declare"));
        assert!(parse("tables.t.1.size", &r).unwrap_err().contains("not `size`"));
        assert!(parse("roles.x.arn", &r).unwrap_err().contains("role `x`"));
        assert!(parse("env.HOME", &r).unwrap_err().contains("unknown reference"));
    }

    #[test]
    fn resolves_with_context_and_marks_unknown_values() {
        let mut ctx = RefContext { region: "us-east-1".into(), account_id: Some("123456789012".into()), ..Default::default() };
        let (s, ok) = ctx.resolve("a ${tables.t.1.arn}/index/* ${tables.t.1.stream_arn} z");
        assert!(!ok);
        assert_eq!(s, "a arn:aws:dynamodb:us-east-1:123456789012:table/t.1/index/* (known after apply) z");
        ctx.values.insert("tables.t.1.stream_arn".into(), "arn:s".into());
        assert_eq!(ctx.resolve("${tables.t.1.stream_arn}"), ("arn:s".into(), true));
    }

    #[test]
    fn finds_unclosed_references() {
        let occ = occurrences("x ${aws.region");
        assert_eq!(occ.len(), 1);
        assert!(parse_syntax(&occ[0].expr).unwrap_err().contains("`${aws.region` is not closed"));
    }
}
