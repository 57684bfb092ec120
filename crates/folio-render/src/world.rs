//! The sandboxed Typst world: it serves the generated source, folio's template, the embedded
//! fonts and the caller's images — nothing else. No file system, no network, no packages.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock, Mutex};

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

use crate::FontSet;

/// The template every document imports: its look and the helpers the translator calls.
const TEMPLATE: &str = include_str!("template.typ");

/// The path of folio's template in the sandboxed world (the translation imports it).
pub(crate) const TEMPLATE_PATH: &str = "/folio/template.typ";

/// What every render shares: the standard library and the template. Built once per process;
/// the first render pays for it (the fonts are a [`FontSet`], shared the same way).
struct Shared {
    library: LazyHash<Library>,
    template: Source,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| Shared {
    library: LazyHash::new(Library::builder().build()),
    template: Source::new(file_id(TEMPLATE_PATH), TEMPLATE.to_owned()),
});

/// The standard library folio compiles against (also used to vet converted math).
pub(crate) fn library() -> &'static Library {
    &SHARED.library
}

/// Interns a project path as a file id.
pub(crate) fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).unwrap_or_else(|_| {
        // Only paths written by this crate reach here; they are all valid.
        VirtualPath::new("/invalid").expect("a constant path is valid")
    });
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

thread_local! {
    /// The last main source compiled on this thread. The next one is made from it by an
    /// incremental edit, which keeps the syntax spans of unchanged text: Typst's memo cache
    /// keys layout on spans, so a re-render with one paragraph changed (the live preview)
    /// reuses the layout of every other paragraph. A fresh parse would renumber every span
    /// after the edit and make the whole document cold again.
    static LAST_MAIN: std::cell::RefCell<Option<Source>> = const { std::cell::RefCell::new(None) };
}

/// The main source for `text`, edited from this thread's previous one when there is one.
fn main_source(text: String) -> Source {
    LAST_MAIN.with(|last| {
        let mut last = last.borrow_mut();
        let source = match last.take() {
            Some(mut previous) => {
                previous.replace(&text);
                previous
            }
            None => Source::new(file_id("/main.typ"), text),
        };
        *last = Some(source.clone());
        source
    })
}

/// One compilation's world.
pub(crate) struct SandboxWorld {
    main: Source,
    fonts: Arc<FontSet>,
    files: HashMap<FileId, Bytes>,
    /// Every file request, granted or not, for the sandbox tests.
    requests: Mutex<Vec<String>>,
}

impl SandboxWorld {
    /// A world for `main` with `fonts` that also serves `files` (virtual path → bytes).
    pub(crate) fn new(
        main: String,
        files: &BTreeMap<String, Vec<u8>>,
        fonts: Arc<FontSet>,
    ) -> Self {
        let files =
            files.iter().map(|(path, bytes)| (file_id(path), Bytes::new(bytes.clone()))).collect();
        Self { main: main_source(main), fonts, files, requests: Mutex::default() }
    }

    /// The paths of every file the compiler asked for (the main source included).
    #[cfg(test)]
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    fn record(&self, id: FileId) {
        if let Ok(mut requests) = self.requests.lock() {
            let path = id.get();
            requests.push(match path.root() {
                VirtualRoot::Project => path.vpath().get_with_slash().to_owned(),
                VirtualRoot::Package(package) => {
                    format!("{package}{}", path.vpath().get_with_slash())
                }
            });
        }
    }
}

impl World for SandboxWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &self.fonts.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        self.record(id);
        if id == self.main.id() {
            Ok(self.main.clone())
        } else if id == SHARED.template.id() {
            Ok(SHARED.template.clone())
        } else {
            Err(denied(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        self.record(id);
        if let Some(bytes) = self.files.get(&id) {
            Ok(bytes.clone())
        } else if id == self.main.id() {
            Ok(Bytes::from_string(self.main.clone()))
        } else {
            Err(denied(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        self.fonts.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<typst::foundations::Duration>) -> Option<Datetime> {
        // A fixed "today" keeps output reproducible; documents never ask for it.
        Datetime::from_ymd(2000, 1, 1)
    }
}

fn denied(id: FileId) -> FileError {
    if matches!(id.get().root(), VirtualRoot::Package(_)) {
        FileError::Other(Some("packages are not available in folio".into()))
    } else {
        FileError::AccessDenied
    }
}
