//! Progress reporting for long work (root filesystem creation, downloads, builds).
//!
//! Libraries never print: they report through a [`Reporter`], which the CLI implements with
//! indicatif (hidden when stderr is not a terminal). Tests and library users pass [`NoProgress`].

/// Receives progress of long-running work.
pub trait Reporter: Send + Sync {
    /// A new phase of work begins (`"creating root filesystem"`); `total` units if known.
    fn start(&self, task: &str, total: Option<u64>);
    /// `units` more of the current phase are done.
    fn advance(&self, _units: u64) {}
    /// A line of status within the current phase (e.g. the last line of a tool's output).
    fn status(&self, _line: &str) {}
    /// The current phase ended.
    fn finish(&self) {}
    /// A message the user should see even when progress bars are hidden (a warning, a decision).
    fn note(&self, message: &str);
}

/// A [`Reporter`] that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Reporter for NoProgress {
    fn start(&self, _task: &str, _total: Option<u64>) {}
    fn note(&self, _message: &str) {}
}
