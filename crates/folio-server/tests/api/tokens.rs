//! Hostile and broken access tokens are refused; another OIDC issuer's tokens are accepted
//! through its JWKS.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use folio_auth::{IssuerConfig, IssuerKeys, SigningKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::{ISSUER, SEED, TestApp, token};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn claims(sub: &str) -> Value {
    json!({ "iss": ISSUER, "sub": sub, "aud": "folio", "iat": now(), "nbf": now(), "exp": now() + 600 })
}

/// A token signed with the server's real key (as if it had leaked), with any claims.
fn signed(claims: &Value) -> String {
    let key = SigningKey::from_seed(&SEED).unwrap_or_else(|e| panic!("{e}"));
    key.sign(claims).unwrap_or_else(|e| panic!("{e}"))
}

fn unsigned(header: &Value, claims: &Value) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap_or_default());
    format!("{}.{}.", part(header), part(claims))
}

#[tokio::test]
async fn broken_and_hostile_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let session = app.user("tok@example.com").await;
    let good = token(&session);
    assert_eq!(app.get("/api/documents", Some(&good)).await.status, 200);
    let key = SigningKey::from_seed(&SEED).unwrap_or_else(|e| panic!("{e}"));
    let kid = key.kid().to_owned();
    let sub = session["identity_id"].as_str().unwrap_or_default();
    let jwk = app.get("/.well-known/jwks.json", None).await.json;
    let public_x = URL_SAFE_NO_PAD
        .decode(jwk["keys"][0]["x"].as_str().unwrap_or_default())
        .unwrap_or_default();

    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some(kid.clone());
    let confused = jsonwebtoken::encode(&hs256, &claims(sub), &EncodingKey::from_secret(&public_x))
        .unwrap_or_default();
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default())
            .unwrap_or_default();
    payload["sub"] = json!("someone-else");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap_or_default()),
        parts[2]
    );
    let with_header = |extra: Value| {
        let mut header = json!({ "alg": "EdDSA", "typ": "JWT", "kid": kid });
        if let (Some(h), Some(e)) = (header.as_object_mut(), extra.as_object()) {
            h.extend(e.clone());
        }
        let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
        format!("{head}.{}.{}", parts[1], parts[2])
    };
    let mut wrong_iss = claims(sub);
    wrong_iss["iss"] = json!("https://evil.example");
    let mut wrong_aud = claims(sub);
    wrong_aud["aud"] = json!("another-app");
    let mut expired = claims(sub);
    expired["exp"] = json!(now() - 3600);
    let mut future = claims(sub);
    future["nbf"] = json!(now() + 3600);
    let mut no_exp = claims(sub);
    no_exp.as_object_mut().map(|o| o.remove("exp"));

    let cases = [
        ("alg none", unsigned(&json!({ "alg": "none", "typ": "JWT", "kid": kid }), &claims(sub))),
        ("HS256 with the public key", confused),
        ("tampered payload", tampered),
        ("jku header", with_header(json!({ "jku": "https://evil.example/jwks.json" }))),
        ("x5u header", with_header(json!({ "x5u": "https://evil.example/cert.pem" }))),
        ("embedded jwk", with_header(json!({ "jwk": { "kty": "oct", "k": "AAAA" } }))),
        ("unknown kid", with_header(json!({ "kid": "no-such-key" }))),
        ("path-like kid", with_header(json!({ "kid": "../../../etc/passwd" }))),
        ("wrong iss", signed(&wrong_iss)),
        ("wrong aud", signed(&wrong_aud)),
        ("expired", signed(&expired)),
        ("not yet valid", signed(&future)),
        ("no exp", signed(&no_exp)),
        ("garbage", "not.a.token".to_owned()),
        ("empty", String::new()),
    ];
    for (name, bad) in cases {
        let reply = app.get("/api/documents", Some(&bad)).await;
        assert_eq!((reply.status, reply.code()), (401, "unauthorized"), "{name}: {}", reply.json);
    }
    let basic = app
        .send(
            app.http
                .get(format!("{}/api/documents", app.url))
                .header("authorization", "Basic YTpi"),
        )
        .await;
    assert_eq!(basic.status, 401);

    // The server's own tokens expire with its clock.
    app.clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(app.get("/api/documents", Some(&good)).await.code(), "unauthorized");
}

