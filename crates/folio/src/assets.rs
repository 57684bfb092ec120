//! Images beside a markdown file: read only from its folder, never outside it.

use std::fs;
use std::path::Path;

use folio_render::{Assets, ImageReference, image_references, local_image_path};

/// Largest image read from beside a document.
const MAX_IMAGE_BYTES: u64 = 32 * 1024 * 1024;

/// Reads the images a document references from `base_dir`. References that are not plain
/// relative paths, leave the folder (also through symlinks), or are missing are skipped — the
/// renderer shows placeholders for them — and reported as `(line, message)` where useful.
pub fn load_images(markdown: &str, base_dir: &Path) -> (Assets, Vec<(usize, String)>) {
    let mut assets = Assets::new();
    let mut warnings = Vec::new();
    let Ok(base) = base_dir.canonicalize() else { return (assets, warnings) };
    for ImageReference { url: reference, line } in image_references(markdown) {
        let Some(relative) = local_image_path(&reference) else {
            continue; // remote, absolute or climbing out: the renderer warns with the line
        };
        let Ok(path) = base.join(&relative).canonicalize() else { continue };
        if !path.starts_with(&base) {
            warnings.push((line, format!("the image {reference:?} resolves outside the document's folder and was not read")));
            continue;
        }
        match fs::metadata(&path) {
            Ok(meta) if meta.is_file() && meta.len() <= MAX_IMAGE_BYTES => {
                if let Ok(bytes) = fs::read(&path) {
                    assets.insert(reference, bytes);
                }
            }
            Ok(meta) if meta.is_file() => warnings.push((
                line,
                format!(
                    "the image {reference:?} is larger than {} MiB and was not read",
                    MAX_IMAGE_BYTES >> 20
                ),
            )),
            _ => {}
        }
    }
    (assets, warnings)
}
