//! `/readyz`, `/metrics`, and the middleware that counts requests.

use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::routes::refusals::Declared;

/// Counts the request and its latency under its route template (never the raw path: ids would
/// make one series per document).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    state.metrics.request(&method, &route, response.status().as_u16(), elapsed);
    tracing::info!(%request_id, %method, %route, status = response.status().as_u16(), ms = elapsed.as_millis() as u64, "request");
    response
}

/// Ready when every port answered the latest background readiness check (reads only; see
/// `Services::check_readiness`) and the renderer can render. A check older than
/// `readiness_max_age_ms` (the background check has stopped) is run again here.
/// Readiness answers its own 503 (not a refusal): it declares none.
pub(super) const READY: Declared = Declared::new("readiness", &[]);

#[utoipa::path(get, path = "/readyz", tag = "operations", operation_id = "readiness", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready")))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let now = state.services.pipeline.clock.now_ms();
    let report = match state.services.readiness.latest() {
        Some(report) if now - report.checked_ms <= state.settings.readiness_max_age_ms => report,
        _ => state.services.check_readiness().await,
    };
    let mut checks = serde_json::Map::new();
    for (port, answer) in &report.checks {
        checks.insert((*port).to_owned(), serde_json::json!({ "ok": answer.is_ok() }));
    }
    let renderer = state.services.pipeline.renderer.health();
    if let Err(error) = &renderer.ready {
        tracing::warn!(%error, "the renderer is not ready");
    }
    checks.insert("renderer".to_owned(), serde_json::json!({ "ok": renderer.ready.is_ok() }));
    // A draining process (SIGTERM received) is not ready whatever its ports say.
    let draining = state.services.readiness.draining();
    let ready = report.ready() && renderer.ready.is_ok() && !draining;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let checked_at = folio_core::functions::rfc3339(report.checked_ms);
    (
        status,
        Json(serde_json::json!({
            "ready": ready,
            "draining": draining,
            "checked_at": checked_at,
            "checks": checks,
        })),
    )
        .into_response()
}

/// Prometheus metrics.
/// The metrics refuse nothing.
pub(super) const METRICS: Declared = Declared::new("metrics", &[]);

#[utoipa::path(get, path = "/metrics", tag = "operations", operation_id = "metrics", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (pending, dead) = match &state.services.event_queue {
        Some(events) => (
            events.pending().await.unwrap_or(0) as f64,
            events.dead_letters().await.map(|d| d.len()).unwrap_or(0) as f64,
        ),
        None => (0.0, 0.0),
    };
    let renderer = state.services.pipeline.renderer.health();
    let (waiting, restarts, renders) =
        (renderer.waiting as f64, renderer.restarts as f64, renderer.renders as f64);
    let count = |n: u64| n as f64;
    let body = state.metrics.render(&[
        ("folio_outbox_pending", "Object events not yet indexed.", pending),
        ("folio_dead_letters", "Object events parked after failing.", dead),
        ("folio_render_queue_waiting", "Renders waiting for a worker.", waiting),
        (
            "folio_render_worker_restarts_total",
            "Workers replaced after a crash or a timeout.",
            restarts,
        ),
        ("folio_renders_total", "Renders done by workers.", renders),
        ("folio_render_workers", "Render worker processes running.", count(renderer.workers)),
        (
            "folio_render_worker_crashes_total",
            "Workers that died while rendering.",
            count(renderer.crashes),
        ),
        (
            "folio_render_retries_total",
            "Renders tried again on a fresh worker after their worker died.",
            count(renderer.retries),
        ),
        (
            "folio_render_timeouts_total",
            "Renders stopped at the deadline.",
            count(renderer.timeouts),
        ),
        (
            "folio_render_worker_idle_deaths_total",
            "Workers found dead before they were given work, and replaced.",
            count(renderer.idle_deaths),
        ),
        (
            "folio_render_worker_start_failures_total",
            "Workers that could not be started.",
            count(renderer.start_failures),
        ),
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
