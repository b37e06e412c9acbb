//! The CLI's [`Reporter`]: an indicatif spinner on a terminal, plain notes otherwise.

use std::sync::Mutex;
use std::time::Duration;

use archway_platform::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug)]
pub struct TerminalReporter {
    draw: bool,
    quiet: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl TerminalReporter {
    pub fn new(draw: bool, quiet: bool) -> TerminalReporter {
        TerminalReporter {
            draw,
            quiet,
            bar: Mutex::new(None),
        }
    }
}

impl Reporter for TerminalReporter {
    fn start(&self, task: &str, total: Option<u64>) {
        if self.quiet {
            return;
        }
        if !self.draw {
            eprintln!("{task}...");
            return;
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} {wide_msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {prefix} {elapsed} {wide_msg}")
                    .expect("valid template"),
            ),
        };
        bar.set_prefix(task.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn advance(&self, units: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.inc(units);
            }
        }
    }

    fn status(&self, line: &str) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(bar) = slot.as_ref() {
                bar.set_message(line.to_string());
            }
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn note(&self, message: &str) {
        if self.quiet {
            return;
        }
        match self.bar.lock().ok().and_then(|slot| slot.clone()) {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }
}
