//! Object events in the S3 notification shape — the one input of the indexer in every shape of
//! folio (S3 itself, the embedded outbox, NATS).

use std::cmp::Ordering;
use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Orders events on one key. Hex text, compared as S3 specifies: right-pad the shorter with
/// zeros, then compare lexicographically. folio's own sequencers are 16 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sequencer(String);

impl Sequencer {
    /// The sequencer folio writes for sequence number `n` of its event log.
    pub fn from_number(n: u64) -> Self {
        Self(format!("{n:016X}"))
    }

    /// Wraps a sequencer received from S3 (hex digits only).
    pub fn parse(text: &str) -> Result<Self> {
        if !text.is_empty() && text.len() <= 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
            Ok(Self(text.to_ascii_uppercase()))
        } else {
            Err(Error::InvalidRequest(format!("not an event sequencer: {text:?}")))
        }
    }

    /// The sequencer as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The sequencer right-padded with zeros to the longest width S3 uses (64), so that plain
    /// byte-order text comparison (SQLite, PostgreSQL's "C" collation, DynamoDB conditions)
    /// orders sequencers as S3 specifies: what every index stores and compares.
    pub fn sort_key(&self) -> String {
        format!("{:0<64}", self.0)
    }
}

impl Ord for Sequencer {
    fn cmp(&self, other: &Self) -> Ordering {
        let width = self.0.len().max(other.0.len());
        let a = self.0.bytes().chain(std::iter::repeat(b'0')).take(width);
        let b = other.0.bytes().chain(std::iter::repeat(b'0')).take(width);
        a.cmp(b)
    }
}

impl PartialOrd for Sequencer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Sequencer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Change {
    /// `ObjectCreated:*`.
    Created,
    /// `ObjectRemoved:*`.
    Removed,
}

/// One decoded object event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEvent {
    /// Created or removed.
    pub change: Change,
    /// The object key, decoded.
    pub key: String,
    /// Object size (created events).
    pub size: Option<u64>,
    /// The entity tag (no order; informative).
    pub etag: Option<String>,
    /// Orders events on this key.
    pub sequencer: Sequencer,
    /// When it happened (RFC 3339).
    pub time: String,
}

/// An S3 event notification: `{"Records": [...]}`. S3's test event has no records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Notification {
    /// The events.
    #[serde(rename = "Records", default)]
    pub records: Vec<S3EventRecord>,
}

/// One record of an S3 notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3EventRecord {
    /// `2.1` (or any 2.x).
    pub event_version: String,
    /// `aws:s3`.
    pub event_source: String,
    /// Region (`local` for folio's own events).
    #[serde(default)]
    pub aws_region: String,
    /// When (RFC 3339).
    pub event_time: String,
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, …
    pub event_name: String,
    /// Bucket and object.
    pub s3: S3Entity,
}

/// The `s3` part of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Entity {
    /// Schema version, `1.0`.
    #[serde(default)]
    pub s3_schema_version: String,
    /// The bucket.
    pub bucket: S3Bucket,
    /// The object.
    pub object: S3Object,
}

/// The bucket of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Bucket {
    /// Its name.
    pub name: String,
}

/// The object of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Object {
    /// The key, URL-encoded as S3 sends it (space as `+`).
    pub key: String,
    /// Size in bytes (absent for removals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Entity tag.
    #[serde(default, rename = "eTag", skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    /// Orders events on this key.
    pub sequencer: String,
}

impl S3Notification {
    /// Parses a notification body.
    pub fn from_json(body: &[u8]) -> Result<Self> {
        serde_json::from_slice(body)
            .map_err(|e| Error::InvalidRequest(format!("not an S3 event notification: {e}")))
    }

    /// The notification carrying one event.
    pub fn single(event: &ObjectEvent, bucket: &str) -> Self {
        Self { records: vec![S3EventRecord::from_event(event, bucket)] }
    }

    /// Decodes every record. Records of other kinds (e.g. `ObjectRestore`) are skipped.
    pub fn events(&self) -> Result<Vec<ObjectEvent>> {
        self.records.iter().filter_map(|r| r.to_event().transpose()).collect()
    }
}

impl S3EventRecord {
    /// The record for an event, in S3's format.
    pub fn from_event(event: &ObjectEvent, bucket: &str) -> Self {
        let event_name = match event.change {
            Change::Created => "ObjectCreated:Put",
            Change::Removed => "ObjectRemoved:Delete",
        };
        Self {
            event_version: "2.1".to_owned(),
            event_source: "aws:s3".to_owned(),
            aws_region: "local".to_owned(),
            event_time: event.time.clone(),
            event_name: event_name.to_owned(),
            s3: S3Entity {
                s3_schema_version: "1.0".to_owned(),
                bucket: S3Bucket { name: bucket.to_owned() },
                object: S3Object {
                    key: encode_key(&event.key),
                    size: event.size,
                    e_tag: event.etag.clone(),
                    sequencer: event.sequencer.as_str().to_owned(),
                },
            },
        }
    }

