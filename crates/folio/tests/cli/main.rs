//! End-to-end tests of the `folio` binary: arguments, files, exit codes and messages.

#[cfg(feature = "cluster")]
mod cluster;
#[cfg(feature = "aws")]
mod cognito;
#[cfg(feature = "aws")]
mod lambda;
mod pipeline;
mod server;
mod workers;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn folio(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run folio: {e}"))
}

fn folio_stdin(args: &[&str], dir: &Path, input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_folio"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run folio: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input).unwrap_or_else(|e| panic!("{e}"));
    }
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh temporary directory.
pub fn temp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"))
}

/// A command's standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The address in variable `name`, which `.ci/run` sets for the suites that need servers;
/// without it the test fails (never skips), naming what it needs.
#[cfg(any(feature = "aws", feature = "cluster"))]
fn required(name: &str, needs: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: this test needs {needs} (see .ci/run)"))
}

/// A JWT's header (`part` 0) or claims (`part` 1), read without verifying: what a test looks at
/// in a token a server or a provider made.
#[cfg(any(feature = "aws", feature = "cluster"))]
fn jwt_part(token: &str, part: usize) -> serde_json::Value {
    use base64::Engine as _;
    let encoded = token.split('.').nth(part).unwrap_or_default();
    let bytes =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null)
}

fn text_of(pdf: &[u8]) -> String {
    assert!(pdf.starts_with(b"%PDF-"), "not a PDF");
    pdf_extract::extract_text_from_mem(pdf).unwrap_or_else(|e| panic!("{e}"))
}

/// A small valid PNG.
const PNG: &[u8] = include_bytes!("../../../folio-render/tests/fixtures/dot.png");

