//! The API's render vocabulary: papers, themes, PDF standards, font sizes and margins as typed
//! values that refuse bad input while the request is parsed (so a handler never sees a paper
//! called "legal", and the OpenAPI document can state each set and range).
//!
//! The renderer (`folio-render`, a leaf that knows nothing of folio's API) keeps types of its
//! own; the render adapters map one onto the other in one place, tested value by value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a closed set of names: the enum, `ALL`, `name`, a lenient `parse`, and serde as the
/// canonical name (parsing accepts the spellings `parse` does, answering with the list).
macro_rules! vocabulary {
    (
        $(#[$meta:meta])* $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
        normalize = $normalize:expr;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name {
            $($(#[$vmeta])* #[cfg_attr(feature = "openapi", schema(rename = $text))] $variant),+
        }

        impl $name {
            /// Every value, in the order the API lists them.
            pub const ALL: &[$name] = &[$($name::$variant),+];

            /// The canonical name, as the API writes it.
            pub fn name(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The value named `text`, accepting the spellings the API always has.
            pub fn parse(text: &str) -> Option<Self> {
                let normalize: fn(&str) -> String = $normalize;
                let wanted = normalize(text);
                Self::ALL.iter().copied().find(|v| normalize(v.name()) == wanted)
                    .or_else(|| Self::alias(&wanted))
            }

            fn refusal(text: &str) -> String {
                let names: Vec<&str> = Self::ALL.iter().map(|v| v.name()).collect();
                format!("unknown {} {text:?}; use {}", $what, one_of(&names))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.name())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).ok_or_else(|| serde::de::Error::custom(Self::refusal(&text)))
            }
        }
    };
}

/// `a, b or c`.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

vocabulary! {
    /// Paper sizes.
    Paper ("paper") {
        /// ISO A4, 210 × 297 mm.
        A4 => "a4",
        /// US Letter, 8.5 × 11 in.
        UsLetter => "us-letter",
        /// ISO A5, 148 × 210 mm.
        A5 => "a5",
    }
    normalize = |text| text.trim().to_ascii_lowercase().replace('_', "-");
}

impl Paper {
    fn alias(normalized: &str) -> Option<Self> {
        matches!(normalized, "letter" | "usletter").then_some(Self::UsLetter)
    }
}

vocabulary! {
    /// Looks.
    Theme ("theme") {
        /// Libertinus Serif, justified, blue headings.
        Classic => "classic",
        /// A modern report: sans-serif, ragged right.
        Report => "report",
        /// A book: chapters on new pages, numbered headings.
        Book => "book",
    }
    normalize = |text| text.trim().to_ascii_lowercase();
}

impl Theme {
    fn alias(_: &str) -> Option<Self> {
        None
    }
}

vocabulary! {
    /// PDF standards a document can be made to conform to.
    PdfStandard ("PDF standard") {
        /// PDF/A-2b (archival; no attachments).
        A2b => "a-2b",
        /// PDF/A-3b (archival; attachments allowed).
        A3b => "a-3b",
        /// PDF/UA-1 (universal accessibility).
        Ua1 => "ua-1",
    }
    normalize = |text| {
        let text = text.trim().to_ascii_lowercase().replace(['/', '_', '-'], "");
        text.strip_prefix("pdf").map(str::to_owned).unwrap_or(text)
    };
}

impl PdfStandard {
    fn alias(_: &str) -> Option<Self> {
        None
    }
}

/// A base font size in points, from [`FontSize::MIN`] to [`FontSize::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct FontSize(f64);

impl FontSize {
    /// The smallest size accepted, in points.
    pub const MIN: f64 = 6.0;
    /// The largest size accepted, in points.
    pub const MAX: f64 = 24.0;

    /// `points`, if it is a number in range.
    pub fn new(points: f64) -> Result<Self, String> {
        if (Self::MIN..=Self::MAX).contains(&points) {
            Ok(Self(points))
        } else {
            Err(format!("font size {points} pt is not from 6 to 24 points"))
        }
    }

    /// The size in points.
    pub fn points(self) -> f64 {
        self.0
    }
}

impl Serialize for FontSize {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.0)
    }
}

impl<'de> Deserialize<'de> for FontSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// A page margin on every side: a length such as `2cm`, `20mm`, `1in` or `54pt`, within
/// 5–60 mm, 0.5–6 cm, 0.2–2.3 in or 15–170 pt ([`MARGIN_PATTERN`]). Kept as written, and in
/// millimetres.
#[derive(Debug, Clone, PartialEq)]
pub struct Margin {
    text: String,
    mm: f64,
}

/// White space as Rust's `trim` sees it, spelled out (engines disagree on `\s`).
macro_rules! white_space {
    () => {
        r"[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"
    };
}

