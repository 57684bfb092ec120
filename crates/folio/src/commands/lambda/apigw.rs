//! API Gateway HTTP API events (payload format 2.0) to and from `http` requests and responses,
//! so the api function runs folio's own router unchanged.
//!
//! Our own serde structs rather than `lambda_http`: it brings `aws_lambda_events` (serde_with,
//! schemars, jiff: ~30 crates) for the dozen fields read here, and folio needs control over two
//! details anyway: the platform's client address goes into the request's extensions (never a
//! header a client could forge), and `Set-Cookie` goes into `cookies` (an HTTP API response's
//! `headers` holds one value per name).

use std::collections::BTreeMap;

use axum::body::Body;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use folio_server::ClientAddressFromContext;
use http::header::{COOKIE, HeaderName, HeaderValue, SET_COOKIE};
use serde::{Deserialize, Serialize};

/// An HTTP API request event (payload format version 2.0): the fields folio reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiRequest {
    /// The path as the client sent it, percent-encoding kept (with the `$default` stage).
    pub raw_path: String,
    /// The query without `?`, as sent.
    #[serde(default)]
    pub raw_query_string: String,
    /// Cookies, split out of the `Cookie` header by API Gateway.
    #[serde(default)]
    pub cookies: Vec<String>,
    /// Headers, lower-case names; repeated headers joined with commas.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The method and the caller's address.
    pub request_context: HttpApiContext,
    /// The body (base64 when `is_base64_encoded`).
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default)]
    pub is_base64_encoded: bool,
}

/// `requestContext` of an HTTP API event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiContext {
    /// `method`, `sourceIp`.
    pub http: HttpApiHttp,
}

/// `requestContext.http` of an HTTP API event.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiHttp {
    /// The request method.
    pub method: String,
    /// The address of the connection API Gateway took the request from.
    #[serde(default)]
    pub source_ip: String,
}

/// An HTTP API response (payload format version 2.0).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpApiResponse {
    /// The status code.
    pub status_code: u16,
    /// Headers, one value per name (repeated values joined with commas).
    pub headers: BTreeMap<String, String>,
    /// `Set-Cookie` values, one per cookie.
    pub cookies: Vec<String>,
    /// The body (base64 when `is_base64_encoded`).
    pub body: String,
    /// Whether `body` is base64 (every body that is not UTF-8: PDFs, icons).
    pub is_base64_encoded: bool,
}

/// Why an event could not be made a request (answered as a 400 in folio's shape).
#[derive(Debug)]
pub struct BadEvent(String);

impl std::fmt::Display for BadEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl HttpApiRequest {
    /// The request the router serves, with the caller's address in its extensions.
    pub fn into_request(self) -> Result<http::Request<Body>, BadEvent> {
        let bad = |what: String| BadEvent(what);
        let method = http::Method::from_bytes(self.request_context.http.method.as_bytes())
            .map_err(|_| bad(format!("{:?} is not a method", self.request_context.http.method)))?;
        let uri = if self.raw_query_string.is_empty() {
            self.raw_path.clone()
        } else {
            format!("{}?{}", self.raw_path, self.raw_query_string)
        };
        let mut request = http::Request::builder()
            .method(method)
            .uri(&uri)
            .body(Body::empty())
            .map_err(|e| bad(format!("the path {uri:?} is not a request target: {e}")))?;
        let headers = request.headers_mut();
        for (name, value) in &self.headers {
            // API Gateway hands the cookies over separately; a `cookie` header here is rebuilt
            // from them below.
            if name.eq_ignore_ascii_case("cookie") {
                continue;
            }
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad(format!("{name:?} is not a header name")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| bad(format!("the header {name} has a value HTTP does not allow")))?;
            headers.append(name, value);
        }
        if !self.cookies.is_empty() {
            let value = HeaderValue::from_str(&self.cookies.join("; "))
                .map_err(|_| bad("a cookie has a value HTTP does not allow".to_owned()))?;
            headers.insert(COOKIE, value);
        }
        if let Ok(address) = self.request_context.http.source_ip.parse() {
            request.extensions_mut().insert(ClientAddressFromContext(address));
        }
        let body = match self.body {
            None => Vec::new(),
            Some(text) if self.is_base64_encoded => {
                STANDARD.decode(text).map_err(|_| bad("the body is not base64".to_owned()))?
            }
            Some(text) => text.into_bytes(),
        };
        *request.body_mut() = Body::from(body);
        Ok(request)
    }
}

