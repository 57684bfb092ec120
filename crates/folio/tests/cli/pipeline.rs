//! The pipeline through the binary: `docs import`, `docs list`, `reindex`, `events`, and real
//! crashes (the process aborted at a named failpoint) followed by recovery.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use crate::{stderr, temp};

fn folio_env(args: &[&str], dir: &Path, failpoint: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_folio"));
    command.args(args).current_dir(dir).env_remove("FOLIO_FAILPOINT").env_remove("FOLIO_DATA_DIR");
    if let Some(point) = failpoint {
        command.env("FOLIO_FAILPOINT", point);
    }
    command.output().unwrap_or_else(|e| panic!("cannot run folio: {e}"))
}

fn run(args: &[&str], dir: &Path) -> String {
    let out = folio_env(args, dir, None);
    assert!(out.status.success(), "folio {args:?} failed: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn titles(dir: &Path, subject: &str) -> Vec<String> {
    let json = run(&["docs", "list", "--data-dir", "data", "--subject", subject, "--json"], dir);
    let items: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    items
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["title"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Every file under the data directory's objects (relative paths).
fn objects(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let Ok(rel) = path.strip_prefix(root) {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let root = dir.join("data/objects");
    let mut out = Vec::new();
    walk(&root, &root, &mut out);
    out.sort();
    out
}

#[test]
fn import_list_and_isolation() {
    let dir = temp();
    fs::write(dir.path().join("a.md"), "# Alpha\n\nFirst.").unwrap_or_default();
    fs::write(dir.path().join("b.md"), "---\ntitle: Beta\n---\nSecond.").unwrap_or_default();
    let out = run(
        &["docs", "import", "--data-dir", "data", "--subject", "alice", "a.md", "b.md"],
        dir.path(),
    );
    assert_eq!(out.lines().count(), 2, "one id per file: {out}");
    assert_eq!(titles(dir.path(), "alice"), ["Beta", "Alpha"], "newest first");
    assert!(titles(dir.path(), "bob").is_empty(), "another identity sees nothing");
    // Three objects per document, under the owner's prefix.
    let files = objects(dir.path());
    assert_eq!(files.len(), 6, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with("ugc/")));

    // One bad file fails alone, with exit 1.
    fs::write(dir.path().join("empty.md"), "  \n").unwrap_or_default();
    let out = folio_env(
        &["docs", "import", "--data-dir", "data", "--subject", "alice", "empty.md", "a.md"],
        dir.path(),
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));
    assert_eq!(titles(dir.path(), "alice").len(), 3);

    let out = folio_env(&["docs", "list", "--data-dir", "data"], dir.path(), None);
    assert_eq!(out.status.code(), Some(2), "no identity is a usage error");
}

/// Kills `docs import` at `failpoint`, restarts with `reindex`, and checks the library.
fn crash_and_recover(failpoint: &str, survives: bool) {
    let dir = temp();
    fs::write(dir.path().join("doc.md"), "# Crashed\n\nText.").unwrap_or_default();
    let out = folio_env(
        &["docs", "import", "--data-dir", "data", "--subject", "c", "doc.md"],
        dir.path(),
        Some(failpoint),
    );
    assert!(!out.status.success(), "{failpoint}: the process should have died");
    assert!(stderr(&out).contains(&format!("failpoint {failpoint}")), "{}", stderr(&out));

    run(&["reindex", "--data-dir", "data", "--orphan-grace-secs", "0"], dir.path());
    let expected: &[&str] = if survives { &["Crashed"] } else { &[] };
    assert_eq!(titles(dir.path(), "c"), expected, "{failpoint}");
    let files = objects(dir.path());
    let wanted = if survives { 3 } else { 0 };
    assert_eq!(files.len(), wanted, "{failpoint}: no partial documents remain: {files:?}");
    // And the next import works.
    run(&["docs", "import", "--data-dir", "data", "--subject", "c", "doc.md"], dir.path());
    assert_eq!(titles(dir.path(), "c").len(), usize::from(survives) + 1);
}

#[test]
fn a_crash_after_the_source_leaves_nothing_after_reconciliation() {
    crash_and_recover("create.after-source", false);
}

#[test]
fn a_crash_after_the_manifest_leaves_nothing_after_reconciliation() {
    crash_and_recover("create.after-manifest", false);
}

#[test]
fn a_crash_after_the_pdf_before_its_event_keeps_the_document() {
    crash_and_recover("publish.before-event", true);
}

#[test]
fn a_crash_after_the_event_before_indexing_keeps_the_document() {
    crash_and_recover("create.after-pdf", true);
}

#[test]
fn poison_events_are_parked_and_replayed() {
    let dir = temp();
    fs::write(dir.path().join("ok.md"), "# Fine").unwrap_or_default();
    let out = run(&["docs", "import", "--data-dir", "data", "--subject", "p", "ok.md"], dir.path());
    let id = out.split('\t').next().unwrap_or_default().to_owned();
    let files = objects(dir.path());
    let manifest = files.iter().find(|f| f.ends_with(".json")).cloned().unwrap_or_default();
    // Corrupt the manifest; take the PDF away and reconcile (the record goes), then bring it
    // back and reconcile again: the created event cannot be indexed and is parked.
    fs::write(dir.path().join("data/objects").join(&manifest), "{broken").unwrap_or_default();
    let pdf = files.iter().find(|f| f.ends_with(".pdf")).cloned().unwrap_or_default();
    let pdf_path = dir.path().join("data/objects").join(&pdf);
    let saved = fs::read(&pdf_path).unwrap_or_default();
    fs::remove_file(&pdf_path).unwrap_or_default();
    run(&["reindex", "--data-dir", "data"], dir.path());
    assert!(titles(dir.path(), "p").is_empty());
    fs::write(&pdf_path, saved).unwrap_or_default();
    run(&["reindex", "--data-dir", "data"], dir.path());
    let dead = run(&["events", "dead", "--data-dir", "data", "--json"], dir.path());
    assert!(dead.contains(&id) && dead.contains("manifest"), "{dead}");

    // Still broken: the replay fails again (exit 1). Then the PDF is removed: the replayed
    // event now records the removal and the dead-letter list is empty.
    fs::write(dir.path().join("data/objects").join(&manifest), "{}").unwrap_or_default();
    let out = folio_env(&["events", "retry", "--data-dir", "data"], dir.path(), None);
    assert_eq!(out.status.code(), Some(1), "still broken: {}", stderr(&out));
    fs::remove_file(&pdf_path).unwrap_or_default();
    run(&["events", "retry", "--data-dir", "data"], dir.path());
    assert!(run(&["events", "dead", "--data-dir", "data", "--json"], dir.path()).trim() == "[]");
}

/// `docs import` takes the images a document references from beside it into the owner's
/// library (named by their file names) and the document keeps its own copy.
#[test]
fn import_takes_the_images_beside_a_document_into_the_library() {
    let dir = temp();
    fs::create_dir_all(dir.path().join("figures")).unwrap_or_default();
    // A 2 × 2 PNG header and pixels, as the intake reads them.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x02\0\0\0\x02\x08\x02\0\0\0\0\0\0\0";
    fs::write(dir.path().join("figures/my plot.png"), png).unwrap_or_default();
    fs::write(dir.path().join("notes.md"), "# Notes\n\n![Plot](figures/my%20plot.png)\n")
        .unwrap_or_default();
    let out = folio_env(
        &["docs", "import", "--data-dir", "data", "--subject", "ada", "notes.md"],
        dir.path(),
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("image \"my plot.png\" is in the library"), "{}", stderr(&out));
    let files = objects(dir.path());
    let images = files.iter().filter(|f| f.contains("/images/")).count();
    let entries = files.iter().filter(|f| f.contains("/library/")).count();
    assert_eq!((images, entries), (1, 1), "one copy of the bytes, one name: {files:?}");
    let manifest = files.iter().find(|f| f.ends_with(".json") && !f.contains("/library/"));
    let manifest =
        fs::read_to_string(dir.path().join("data/objects").join(manifest.map_or("", |m| m)))
            .unwrap_or_default();
    assert!(manifest.contains("\"figures/my%20plot.png\""), "the document keeps it: {manifest}");
}
