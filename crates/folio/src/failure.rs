//! How the CLI reports failure: `error: …`, then `hint: …` where one helps, and an exit code.

/// A failed command.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: Option<String>,
    pub exit_code: u8,
}

/// Exit code when the document could not be rendered or written.
pub const EXIT_DOCUMENT: u8 = 1;
/// Exit code for usage errors (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

impl Failure {
    /// The document (or its files) failed.
    pub fn document(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, exit_code: EXIT_DOCUMENT }
    }

    /// The command was used wrongly.
    pub fn usage(message: impl Into<String>) -> Self {
        Self { message: message.into(), hint: None, exit_code: EXIT_USAGE }
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Prints the failure on standard error.
    pub fn print(&self) {
        eprintln!("error: {}", self.message);
        if let Some(hint) = &self.hint {
            eprintln!("hint: {hint}");
        }
    }
}
