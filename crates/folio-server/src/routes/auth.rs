//! `/api/auth/*` and the issuer's well-known documents.

use axum::Json;
use axum::extract::State;
use axum::http::header::{self, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::extract::{ApiJson, Caller, ClientAddr};
use crate::{ApiError, AppState};

/// The refresh cookie: HttpOnly, SameSite=Strict, scoped to the auth routes.
const COOKIE_NAME: &str = "folio_refresh";
/// Cookie-based refresh and logout must carry this header (a form cannot set it: CSRF).
const CSRF_HEADER: &str = "x-folio-csrf";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    email: String,
    password: String,
}

/// Signing in: the credentials and how the session's refresh token is handed over.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    email: String,
    password: String,
    /// `cookie`: the refresh token is set only as the `HttpOnly` cookie and never appears in a
    /// response body (browsers: no script can read it). `body` (the default): it is in the body
    /// too, for clients without cookies.
    #[serde(default)]
    session: SessionMode,
}

/// Where a session's refresh token is handed over.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// In the JSON body and the cookie.
    #[default]
    Body,
    /// In the `HttpOnly` cookie only.
    Cookie,
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    #[serde(default)]
    refresh_token: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies { "; Secure" } else { "" };
    let text = format!(
        "{COOKIE_NAME}={value}; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age={max_age}{secure}"
    );
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("folio_refresh=; Path=/api/auth; Max-Age=0"))
}

fn session_response(
    state: &AppState,
    session: &folio_auth::Session,
    mode: SessionMode,
) -> Response {
    let mut body = serde_json::to_value(session).unwrap_or_default();
    if mode == SessionMode::Cookie
        && let Some(fields) = body.as_object_mut()
    {
        fields.remove("refresh_token");
    }
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert(SET_COOKIE, cookie(state, &session.refresh_token, 30 * 24 * 3600));
    response
}

/// The refresh token from the body, or from the cookie (which requires the CSRF header); the
/// mode says which (a session refreshed through the cookie stays a cookie session).
fn refresh_token(
    headers: &HeaderMap,
    body: Option<RefreshBody>,
) -> Result<(String, SessionMode), ApiError> {
    if let Some(token) = body.and_then(|b| b.refresh_token).filter(|t| !t.is_empty()) {
        return Ok((token, SessionMode::Body));
    }
    let from_cookie = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty());
    let Some(token) = from_cookie else {
        return Err(ApiError::unauthorized(
            "no refresh token: send it in the body or the session cookie",
        ));
    };
    if !headers.contains_key(CSRF_HEADER) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            folio_core::ErrorCode::Unauthorized,
            "cookie sessions need the X-Folio-CSRF header",
        ));
    }
    Ok((token, SessionMode::Cookie))
}

/// An optional JSON body (refresh and logout may come with only the cookie).
async fn optional_body(
    request: axum::extract::Request,
    state: &AppState,
) -> Result<Option<RefreshBody>, ApiError> {
    use axum::extract::FromRequest;
    let has_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v != "0")
        || request.headers().contains_key(header::TRANSFER_ENCODING);
    if !has_body {
        return Ok(None);
    }
    ApiJson::<RefreshBody>::from_request(request, state).await.map(|b| Some(b.value))
}

#[utoipa::path(post, path = "/api/auth/register", tag = "auth", request_body = Credentials,
    responses((status = 201, description = "Registered", body = crate::routes::openapi::Registered), (status = 409, description = "Email taken", body = crate::routes::openapi::ErrorBody), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody)))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    state.rate_limit(crate::RateLimited::Register, &client).await?;
    let registration = state.sign_in()?.register(&body.value.email, &body.value.password).await?;
    Ok((StatusCode::CREATED, Json(registration)).into_response())
}

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "Signed in; also sets the refresh cookie", body = crate::routes::openapi::SessionBody), (status = 401, description = "Wrong email or password", body = crate::routes::openapi::ErrorBody), (status = 429, description = "Throttled", body = crate::routes::openapi::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = state.sign_in()?.login(&body.value.email, &body.value.password, &client).await?;
    Ok(session_response(&state, &session, body.value.session))
}

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body(content = RefreshBody, description = "Or the refresh cookie plus an X-Folio-CSRF header"),
    responses((status = 200, description = "A new session", body = crate::routes::openapi::SessionBody), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let body = optional_body(request, &state).await?;
    let (token, mode) = refresh_token(&headers, body)?;
    let session = state.sign_in()?.refresh(&token).await?;
    Ok(session_response(&state, &session, mode))
}

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body(content = RefreshBody, description = "Or the refresh cookie plus an X-Folio-CSRF header"),
    responses((status = 204, description = "Signed out"), (status = 401, description = "No refresh token", body = crate::routes::openapi::ErrorBody), (status = 403, description = "The cookie without the X-Folio-CSRF header", body = crate::routes::openapi::ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let body = optional_body(request, &state).await?;
    // Like refreshing: the cookie counts only with the CSRF header, so a cross-site form cannot
    // end (or clear) anyone's session.
    let (token, _) = refresh_token(&headers, body)?;
    state.sign_in()?.logout(&token).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, cookie(&state, "", 0));
    Ok(response)
}

#[utoipa::path(post, path = "/api/auth/password", tag = "auth", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204, description = "Changed; every session ends"), (status = 401, description = "No or bad access token", body = crate::routes::openapi::ErrorBody), (status = 400, description = "Bad input", body = crate::routes::openapi::ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ClientAddr(client): ClientAddr,
    body: ApiJson<PasswordChange>,
) -> Result<Response, ApiError> {
    if caller.issuer != state.sign_in()?.issuer() {
        return Err(ApiError::invalid(
            "this account's password is managed by its own identity provider",
        ));
    }
    state
        .sign_in()?
        .change_password(
            &caller.subject,
            &body.value.current_password,
            &body.value.new_password,
            &client,
        )
        .await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(SET_COOKIE, cookie(&state, "", 0));
    Ok(response)
}

/// The answer of the well-known documents where the identity provider publishes its own.
fn elsewhere() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        folio_core::ErrorCode::NotFound,
        "this deployment's identity provider publishes its own keys",
    )
}

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", responses((status = 200, description = "The pool's public keys")))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.sign_in()?.jwks().await? {
        Some(jwks) => Ok(Json(jwks).into_response()),
        None => Err(elsewhere()),
    }
}

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "auth", responses((status = 200, description = "The issuer")))]
pub async fn discovery(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let sign_in = state.sign_in()?;
    if sign_in.jwks().await?.is_none() {
        return Err(elsewhere());
    }
    Ok(Json(serde_json::json!({
        "issuer": sign_in.issuer(),
        "jwks_uri": "/.well-known/jwks.json",
        "token_endpoint": "/api/auth/login",
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "subject_types_supported": ["public"],
        "response_types_supported": ["token"],
    })))
}
