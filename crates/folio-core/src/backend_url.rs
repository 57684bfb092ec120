//! The query of a backend URL in the settings (`s3://bucket?endpoint=…&region=…`,
//! `dynamodb://table?…`): one reading for every adapter that takes such a URL.

use percent_encoding::percent_decode_str;

/// The `name=value` pairs of `query` (the part after `?`), values percent-decoded, in order;
/// empty pairs are skipped and a name without `=` has an empty value. Refuses a value that is
/// not UTF-8 once decoded, saying whose.
pub fn query_pairs(query: &str) -> Result<Vec<(String, String)>, String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| format!("{name} is not UTF-8"))?;
            Ok((name.to_owned(), value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order_and_bad_bytes_named() {
        assert_eq!(
            query_pairs("endpoint=http%3A%2F%2Fh%3A1&&region=eu-west-1&flag"),
            Ok(vec![
                ("endpoint".to_owned(), "http://h:1".to_owned()),
                ("region".to_owned(), "eu-west-1".to_owned()),
                ("flag".to_owned(), String::new()),
            ])
        );
        assert_eq!(query_pairs(""), Ok(vec![]));
        assert_eq!(query_pairs("region=%FF"), Err("region is not UTF-8".to_owned()));
    }
}
