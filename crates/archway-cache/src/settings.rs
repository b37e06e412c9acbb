//! The cache's settings, checked where they are read (`[cache]` in the configuration).
//!
//! [`SharedSettings`] is what a shared store's constructor takes
//! (`fn open(settings: &SharedSettings) -> Result<Box<dyn Upstream>, UpstreamError>`).

use std::path::PathBuf;
use std::time::Duration;

/// How long a shared store may take to answer before the build goes on without it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A public key users trust: `name:base64` (Nix's `trusted-public-keys` form), the key being
/// 32 bytes of ed25519.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    /// `cache.example.org-1`.
    pub name: String,
    /// The 32 key bytes.
    pub key: [u8; 32],
}

impl TrustedKey {
    /// Parses `name:base64`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<TrustedKey, String> {
        let Some((name, encoded)) = text.split_once(':') else {
            return Err("expected `name:base64` (e.g. `ci-1:<44 base64 characters>`)".to_string());
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!(
                "the key name `{name}` must be letters, digits, `.`, `-` or `_`"
            ));
        }
        let bytes =
            decode_base64(encoded).ok_or_else(|| format!("`{encoded}` is not standard base64"))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!(
                "an ed25519 public key is 32 bytes, `{name}` has {}",
                bytes.len()
            )
        })?;
        Ok(TrustedKey {
            name: name.to_string(),
            key,
        })
    }
}

impl std::fmt::Display for TrustedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, encode_base64(&self.key))
    }
}

/// Where the shared store is and whom to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSettings {
    /// `s3://bucket/prefix` (endpoint, region and credentials from the AWS_* variables).
    pub url: String,
    /// Entries signed by one of these keys are used; others are refused.
    pub trusted_keys: Vec<TrustedKey>,
    /// The secret key entries are signed with before they are pushed; `None`: nothing is pushed.
    pub signing_key: Option<PathBuf>,
    /// How long a request may take before the store counts as unreachable.
    pub timeout: Duration,
}

/// `[cache]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheSettings {
    /// `enabled` (default true).
    pub enabled: bool,
    /// `max-size` in bytes; `None`: unbounded.
    pub max_size: Option<u64>,
    /// The shared store, when `url` is set.
    pub shared: Option<SharedSettings>,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings {
            enabled: true,
            max_size: None,
            shared: None,
        }
    }
}

/// Checks a shared store's URL: `s3://bucket[/prefix]` with a bucket name S3 accepts.
pub fn check_url(url: &str) -> Result<(), String> {
    let Some(rest) = url.strip_prefix("s3://") else {
        return Err("expected `s3://bucket/prefix`".to_string());
    };
    let bucket = rest.split('/').next().unwrap_or("");
    // S3's bucket naming rules: 3 to 63 lowercase letters, digits, `.` and `-`, starting and
    // ending with a letter or digit.
    let valid = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid {
        return Err(format!(
            "`{bucket}` is not an S3 bucket name (3 to 63 of `a-z`, `0-9`, `.`, `-`)"
        ));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the URL holds whitespace or control characters".to_string());
    }
    Ok(())
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4); `None` for anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (index, chunk) in bytes.chunks(4).enumerate() {
        let last = index == bytes.len() / 4 - 1;
        let padding = chunk.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return None;
        }
        let mut value = 0u32;
        for &byte in &chunk[..4 - padding] {
            let digit = ALPHABET.iter().position(|&a| a == byte)? as u32;
            value = (value << 6) | digit;
        }
        value <<= 6 * padding as u32;
        let decoded = [(value >> 16) as u8, (value >> 8) as u8, value as u8];
        // Non-canonical encodings (stray low bits before the padding) are refused.
        if decoded[3 - padding..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

/// Standard base64 with padding.
pub fn encode_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let value = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for position in 0..4 {
            if position <= chunk.len() {
                let digit = (value >> (18 - 6 * position)) & 63;
                out.push(char::from(ALPHABET[digit as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trusted_keys_parse_and_refuse_hostile_values() {
        let encoded = encode_base64(&[7u8; 32]);
        let key = TrustedKey::parse(&format!("ci-1:{encoded}")).expect("valid");
        assert_eq!(key.name, "ci-1");
        assert_eq!(key.key, [7u8; 32]);
        assert_eq!(key.to_string(), format!("ci-1:{encoded}"));
        let short = encode_base64(&[1u8; 31]);
        for bad in [
            "",
            "nocolon",
            &format!(":{encoded}"),
            &format!("a b:{encoded}"),
            &format!("../x:{encoded}"),
            "ci:not base64!",
            &format!("ci:{short}"),
            &format!("ci:{encoded}="),
            "ci:AAAA=AAA",
            &format!("ci:{}", "A".repeat(100_000)),
        ] {
            assert!(TrustedKey::parse(bad).is_err(), "{bad:.60}");
        }
    }

    #[test]
    fn urls_are_s3_with_a_bucket_name() {
        assert!(check_url("s3://my-bucket/prefix/x").is_ok());
        assert!(check_url("s3://b.example.org").is_ok());
        for bad in [
            "",
            "http://x/y",
            "s3://",
            "s3://ab",
            "s3://Upper/x",
            "s3://-bucket",
            "s3://bucket-/x",
            "s3://bucket/a b",
            "s3://bucket/\n",
        ] {
            assert!(check_url(bad).is_err(), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            prop_assert_eq!(decode_base64(&encode_base64(&bytes)), Some(bytes));
        }

        #[test]
        fn base64_decoding_never_panics(text in "\\PC{0,40}") {
            let _ = decode_base64(&text);
        }
    }
}
