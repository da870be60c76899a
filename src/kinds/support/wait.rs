//! Bounded polling with progress on stderr for waits longer than a second.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};

#[derive(Debug)]
pub enum Poll {
    Done,
    /// Not yet; the text says what the resource is doing.
    Pending(String),
}

/// Polls `check` until it says done, backing off from 250 ms to 5 s between polls.
/// Shows what it waits for after one second, then on every change of state or every 10 s.
pub async fn until<F, Fut>(what: &str, timeout: Duration, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll>>,
{
    let start = Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut last_state = String::new();
    let mut last_shown: Option<Instant> = None;
    loop {
        let state = match check().await? {
            Poll::Done => {
                if last_shown.is_some() {
                    crate::log::info(&format!("  done waiting for {what} after {:.0?}", start.elapsed()));
                }
                return Ok(());
            }
            Poll::Pending(s) => s,
        };
        let elapsed = start.elapsed();
        if elapsed > timeout {
            bail!("gave up waiting for {what}: its deadline of {timeout:?} passed after {:.0?} (last seen: {state})", elapsed);
        }
        let due = last_shown.is_none_or(|t| t.elapsed() >= Duration::from_secs(10));
        if elapsed >= Duration::from_secs(1) && (due || state != last_state) {
            crate::log::info(&format!("  waiting for {what}: {state} ({}s elapsed)", elapsed.as_secs()));
            last_shown = Some(Instant::now());
            last_state = state;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}
