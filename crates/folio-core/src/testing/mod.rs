//! In-memory fakes of every port and one contract suite per port. An adapter is done when it
//! passes its port's suite; the fakes pass them too, so tests of the functions can use either.

mod contracts;
mod fakes;

pub use contracts::{
    check_document_index, check_event_log, check_pipeline_flow, check_publishing_store,
};
pub use fakes::{
    FakeRenderer, ManualClock, MemoryEventLog, MemoryIndex, TEST_URL_SECRET, memory_pipeline,
};
