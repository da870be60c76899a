//! Reading a function's deploy: its alias (GetAlias), its published versions
//! (ListVersionsByFunction, paged) and every alias's version and record (ListAliases, paged).

use anyhow::Result;

use super::{LiveAlias, LiveDeploy, LiveVersion, Record};
use crate::aws::{aws_error, code, AwsContext};
use crate::kinds::function::flex::config_of;

/// The deploy of function `name` through `alias` (all empty when the function does not exist).
pub async fn read(ctx: &AwsContext, name: &str, alias: &str) -> Result<LiveDeploy> {
    let (versions, aliases) = tokio::try_join!(versions(ctx, name), aliases(ctx, name))?;
    let mut out = LiveDeploy { versions, ..LiveDeploy::default() };
    for a in aliases {
        out.aliased.insert(a.version.clone());
        out.aliased.extend(a.routing.iter().cloned());
        if let Some(v) = Record::parse(&a.description).kept() {
            out.recorded.insert(v.to_string());
        }
        if a.name == alias {
            out.alias = Some(a);
        }
    }
    Ok(out)
}

/// Every published version, oldest first (`$LATEST` left out).
pub(super) async fn versions(ctx: &AwsContext, name: &str) -> Result<Vec<LiveVersion>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = match ctx.lambda.list_versions_by_function().function_name(name).set_marker(marker).send().await {
            Ok(p) => p,
            Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(Vec::new()),
            Err(e) => return Err(aws_error("Lambda", "ListVersionsByFunction", name, e).into()),
        };
        for c in page.versions() {
            let version = c.version().unwrap_or_default();
            if version == "$LATEST" {
                continue;
            }
            out.push(LiveVersion {
                version: version.to_string(),
                code_sha256: c.code_sha256().unwrap_or_default().to_string(),
                config: config_of(c),
            });
        }
        marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
        if marker.is_none() {
            out.sort_by_key(|v| v.version.parse::<u64>().unwrap_or(0));
            return Ok(out);
        }
    }
}

/// Every alias of the function (none when it does not exist).
pub async fn aliases(ctx: &AwsContext, name: &str) -> Result<Vec<LiveAlias>> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = match ctx.lambda.list_aliases().function_name(name).set_marker(marker).send().await {
            Ok(p) => p,
            Err(e) if code(&e) == Some("ResourceNotFoundException") => return Ok(Vec::new()),
            Err(e) => return Err(aws_error("Lambda", "ListAliases", name, e).into()),
        };
        out.extend(page.aliases().iter().map(|a| LiveAlias {
            name: a.name().unwrap_or_default().to_string(),
            version: a.function_version().unwrap_or_default().to_string(),
            description: a.description().unwrap_or_default().to_string(),
            routing: routing(a.routing_config()),
            revision_id: a.revision_id().map(str::to_string),
        }));
        marker = page.next_marker().filter(|m| !m.is_empty()).map(str::to_string);
        if marker.is_none() {
            return Ok(out);
        }
    }
}

/// One alias (GetAlias), None when it does not exist.
pub(super) async fn alias(ctx: &AwsContext, name: &str, alias: &str) -> Result<Option<LiveAlias>> {
    match ctx.lambda.get_alias().function_name(name).name(alias).send().await {
        Ok(a) => Ok(Some(LiveAlias {
            name: alias.to_string(),
            version: a.function_version().unwrap_or_default().to_string(),
            description: a.description().unwrap_or_default().to_string(),
            routing: routing(a.routing_config()),
            revision_id: a.revision_id().map(str::to_string),
        })),
        Err(e) if code(&e) == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(aws_error("Lambda", "GetAlias", &format!("{name}:{alias}"), e).into()),
    }
}

/// The versions an alias's RoutingConfig gives a weight of traffic to.
fn routing(r: Option<&aws_sdk_lambda::types::AliasRoutingConfiguration>) -> std::collections::BTreeSet<String> {
    r.and_then(|r| r.additional_version_weights()).map(|w| w.keys().cloned().collect()).unwrap_or_default()
}
