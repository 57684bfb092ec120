//! Failpoints: named places where a test can make the process die, to prove the crash model.
//! Compiled only into debug builds (tests); release builds contain no trace of them.

/// The environment variable naming the failpoint at which to abort.
pub const FAILPOINT_ENV: &str = "FOLIO_FAILPOINT";

/// Aborts the process (like `kill -9`: no unwinding, no flushing) if `name` is the failpoint
/// named by [`FAILPOINT_ENV`]. Does nothing in release builds.
#[inline]
pub fn failpoint(name: &str) {
    #[cfg(debug_assertions)]
    if std::env::var(FAILPOINT_ENV).is_ok_and(|wanted| wanted == name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}
