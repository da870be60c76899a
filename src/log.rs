//! Messages to stderr, by verbosity: -q shows only errors, -v shows debug lines.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

pub fn set_level(level: i8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Progress and notes: shown unless -q.
pub fn info(msg: &str) {
    if level() >= 0 {
        eprintln!("{msg}");
    }
}

/// Warnings: shown unless -q.
pub fn warn(msg: &str) {
    if level() >= 0 {
        eprintln!("warning: {msg}");
    }
}

/// Details: shown with -v.
pub fn debug(msg: &str) {
    if level() > 0 {
        eprintln!("debug: {msg}");
    }
}