#[test]
fn renders_a_file_next_to_itself_by_default() {
    let dir = temp();
    fs::write(dir.path().join("notes.md"), "# Notes\n\nHello from the command line.\n")
        .unwrap_or_default();
    let out = folio(&["render", "notes.md"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let pdf = fs::read(dir.path().join("notes.pdf")).unwrap_or_default();
    assert!(text_of(&pdf).contains("Hello from the command line."));
}

#[test]
fn reads_stdin_and_writes_stdout() {
    let dir = temp();
    let out = folio_stdin(&["render", "-"], dir.path(), b"# Piped\n\nThrough a pipe.");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text_of(&out.stdout).contains("Through a pipe."));
    let out = folio_stdin(
        &["render", "-", "-o", "piped.pdf", "--paper", "us-letter", "--toc"],
        dir.path(),
        b"# A\n\ntext",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text_of(&fs::read(dir.path().join("piped.pdf")).unwrap_or_default()).contains("Contents")
    );
}

#[test]
fn warnings_name_file_and_line_on_stderr() {
    let dir = temp();
    fs::write(dir.path().join("w.md"), "ok\n\n[x](javascript:alert(1))\n").unwrap_or_default();
    let out = folio(&["render", "w.md", "-o", "w.pdf"], dir.path());
    assert!(out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("warning: w.md:3: "), "{err}");
}

#[test]
fn images_beside_the_file_are_embedded_and_escapes_are_refused() {
    let root = temp();
    let docs = root.path().join("docs");
    fs::create_dir_all(docs.join("img")).unwrap_or_default();
    fs::write(docs.join("img/dot.png"), PNG).unwrap_or_default();
    fs::write(root.path().join("secret.png"), PNG).unwrap_or_default();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.path().join("secret.png"), docs.join("link.png"))
        .unwrap_or_default();
    fs::write(
        docs.join("doc.md"),
        "![inside](img/dot.png)\n\n![climb](../secret.png)\n\n![abs](/etc/passwd)\n\n![link](link.png)\n\n![enc](%2e%2e/secret.png)\n",
    )
    .unwrap_or_default();
    let out = folio(&["render", "docs/doc.md", "-o", "doc.pdf"], root.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let pdf = fs::read(root.path().join("doc.pdf")).unwrap_or_default();
    let images = lopdf_image_count(&pdf);
    assert_eq!(images, 1, "only the image inside the folder is embedded\n{}", stderr(&out));
    let text = text_of(&pdf);
    for placeholder in ["climb", "abs", "link", "enc"] {
        assert!(text.contains(placeholder), "{placeholder}: {text}");
    }
}

fn lopdf_image_count(pdf: &[u8]) -> usize {
    // Each embedded raster image is an XObject with /Subtype /Image.
    let doc = lopdf::Document::load_mem(pdf).unwrap_or_else(|e| panic!("{e}"));
    doc.objects
        .values()
        .filter(|o| {
            o.as_stream()
                .ok()
                .and_then(|s| s.dict.get(b"Subtype").ok())
                .and_then(|v| v.as_name().ok())
                == Some(b"Image".as_slice())
        })
        .count()
}

#[test]
fn failures_say_what_and_exit_one() {
    let dir = temp();
    let out = folio(&["render", "missing.md"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("error: cannot read missing.md: no such file or directory"), "{err}");
    assert!(err.contains("hint: "), "{err}");

    fs::write(dir.path().join("bad.md"), b"ok\n\xff\xfe").unwrap_or_default();
    let out = folio(&["render", "bad.md"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("not valid UTF-8"), "{}", stderr(&out));
    assert!(!dir.path().join("bad.pdf").exists());

    fs::write(dir.path().join("deep.md"), ">".repeat(100_000)).unwrap_or_default();
    let out = folio(&["render", "deep.md"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nests"), "{}", stderr(&out));

    fs::write(dir.path().join("big.md"), "a".repeat(600 * 1024)).unwrap_or_default();
    let out = folio(&["render", "big.md"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("the limit is 524288 bytes"), "{}", stderr(&out));

    fs::write(dir.path().join("empty.md"), "\n\n").unwrap_or_default();
    let out = folio(&["render", "empty.md"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("empty"), "{}", stderr(&out));

    let out = folio(&["render", "empty.md", "-o", "no/such/dir/x.pdf"], dir.path());
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn usage_errors_exit_two() {
    let dir = temp();
    for args in [
        &["render"][..],
        &["render", "a.md", "--paper", "a0"],
        &["frobnicate"],
        &["render", "a.md", "--bogus"],
    ] {
        let out = folio(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error:"), "{args:?}");
    }
}

#[test]
fn the_showcase_renders() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let out_dir = temp();
    let out_path = out_dir.path().join("showcase.pdf");
    let out_arg = out_path.to_string_lossy().into_owned();
    let out = folio(&["render", "showcase.md", "-o", &out_arg], &examples);
    assert!(out.status.success(), "{}", stderr(&out));
    let pdf = fs::read(&out_path).unwrap_or_default();
    assert_eq!(lopdf_image_count(&pdf), 1, "the banner beside the showcase is embedded");
    let text = text_of(&pdf);
    for words in ["The folio showcase", "Mathematics", "Ctrl", "scripts are dropped"] {
        let present = text.contains(words);
        assert_eq!(present, words != "scripts are dropped", "{words:?} in {text}");
    }
}

#[test]
fn a_folder_renders_in_parallel_and_one_broken_file_does_not_stop_the_rest() {
    let dir = temp();
    let docs = dir.path().join("docs");
    fs::create_dir_all(docs.join("chapter")).unwrap_or_default();
    fs::create_dir_all(docs.join(".hidden")).unwrap_or_default();
    for (name, body) in [
        ("a.md", "# A\n\nFirst document.\n"),
        ("b.markdown", "# B\n\nSecond document, ünïcödé.\n"),
        ("chapter/c.md", "# C\n\nIn a subfolder.\n"),
        ("chapter/empty.md", "   \n"),
        (".hidden/skip.md", "# Not rendered\n"),
        ("notes.txt", "not markdown"),
    ] {
        fs::write(docs.join(name), body).unwrap_or_default();
    }
    fs::write(docs.join("broken.md"), b"\xff\xfe not UTF-8").unwrap_or_default();

    let out = folio(&["render", "docs", "--out-dir", "out", "--jobs", "2"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for (pdf, text) in
        [("out/a.pdf", "First"), ("out/b.pdf", "Second"), ("out/chapter/c.pdf", "subfolder")]
    {
        let bytes = fs::read(dir.path().join(pdf)).unwrap_or_default();
        assert!(text_of(&bytes).contains(text), "{pdf}");
    }
    assert!(!dir.path().join("out/broken.pdf").exists());
    assert!(!dir.path().join("out/.hidden").exists() && !dir.path().join("out/notes.pdf").exists());
    assert!(err.contains("broken.md") && err.contains("UTF-8"), "{err}");
    assert!(err.contains("empty.md"), "{err}");
    assert!(err.contains("rendered 3 of 5 documents"), "the summary: {err}");
    assert!(err.contains("2 failed"), "{err}");
}

#[test]
fn several_files_render_beside_themselves_or_into_out_dir() {
    let dir = temp();
    fs::write(dir.path().join("one.md"), "# One\n").unwrap_or_default();
    fs::write(dir.path().join("two.md"), "# Two\n").unwrap_or_default();
    let out = folio(&["render", "one.md", "two.md", "--theme", "report"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(dir.path().join("one.pdf").exists() && dir.path().join("two.pdf").exists());
    assert!(stderr(&out).contains("rendered 2 of 2 documents"));

    // Two inputs that would write the same PDF are refused before anything renders.
    fs::create_dir_all(dir.path().join("other")).unwrap_or_default();
    fs::write(dir.path().join("other/one.md"), "# Other one\n").unwrap_or_default();
    let out = folio(&["render", "one.md", "other/one.md", "--out-dir", "same"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("would both write"), "{}", stderr(&out));
    assert!(!dir.path().join("same").exists());
    // `-o` names one file; several inputs need --out-dir.
    let out = folio(&["render", "one.md", "two.md", "-o", "x.pdf"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--out-dir"), "{}", stderr(&out));
    // Standard input only renders on its own.
    let out = folio(&["render", "one.md", "-", "--out-dir", "out"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("standard input"), "{}", stderr(&out));
    // A folder without markdown says so.
    fs::create_dir_all(dir.path().join("empty")).unwrap_or_default();
    let out = folio(&["render", "empty", "--out-dir", "out"], dir.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no .md files"), "{}", stderr(&out));
}

#[test]
fn look_standards_and_fonts_are_chosen_on_the_command_line() {
    let dir = temp();
    fs::write(dir.path().join("doc.md"), "---\ndate: 2025-03-01\n---\n\n# Intro\n\nText.\n")
        .unwrap_or_default();
    let out = folio(
        &[
            "render",
            "doc.md",
            "--theme",
            "book",
            "--numbering",
            "--font-size",
            "12",
            "--margin",
            "2cm",
            "--pdf-standard",
            "a-3b",
            "--attach-source",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let pdf = fs::read(dir.path().join("doc.pdf")).unwrap_or_default();
    assert!(text_of(&pdf).contains("1 Intro"));
    let raw = String::from_utf8_lossy(&pdf);
    assert!(raw.contains("source.md"), "the source is attached");

    for (args, needle) in [
        (vec!["--pdf-standard", "a-9z"], "a-2b, a-3b or ua-1"),
        (vec!["--font-size", "99"], "6 to 24"),
        (vec!["--margin", "3 parsecs"], "5 to 60 mm"),
        (vec!["--font-dir", "no-such-dir"], "--font-dir"),
        (vec!["--pdf-standard", "a-2b", "--attach-source"], "A-3b"),
    ] {
        let mut all = vec!["render", "doc.md", "-o", "bad.pdf"];
        all.extend(args.iter());
        let out = folio(&all, dir.path());
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
        assert!(!dir.path().join("bad.pdf").exists());
    }
}

/// F2: a document that never ends or brings its renderer down fails alone; the batch goes on,
/// reports it, and exits 1.
#[test]
fn a_batch_document_that_hangs_or_crashes_fails_alone() {
    let dir = temp();
    let docs = dir.path().join("docs");
    fs::create_dir_all(&docs).unwrap_or_else(|e| panic!("{e}"));
    for (name, text) in [
        ("a.md", "# A\n\nfine"),
        ("hang.md", "<!-- folio-test: hang -->\nnever ends"),
        ("crash.md", "<!-- folio-test: crash -->\nbrings its renderer down"),
        ("z.md", "# Z\n\nfine too"),
    ] {
        fs::write(docs.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let started = std::time::Instant::now();
    let out =
        folio(&["render", "docs", "--out-dir", "out", "--jobs", "2", "--timeout", "2"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
    assert!(
        dir.path().join("out/a.pdf").is_file() && dir.path().join("out/z.pdf").is_file(),
        "{err}"
    );
    assert!(err.contains("hang.md: rendering took longer than 2 s"), "{err}");
    assert!(err.contains("crash.md: the renderer stopped on this document"), "{err}");
    assert!(err.contains("rendered 2 of 4 documents"), "{err}");
}

/// A single document past `--timeout` is stopped with a clear error (exit 1), not left running.
#[test]
fn a_single_render_past_its_deadline_is_stopped() {
    let dir = temp();
    // About 45,000 table cells: allowed, and far more than a second of layout.
    let table = format!("| a | b |\n|---|---|\n{}", "| cell | cell |\n".repeat(22_000));
    fs::write(dir.path().join("slow.md"), table).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let out = folio(&["render", "slow.md", "--timeout", "1"], dir.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("slow.md: rendering took longer than 1 s and was stopped"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(!dir.path().join("slow.pdf").exists());
}

/// F4: what folio writes is its owner's alone — the data directory, its database and objects,
/// and backups — and a directory an older folio left readable by others is tightened.
#[test]
fn the_data_directory_and_backups_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |path: &Path| fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    let dir = temp();
    fs::write(dir.path().join("notes.md"), "# Notes\n\nprivate").unwrap_or_else(|e| panic!("{e}"));
    let import = folio(
        &["docs", "import", "--data-dir", "data", "--subject", "ada", "notes.md"],
        dir.path(),
    );
    assert!(import.status.success(), "{}", stderr(&import));
    let data = dir.path().join("data");
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("folio.db")), 0o600);
    let mut files = vec![data.join("objects")];
    let mut checked = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            assert_eq!(mode(&path), 0o700, "{}", path.display());
            files.extend(fs::read_dir(&path).into_iter().flatten().flatten().map(|e| e.path()));
        } else {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 3, "the document's objects were checked");

    let backup = folio(&["backup", "copy", "--data-dir", "data"], dir.path());
    assert!(backup.status.success(), "{}", stderr(&backup));
    assert_eq!(mode(&dir.path().join("copy")), 0o700);
    assert_eq!(mode(&dir.path().join("copy/folio.db")), 0o600);

    // An older folio's directory (umask 022): tightened at start, with a warning.
    for (path, m) in [(data.clone(), 0o755), (data.join("folio.db"), 0o644)] {
        fs::set_permissions(&path, fs::Permissions::from_mode(m)).unwrap_or_else(|e| panic!("{e}"));
    }
    let list = folio(&["docs", "list", "--data-dir", "data", "--subject", "ada"], dir.path());
    assert!(list.status.success(), "{}", stderr(&list));
    assert!(stderr(&list).contains("other users could read"), "{}", stderr(&list));
    assert_eq!((mode(&data), mode(&data.join("folio.db"))), (0o700, 0o600));

    // Writable by others: refused with the fix, unless the operator says otherwise.
    fs::set_permissions(&data, fs::Permissions::from_mode(0o777)).unwrap_or_else(|e| panic!("{e}"));
    let refused = folio(&["docs", "list", "--data-dir", "data", "--subject", "ada"], dir.path());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("chmod -R go-rwx"), "{}", stderr(&refused));
    let allowed = folio(
        &["docs", "list", "--data-dir", "data", "--subject", "ada", "--allow-insecure-data-dir"],
        dir.path(),
    );
    assert!(allowed.status.success(), "{}", stderr(&allowed));
}