/// Every margin the API accepts, as one regular expression: a decimal number in each unit's
/// range, the unit in any case, white space around and between. [`Margin::parse`] checks it,
/// and the OpenAPI document states it as the margin's `pattern`, so the two cannot differ.
/// The ranges are decimal, in each unit's own terms, so that a pattern can state them exactly.
pub const MARGIN_PATTERN: &str = concat!(
    "^",
    white_space!(),
    "(?:",
    // 5–60 mm
    r"(?:0*(?:[5-9]|[1-5][0-9])(?:\.[0-9]*)?|0*60(?:\.0*)?)",
    white_space!(),
    "[mM][mM]",
    // 0.5–6 cm
    r"|(?:0*\.[5-9][0-9]*|0*[1-5](?:\.[0-9]*)?|0*6(?:\.0*)?)",
    white_space!(),
    "[cC][mM]",
    // 0.2–2.3 in
    r"|(?:0*\.[2-9][0-9]*|0*1(?:\.[0-9]*)?|0*2(?:\.[0-2][0-9]*|\.30*|\.)?)",
    white_space!(),
    "[iI][nN]",
    // 15–170 pt
    r"|(?:0*(?:1[5-9]|[2-9][0-9]|1[0-6][0-9])(?:\.[0-9]*)?|0*170(?:\.0*)?)",
    white_space!(),
    "[pP][tT]",
    ")",
    white_space!(),
    "$"
);

fn margin_grammar() -> &'static regex::Regex {
    static GRAMMAR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    GRAMMAR.get_or_init(|| {
        regex::Regex::new(MARGIN_PATTERN).unwrap_or_else(|e| panic!("MARGIN_PATTERN: {e}"))
    })
}

/// The margin's schema: [`MARGIN_PATTERN`] itself.
#[cfg(feature = "openapi")]
fn margin_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .pattern(Some(MARGIN_PATTERN))
        .description(Some(
            "Page margin on every side: 5–60 mm, 0.5–6 cm, 0.2–2.3 in or 15–170 pt, like `2cm`.",
        ))
        .examples(["2cm"])
        .build()
}

impl Margin {
    /// The smallest margin accepted, in millimetres.
    pub const MIN_MM: f64 = 5.0;
    /// The largest margin accepted, in millimetres.
    pub const MAX_MM: f64 = 60.0;

    /// Parses a length with a unit (`mm`, `cm`, `in`, `pt`) in range.
    pub fn parse(text: &str) -> Result<Self, String> {
        let refused = || {
            format!(
                "margin {text:?} is not a length from 5 to 60 mm, 0.5 to 6 cm, 0.2 to 2.3 in or 15 to 170 pt (like 2cm, 20mm or 1in)"
            )
        };
        if !margin_grammar().is_match(text) {
            return Err(refused());
        }
        let lower = text.trim().to_ascii_lowercase();
        let split = lower.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(refused)?;
        let (number, unit) = lower.split_at(split);
        let number = number.trim();
        // Digits and one point only: no signs, exponents, `inf` or `NaN`.
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(refused());
        }
        let value: f64 = number.parse().map_err(|_| refused())?;
        let mm = match unit.trim() {
            "mm" => value,
            "cm" => value * 10.0,
            "in" => value * 25.4,
            "pt" => value * 25.4 / 72.0,
            _ => return Err(refused()),
        };
        if !(Self::MIN_MM..=Self::MAX_MM).contains(&mm) {
            return Err(refused());
        }
        Ok(Self { text: text.trim().to_owned(), mm })
    }

    /// A margin of `mm` millimetres, if in range.
    pub fn from_mm(mm: f64) -> Result<Self, String> {
        Self::parse(&format!("{mm}mm"))
    }

    /// The margin in millimetres.
    pub fn mm(&self) -> f64 {
        self.mm
    }

    /// The margin as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl Serialize for Margin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Margin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

/// Deserializes `T` only from a JSON object. serde's derived structs also take an array of
/// their fields in order (`"options": [null, null]`), which no client means and the request
/// schema does not allow; `#[serde(deserialize_with = "from_object")]` refuses it.
pub fn from_object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct ObjectOnly<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ObjectOnly<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_map(ObjectOnly(std::marker::PhantomData))
}

/// The render options a caller may choose: for create and both previews. Unset options fall
/// back to the document's front matter, then to the theme's defaults.
// Not `Eq`: the font size is a number of points.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateOptions {
    /// Paper size.
    #[serde(default)]
    pub paper: Option<Paper>,
    /// A table of contents.
    #[serde(default)]
    pub toc: Option<bool>,
    /// The look.
    #[serde(default)]
    pub theme: Option<Theme>,
    /// Numbered headings.
    #[serde(default)]
    pub numbering: Option<bool>,
    /// Page margin on every side: `2cm`, `20mm`, `1in` (5–60 mm, 0.5–6 cm, 0.2–2.3 in or
    /// 15–170 pt).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = margin_schema))]
    pub margin: Option<Margin>,
    /// Base font size in points (6–24).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>, minimum = 6, maximum = 24))]
    pub font_size: Option<FontSize>,
    /// PDF standards to conform to: at most one of `a-2b` and `a-3b`, and `a-2b` not with
    /// `attach_source` ([`CreateOptions::check`]). A standard named twice counts once.
    #[serde(default, deserialize_with = "distinct")]
    pub standards: Vec<PdfStandard>,
    /// Attach the markdown source to the PDF.
    #[serde(default)]
    pub attach_source: bool,
}

