//! The cache's settings, checked where they are read (`[cache]` in the configuration).
//!
//! [`SharedSettings`] is what a shared store's constructor takes
//! ([`crate::shared::SharedStore::open`]; `shared::Options` is the same type).

use std::path::PathBuf;
use std::time::Duration;

use crate::sign::PublicKey;

/// How long a shared store may take to answer before the build goes on without it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A public key users trust (`[cache] trusted-keys`): Nix's `name:base64` form, parsed and
/// checked (an ed25519 curve point) by [`PublicKey`]'s `FromStr`, the one parser of keys.
pub type TrustedKey = PublicKey;

/// Where the shared store is and whom to trust.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedSettings {
    /// `s3://bucket/prefix` (endpoint, region and credentials from the AWS_* variables).
    pub url: String,
    /// Entries signed by one of these keys are used; others are refused.
    pub trusted_keys: Vec<PublicKey>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine;

    #[test]
    fn trusted_keys_parse_and_refuse_hostile_values() {
        let public = crate::sign::SigningKey::generate("ci-1")
            .expect("generate")
            .public_key();
        let line = public.to_string();
        let key: TrustedKey = line.parse().expect("valid");
        assert_eq!(key.name(), "ci-1");
        assert_eq!(key, public);
        let encoded = line.split_once(':').map(|(_, data)| data).expect("colon");
        let short = BASE64.encode([1u8; 31]);
        for bad in [
            "",
            "nocolon",
            &format!(":{encoded}"),
            &format!("a b:{encoded}"),
            "ci:not base64!",
            &format!("ci:{short}"),
            &format!("ci:{encoded}="),
            "ci:AAAA=AAA",
            &format!("ci:{}", "A".repeat(100_000)),
        ] {
            assert!(bad.parse::<TrustedKey>().is_err(), "{bad:.60}");
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
}
