//! folio's HTTP surface: a thin axum layer over the pipeline's functions and the user pool.
//!
//! Handlers parse, call a function, and map the result; no business logic lives here.
//! [`router`] builds the routes from an [`AppState`]; [`serve`] runs them on a listener until
//! shutdown, so tests bind port 0 and drive the same router.

mod error;
mod extract;
mod renderer;
mod routes;
mod state;
pub mod workers;

use std::net::SocketAddr;

pub use error::ApiError;
pub use renderer::{InProcessRenderer, render_error};
pub use state::{AppState, ServerSettings};

/// The router with every route.
pub fn router(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
