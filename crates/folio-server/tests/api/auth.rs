//! The user pool over HTTP: registration, sign-in throttling, refresh rotation and reuse,
//! cookies with CSRF, sign-out and password changes.

use std::time::Duration;

use serde_json::json;

use crate::{TestApp, token};

#[tokio::test]
async fn registration_rules() {
    let app = TestApp::spawn().await;
    let ok = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "Ada@Example.com", "password": "long enough" }),
        )
        .await;
    assert_eq!(ok.status, 201);
    assert_eq!(ok.json["email"], "ada@example.com");
    // The built-in pool confirms at registration: nothing is left to confirm.
    assert_eq!(ok.json["confirmation_required"], json!(false));
    let confirm = json!({ "email": "ada@example.com", "code": "123456" });
    let confirmed = app.post("/api/auth/confirm", None, confirm).await;
    assert_eq!((confirmed.status, confirmed.code()), (409, "conflict"));
    let again = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "ada@example.com ", "password": "long enough" }),
        )
        .await;
    assert_eq!((again.status, again.code()), (409, "conflict"));
    for body in [
        json!({ "email": "not-an-email", "password": "long enough" }),
        json!({ "email": "b@example.com", "password": "short" }),
        json!({ "email": "b@example.com" }),
        json!({ "email": "b@example.com", "password": "long enough", "admin": true }),
    ] {
        assert_eq!(
            app.post("/api/auth/register", None, body.clone()).await.code(),
            "invalid_request",
            "{body}"
        );
    }
}

#[tokio::test]
async fn sign_in_is_throttled_and_recovers() {
    let app = TestApp::spawn().await;
    app.user("t@example.com").await;
    let wrong = json!({ "email": "t@example.com", "password": "wrong password" });
    let unknown = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "nobody@example.com", "password": "wrong password" }),
        )
        .await;
    let bad = app.post("/api/auth/login", None, wrong.clone()).await;
    assert_eq!((bad.status, unknown.status), (401, 401));
    assert_eq!(bad.json["error"]["message"], unknown.json["error"]["message"], "no account oracle");
    for _ in 0..4 {
        app.post("/api/auth/login", None, wrong.clone()).await;
    }
    let throttled = app.post("/api/auth/login", None, wrong.clone()).await;
    assert_eq!((throttled.status, throttled.code()), (429, "rate_limited"));
    assert!(throttled.headers.get("retry-after").is_some());
    let right = json!({ "email": "t@example.com", "password": "correct horse battery" });
    assert_eq!(
        app.post("/api/auth/login", None, right.clone()).await.status,
        429,
        "throttled even with the right password"
    );
    app.clock.advance(Duration::from_secs(60));
    assert_eq!(app.post("/api/auth/login", None, right).await.status, 200, "no permanent lockout");
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = TestApp::spawn().await;
    let session = app.user("r@example.com").await;
    let first = session["refresh_token"].as_str().unwrap_or_default().to_owned();
    let refresh = |t: &str| app.post("/api/auth/refresh", None, json!({ "refresh_token": t }));

    // Two tabs refresh with the same token at once: both succeed.
    let a = refresh(&first).await;
    let b = refresh(&first).await;
    assert_eq!((a.status, b.status), (200, 200));
    let second = a.json["refresh_token"].as_str().unwrap_or_default().to_owned();
    assert_ne!(second, first);
    assert_eq!(app.get("/api/documents", Some(&token(&a.json))).await.status, 200);

    // After the grace window, reusing the old token is theft: the whole family ends.
    app.clock.advance(Duration::from_secs(30));
    assert_eq!(refresh(&first).await.status, 401);
    assert_eq!(refresh(&second).await.status, 401, "the family is revoked");
    assert_eq!(refresh("made-up").await.code(), "unauthorized");
}

#[tokio::test]
async fn cookie_refresh_needs_the_csrf_header() {
    let app = TestApp::spawn().await;
    let login = app
        .post(
            "/api/auth/register",
            None,
            json!({ "email": "c@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status, 201);
    let login = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "c@example.com", "password": "correct horse battery" }),
        )
        .await;
    let cookie = login
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/api/auth"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or_default().to_owned();
    let url = format!("{}/api/auth/refresh", app.url);
    let without = app.send(app.http.post(&url).header("cookie", &pair)).await;
    assert_eq!(without.status, 403);
    let with =
        app.send(app.http.post(&url).header("cookie", &pair).header("x-folio-csrf", "1")).await;
    assert_eq!(with.status, 200, "{}", with.json);
}

/// The `name=value` of the refresh cookie a reply sets.
fn cookie_pair(reply: &crate::Reply) -> String {
    reply
        .headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned()
}

