//! Progress of a landing, reported to whoever renders it (the programs print a line a
//! second): the engine itself prints nothing.

use super::totals::Totals;
use std::time::Duration;

/// What has landed so far, handed to [`Progress::update`].
#[derive(Debug, Clone, Copy)]
pub struct Snapshot<'a> {
    /// The totals so far.
    pub totals: &'a Totals,
    /// Time since the landing started.
    pub elapsed: Duration,
    /// Text the source appends to the progress line (`--follow`: the consumer lag, as
    /// `", lag p0=12 (landed 340) ..."`), or empty.
    pub status: &'a str,
}

impl Snapshot<'_> {
    /// The one-line rendering the programs print:
    /// `"N messages (R rejects), E events/s, M MB/s, C ranges committed<status>"`.
    pub fn line(&self) -> String {
        let secs = self.elapsed.as_secs_f64();
        let t = self.totals;
        format!(
            "{} messages ({} rejects), {:.0} events/s, {:.1} MB/s, {} ranges committed{}",
            t.messages,
            t.rejected,
            t.messages as f64 / secs,
            t.input_bytes as f64 / secs / 1e6,
            t.ranges,
            self.status
        )
    }
}

/// Receives the progress of a landing: [`Progress::update`] at most once a second while it
/// runs, [`Progress::finish`] once when its ranges are committed.
pub trait Progress: Send {
    /// What has landed so far.
    fn update(&mut self, snapshot: &Snapshot<'_>);
    /// The landing committed everything (called by sources that finish: file and bounded).
    fn finish(&mut self) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl Progress for Silent {
    fn update(&mut self, _: &Snapshot<'_>) {}
}

impl<F: FnMut(&Snapshot<'_>) + Send> Progress for F {
    fn update(&mut self, snapshot: &Snapshot<'_>) {
        self(snapshot);
    }
}
