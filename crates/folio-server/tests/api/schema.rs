//! The request schemas say exactly what the server accepts: each `pattern`, `minLength` and
//! `maxLength` in the served document is held against the function that checks the value, over
//! every short string of an alphabet chosen for the edges (white space of every kind, control
//! characters, the separators), so neither may drift from the other.

use regex::Regex;
use serde_json::Value;

use crate::{TestApp, token};

/// The served document.
async fn document() -> (TestApp, Value) {
    let app = TestApp::spawn().await;
    let doc = app.get("/api/openapi.json", None).await.json;
    (app, doc)
}

/// The schema of `property` of the component `schema`.
fn property<'a>(doc: &'a Value, schema: &str, property: &str) -> &'a Value {
    &doc["components"]["schemas"][schema]["properties"][property]
}

/// Whether `text` is valid for a string `schema` (its pattern and lengths, in characters).
fn valid(schema: &Value, text: &str) -> bool {
    let chars = text.chars().count() as u64;
    let pattern = schema["pattern"].as_str().map(|p| {
        Regex::new(p)
            .unwrap_or_else(|e| panic!("the pattern {p:?} is not a regular expression: {e}"))
    });
    pattern.is_none_or(|p| p.is_match(text))
        && schema["minLength"].as_u64().is_none_or(|min| chars >= min)
        && schema["maxLength"].as_u64().is_none_or(|max| chars <= max)
}

/// Every string of up to `length` characters from `alphabet`.
fn strings(alphabet: &[char], length: usize) -> Vec<String> {
    let mut all = vec![String::new()];
    let mut last = vec![String::new()];
    for _ in 0..length {
        last = last.iter().flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}"))).collect();
        all.extend(last.iter().cloned());
    }
    all
}

/// The edges of white space and control characters as Rust, Python and ECMAScript see them.
const SPACES_AND_CONTROLS: [char; 9] =
    [' ', '\t', '\n', '\u{1}', '\u{7f}', '\u{85}', '\u{a0}', '\u{3000}', '\u{feff}'];

fn check_against(schema: &Value, alphabet: &[char], length: usize, server: impl Fn(&str) -> bool) {
    assert!(schema.is_object(), "no schema");
    let mut checked = 0;
    for text in strings(alphabet, length) {
        assert_eq!(valid(schema, &text), server(&text), "{text:?} against {schema}");
        checked += 1;
    }
    assert!(checked > 1000, "{checked}");
}

#[tokio::test]
async fn the_markdown_and_title_schemas_are_the_rules_create_and_the_previews_apply() {
    let (_app, doc) = document().await;
    let mut alphabet = SPACES_AND_CONTROLS.to_vec();
    alphabet.extend(['a', '\u{2028}']);
    for schema in ["CreateRequest", "PreviewRequest"] {
        let markdown = property(&doc, schema, "markdown");
        check_against(markdown, &alphabet, 4, |text| {
            folio_core::functions::check_markdown(text).is_ok()
        });
        let title = property(&doc, schema, "title");
        check_against(title, &alphabet, 4, |text| folio_core::functions::check_title(text).is_ok());
        let longest = "t".repeat(folio_core::functions::MAX_TITLE_CHARS);
        for text in [longest.clone(), format!("{longest}t"), format!(" {longest}")] {
            let server = folio_core::functions::check_title(&text).is_ok();
            assert_eq!(valid(title, &text), server, "{schema}: {} characters", text.len());
        }
    }
}

#[tokio::test]
async fn the_register_schema_is_the_rule_the_pool_applies() {
    let (_app, doc) = document().await;
    let email = property(&doc, "Credentials", "email");
    let server = |text: &str| folio_auth::normalise_email(text).is_ok();
    check_against(
        email,
        &['a', '@', '.', ' ', '\u{1}', '\u{85}', '\u{3000}', '\u{feff}'],
        5,
        server,
    );
    // Every edge character at every place in an address.
    let mut alphabet = SPACES_AND_CONTROLS.to_vec();
    alphabet.extend(['É', '@', '.', '\u{2028}', '\u{a0}']);
    for address in ["a@b.c", "a@b..c", "a.@b.c"] {
        for at in 0..=address.len() {
            for c in &alphabet {
                let text = format!("{}{c}{}", &address[..at], &address[at..]);
                assert_eq!(valid(email, &text), server(&text), "{text:?}");
            }
        }
    }
    for length in [253, 254, 255] {
        let text = format!("{}@example.com", "a".repeat(length - 12));
        let server = folio_auth::normalise_email(&text).is_ok();
        assert_eq!(valid(email, &text), server, "{length} characters");
    }
    let password = property(&doc, "Credentials", "password");
    for length in [0, 7, 8, 256, 257] {
        let text = "p".repeat(length);
        let server = folio_auth::hash_password(&text).is_ok();
        assert_eq!(valid(password, &text), server, "a password of {length}");
    }
}

