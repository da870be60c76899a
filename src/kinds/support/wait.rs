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

/// Like [`until`], but done only once `check` says so `times` polls in a row: for what AWS
/// makes visible eventually, where one read may see the change and the next one not (tags,
/// queue attributes, scalable targets).
pub async fn settled<F, Fut>(what: &str, timeout: Duration, times: usize, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll>>,
{
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    let seen = AtomicUsize::new(0);
    let seen = &seen;
    until(what, timeout, || {
        let poll = check();
        async move {
            Ok(match poll.await? {
                Poll::Done => {
                    let n = seen.fetch_add(1, Relaxed) + 1;
                    if n >= times {
                        Poll::Done
                    } else {
                        Poll::Pending(format!("seen {n} time(s), waiting for {times} in a row"))
                    }
                }
                Poll::Pending(s) => {
                    seen.store(0, Relaxed);
                    Poll::Pending(s)
                }
            })
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn settled_needs_the_answer_several_times_in_a_row() {
        // Seen, not seen (an eventually consistent read), then seen twice: done on the fourth poll.
        let answers = std::cell::RefCell::new(vec![true, false, true, true, false].into_iter());
        let mut polls = 0;
        settled("x", Duration::from_secs(60), 2, || {
            polls += 1;
            let done = answers.borrow_mut().next().unwrap_or(true);
            async move { Ok(if done { Poll::Done } else { Poll::Pending("no".into()) }) }
        })
        .await
        .unwrap();
        assert_eq!(polls, 4);
    }
}
