//! `/api/openapi.json`: a well-formed OpenAPI 3 document whose every operation exists.

use serde_json::{Value, json};

use crate::{TestApp, token};

/// Every `$ref` in `value` (recursively).
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    if let Some(r) = v.as_str() {
                        out.push(r.to_owned());
                    }
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_valid_and_every_operation_answers() {
    let app = TestApp::spawn().await;
    let reply = app.get("/api/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json;
    // The structure OpenAPI 3 requires.
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() >= 14, "{:?}", paths.keys().collect::<Vec<_>>());
    assert!(doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer");
    // Every reference resolves.
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        let pointer = r.strip_prefix('#').unwrap_or_else(|| panic!("external ref {r}"));
        assert!(doc.pointer(pointer).is_some(), "unresolved {r}");
    }

    // Every documented operation exists: never 404 (no route) or 405 (no method).
    let t = token(&app.user("spec@example.com").await);
    let some_id = "01a21100-bafe-77c1-8d20-7f74fb41f1d5";
    let mut operations = 0;
    for (path, item) in &paths {
        let url = format!(
            "{}{}",
            app.url,
            path.replace("{id}", some_id)
                .replace("{name}", "x.png")
                .replace("{sha256}", &"0".repeat(64))
        );
        for method in ["get", "post", "put", "delete", "patch"] {
            let Some(operation) = item.get(method) else { continue };
            assert!(
                operation["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents its responses"
            );
            operations += 1;
            let request = match method {
                "get" => app.http.get(&url),
                "delete" => app.http.delete(&url),
                "post" => app.http.post(&url).json(&json!({})),
                "put" => app.http.put(&url).body(Vec::new()),
                other => panic!("unexpected method {other}"),
            };
            let reply = app.send(request.bearer_auth(&t)).await;
            let body = &reply.json;
            let unknown_route = reply.status == 404 && body["error"]["message"] == "no such route";
            assert!(
                !unknown_route && reply.status != 405,
                "{method} {path} answered {}: {body}",
                reply.status
            );
        }
    }
    assert!(operations >= 15, "{operations} operations");
}

/// What the JSON-body extractor and the token check refuse is listed on every operation they
/// guard, because they guard it: 400, 413 and 415 wherever a JSON body is read, 401 wherever a
/// token is required — each with the error body.
#[tokio::test]
async fn every_operation_lists_the_refusals_of_its_extractors() {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json", None).await.json;
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut checked = 0;
    for (path, item) in &paths {
        for (method, operation) in item.as_object().into_iter().flatten() {
            let responses = &operation["responses"];
            let lists = |status: &str| {
                responses[status]["content"]["application/json"]["schema"]["$ref"]
                    == "#/components/schemas/ErrorBody"
            };
            if operation["requestBody"]["content"].get("application/json").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(lists(status), "{method} {path} lists {status}: {responses}");
                }
                checked += 1;
            }
            if operation["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(lists("401"), "{method} {path} lists 401: {responses}");
            }
        }
    }
    assert!(checked >= 7, "{checked} operations with a JSON body");
}