/// F8, F12: in cookie mode no response body ever carries the refresh token (a script in the
/// page could read it); a client that does not choose keeps it in the body; logging out with
/// the cookie needs the CSRF header, and without any credentials clears nothing.
#[tokio::test]
async fn cookie_mode_sessions_never_put_the_refresh_token_in_a_body() {
    let app = TestApp::spawn().await;
    app.user("m@example.com").await;
    let credentials = json!({ "email": "m@example.com", "password": "correct horse battery", "session": "cookie" });
    let login = app.post("/api/auth/login", None, credentials).await;
    assert_eq!(login.status, 200, "{}", login.json);
    assert!(login.json.get("refresh_token").is_none(), "{}", login.json);
    assert!(login.json["access_token"].is_string());
    let pair = cookie_pair(&login);
    assert!(pair.len() > "folio_refresh=".len(), "{pair}");
    let url = format!("{}/api/auth/refresh", app.url);
    let refreshed =
        app.send(app.http.post(&url).header("cookie", &pair).header("x-folio-csrf", "1")).await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.json);
    assert!(refreshed.json.get("refresh_token").is_none(), "{}", refreshed.json);
    let rotated = cookie_pair(&refreshed);
    assert_ne!(rotated, pair, "the cookie rotates");

    // The README's flow is unchanged: no choice, the token is in the body.
    let body_mode = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "m@example.com", "password": "correct horse battery" }),
        )
        .await;
    assert!(body_mode.json["refresh_token"].is_string(), "{}", body_mode.json);
    let unknown_mode = app
        .post("/api/auth/login", None, json!({ "email": "m@example.com", "password": "correct horse battery", "session": "local-storage" }))
        .await;
    assert_eq!(unknown_mode.status, 400);

    let logout = format!("{}/api/auth/logout", app.url);
    let bare = app.send(app.http.post(&logout)).await;
    assert_eq!(bare.status, 401);
    assert!(bare.headers.get("set-cookie").is_none(), "no credentials, nothing cleared");
    let no_csrf = app.send(app.http.post(&logout).header("cookie", &rotated)).await;
    assert_eq!(no_csrf.status, 403);
    let still =
        app.send(app.http.post(&url).header("cookie", &rotated).header("x-folio-csrf", "1")).await;
    assert_eq!(still.status, 200, "a forged logout ended nothing");
    let next = cookie_pair(&still);
    let out =
        app.send(app.http.post(&logout).header("cookie", &next).header("x-folio-csrf", "1")).await;
    assert_eq!(out.status, 204);
    let after =
        app.send(app.http.post(&url).header("cookie", &next).header("x-folio-csrf", "1")).await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn sign_out_and_password_change_end_sessions() {
    let app = TestApp::spawn().await;
    let session = app.user("p@example.com").await;
    let refresh_token = session["refresh_token"].as_str().unwrap_or_default().to_owned();
    let other = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "p@example.com", "password": "correct horse battery" }),
        )
        .await;
    let other_refresh = other.json["refresh_token"].as_str().unwrap_or_default().to_owned();

    assert_eq!(
        app.post("/api/auth/logout", None, json!({ "refresh_token": refresh_token })).await.status,
        204
    );
    assert_eq!(
        app.post("/api/auth/refresh", None, json!({ "refresh_token": refresh_token })).await.status,
        401
    );
    assert_eq!(
        app.post("/api/auth/refresh", None, json!({ "refresh_token": other_refresh })).await.status,
        200,
        "other sessions live on"
    );

    let t = token(&other.json);
    let wrong = app
        .post(
            "/api/auth/password",
            Some(&t),
            json!({ "current_password": "nope nope", "new_password": "a new password" }),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let changed = app.post("/api/auth/password", Some(&t), json!({ "current_password": "correct horse battery", "new_password": "a new password" })).await;
    assert_eq!(changed.status, 204);
    assert_eq!(
        app.post("/api/auth/refresh", None, json!({ "refresh_token": other_refresh })).await.status,
        401
    );
    let relogin = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "p@example.com", "password": "a new password" }),
        )
        .await;
    assert_eq!(relogin.status, 200);
}

#[tokio::test]
async fn registrations_are_rate_limited_per_client_address() {
    let app = TestApp::spawn().await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let body = json!({ "email": format!("spam{i}@example.com"), "password": "long enough" });
        statuses.push(app.post("/api/auth/register", None, body).await.status);
    }
    assert_eq!(&statuses[..10], &[201; 10]);
    assert_eq!(statuses[10], 429, "{statuses:?}");
}
