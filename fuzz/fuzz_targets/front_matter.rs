//! Fuzz target: `folio_render::fuzzing::front_matter` (its doc comment says what it checks).
#![no_main]

libfuzzer_sys::fuzz_target!(
    // folio catches the converter's and Typst's panics and turns them into fallbacks or typed
    // errors; libFuzzer's hook would abort on those too. A panic that escapes folio still
    // aborts (libfuzzer-sys checks every input's unwinding), and `cargo test` replays the
    // saved input with its message.
    init: std::panic::set_hook(Box::new(|_| {})),
    |data: &[u8]| folio_render::fuzzing::front_matter(data)
);
