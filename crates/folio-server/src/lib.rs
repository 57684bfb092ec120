//! folio's HTTP surface: a thin axum layer over the pipeline's functions and the sign-in port.
//!
//! Handlers parse, call a function, and map the result; no business logic lives here.
//! [`router`] builds the routes from an [`AppState`]; [`serve`] runs them on a listener until
//! shutdown, so tests bind port 0 and drive the same router.

mod error;
mod extract;
mod metrics;
mod routes;
mod state;

use std::net::SocketAddr;

pub use error::ApiError;
pub use extract::ClientAddressFromContext;
pub use metrics::Metrics;
pub use state::{AppState, RateLimited, RatePolicy, ServerSettings};

/// The router with every route.
pub fn router(state: AppState) -> axum::Router {
    routes::router(state)
}

/// How long a client may take to send its request headers before it is cut off.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then finishes in-flight requests.
///
/// Served through hyper-util rather than `axum::serve` to set a header read timeout: a client
/// that trickles its headers (slowloris) is cut off, and others are served meanwhile.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (done_tx, done_rx) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(axum::extract::ConnectInfo::<SocketAddr>(remote));
                router.clone().oneshot(request.map(axum::body::Body::new))
            });
        let mut stop = stop_rx.clone();
        let done = done_rx.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            let mut connection = std::pin::pin!(
                builder.serve_connection_with_upgrades(TokioIo::new(stream), service)
            );
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(done);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    drop(done_rx);
    done_tx.closed().await;
    Ok(())
}