    /// Decodes this record; `None` for events that are neither creations nor removals. AWS
    /// names events `ObjectCreated:Put`; MinIO and other S3-compatible stores `s3:ObjectCreated:Put`.
    pub fn to_event(&self) -> Result<Option<ObjectEvent>> {
        let name = self.event_name.strip_prefix("s3:").unwrap_or(&self.event_name);
        let change = if name.starts_with("ObjectCreated:") {
            Change::Created
        } else if name.starts_with("ObjectRemoved:") {
            Change::Removed
        } else {
            return Ok(None);
        };
        Ok(Some(ObjectEvent {
            change,
            key: decode_key(&self.s3.object.key)?,
            size: self.s3.object.size,
            etag: self.s3.object.e_tag.clone(),
            sequencer: Sequencer::parse(&self.s3.object.sequencer)?,
            time: self.event_time.clone(),
        }))
    }
}

/// Characters S3 leaves unencoded in notification keys (besides `/`).
const KEY_ENCODE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/').remove(b' ');

/// Encodes a key as S3 notifications do: URL encoding with spaces as `+`.
pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ENCODE).to_string().replace(' ', "+")
}

/// Decodes a key from an S3 notification: `+` is a space, `%XX` a byte; the result must be
/// UTF-8.
pub fn decode_key(encoded: &str) -> Result<String> {
    let spaced = encoded.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().map(|k| k.into_owned()).map_err(|_| {
        Error::InvalidRequest(format!("event key is not UTF-8 after decoding: {encoded:?}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_like_s3() {
        assert_eq!(
            decode_key("ugc/a/my+file%2B1.pdf").ok().as_deref(),
            Some("ugc/a/my file+1.pdf")
        );
        assert_eq!(decode_key("caf%C3%A9+%E2%9C%93").ok().as_deref(), Some("café ✓"));
        assert!(decode_key("%FF").is_err());
        for key in ["a b+c/ü ✓.pdf", "plain/key.pdf", "50%/x"] {
            assert_eq!(decode_key(&encode_key(key)).ok().as_deref(), Some(key), "{key}");
        }
        assert_eq!(encode_key("a b+c"), "a+b%2Bc");
    }

    #[test]
    fn sequencers_order_like_s3() {
        let a = Sequencer::parse("0055AED6DCD90281E5").ok();
        let b = Sequencer::parse("0055AED6DCD90281E6").ok();
        assert!(a < b);
        // Shorter values are right-padded with zeros before comparing.
        assert_eq!(Sequencer("1".into()).cmp(&Sequencer("10".into())), Ordering::Equal);
        assert!(Sequencer("2".into()) > Sequencer("10".into()));
        assert!(Sequencer::from_number(9) < Sequencer::from_number(10));
        assert!(Sequencer::parse("xyz").is_err());
    }

    #[test]
    fn sort_keys_order_as_sequencers_do() {
        let values = ["1", "10", "2", "0055AED6DCD90281E5", "0055AED6DCD90281E6", "F", "0"];
        for a in values {
            for b in values {
                let (a, b) = (Sequencer(a.into()), Sequencer(b.into()));
                assert_eq!(a.sort_key().cmp(&b.sort_key()), a.cmp(&b), "{a} vs {b}");
                assert_eq!(a.sort_key().len(), 64);
            }
        }
    }

    #[test]
    fn parses_real_s3_notifications() {
        let body = br#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventTime":"2024-01-01T00:00:00.000Z","eventName":"ObjectCreated:Put","userIdentity":{"principalId":"AWS:X"},"requestParameters":{"sourceIPAddress":"1.2.3.4"},"responseElements":{"x-amz-request-id":"R"},"s3":{"s3SchemaVersion":"1.0","configurationId":"c","bucket":{"name":"b","ownerIdentity":{"principalId":"P"},"arn":"arn:aws:s3:::b"},"object":{"key":"ugc/x/my+doc.pdf","size":1024,"eTag":"d41d8cd98f00b204e9800998ecf8427e","sequencer":"0A1B2C3D4E5F678901"}}}]}"#;
        let events = S3Notification::from_json(body).and_then(|n| n.events());
        let events = events.unwrap_or_default();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].key, "ugc/x/my doc.pdf");
        assert_eq!(events[0].change, Change::Created);
        assert_eq!(events[0].size, Some(1024));
        // MinIO (and other S3-compatible stores) prefix event names with `s3:`; the key is
        // URL-encoded as S3 does.
        let minio = S3Notification::from_json(include_bytes!("../tests/fixtures/minio-put.json"))
            .and_then(|n| n.events())
            .unwrap_or_default();
        assert_eq!(minio.len(), 1);
        assert_eq!(
            (minio[0].change, minio[0].key.as_str(), minio[0].sequencer.as_str()),
            (
                Change::Created,
                "ugc/0f8fad5b-d9cb-569f-a165-70867728950e/01a2356e-e6d0-72f4-acc2-49fa4e31bd76.pdf",
                "187D2A9F4C7E3B21"
            )
        );
        let test_event = br#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2024-01-01T00:00:00.000Z","Bucket":"b","RequestId":"R","HostId":"H"}"#;
        assert_eq!(
            S3Notification::from_json(test_event).and_then(|n| n.events()).map(|e| e.len()),
            Ok(0)
        );
    }
}
