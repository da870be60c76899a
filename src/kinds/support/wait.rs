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

/// How many reads in a row must agree that a change shows, and how far apart they are at least
/// (Terraform's provider: DynamoDB tags 2 reads 1 s apart, SQS attributes 6 reads 5 s apart).
#[derive(Debug, Clone, Copy)]
pub struct Reads {
    pub times: usize,
    pub apart: Duration,
}

/// Like [`until`], but done only once `check` says so `reads.times` polls in a row, at least
/// `reads.apart` apart: for what AWS makes visible eventually, where one read may see the change
/// and the next one not (tags, queue attributes, scalable targets).
pub async fn settled<F, Fut>(what: &str, timeout: Duration, reads: Reads, mut check: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll>>,
{
    let seen = std::sync::Mutex::new((0usize, None::<Instant>));
    let seen = &seen;
    until(what, timeout, || {
        let poll = check();
        async move {
            // While counting, the next read waits until it is `apart` from the last one.
            let wait = {
                let s = seen.lock().unwrap_or_else(|e| e.into_inner());
                s.1.filter(|_| s.0 > 0).map(|last| reads.apart.saturating_sub(last.elapsed()))
            };
            if let Some(w) = wait.filter(|w| !w.is_zero()) {
                tokio::time::sleep(w).await;
            }
            let answer = poll.await?;
            let mut s = seen.lock().unwrap_or_else(|e| e.into_inner());
            s.1 = Some(Instant::now());
            Ok(match answer {
                Poll::Done => {
                    s.0 += 1;
                    if s.0 >= reads.times {
                        Poll::Done
                    } else {
                        Poll::Pending(format!("seen {} time(s), waiting for {} in a row", s.0, reads.times))
                    }
                }
                Poll::Pending(p) => {
                    s.0 = 0;
                    Poll::Pending(p)
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
        let start = Instant::now();
        settled("x", Duration::from_secs(60), Reads { times: 2, apart: Duration::from_millis(600) }, || {
            polls += 1;
            let done = answers.borrow_mut().next().unwrap_or(true);
            async move { Ok(if done { Poll::Done } else { Poll::Pending("no".into()) }) }
        })
        .await
        .unwrap();
        assert_eq!(polls, 4);
        assert!(start.elapsed() >= Duration::from_millis(600), "the two reads that agree are apart");
    }
}
