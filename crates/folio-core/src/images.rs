//! The owner's image library: names (the owner's labels, never paths), safe intake (the type
//! sniffed from the bytes; size and pixel count read from the header before anything is
//! decoded), and where the bytes live.
//!
//! Layout, inside the owner's space of the object store (never shared across identities):
//! - `ugc/<identity>/images/<sha256>`: the bytes, content-addressed, so one upload used by many
//!   documents is stored once, and a document keeps the bytes it was made with after the
//!   library image is replaced or deleted;
//! - `ugc/<identity>/library/<sha256 of the name>.json`: a library entry ([`ImageInfo`]) naming
//!   the bytes. Names are hashed into the key: any name the upload accepts fits a key.
//!
//! No image key ends in `.pdf`, so storing one raises no object event.

use object_store::path::Path;
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::ids::{IdentityId, UGC_PREFIX};
use crate::{Error, ErrorCode, Result};

/// The longest image name, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// An image's name in its owner's library: NFC, 1–200 characters, no `/`, `\` or control
/// characters, not `.` or `..`. Matching is case-sensitive; white space counts like any
/// other character (a label is kept as typed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageName(String);

impl ImageName {
    /// Checks and normalises (NFC) a name as an upload gives it.
    pub fn parse(text: &str) -> Result<Self> {
        let name: String = text.nfc().collect();
        let invalid = |why: &str| Error::InvalidRequest(format!("image name {text:?}: {why}"));
        if name.is_empty() {
            return Err(invalid("empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(&format!("longer than {MAX_NAME_CHARS} characters")));
        }
        if name.contains(['/', '\\']) {
            return Err(invalid("a name is a label, not a path: no '/' or '\\'"));
        }
        if name == "." || name == ".." {
            return Err(invalid("a name is a label, not a path"));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("control characters are not allowed"));
        }
        Ok(Self(name))
    }

    /// The library name an image reference in markdown means: percent-decoded, then NFC.
    /// `None` for references that cannot name a library image (URLs, paths, bad encoding).
    pub fn from_reference(reference: &str) -> Option<Self> {
        let decoded = percent_decode_str(reference).decode_utf8().ok()?;
        Self::parse(&decoded).ok()
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ImageName {
    type Error = Error;

    fn try_from(text: String) -> Result<Self> {
        Self::parse(&text)
    }
}

impl From<ImageName> for String {
    fn from(name: ImageName) -> String {
        name.0
    }
}

impl std::fmt::Display for ImageName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The image formats folio takes: what both the PDF engine and browsers show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ImageType {
    /// PNG.
    #[serde(rename = "image/png")]
    Png,
    /// JPEG.
    #[serde(rename = "image/jpeg")]
    Jpeg,
    /// GIF (the first frame).
    #[serde(rename = "image/gif")]
    Gif,
    /// WebP.
    #[serde(rename = "image/webp")]
    Webp,
}

impl ImageType {
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
        }
    }
}

/// Limits on what an upload and a document may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageLimits {
    /// Largest upload in bytes (default 4 MiB: with base64, still inside the 6 MB an AWS
    /// Lambda request may carry).
    pub max_bytes: usize,
    /// Most pixels of one image (default 40 million: 160 MB decoded).
    pub max_pixels: u64,
    /// Most pixels of all the images one document shows (default 100 million: 400 MB
    /// decoded, inside a worker's 2 GiB).
    pub max_document_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        Self {
            max_bytes: 4 * 1024 * 1024,
            max_pixels: 40_000_000,
            max_document_pixels: 100_000_000,
        }
    }
}

/// What the header of an accepted image says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inspected {
    /// The sniffed type.
    pub kind: ImageType,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn refused(code: ErrorCode, message: String) -> Error {
    Error::Refused { code, message }
}

/// Checks an upload before anything decodes it: the type from the bytes (never from the name or
/// the claimed type, which must agree when given), the size, and the pixel count from the
/// header (a small file that would decode to gigapixels is refused here).
pub fn inspect(bytes: &[u8], claimed: Option<&str>, limits: &ImageLimits) -> Result<Inspected> {
    if bytes.len() > limits.max_bytes {
        return Err(refused(
            ErrorCode::ImageTooLarge,
            format!("the image is {} bytes; the limit is {} bytes", bytes.len(), limits.max_bytes),
        ));
    }
    let kind = match sniff(bytes) {
        Some(kind) => kind,
        None if looks_like_svg(bytes) => {
            return Err(refused(
                ErrorCode::UnsupportedImage,
                "SVG images are not accepted (they can carry scripts); upload a PNG export"
                    .to_owned(),
            ));
        }
        None => {
            return Err(refused(
                ErrorCode::UnsupportedImage,
                "the bytes are not a PNG, JPEG, GIF or WebP image".to_owned(),
            ));
        }
    };
    if let Some(claimed) = claimed.map(|c| c.split(';').next().unwrap_or_default().trim())
        && !claimed.is_empty()
        && claimed != "application/octet-stream"
        && !claimed.eq_ignore_ascii_case(kind.mime())
    {
        return Err(refused(
            ErrorCode::UnsupportedImage,
            format!("the bytes are {}, not {claimed}", kind.mime()),
        ));
    }
    let size = imagesize::blob_size(bytes).map_err(|_| {
        refused(ErrorCode::UnsupportedImage, format!("the {} header is damaged", kind.mime()))
    })?;
    let (width, height) = (size.width as u64, size.height as u64);
    if width == 0 || height == 0 {
        return Err(refused(ErrorCode::UnsupportedImage, "the image has no pixels".to_owned()));
    }
    if width.saturating_mul(height) > limits.max_pixels {
        return Err(refused(
            ErrorCode::ImageTooLarge,
            format!(
                "the image is {width} × {height} pixels; the limit is {} million pixels",
                limits.max_pixels / 1_000_000
            ),
        ));
    }
    let width = u32::try_from(width).unwrap_or(u32::MAX);
    let height = u32::try_from(height).unwrap_or(u32::MAX);
    Ok(Inspected { kind, width, height })
}

