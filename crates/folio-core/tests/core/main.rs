//! The functions on in-memory adapters; the fakes pass the same contract suites as the real
//! adapters.

mod events;
mod flow;
mod shared_state;

use std::sync::Arc;

use folio_core::Pipeline;
use folio_core::ports::{Clock, SystemClock};
use folio_core::testing::{ManualClock, MemoryEventLog, memory_pipeline};

/// A pipeline on fakes, with its clock and its event queue.
pub fn pipeline() -> (Pipeline, Arc<ManualClock>, Arc<MemoryEventLog>) {
    // Starts at the real time: the in-memory store stamps objects with the system clock.
    let clock = Arc::new(ManualClock::at(SystemClock.now_ms()));
    let (pipeline, events) = memory_pipeline(clock.clone());
    (pipeline, clock, events)
}
