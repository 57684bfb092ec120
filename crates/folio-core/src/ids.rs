//! Validated identifiers: who owns a document, which document, and where its objects live.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::Error;

/// The namespace under which identity ids are derived (fixed forever: ids are in object keys).
const IDENTITY_NAMESPACE: Uuid = Uuid::from_u128(0x6f6c_696f_2d69_6465_6e74_6974_792d_7631);

/// A person's permanent id: UUIDv5 over the normalised issuer and the subject of their verified
/// token. Deterministic, so the same person from the same issuer always maps to the same id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct IdentityId(Uuid);

impl IdentityId {
    /// Derives the id for `subject` at `issuer` (trailing slashes and case of the scheme and
    /// host do not matter).
    pub fn derive(issuer: &str, subject: &str) -> Self {
        let issuer = normalise_issuer(issuer);
        let name = format!("{issuer}\u{0}{subject}");
        Self(Uuid::new_v5(&IDENTITY_NAMESPACE, name.as_bytes()))
    }

    /// The id as a UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

fn normalise_issuer(issuer: &str) -> String {
    let issuer = issuer.trim().trim_end_matches('/');
    match issuer.split_once("://") {
        Some((scheme, rest)) => {
            let (host, path) = rest.split_once('/').map_or((rest, ""), |(h, p)| (h, p));
            let mut out =
                format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase());
            if !path.is_empty() {
                out.push('/');
                out.push_str(path);
            }
            out
        }
        None => issuer.to_owned(),
    }
}

/// A document's id: a UUIDv7, so ids sort by creation time (newest first = descending ids).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct DocumentId(Uuid);

impl DocumentId {
    /// A new id for a document created now.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// A new id for a document created at `unix_ms` (tests and imports).
    pub fn at(unix_ms: u64) -> Self {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            unix_ms / 1000,
            ((unix_ms % 1000) * 1_000_000) as u32,
        );
        Self(Uuid::new_v7(ts))
    }

    /// A position in the id order that need not be a document's (a pagination cursor).
    pub(crate) fn position(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The id as a UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for DocumentId {
    fn default() -> Self {
        Self::new()
    }
}

macro_rules! uuid_text {
    ($ty:ident, $what:literal, $check:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.as_hyphenated().fmt(f)
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self, Error> {
                // Only the canonical lowercase hyphenated form: one text per id, so a key
                // built by hand cannot alias another.
                let uuid =
                    Uuid::try_parse(text).ok().filter(|u| u.as_hyphenated().to_string() == text);
                let check: fn(&Uuid) -> bool = $check;
                match uuid {
                    Some(uuid) if check(&uuid) => Ok(Self(uuid)),
                    _ => Err(Error::InvalidRequest(format!(
                        concat!("not a valid ", $what, ": {:?}"),
                        text
                    ))),
                }
            }
        }

        impl TryFrom<String> for $ty {
            type Error = Error;

            fn try_from(text: String) -> Result<Self, Error> {
                text.parse()
            }
        }

        impl From<$ty> for String {
            fn from(id: $ty) -> String {
                id.to_string()
            }
        }
    };
}

uuid_text!(IdentityId, "identity id", |u| u.get_version_num() == 5);
uuid_text!(DocumentId, "document id", |u| u.get_version_num() == 7);

/// Which of a document's three objects a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    /// The markdown source (`.md`), written first.
    Source,
    /// The JSON manifest (`.json`), written second.
    Manifest,
    /// The PDF (`.pdf`), written last: its existence commits the document.
    Pdf,
}

impl ObjectKind {
    /// The file extension of this kind.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Source => "md",
            Self::Manifest => "json",
            Self::Pdf => "pdf",
        }
    }
}

/// The key of one of a document's objects: `ugc/<identity>/<document>.<md|json|pdf>`. Always
/// generated by folio from ids, never from a title or a file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The owner.
    pub identity: IdentityId,
    /// The document.
    pub document: DocumentId,
    /// Which object.
    pub kind: ObjectKind,
}

/// The prefix under which all user content lives.
pub const UGC_PREFIX: &str = "ugc";

impl ObjectKey {
    /// The key of `kind` for a document.
    pub fn new(identity: IdentityId, document: DocumentId, kind: ObjectKind) -> Self {
        Self { identity, document, kind }
    }

    /// The same document's object of another kind.
    pub fn with_kind(self, kind: ObjectKind) -> Self {
        Self { kind, ..self }
    }

    /// The key as an object store path.
    pub fn path(&self) -> object_store::path::Path {
        object_store::path::Path::from(self.to_string())
    }

    /// The prefix of one identity's objects.
    pub fn identity_prefix(identity: &IdentityId) -> object_store::path::Path {
        object_store::path::Path::from(format!("{UGC_PREFIX}/{identity}"))
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{UGC_PREFIX}/{}/{}.{}", self.identity, self.document, self.kind.extension())
    }
}

impl FromStr for ObjectKey {
    type Err = Error;

    /// Parses a key strictly: exactly `ugc/<identity>/<document>.<ext>` in canonical form.
    fn from_str(key: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidRequest(format!("not a folio object key: {key:?}"));
        let mut parts = key.split('/');
        let (Some(UGC_PREFIX), Some(identity), Some(file), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let (document, ext) = file.rsplit_once('.').ok_or_else(invalid)?;
        let kind = match ext {
            "md" => ObjectKind::Source,
            "json" => ObjectKind::Manifest,
            "pdf" => ObjectKind::Pdf,
            _ => return Err(invalid()),
        };
        Ok(Self {
            identity: identity.parse().map_err(|_| invalid())?,
            document: document.parse().map_err(|_| invalid())?,
            kind,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_ids_are_deterministic_and_issuer_normalised() {
        let a = IdentityId::derive("https://Folio.Example/", "user-1");
        let b = IdentityId::derive("https://folio.example", "user-1");
        assert_eq!(a, b);
        assert_ne!(a, IdentityId::derive("https://folio.example", "user-2"));
        assert_ne!(a, IdentityId::derive("https://other.example", "user-1"));
        // Subject and issuer cannot be shifted into each other.
        assert_ne!(IdentityId::derive("a", "bc"), IdentityId::derive("ab", "c"));
    }

    #[test]
    fn document_ids_sort_by_time() {
        let early = DocumentId::at(1_700_000_000_000);
        let late = DocumentId::at(1_700_000_000_001);
        assert!(early < late);
        assert!(DocumentId::new() > late);
    }

    #[test]
    fn keys_round_trip_and_reject_everything_else() {
        let key = ObjectKey::new(IdentityId::derive("i", "s"), DocumentId::new(), ObjectKind::Pdf);
        assert_eq!(key.to_string().parse::<ObjectKey>().ok(), Some(key));
        let id = key.identity;
        let doc = key.document;
        for bad in [
            format!("ugc/{id}/{doc}.exe"),
            format!("ugc/{id}/../{doc}.pdf"),
            format!("ugc/{id}/sub/{doc}.pdf"),
            format!("other/{id}/{doc}.pdf"),
            format!("ugc/{}/{doc}.pdf", id.to_string().to_uppercase()),
            format!("ugc/{id}/{doc}"),
            format!("/ugc/{id}/{doc}.pdf"),
            format!("ugc/{doc}/{doc}.pdf"),
        ] {
            assert!(bad.parse::<ObjectKey>().is_err(), "{bad}");
        }
    }
}
