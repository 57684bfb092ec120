//! Replays the fuzz corpora and every crash the fuzzers found (`fuzz/corpus/<target>/`,
//! `fuzz/artifacts/<target>/`) through the targets' entry functions — the same code the fuzzer
//! ran — plus the repository's own documents, so the ordinary `cargo test` keeps every finding
//! fixed without fuzzing.

use std::path::Path;

use folio_render::fuzzing::TARGETS;

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| std::fs::read(&p).ok().map(|b| (p.display().to_string(), b)))
        .collect()
}

/// Render threads get a large stack (the CLI's and the workers' renders run on 64 MiB or the
/// main thread's 8 MiB); the test harness's 2 MiB threads with this crate unoptimised are not
/// what any render runs on.
const STACK_BYTES: usize = 64 << 20;

#[test]
fn every_committed_fuzz_input_still_passes_its_target() {
    let replay = std::thread::Builder::new().stack_size(STACK_BYTES).spawn(replay_all);
    match replay.map(std::thread::JoinHandle::join) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(err) => panic!("cannot start the replay thread: {err}"),
    }
}

fn replay_all() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for (name, target) in TARGETS {
        for dir in [root.join("corpus").join(name), root.join("artifacts").join(name)] {
            for (path, bytes) in inputs(&dir) {
                if std::panic::catch_unwind(|| target(&bytes)).is_err() {
                    panic!("{path} fails the {name} target again");
                }
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 3, "the corpora are there ({replayed} inputs)");
}

#[test]
fn the_repository_documents_pass_the_translate_target() {
    let showcase = include_bytes!("../../../../examples/showcase.md");
    folio_render::fuzzing::translate(showcase);
    folio_render::fuzzing::translate(include_bytes!("../../../../README.md"));
    for formula in include_str!("../corpus/ordinary-latex.txt").lines() {
        folio_render::fuzzing::math(formula.as_bytes());
    }
}
