//! The one retry policy of every kind: what AWS says is worth trying again (a table or
//! function busy with another change, IAM still propagating a role, too many control-plane
//! operations at once) is retried with exponential backoff and jitter, until an overall
//! deadline named in the error. Each retry says on stderr what it waits for, so a long wait
//! shows progress at least every [`Policy::max`].
//!
//! Two layers, on purpose: the SDK retries one call's transient failures (throttling, 5xx,
//! dropped connections; `aws::connect`), and this policy retries the conditions of
//! docs/aws-behaviour.md that need the tool's knowledge (wait for ACTIVE, for the role, ...).

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

/// How long to keep trying, and how the waits between tries grow.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub deadline: Duration,
    pub first: Duration,
    /// The longest wait between tries (a progress line at least this often).
    pub max: Duration,
}

/// The policy of every control-plane write.
pub const AWS: Policy = Policy { deadline: Duration::from_secs(600), first: Duration::from_secs(1), max: Duration::from_secs(20) };

/// The least pause before a retry "at once": a try that waited for a state (ACTIVE) and is
/// refused again at once (AWS may say ACTIVE a moment before it takes the next update) must not
/// become a tight loop of calls until the deadline.
pub const MIN_PAUSE: Duration = Duration::from_millis(500);

/// What one failed try says.
pub enum Next {
    /// Worth another try after a backoff; the text says why.
    Retry(String),
    /// Worth another try at once: the try already waited for what it needed (ACTIVE, ...).
    RetryNow(String),
    /// Not worth trying again.
    Fail(anyhow::Error),
}

/// A delay between `d / 2` and `d` ("equal jitter"), so that concurrent writers spread out.
fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 2];
    let r = getrandom::getrandom(&mut b).map(|_| u16::from_le_bytes(b) as f64 / u16::MAX as f64).unwrap_or(0.5);
    d / 2 + d.mul_f64(r / 2.0)
}

/// Runs `attempt` until it succeeds, fails for good, or `policy.deadline` passes.
pub async fn retry<T, F, Fut>(what: &str, policy: Policy, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Next>>,
{
    let start = Instant::now();
    let mut delay = policy.first;
    loop {
        let (reason, wait) = match attempt().await {
            Ok(t) => return Ok(t),
            Err(Next::Fail(e)) => return Err(e),
            Err(Next::Retry(r)) => (r, true),
            Err(Next::RetryNow(r)) => (r, false),
        };
        let elapsed = start.elapsed();
        if elapsed >= policy.deadline {
            bail!("gave up on {what}: its deadline of {:?} passed ({reason})", policy.deadline);
        }
        if wait {
            let pause = jitter(delay).min(policy.deadline - elapsed);
            crate::log::info(&format!("  {what}: {reason}; trying again in {:.1}s ({}s elapsed)", pause.as_secs_f64(), elapsed.as_secs()));
            tokio::time::sleep(pause).await;
            delay = (delay * 2).min(policy.max);
        } else {
            crate::log::info(&format!("  {what}: {reason}; trying again ({}s elapsed)", elapsed.as_secs()));
            tokio::time::sleep(MIN_PAUSE.min(policy.deadline - elapsed)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn retries_until_success_and_gives_up_at_the_deadline_naming_it() {
        let fast = Policy { deadline: Duration::from_millis(300), first: Duration::from_millis(10), max: Duration::from_millis(40) };
        let mut n = 0;
        let v = retry("thing", fast, || {
            n += 1;
            let k = n;
            async move {
                if k < 3 {
                    Err(Next::Retry("busy".into()))
                } else {
                    Ok(k)
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
        let start = Instant::now();
        let e = retry::<(), _, _>("thing", fast, || async { Err(Next::Retry("still busy".into())) }).await.unwrap_err();
        assert!(e.to_string().contains("deadline of 300ms passed (still busy)"), "{e}");
        assert!(start.elapsed() < Duration::from_secs(2));
        let e = retry::<(), _, _>("thing", fast, || async { Err(Next::Fail(anyhow::anyhow!("no"))) }).await.unwrap_err();
        assert_eq!(e.to_string(), "no");
    }

    #[tokio::test]
    async fn a_retry_at_once_still_pauses_so_it_is_never_a_tight_loop() {
        let policy = Policy { deadline: Duration::from_secs(2), first: Duration::from_secs(1), max: Duration::from_secs(1) };
        let start = Instant::now();
        let mut tries = 0;
        let e = retry::<(), _, _>("thing", policy, || {
            tries += 1;
            async { Err(Next::RetryNow("ACTIVE but still refused".into())) }
        })
        .await
        .unwrap_err();
        assert!(e.to_string().contains("deadline of 2s passed"), "{e}");
        assert!(tries <= 5, "{tries} tries in 2 s: a pause of at least {MIN_PAUSE:?} each");
        assert!(start.elapsed() >= Duration::from_secs(2));
    }

    #[test]
    fn jitter_stays_between_half_and_whole() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(2));
            assert!(j >= Duration::from_secs(1) && j <= Duration::from_secs(2), "{j:?}");
        }
    }
}
