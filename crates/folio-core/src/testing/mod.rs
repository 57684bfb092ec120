//! In-memory fakes of every port and one contract suite per port. An adapter is done when it
//! passes its port's suite; the fakes pass them too, so tests of the functions can use either.

mod contracts;
mod fakes;
mod fed;

pub use contracts::{
    check_document_index, check_event_log, check_idempotency_store, check_lease,
    check_pipeline_flow, check_publishing_store, check_rate_limits, check_secret_store,
    check_signed_downloads, check_usage_counter,
};
pub use fakes::{
    FakeRenderer, ManualClock, MemoryEventLog, MemoryIdempotency, MemoryIndex, MemorySecrets,
    TEST_URL_SECRET, memory_pipeline, memory_services,
};
pub use fed::FedQueue;