/// The type of `bytes`, from their signature: one of the four folio takes, or `None`.
pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
    match imagesize::image_type(bytes) {
        Ok(imagesize::ImageType::Png) => Some(ImageType::Png),
        Ok(imagesize::ImageType::Jpeg) => Some(ImageType::Jpeg),
        Ok(imagesize::ImageType::Gif) => Some(ImageType::Gif),
        Ok(imagesize::ImageType::Webp) => Some(ImageType::Webp),
        _ => None,
    }
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    head.contains("<svg")
}

/// One image of a library, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImageInfo {
    /// The name, as references use it (`![Plot](plot.png)`).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub name: ImageName,
    /// The type sniffed from the bytes.
    #[serde(rename = "type")]
    pub kind: ImageType,
    /// Size in bytes.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// SHA-256 of the bytes, hex (documents record which bytes they were made with).
    pub sha256: String,
    /// When this name got these bytes (RFC 3339).
    pub uploaded: String,
}

/// Where an owner's image bytes with this hash are.
pub(crate) fn blob_path(owner: &IdentityId, sha256: &str) -> Path {
    Path::from(format!("{UGC_PREFIX}/{owner}/images/{sha256}"))
}

/// Where an owner's library entry for `name` is.
pub(crate) fn entry_path(owner: &IdentityId, name: &ImageName) -> Path {
    let hash = hex(&Sha256::digest(name.as_str().as_bytes()));
    Path::from(format!("{UGC_PREFIX}/{owner}/library/{hash}.json"))
}

/// The prefix of an owner's library entries.
pub(crate) fn library_prefix(owner: &IdentityId) -> Path {
    Path::from(format!("{UGC_PREFIX}/{owner}/library"))
}

/// What an image key under `ugc/` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageKey {
    /// An owner's bytes with this SHA-256.
    Bytes(IdentityId, String),
    /// An owner's library entry.
    Entry(IdentityId),
}

impl ImageKey {
    /// Reads `key`; `None` for every key that is not an image's bytes or a library entry.
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.strip_prefix(UGC_PREFIX)?.strip_prefix('/')?.split('/');
        let (owner, folder, file) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let owner: IdentityId = owner.parse().ok()?;
        let hex64 =
            |s: &str| s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match folder {
            "images" if hex64(file) => Some(Self::Bytes(owner, file.to_owned())),
            "library" if file.strip_suffix(".json").is_some_and(hex64) => Some(Self::Entry(owner)),
            _ => None,
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_labels_in_nfc() {
        let decomposed = "cafe\u{301}.png";
        assert_eq!(ImageName::parse(decomposed).map(|n| n.0).ok(), Some("café.png".to_owned()));
        for bad in ["", "a/b.png", "..", ".", "x\\y", "tab\there", "nul\0.png", "c1\u{85}.png"] {
            assert!(ImageName::parse(bad).is_err(), "{bad:?}");
        }
        assert!(ImageName::parse(&"x".repeat(201)).is_err());
        assert!(ImageName::parse("Plot 1 (final).PNG").is_ok());
        assert!(ImageName::parse(" spaced .png").is_ok(), "a label as typed");
    }

    #[test]
    fn references_are_percent_decoded_then_normalised() {
        let name = |r: &str| ImageName::from_reference(r).map(|n| n.0);
        assert_eq!(name("my%20plot.png"), Some("my plot.png".to_owned()));
        assert_eq!(name("cafe%CC%81.png"), Some("café.png".to_owned()));
        assert_eq!(name("caf%C3%A9.png"), Some("café.png".to_owned()));
        assert_eq!(name("dir%2Fx.png"), None, "a decoded '/' is still a path");
        assert_eq!(name("%FF.png"), None);
    }

    #[test]
    fn image_keys_are_known() {
        let owner = IdentityId::derive("https://t", "keys");
        let name = ImageName::parse("plot.png").unwrap_or_else(|e| panic!("{e}"));
        let sha = "a".repeat(64);
        assert_eq!(
            ImageKey::parse(entry_path(&owner, &name).as_ref()),
            Some(ImageKey::Entry(owner))
        );
        assert_eq!(
            ImageKey::parse(blob_path(&owner, &sha).as_ref()),
            Some(ImageKey::Bytes(owner, sha))
        );
        for other in [
            format!("ugc/{owner}/images/short"),
            format!("ugc/{owner}/other/{}", "a".repeat(64)),
            format!("ugc/{owner}/images/{}/x", "a".repeat(64)),
            format!("ugc/not-an-id/images/{}", "a".repeat(64)),
        ] {
            assert_eq!(ImageKey::parse(&other), None, "{other}");
        }
    }
}
