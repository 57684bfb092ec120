//! folio's render adapters: the [`folio_core::ports::Renderer`] port over `folio-render`.
//!
//! - [`InProcessRenderer`] renders on a thread of this process (the CLI, `docs import`,
//!   tests, and shapes where the process itself is the sandbox, such as a Lambda function);
//! - [`WorkerRenderer`] renders in a [`WorkerPool`] of `folio worker` processes, each with an
//!   address-space cap, a seccomp filter and a deadline ([`child`] is their entry point,
//!   [`protocol`] what crosses the pipe);
//! - [`options`] is the one mapping between the API's vocabulary (`folio_core::options`,
//!   `folio_core::Error`, `folio_core::ports::Warning`) and the renderer's.

pub mod child;
mod in_process;
pub mod options;
mod pool;
pub mod protocol;
mod worker_renderer;

pub use in_process::InProcessRenderer;
pub use pool::{Lane, PoolConfig, Ticket, WorkerPool};
pub use worker_renderer::WorkerRenderer;