/// A JWKS endpoint on port 0 serving one ES256 key, like a Cognito user pool.
async fn cognito_like() -> (String, aws_lc_rs::signature::EcdsaKeyPair, Vec<u8>) {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .unwrap_or_else(|e| panic!("{e}"));
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .unwrap_or_else(|e| panic!("{e}"));
    let point = pair.public_key().as_ref().to_vec();
    let jwks = json!({ "keys": [{
        "kty": "EC", "crv": "P-256", "kid": "cognito-key-1", "alg": "ES256", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    }] });
    let router = axum::Router::new().route(
        "/pool/.well-known/jwks.json",
        axum::routing::get(move || async move { axum::Json(jwks) }),
    );
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, pair, pkcs8.as_ref().to_vec())
}

#[tokio::test]
async fn an_oidc_issuer_is_trusted_through_its_jwks() {
    let (jwks_base, _pair, pkcs8) = cognito_like().await;
    let issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_test";
    let app = TestApp::spawn_with(vec![IssuerConfig {
        issuer: issuer.to_owned(),
        jwks_url: format!("{jwks_base}/pool/.well-known/jwks.json"),
        audience: None,
        client_id: Some("client-123".to_owned()),
        token_use: Some("access".to_owned()),
    }])
    .await;
    let sign = |claims: Value, kid: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&pkcs8))
            .unwrap_or_default()
    };
    let base = json!({ "iss": issuer, "sub": "cognito-user", "client_id": "client-123", "token_use": "access", "exp": now() + 600, "iat": now() });
    let good = sign(base.clone(), "cognito-key-1");
    assert_eq!(app.get("/api/documents", Some(&good)).await.status, 200);

    let mut other_client = base.clone();
    other_client["client_id"] = json!("someone-else");
    let mut id_token = base.clone();
    id_token["token_use"] = json!("id");
    for (name, bad) in [
        ("wrong client", sign(other_client, "cognito-key-1")),
        ("id token", sign(id_token, "cognito-key-1")),
        ("unknown kid", sign(base.clone(), "rotated-away")),
    ] {
        assert_eq!(app.get("/api/documents", Some(&bad)).await.status, 401, "{name}");
    }
    // The same subject at another issuer is another identity: documents stay apart.
    let created =
        app.post("/api/documents", Some(&good), json!({ "markdown": "# From Cognito" })).await;
    assert_eq!(created.status, 201, "{}", created.json);
    app.library(&good, 1).await;
}

#[tokio::test]
async fn an_issuer_without_an_audience_or_client_id_is_refused() {
    let builtin = crate::builtin_issuer();
    let jwks = folio_auth::Jwks { keys: vec![] };
    let unchecked = IssuerConfig {
        issuer: "https://idp.example".to_owned(),
        jwks_url: "http://127.0.0.1:9/jwks".to_owned(),
        audience: None,
        client_id: None,
        token_use: Some("access".to_owned()),
    };
    let clock = std::sync::Arc::new(folio_core::testing::ManualClock::at(0));
    let refused = folio_auth::Verifier::new(
        folio_auth::TrustedIssuer {
            config: builtin.clone(),
            keys: IssuerKeys::Fixed(jwks.clone()),
        },
        vec![unchecked.clone()],
        clock.clone(),
    );
    assert!(refused.is_err_and(|e| e.to_string().contains("needs an audience or a client id")));
    let with_client = IssuerConfig { client_id: Some("app".to_owned()), ..unchecked };
    let builtin = folio_auth::TrustedIssuer { config: builtin, keys: IssuerKeys::Fixed(jwks) };
    assert!(folio_auth::Verifier::new(builtin, vec![with_client], clock).is_ok());
}

