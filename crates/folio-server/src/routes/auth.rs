//! `/api/auth/*` and the issuer's well-known documents.

use axum::Json;
use axum::extract::State;
use axum::http::header::{self, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::extract::{ApiJson, CallerToken, ClientAddr};
use crate::routes::refusals::{BEARER, Declared, JSON_BODY, RATE_LIMITED, Refusal, STORAGE};
use crate::{ApiError, AppState};
use folio_core::ErrorCode;

/// The refresh cookie: HttpOnly, SameSite=Strict, scoped to the auth routes.
const COOKIE_NAME: &str = "folio_refresh";
/// Cookie-based refresh and logout must carry this header (a form cannot set it: CSRF).
const CSRF_HEADER: &str = "x-folio-csrf";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// An address: something, `@`, and a domain with a dot inside; no spaces or control
    /// characters but around it (trimmed); at most 254 characters. Compared lowercased.
    #[schema(
        max_length = 254,
        pattern = r"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]*\.[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000@.][\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
    )]
    email: String,
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
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
    /// 8 to 256 characters.
    #[schema(min_length = 8, max_length = 256)]
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
            ErrorCode::Unauthorized,
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
    // `null` is no body, as the schema's nullable body says.
    ApiJson::<Option<RefreshBody>>::from_request(request, state).await.map(|b| b.value)
}

/// register's refusals.
pub(super) const REGISTER: Declared = Declared::new(
    "register",
    &[
        JSON_BODY,
        RATE_LIMITED,
        STORAGE,
        &[Refusal::when(ErrorCode::Conflict, "An account with that email address exists.")],
    ],
);

#[utoipa::path(post, path = "/api/auth/register", tag = "auth", operation_id = "register",
    request_body(content = Credentials, example = json!({ "email": "ada@example.com", "password": "correct horse battery" })),
    responses((status = 201, description = "Registered", body = crate::routes::openapi::Registered)))]
pub async fn register(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: ApiJson<Credentials>,
) -> Result<Response, ApiError> {
    state.rate_limit(crate::RateLimited::Register, &client).await?;
    let registration = state.sign_in()?.register(&body.value.email, &body.value.password).await?;
    Ok((StatusCode::CREATED, Json(registration)).into_response())
}

/// A registration's confirmation: the code the provider emailed.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    /// The address the account was registered with.
    #[schema(max_length = 254)]
    email: String,
    /// The code from the email.
    #[schema(min_length = 1, max_length = 64)]
    code: String,
}

/// confirm's refusals.
pub(super) const CONFIRM: Declared = Declared::new(
    "confirm_registration",
    &[
        JSON_BODY,
        RATE_LIMITED,
        STORAGE,
        &[
            Refusal::when(ErrorCode::InvalidRequest, "The code is wrong or has expired."),
            Refusal::when(
                ErrorCode::Conflict,
                "The account needs no confirming: confirmed already, or this deployment's accounts are confirmed at registration.",
            ),
        ],
    ],
);

#[utoipa::path(post, path = "/api/auth/confirm", tag = "auth", operation_id = "confirm_registration",
    request_body(content = Confirmation, example = json!({ "email": "ada@example.com", "code": "123456" })),
    responses((status = 204, description = "Confirmed: the account can sign in")))]
pub async fn confirm(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: ApiJson<Confirmation>,
) -> Result<Response, ApiError> {
    // Counted with registrations: a guessed code costs the guesser's address budget.
    state.rate_limit(crate::RateLimited::Register, &client).await?;
    state.sign_in()?.confirm(&body.value.email, &body.value.code).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// login's refusals.
pub(super) const LOGIN: Declared = Declared::new(
    "login",
    &[
        JSON_BODY,
        STORAGE,
        &[
            Refusal::when(ErrorCode::Unauthorized, "Wrong email or password."),
            Refusal::when(
                ErrorCode::NotConfirmed,
                "The account's email address is not confirmed yet (providers that email a code).",
            ),
            Refusal::when(
                ErrorCode::RateLimited,
                "Too many failed sign-ins for this account or from this address; Retry-After says when to try again.",
            ),
        ],
    ],
);

#[utoipa::path(post, path = "/api/auth/login", tag = "auth", operation_id = "login",
    request_body(content = LoginRequest, example = json!({ "email": "ada@example.com", "password": "correct horse battery", "session": "body" })),
    responses((status = 200, description = "Signed in; also sets the refresh cookie", body = crate::routes::openapi::SessionBody)))]
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    body: ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let session = state.sign_in()?.login(&body.value.email, &body.value.password, &client).await?;
    Ok(session_response(&state, &session, body.value.session))
}

