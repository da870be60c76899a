//! Reading live AWS the way every kind does: each declared resource at once (bounded), boxed
//! for the engine; and discovery's reads of what this env owns beyond the spec.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Result;
use futures::{stream, StreamExt};

use crate::discover::Tagged;
use crate::kinds::{Fingerprint, LiveData};
use crate::spec::Desired;

/// Reads every item of one kind, at most [`READ_CONCURRENCY`] at once; an error says which
/// resource it was reading. The reads are made before the returned future runs, so it holds
/// no closure (and is `Send` whenever the reads are).
pub fn read_each<'a, S, T, F, Fut>(
    kind: &'a str,
    items: &'a BTreeMap<String, S>,
    read: F,
) -> impl std::future::Future<Output = Result<BTreeMap<String, T>>> + 'a
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
    T: 'a,
{
    read_each_at(kind, items, READ_CONCURRENCY, read)
}

/// [`read_each`], at most `at_once` at a time (a kind whose service has tighter limits).
pub fn read_each_at<'a, S, T, F, Fut>(
    kind: &'a str,
    items: &'a BTreeMap<String, S>,
    at_once: usize,
    read: F,
) -> impl std::future::Future<Output = Result<BTreeMap<String, T>>> + 'a
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
    T: 'a,
{
    use anyhow::Context as _;
    let reads: Vec<_> = items
        .iter()
        .map(|(name, spec)| {
            let read = read(name, spec);
            async move { (name, read.await) }
        })
        .collect();
    async move {
        let results: Vec<(&String, Result<T>)> = stream::iter(reads).buffer_unordered(at_once.max(1)).collect().await;
        results.into_iter().map(|(name, r)| r.with_context(|| format!("reading {kind}.{name}")).map(|t| (name.clone(), t))).collect()
    }
}

/// How many reads of one kind run at once, as many as the AWS SDK for Java's default connection
/// pool holds (`maxConnections` 50). The calls with a documented per-account rate are held to
/// it by `pace` whatever this is; the others here (DescribeTable under DynamoDB's 2,500 a
/// second) are far below theirs. A kind whose service keeps undocumented limits reads fewer at
/// once (IAM's roles: `role::READ_AT_ONCE`). Each read in flight holds one HTTPS connection (a
/// TLS handshake on first use).
pub const READ_CONCURRENCY: usize = 50;

/// Boxes a kind's observation for the engine.
pub fn boxed<T: LiveData>(r: Result<T>) -> Result<Box<dyn LiveData>> {
    r.map(|t| Box::new(t) as Box<dyn LiveData>)
}

/// A kind's `discover`: of `names` (AWS names of resources found by this env's marker), those
/// whose spec key the kind does not `declare`, each read by `read` (None: gone since, or not
/// this env's after all), by spec key.
pub async fn read_undeclared<T, Fut>(
    kind: &str,
    names: Vec<String>,
    desired: &Desired,
    declared: impl Fn(&str) -> bool,
    read: impl Fn(String) -> Fut,
) -> Result<Option<Box<dyn LiveData>>>
where
    T: Fingerprint + fmt::Debug + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let found: BTreeMap<String, String> = names.into_iter().map(|n| (desired.spec_key(&n), n)).filter(|(k, _)| !declared(k)).collect();
    let read = read_each(kind, &found, |_, aws| read(aws.clone()));
    let all: BTreeMap<String, T> = read.await?.into_iter().filter_map(|(k, t)| Some((k, t?))).collect();
    boxed(Ok(all)).map(Some)
}

/// A kind's `observe`: each resource of its section read by `read` (spec key, spec), at most
/// [`READ_CONCURRENCY`] at once, boxed for the engine.
pub async fn observe_each<'a, S, T, F, Fut>(kind: &'a str, items: &'a BTreeMap<String, S>, read: F) -> Result<Box<dyn LiveData>>
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
    T: Fingerprint + fmt::Debug + Send + Sync + 'static,
{
    observe_each_at(kind, items, READ_CONCURRENCY, read).await
}

/// [`observe_each`], at most `at_once` at a time.
pub async fn observe_each_at<'a, S, T, F, Fut>(
    kind: &'a str,
    items: &'a BTreeMap<String, S>,
    at_once: usize,
    read: F,
) -> Result<Box<dyn LiveData>>
where
    F: Fn(&'a String, &'a S) -> Fut,
    Fut: std::future::Future<Output = Result<T>> + 'a,
    T: Fingerprint + fmt::Debug + Send + Sync + 'static,
{
    boxed(read_each_at(kind, items, at_once, read).await)
}

/// A kind's `discover` through the Tagging API: the resources of `tagging_type` that carry this
/// env's marker and whose spec key `declared` does not know, each read by `read` (None: gone
/// since, or not this env's after all), by spec key.
pub async fn discover_tagged<T, Fut>(
    kind: &str,
    tagging_type: &str,
    tagged: &Tagged<'_>,
    desired: &Desired,
    declared: impl Fn(&str) -> bool,
    read: impl Fn(String) -> Fut,
) -> Result<Option<Box<dyn LiveData>>>
where
    T: Fingerprint + fmt::Debug + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let names = tagged.names(tagging_type).await?;
    read_undeclared(kind, names, desired, declared, read).await
}

/// What `read` reads when `needed`; None (and no request) otherwise.
pub async fn read_if<T>(needed: bool, read: impl std::future::Future<Output = Result<T>>) -> Result<Option<T>> {
    match needed {
        true => read.await.map(Some),
        false => Ok(None),
    }
}