/// While one JWKS fetch hangs (an unknown `kid`), tokens with a known key verify at once:
/// the fetch holds no lock the verification of known keys needs.
#[tokio::test]
async fn a_hanging_jwks_fetch_does_not_delay_known_keys() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (jwks_base, _pair, pkcs8) = cognito_like().await;
    // A second JWKS endpoint: the first fetch answers with the real keys, every later one hangs.
    let keys: Value = reqwest::get(format!("{jwks_base}/pool/.well-known/jwks.json"))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let fetches = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    let router = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let keys = keys.clone();
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if n > 0 {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                axum::Json(keys)
            }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}/jwks", listener.local_addr().unwrap_or_else(|e| panic!("{e}")));
    tokio::spawn(async move { axum::serve(listener, router).await });

    let issuer = "https://idp.example/pool";
    let builtin = crate::builtin_issuer();
    let other = IssuerConfig {
        issuer: issuer.to_owned(),
        jwks_url: url,
        audience: None,
        client_id: Some("client-123".to_owned()),
        token_use: None,
    };
    let clock = std::sync::Arc::new(folio_core::testing::ManualClock::at(now() * 1000));
    let verifier = std::sync::Arc::new(
        folio_auth::Verifier::new(
            folio_auth::TrustedIssuer {
                config: builtin,
                keys: IssuerKeys::Fixed(folio_auth::Jwks { keys: vec![] }),
            },
            vec![other],
            clock.clone(),
        )
        .unwrap_or_else(|e| panic!("{e}")),
    );
    let sign = |kid: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.to_owned());
        let claims =
            json!({ "iss": issuer, "sub": "u", "client_id": "client-123", "exp": now() + 600 });
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&pkcs8))
            .unwrap_or_default()
    };
    let known = sign("cognito-key-1");
    assert!(verifier.verify(&known).await.is_ok(), "the first fetch brings the key");
    // Past the refetch interval, an unknown kid starts a fetch that hangs.
    clock.advance(Duration::from_secs(120));
    let hanging = tokio::spawn({
        let verifier = verifier.clone();
        let unknown = sign("rotated-in");
        async move { verifier.verify(&unknown).await }
    });
    while fetches.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_once = tokio::time::timeout(Duration::from_secs(2), verifier.verify(&known)).await;
    assert!(at_once.is_ok_and(|r| r.is_ok()), "a known key waited for the hanging fetch");
    hanging.abort();
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid).unwrap_or_default()
}

/// Key rotation (what `folio keys rotate` does, on the server's own SQLite ring): a token
/// signed before still verifies, sign-ins get the new key, both keys are published; once the
/// overlap has passed the old key leaves the JWKS and a token it signed is refused, even one
/// that has not expired.
#[tokio::test]
async fn a_rotated_key_verifies_until_its_overlap_has_passed() {
    let app = TestApp::spawn().await;
    let session = app.user("rotate@example.com").await;
    let before = token(&session);
    let old_kid = kid_of(&before);
    let sub = session["identity_id"].as_str().unwrap_or_default().to_owned();
    let mut long_lived = claims(&sub);
    long_lived["exp"] = json!(now() + 10 * 24 * 3600);
    let old_and_unexpired = signed(&long_lived);
    assert_eq!(kid_of(&old_and_unexpired), old_kid, "the test signs with the ring's first key");

    let new_kid = app.pool.keys().rotate().await.unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(new_kid, old_kid);
    assert_eq!(app.get("/api/documents", Some(&before)).await.status, 200, "signed before");
    let again = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "rotate@example.com", "password": crate::PASSWORD }),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(kid_of(&token(&again.json)), new_kid, "new sessions are signed with the new key");
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .map(|keys| keys.iter().filter_map(|k| k["kid"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let published = kids(&app.get("/.well-known/jwks.json", None).await.json);
    assert!(published.contains(&old_kid) && published.contains(&new_kid), "{published:?}");

    app.clock.advance(Duration::from_millis(crate::KEY_OVERLAP_MS as u64 - 60_000));
    assert_eq!(app.get("/api/documents", Some(&old_and_unexpired)).await.status, 200);
    app.clock.advance(Duration::from_secs(120));
    let published = kids(&app.get("/.well-known/jwks.json", None).await.json);
    assert_eq!(published, vec![new_kid.clone()], "the old key left the JWKS");
    let refused = app.get("/api/documents", Some(&old_and_unexpired)).await;
    assert_eq!((refused.status, refused.code()), (401, "unauthorized"), "{}", refused.json);
    let fresh = app
        .post(
            "/api/auth/login",
            None,
            json!({ "email": "rotate@example.com", "password": crate::PASSWORD }),
        )
        .await;
    assert_eq!(app.get("/api/documents", Some(&token(&fresh.json))).await.status, 200);
}