/// The refusals of refresh and logout (the body is optional; when sent, it is JSON).
const SESSION_REFUSALS: &[&[Refusal]] = &[
    JSON_BODY,
    STORAGE,
    &[
        Refusal::when(ErrorCode::Unauthorized, "No refresh token, or not a valid one."),
        Refusal::at(
            StatusCode::FORBIDDEN,
            ErrorCode::Unauthorized,
            "The session cookie came without the X-Folio-CSRF header.",
        ),
    ],
];

/// refresh's refusals.
pub(super) const REFRESH: Declared = Declared::new("refresh_session", SESSION_REFUSALS);

#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", operation_id = "refresh_session", request_body(content = Option<RefreshBody>, description = "Or no body: the refresh cookie plus an X-Folio-CSRF header"),
    responses((status = 200, description = "A new session", body = crate::routes::openapi::SessionBody)))]
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

/// logout's refusals.
pub(super) const LOGOUT: Declared = Declared::new("logout", SESSION_REFUSALS);

#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", operation_id = "logout", request_body(content = Option<RefreshBody>, description = "Or no body: the refresh cookie plus an X-Folio-CSRF header"),
    responses((status = 204, description = "Signed out")))]
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

/// change-password's refusals.
pub(super) const CHANGE_PASSWORD: Declared = Declared::new(
    "change_password",
    &[
        JSON_BODY,
        BEARER,
        STORAGE,
        &[
            Refusal::when(
                ErrorCode::InvalidRequest,
                "The new password breaks the length rule, or this account's password is managed by its own identity provider.",
            ),
            Refusal::when(ErrorCode::Unauthorized, "The current password is wrong."),
            Refusal::when(
                ErrorCode::RateLimited,
                "Too many wrong current passwords; Retry-After says when to try again.",
            ),
        ],
    ],
);

#[utoipa::path(post, path = "/api/auth/password", tag = "auth", operation_id = "change_password", request_body = PasswordChange, security(("bearer" = [])),
    responses((status = 204, description = "Changed; every session ends")))]
pub async fn change_password(
    State(state): State<AppState>,
    CallerToken { caller, token }: CallerToken,
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
            &token,
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
        ErrorCode::NotFound,
        "this deployment's identity provider publishes its own keys",
    )
}

/// The refusals of the well-known documents.
const WELL_KNOWN: &[&[Refusal]] = &[
    STORAGE,
    &[Refusal::when(
        ErrorCode::NotFound,
        "This deployment's identity provider publishes its own keys.",
    )],
];

/// jwks's refusals.
pub(super) const JWKS: Declared = Declared::new("jwks", WELL_KNOWN);

#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "auth", operation_id = "jwks", responses((status = 200, description = "The pool's public keys")))]
pub async fn jwks(State(state): State<AppState>) -> Result<Response, ApiError> {
    match state.sign_in()?.jwks().await? {
        Some(jwks) => Ok(Json(jwks).into_response()),
        None => Err(elsewhere()),
    }
}

/// discovery's refusals.
pub(super) const DISCOVERY: Declared = Declared::new("openid_configuration", WELL_KNOWN);

#[utoipa::path(get, path = "/.well-known/openid-configuration", tag = "auth", operation_id = "openid_configuration", responses((status = 200, description = "The issuer")))]
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