impl CreateOptions {
    /// The rules between options: one PDF/A standard at most, and none without attachments
    /// (PDF/A-2b) when the source is attached. The OpenAPI document states the same as a
    /// `not` of the options' schema.
    pub fn check(&self) -> Result<(), String> {
        let has = |standard| self.standards.contains(&standard);
        if has(PdfStandard::A2b) && has(PdfStandard::A3b) {
            return Err("a-2b and a-3b cannot be combined: choose one PDF/A standard".to_owned());
        }
        if has(PdfStandard::A2b) && self.attach_source {
            return Err("PDF/A-2b does not allow attachments; attach the source with a-3b instead"
                .to_owned());
        }
        Ok(())
    }
}

/// A list of standards without repeats (the first mention kept).
fn distinct<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<PdfStandard>, D::Error> {
    let mut list = Vec::<PdfStandard>::deserialize(deserializer)?;
    let mut seen = Vec::new();
    list.retain(|standard| {
        let first = !seen.contains(standard);
        seen.push(*standard);
        first
    });
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(json: serde_json::Value) -> Result<CreateOptions, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn names_parse_with_the_spellings_the_api_always_took() {
        for (text, paper) in [
            ("a4", Paper::A4),
            ("A4", Paper::A4),
            ("letter", Paper::UsLetter),
            ("us_letter", Paper::UsLetter),
        ] {
            assert_eq!(Paper::parse(text), Some(paper), "{text}");
        }
        for (text, standard) in
            [("a-2b", PdfStandard::A2b), ("PDF/A-3b", PdfStandard::A3b), ("ua1", PdfStandard::Ua1)]
        {
            assert_eq!(PdfStandard::parse(text), Some(standard), "{text}");
        }
        assert_eq!(Theme::parse(" Book "), Some(Theme::Book));
        for value in Paper::ALL {
            assert_eq!(Paper::parse(value.name()), Some(*value));
        }
    }

    #[test]
    fn bad_values_are_refused_while_parsing_with_what_is_accepted() {
        let refused = options(serde_json::json!({ "paper": "legal" })).err().unwrap_or_default();
        assert!(refused.contains("use a4, us-letter or a5"), "{refused}");
        let refused = options(serde_json::json!({ "theme": "dark" })).err().unwrap_or_default();
        assert!(refused.contains("classic, report or book"), "{refused}");
        let refused =
            options(serde_json::json!({ "standards": ["a-1a"] })).err().unwrap_or_default();
        assert!(refused.contains("a-2b, a-3b or ua-1"), "{refused}");
        for size in [0.0, 5.9, 24.5, -3.0, 1e9] {
            let refused =
                options(serde_json::json!({ "font_size": size })).err().unwrap_or_default();
            assert!(refused.contains("6 to 24"), "{size}: {refused}");
        }
        for margin in ["1mm", "7cm", "2", "cm", "-2cm", "2e1mm", "NaNmm", "inf cm", "2 furlongs"] {
            let refused =
                options(serde_json::json!({ "margin": margin })).err().unwrap_or_default();
            assert!(refused.contains("5 to 60 mm"), "{margin}: {refused}");
        }
        #[derive(Debug, Deserialize)]
        struct Request {
            #[serde(deserialize_with = "from_object")]
            options: CreateOptions,
        }
        let array = serde_json::from_str::<Request>(r#"{"options": [null, null]}"#);
        assert!(array.is_err_and(|e| e.to_string().contains("expected an object")));
        let object = serde_json::from_str::<Request>(r#"{"options": {"toc": true}}"#);
        assert!(object.is_ok_and(|r| r.options.toc == Some(true)));
        let unknown = options(serde_json::json!({ "colour": "red" })).err().unwrap_or_default();
        assert!(unknown.contains("unknown field"), "{unknown}");
    }

    #[test]
    fn good_values_round_trip_as_the_canonical_names() {
        let parsed = options(serde_json::json!({
            "paper": "letter", "theme": "book", "margin": "2cm", "font_size": 12.5,
            "standards": ["PDF/A-3b", "ua-1"], "toc": true,
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.margin.as_ref().map(Margin::mm), Some(20.0));
        assert_eq!(parsed.font_size.map(FontSize::points), Some(12.5));
        let written = serde_json::to_value(&parsed).unwrap_or_default();
        assert_eq!(written["paper"], "us-letter");
        assert_eq!(written["standards"], serde_json::json!(["a-3b", "ua-1"]));
        assert_eq!(written["margin"], "2cm");
        for mm in [5.0, 20.0, 60.0] {
            assert_eq!(Margin::from_mm(mm).map(|m| m.mm()), Ok(mm));
        }
    }
}
