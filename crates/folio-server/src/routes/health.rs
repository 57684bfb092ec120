//! `/readyz`, `/metrics`, and the middleware that counts requests.

use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use crate::AppState;

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

/// Ready when the database answers, the object store takes a write, and the renderer can
/// render (for worker processes: the worker binary is there).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready"), (status = 503, description = "Not ready")))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut checks = serde_json::Map::new();
    if let Some(events) = &state.events {
        let database = events.pending().await;
        checks.insert(
            "database".to_owned(),
            check(database.as_ref().map(drop).map_err(ToString::to_string)),
        );
    }
    let probe = Path::from("_health/ready");
    let objects = match state.pipeline.objects.put(&probe, PutPayload::from_static(b"ok")).await {
        Ok(_) => state.pipeline.objects.delete(&probe).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    checks.insert("objects".to_owned(), check(objects));
    let renderer = state.pipeline.renderer.health();
    checks.insert("renderer".to_owned(), check(renderer.ready));
    let ready = checks.values().all(|v| v["ok"] == true);
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(serde_json::json!({ "ready": ready, "checks": checks }))).into_response()
}

fn check(result: Result<(), String>) -> serde_json::Value {
    match result {
        Ok(()) => serde_json::json!({ "ok": true }),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            serde_json::json!({ "ok": false })
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let (pending, dead) = match &state.events {
        Some(events) => (
            events.pending().await.unwrap_or(0) as f64,
            events.dead_letters().await.map(|d| d.len()).unwrap_or(0) as f64,
        ),
        None => (0.0, 0.0),
    };
    let renderer = state.pipeline.renderer.health();
    let (waiting, restarts, renders) =
        (renderer.waiting as f64, renderer.restarts as f64, renderer.renders as f64);
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
    ]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
