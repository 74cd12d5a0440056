//! The progress line of the landing programs, on stderr.

use examples::land::{Progress, Snapshot};
use std::io::IsTerminal as _;

/// Renders each progress report as one line: rewritten in place on a terminal, else logged
/// (with the engine's log target, as scripts grep it).
#[derive(Debug)]
pub(crate) struct LineProgress {
    tty: bool,
}

impl LineProgress {
    /// Rendering on stderr, in place if it is a terminal.
    pub(crate) fn stderr() -> Box<Self> {
        Box::new(Self {
            tty: std::io::stderr().is_terminal(),
        })
    }
}

impl Progress for LineProgress {
    fn update(&mut self, snapshot: &Snapshot<'_>) {
        let line = snapshot.line();
        if self.tty {
            eprint!("\r{line}   ");
        } else {
            tracing::info!(target: "examples::land", "{line}");
        }
    }

    fn finish(&mut self) {
        if self.tty {
            eprintln!();
        }
    }
}
