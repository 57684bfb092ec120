//! The functions on in-memory adapters; the fakes pass the same contract suites as the real
//! adapters.

mod events;
mod flow;
mod shared_state;

use std::sync::Arc;

use folio_core::Pipeline;
use folio_core::ports::{Clock, SystemClock};
use folio_core::testing::{ManualClock, memory_pipeline};

/// A pipeline on fakes, with its clock.
pub fn pipeline() -> (Pipeline, Arc<ManualClock>) {
    // Starts at the real time: the in-memory store stamps objects with the system clock.
    let clock = Arc::new(ManualClock::at(SystemClock.now_ms()));
    (memory_pipeline(clock.clone()), clock)
}