#[tokio::test]
async fn every_cursor_the_schema_allows_is_a_position_and_no_other_is() {
    let (app, doc) = document().await;
    let t = token(&app.user("cursor@example.com").await);
    let parameters = doc["paths"]["/api/documents"]["get"]["parameters"].as_array().cloned();
    let cursor = parameters
        .unwrap_or_default()
        .into_iter()
        .find(|p| p["name"] == "cursor")
        .map(|p| p["schema"].clone())
        .unwrap_or_default();
    let prefix = "AAAAAAAAAAAAAAAAAAAAA";
    let base64url = ('A'..='Z').chain('a'..='z').chain('0'..='9').chain(['-', '_']);
    let mut candidates: Vec<String> = base64url.map(|last| format!("{prefix}{last}")).collect();
    candidates.extend([
        prefix.to_owned(),
        format!("{prefix}AA"),
        format!("{prefix}="),
        String::new(),
    ]);
    for text in candidates {
        let query = format!("/api/documents?cursor={text}");
        let reply = app.get(&query, Some(&t)).await;
        assert_eq!(
            valid(&cursor, &text),
            reply.status == 200,
            "{text:?}: {} {}",
            reply.status,
            reply.json
        );
    }
}

/// Whether `value` satisfies `schema`, for the keywords the options' `not` uses.
fn satisfies(schema: &Value, value: &Value) -> bool {
    let object = schema.as_object().cloned().unwrap_or_default();
    object.iter().all(|(keyword, inner)| match keyword.as_str() {
        "not" => !satisfies(inner, value),
        "anyOf" => inner.as_array().is_some_and(|all| all.iter().any(|s| satisfies(s, value))),
        "allOf" => inner.as_array().is_some_and(|all| all.iter().all(|s| satisfies(s, value))),
        "const" => value == inner,
        "contains" => {
            value.as_array().is_some_and(|items| items.iter().any(|v| satisfies(inner, v)))
        }
        "required" => inner.as_array().is_some_and(|names| {
            names.iter().all(|n| n.as_str().is_some_and(|n| value.get(n).is_some()))
        }),
        "properties" => inner.as_object().is_some_and(|properties| {
            properties.iter().all(|(name, s)| value.get(name).is_none_or(|v| satisfies(s, v)))
        }),
        // The options' other keywords (types, enums, refs) are not what is tested here.
        _ => true,
    })
}

#[tokio::test]
async fn the_rules_between_options_are_the_ones_the_schema_states() {
    let (_app, doc) = document().await;
    let options = &doc["components"]["schemas"]["CreateOptions"];
    assert!(options["not"].is_object(), "{options}");
    let names = ["a-2b", "a-3b", "ua-1"];
    let mut checked = 0;
    for mask in 0..64u32 {
        // Every list of up to two mentions of each standard, with and without the source.
        let standards: Vec<&str> =
            (0..6).filter(|bit| mask & (1 << bit) != 0).map(|bit| names[bit % 3]).collect();
        for attach_source in [false, true] {
            let value =
                serde_json::json!({ "standards": standards, "attach_source": attach_source });
            let parsed: folio_core::options::CreateOptions =
                serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(satisfies(&json_not(options), &value), parsed.check().is_ok(), "{value}");
            checked += 1;
        }
    }
    assert_eq!(checked, 128);
}

/// The options' schema reduced to its `not` (the part under test).
fn json_not(options: &Value) -> Value {
    serde_json::json!({ "not": options["not"] })
}