impl HttpApiResponse {
    /// A bare 500 in folio's shape, for the one case where no response could be read.
    pub fn server_error() -> Self {
        Self {
            status_code: 500,
            headers: BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())]),
            cookies: Vec::new(),
            body: r#"{"error":{"code":"internal","message":"the response could not be read","retryable":true}}"#
                .to_owned(),
            is_base64_encoded: false,
        }
    }

    /// The event answering `response`, its body read whole (folio's responses are bounded: the
    /// largest is a PDF, and Lambda answers at most 6 MB).
    pub async fn from_response(response: http::Response<Body>) -> Result<Self, axum::Error> {
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await?;
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        let mut cookies = Vec::new();
        for (name, value) in &parts.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            if name == SET_COOKIE {
                cookies.push(value);
                continue;
            }
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(&value);
                })
                .or_insert(value);
        }
        let (body, is_base64_encoded) = match String::from_utf8(bytes.to_vec()) {
            Ok(text) => (text, false),
            Err(binary) => (STANDARD.encode(binary.into_bytes()), true),
        };
        Ok(Self { status_code: parts.status.as_u16(), headers, cookies, body, is_base64_encoded })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: serde_json::Value) -> HttpApiRequest {
        serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_event_becomes_the_request_the_client_sent() {
        let request = event(serde_json::json!({
            "version": "2.0",
            "rawPath": "/api/documents/a%20b",
            "rawQueryString": "limit=2&q=caf%C3%A9",
            "cookies": ["folio_refresh=abc", "other=1"],
            "headers": { "content-type": "application/json", "x-folio-csrf": "1", "cookie": "forged=1" },
            "requestContext": { "http": { "method": "POST", "sourceIp": "198.51.100.7" } },
            "body": "eyJhIjoxfQ==",
            "isBase64Encoded": true
        }))
        .into_request()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri(), "/api/documents/a%20b?limit=2&q=caf%C3%A9");
        assert_eq!(request.headers()[COOKIE], "folio_refresh=abc; other=1");
        assert_eq!(request.headers()["x-folio-csrf"], "1");
        assert_eq!(
            request.extensions().get::<ClientAddressFromContext>(),
            Some(&ClientAddressFromContext(
                "198.51.100.7".parse().unwrap_or_else(|e| panic!("{e}"))
            ))
        );
    }

    #[test]
    fn malformed_events_are_refused_with_the_reason() {
        let base = |method: &str, path: &str, header: &str| {
            serde_json::json!({
                "rawPath": path,
                "headers": { header: "x" },
                "requestContext": { "http": { "method": method, "sourceIp": "x" } },
                "body": "%%%",
                "isBase64Encoded": true
            })
        };
        for (json, why) in [
            (base("G E T", "/", "a"), "not a method"),
            (base("GET", "no slash\n", "a"), "not a request target"),
            (base("GET", "/", "bad header"), "not a header name"),
            (base("GET", "/", "a"), "not base64"),
        ] {
            let err = event(json).into_request().err().map(|e| e.to_string()).unwrap_or_default();
            assert!(err.contains(why), "{err}");
        }
    }

    #[tokio::test]
    async fn cookies_go_apart_and_binary_bodies_go_as_base64() {
        let response = http::Response::builder()
            .status(201)
            .header(SET_COOKIE, "a=1; HttpOnly")
            .header(SET_COOKIE, "b=2")
            .header("vary", "origin")
            .header("vary", "accept")
            .body(Body::from(vec![0x25, 0x50, 0xff, 0x00]))
            .unwrap_or_else(|e| panic!("{e}"));
        let answer =
            HttpApiResponse::from_response(response).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.status_code, 201);
        assert_eq!(answer.cookies, ["a=1; HttpOnly", "b=2"]);
        assert_eq!(answer.headers["vary"], "origin, accept");
        assert!(!answer.headers.contains_key("set-cookie"));
        assert!(answer.is_base64_encoded);
        assert_eq!(
            STANDARD.decode(&answer.body).unwrap_or_else(|e| panic!("{e}")),
            [0x25, 0x50, 0xff, 0x00]
        );
        let text = http::Response::new(Body::from("{\"ok\":true}"));
        let answer = HttpApiResponse::from_response(text).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((answer.body.as_str(), answer.is_base64_encoded), ("{\"ok\":true}", false));
    }
}
