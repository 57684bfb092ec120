//! Extractors that answer bad input with the API's error shape: JSON bodies, the verified
//! caller, and the client address.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use folio_auth::Verified;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// A JSON body: wrong content types, malformed JSON, invalid UTF-8 and oversize bodies all get
/// the JSON error shape. Keeps the raw bytes (for idempotency hashes).
pub struct ApiJson<T> {
    pub value: T,
    pub raw: Bytes,
}

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json"
                    || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                folio_core::ErrorCode::InvalidRequest,
                "send a JSON body with Content-Type: application/json",
            ));
        }
        let raw = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    folio_core::ErrorCode::PayloadTooLarge,
                    format!(
                        "the request body is larger than {} bytes",
                        state.settings.max_body_bytes
                    ),
                )
            } else {
                ApiError::invalid("the request body could not be read")
            }
        })?;
        let Ok(text) = std::str::from_utf8(&raw) else {
            return Err(ApiError::invalid("the request body is not valid UTF-8"));
        };
        // Every request body is an object (or `null` where the schema allows one, as for an
        // optional body): serde's derived structs would also take an array of their fields in
        // order, which no client means and no schema here allows.
        let value = text.trim_matches([' ', '\t', '\n', '\r']);
        if !value.starts_with('{') && value != "null" {
            return Err(ApiError::invalid("the request body must be a JSON object"));
        }
        let value = serde_json::from_slice(&raw)
            .map_err(|e| ApiError::invalid(format!("the JSON body is not valid: {e}")))?;
        Ok(Self { value, raw })
    }
}

/// The verified caller, from `Authorization: Bearer <access token>`. Never from the body.
pub struct Caller(pub Verified);

/// The verified caller and the access token it sent (for the sign-in provider's operations
/// that act with the caller's own token: Cognito's password change).
pub struct CallerToken {
    /// Who called.
    pub caller: Verified,
    /// Their access token, verified.
    pub token: String,
}

/// The access token of `Authorization: Bearer <access token>`.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let header =
        parts.headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
            ApiError::unauthorized("sign in first: send Authorization: Bearer <access token>")
        })?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <access token>`")
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        state.verifier.verify(token).await.map(Caller).map_err(ApiError::from)
    }
}

impl FromRequestParts<AppState> for CallerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let caller = state.verifier.verify(token).await.map_err(ApiError::from)?;
        Ok(Self { caller, token: token.to_owned() })
    }
}

/// The client's address as the platform in front of folio knows it — API Gateway's
/// `requestContext.http.sourceIp`, say. The adapter that runs the router there inserts it into
/// each request's extensions (clients cannot: extensions are not headers), and it wins over
/// the socket's peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddressFromContext(pub std::net::IpAddr);

/// The client's address (for throttling sign-ins and registrations): the platform's
/// [`ClientAddressFromContext`] when an adapter inserted one; else the connection's peer, or —
/// only when the peer is a configured trusted proxy — the nearest address in `X-Forwarded-For`
/// that is not a trusted proxy; `unknown` when neither exists.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ClientAddressFromContext(address)) = parts.extensions.get() {
            return Ok(Self(address.to_string()));
        }
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()) else {
            return Ok(Self("unknown".to_owned()));
        };
        Ok(Self(client_address(peer, &parts.headers, &state.settings.trusted_proxies).to_string()))
    }
}

/// Walks `X-Forwarded-For` from the right while the hops are trusted proxies.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse().ok())
        .collect();
    hops.into_iter().rev().find(|hop| !trusted.contains(hop)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: std::net::IpAddr =
            "10.0.0.1".parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
        let mut headers = http::HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            http::HeaderValue::from_static("1.1.1.1, 6.6.6.6, 10.0.0.1"),
        );
        let client = std::net::IpAddr::from([6, 6, 6, 6]);
        assert_eq!(client_address(proxy, &headers, &[proxy]), client, "the nearest untrusted hop");
        let stranger = std::net::IpAddr::from([9, 9, 9, 9]);
        assert_eq!(
            client_address(stranger, &headers, &[proxy]),
            stranger,
            "spoofed header ignored"
        );
        assert_eq!(client_address(proxy, &http::HeaderMap::new(), &[proxy]), proxy);
    }
}
