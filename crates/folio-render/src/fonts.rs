//! Fonts: the embedded set, so output is identical on every machine, plus any a caller adds
//! (`--font-dir`, e.g. for CJK). Also the coverage check Typst does not do: every character no
//! font can draw is named, with its line.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use typst::foundations::Bytes;
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;

/// DejaVu Sans (Bitstream Vera licence, see `fonts/LICENSE-DejaVu.txt`): the sans face of the
/// `report` theme. Typst's own assets bring serif, math and mono faces only.
const DEJAVU_SANS: [&[u8]; 4] = [
    include_bytes!("../fonts/DejaVuSans.ttf"),
    include_bytes!("../fonts/DejaVuSans-Bold.ttf"),
    include_bytes!("../fonts/DejaVuSans-Oblique.ttf"),
    include_bytes!("../fonts/DejaVuSans-BoldOblique.ttf"),
];

/// Font files are looked for this deep below a font directory.
const MAX_FONT_DIR_DEPTH: usize = 4;

/// A set of fonts a render may use, with Typst's index of them.
pub struct FontSet {
    pub(crate) book: LazyHash<FontBook>,
    pub(crate) fonts: Vec<Font>,
    /// Where the added faces came from (empty for the embedded set).
    added_files: Vec<PathBuf>,
}

impl std::fmt::Debug for FontSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FontSet")
            .field("faces", &self.fonts.len())
            .field("added_files", &self.added_files)
            .finish()
    }
}

/// Why a font directory could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    /// The directory or a font file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// The directory holds no font Typst can use.
    #[error("{0} holds no usable font (.ttf, .otf, .ttc or .otc)")]
    NoFonts(PathBuf),
}

static EMBEDDED: LazyLock<Arc<FontSet>> = LazyLock::new(|| Arc::new(FontSet::build(Vec::new())));

fn embedded_faces() -> impl Iterator<Item = Font> {
    typst_assets::fonts().chain(DEJAVU_SANS).flat_map(|data| Font::iter(Bytes::new(data)))
}

impl FontSet {
    /// The embedded fonts: Libertinus Serif, New Computer Modern (text and math), DejaVu Sans
    /// and DejaVu Sans Mono. Built once per process.
    pub fn embedded() -> Arc<FontSet> {
        Arc::clone(&EMBEDDED)
    }

    /// The embedded fonts plus every font file found in `dir` (and its subfolders).
    pub fn with_dir(dir: &Path) -> Result<Arc<FontSet>, FontError> {
        let mut files = Vec::new();
        collect_font_files(dir, 0, &mut files)?;
        files.sort();
        let mut added = Vec::new();
        for path in &files {
            let data = std::fs::read(path)
                .map_err(|source| FontError::Read { path: path.clone(), source })?;
            let faces: Vec<Font> = Font::iter(Bytes::new(data)).collect();
            if !faces.is_empty() {
                added.push((path.clone(), faces));
            }
        }
        if added.is_empty() {
            return Err(FontError::NoFonts(dir.to_owned()));
        }
        Ok(Arc::new(FontSet::build(added)))
    }

    fn build(added: Vec<(PathBuf, Vec<Font>)>) -> FontSet {
        let mut fonts: Vec<Font> = embedded_faces().collect();
        let mut added_files = Vec::new();
        for (path, faces) in added {
            added_files.push(path);
            fonts.extend(faces);
        }
        FontSet { book: LazyHash::new(FontBook::from_fonts(&fonts)), fonts, added_files }
    }

    /// Whether any face can draw `c`.
    pub fn covers(&self, c: char) -> bool {
        (0..self.fonts.len())
            .filter_map(|index| self.book.info(index))
            .any(|info| info.coverage.contains(c as u32))
    }
}

fn collect_font_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), FontError> {
    let entries = std::fs::read_dir(dir)
        .map_err(|source| FontError::Read { path: dir.to_owned(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| FontError::Read { path: dir.to_owned(), source })?;
        let path = entry.path();
        let kind =
            entry.file_type().map_err(|source| FontError::Read { path: path.clone(), source })?;
        if kind.is_dir() && depth < MAX_FONT_DIR_DEPTH {
            collect_font_files(&path, depth + 1, out)?;
        } else if kind.is_file() && is_font_file(&path) {
            out.push(path);
        }
    }
    Ok(())
}

fn is_font_file(path: &Path) -> bool {
    path.extension().and_then(|ext| ext.to_str()).is_some_and(|ext| {
        ["ttf", "otf", "ttc", "otc"].contains(&ext.to_ascii_lowercase().as_str())
    })
}

/// Characters of `source` (the generated Typst, whose non-ASCII text all comes from the
/// document) that no font in `fonts` can draw, each once, with the markdown line of its first
/// use. `line_of` maps a byte offset of `source` to its markdown line.
pub(crate) fn missing_glyphs(
    source: &str,
    fonts: &FontSet,
    line_of: impl Fn(usize) -> usize,
) -> Vec<(char, usize)> {
    let mut checked = std::collections::HashSet::new();
    let mut missing = Vec::new();
    for (offset, c) in source.char_indices() {
        // ASCII is covered by every embedded face; controls and format characters (joiners,
        // variation selectors, marks) are never drawn on their own.
        if c.is_ascii() || c.is_control() || is_invisible(c) || !checked.insert(c) {
            continue;
        }
        if !fonts.covers(c) {
            missing.push((c, line_of(offset)));
        }
    }
    missing
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{E0100}'..='\u{E01EF}')
}
