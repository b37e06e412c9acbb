//! Trust: ed25519 keys in Nix's format and the signed record beside every shared archive.
//!
//! Keys are written the way Nix writes them (nix-store(1), `--generate-binary-cache-key`, and
//! nix3-key-generate-secret(1), "Format": "the key name followed by a base-64 encoding of the
//! Ed25519 key data"): a secret key is `name:base64(64 bytes)` (libsodium's secret key, the seed
//! followed by the public key), a public key `name:base64(32 bytes)`. So a team can reuse the key
//! pairs it already made for a Nix binary cache, and the configuration reads like Nix's
//! `secret-key-files` / `trusted-public-keys`.
//!
//! A shared entry is an archive (`<name>-<sha256>.tar.zst`) and its [`Record`] (`<name>.json`):
//! the entry's name, the archive's SHA-256 and size, the signer's key name and an ed25519
//! signature over [`fingerprint`] of those three. Like Nix's narinfo signature (which covers the
//! store path, the NAR hash and size), it binds the content to the name: an archive moved under
//! another name, or altered, no longer verifies.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use serde::{Deserialize, Serialize};

use crate::upstream::UpstreamError;

/// The record format this archway writes and reads.
const RECORD_FORMAT: u32 = 1;

/// Why a key could not be made, read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not `name:base64` with a valid name and the right number of bytes.
    #[error("invalid {kind} key `{shown}`: {reason}")]
    Invalid {
        kind: &'static str,
        /// The key name, or the text for a public key (a secret is never shown).
        shown: String,
        reason: String,
    },
    /// A key name that Nix's format cannot carry.
    #[error("invalid key name `{name}`: {reason}")]
    Name { name: String, reason: &'static str },
    /// `keygen` refuses to overwrite an existing secret key.
    #[error("the secret key file `{}` exists already", path.display())]
    Exists { path: PathBuf },
    /// The system's random number generator failed.
    #[error("cannot get random bytes for a new key: {reason}")]
    Random { reason: String },
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl KeyError {
    /// What is wrong, without the key (for messages that show the value themselves, such as a
    /// configuration error at `file:line`).
    pub fn reason(&self) -> String {
        match self {
            KeyError::Invalid { reason, .. } => reason.clone(),
            KeyError::Name { name, reason } => {
                format!("the key name `{name}` is invalid: {reason}")
            }
            other => other.to_string(),
        }
    }

    /// The command that fixes it, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            KeyError::Invalid { kind: "secret", .. } | KeyError::Io { .. } => Some(
                "make a key pair with `archway cache keygen NAME` and set `[cache] signing-key` to the file it writes"
                    .to_string(),
            ),
            KeyError::Invalid { .. } => Some(
                "copy the public key line exactly as `archway cache keygen` printed it into `[cache] trusted-keys`"
                    .to_string(),
            ),
            KeyError::Name { .. } => Some(
                "use a name like `cache.example.org-1`: letters, digits, `.`, `-` and `_`".to_string(),
            ),
            KeyError::Exists { path } => Some(format!(
                "keep the existing key, or remove it first: `rm {}`",
                path.display()
            )),
            KeyError::Random { .. } => None,
        }
    }
}

/// Checks a key name: non-empty, and no `:` or white space (the name ends at the first `:`).
fn check_name(name: &str) -> Result<(), KeyError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name.contains(':') {
        "it contains `:`"
    } else if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "it contains white space"
    } else {
        return Ok(());
    };
    Err(KeyError::Name {
        name: name.to_string(),
        reason,
    })
}

/// Splits `name:base64` and decodes the key data into `N` bytes.
fn parse_key<const N: usize>(
    text: &str,
    kind: &'static str,
    shown: impl Fn(&str) -> String,
) -> Result<(String, [u8; N]), KeyError> {
    let text = text.trim();
    let invalid = |reason: String| KeyError::Invalid {
        kind,
        shown: shown(text),
        reason,
    };
    let (name, data) = text
        .split_once(':')
        .ok_or_else(|| invalid("expected `name:base64`".to_string()))?;
    check_name(name)?;
    let bytes = BASE64
        .decode(data)
        .map_err(|error| invalid(format!("the key data is not base64 ({error})")))?;
    let array: [u8; N] = bytes.as_slice().try_into().map_err(|_| {
        invalid(format!(
            "the key data is {} bytes, an ed25519 {kind} key has {N}",
            bytes.len()
        ))
    })?;
    Ok((name.to_string(), array))
}

/// A secret key that signs entries (`[cache] signing-key` names the file holding it).
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        formatter
            .debug_struct("SigningKey")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new random key named `name`.
    pub fn generate(name: &str) -> Result<SigningKey, KeyError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| KeyError::Random {
            reason: error.to_string(),
        })?;
        Ok(SigningKey {
            name: name.to_string(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        })
    }

    /// Reads a secret key file (`name:base64`, as written by [`generate_key_file`] or Nix).
    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
            action: "read the secret key",
            path: path.to_path_buf(),
            source,
        })?;
        text.parse()
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public half, to trust elsewhere.
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The secret key file's content: `name:base64(seed ‖ public key)`, as Nix writes it.
    pub fn to_secret_line(&self) -> String {
        format!(
            "{}:{}",
            self.name,
            BASE64.encode(self.key.to_keypair_bytes())
        )
    }

    /// The signed record of the archive of entry `name` with that SHA-256 (hex) and size.
    pub fn sign(&self, name: &str, archive_sha256: &str, size: u64) -> Record {
        let signature = self
            .key
            .sign(fingerprint(name, archive_sha256, size).as_bytes());
        Record {
            format: RECORD_FORMAT,
            name: name.to_string(),
            archive_sha256: archive_sha256.to_string(),
            size,
            signer: Some(self.name.clone()),
            signature: Some(BASE64.encode(signature.to_bytes())),
        }
    }
}

impl FromStr for SigningKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<SigningKey, KeyError> {
        // The secret is never echoed back: only its name, or nothing.
        let shown = |text: &str| {
            text.split_once(':')
                .map_or("…", |(name, _)| name)
                .to_string()
        };
        let (name, bytes) = parse_key::<64>(text, "secret", shown)?;
        let key = ed25519_dalek::SigningKey::from_keypair_bytes(&bytes).map_err(|_| {
            KeyError::Invalid {
                kind: "secret",
                shown: name.clone(),
                reason: "its public half does not match its secret half".to_string(),
            }
        })?;
        Ok(SigningKey { name, key })
    }
}

/// A public key (`[cache] trusted-keys` lists them): `name:base64(32 bytes)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// The key's name (what a [`Record`]'s `signer` refers to).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{}:{}",
            self.name,
            BASE64.encode(self.key.as_bytes())
        )
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(text: &str) -> Result<PublicKey, KeyError> {
        let (name, bytes) = parse_key::<32>(text, "public", str::to_string)?;
        let key =
            ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| KeyError::Invalid {
                kind: "public",
                shown: text.trim().to_string(),
                reason: "the key data is not a point on the ed25519 curve".to_string(),
            })?;
        Ok(PublicKey { name, key })
    }
}

/// `archway cache keygen NAME FILE`: makes a key pair, writes the secret key to `secret_file`
/// (mode 0600, never overwriting one) and returns the public key, whose `to_string()` is the
/// line to put into `[cache] trusted-keys`.
pub fn generate_key_file(name: &str, secret_file: &Path) -> Result<PublicKey, KeyError> {
    let key = SigningKey::generate(name)?;
    let io = |action| {
        move |source| KeyError::Io {
            action,
            path: secret_file.to_path_buf(),
            source,
        }
    };
    if let Some(parent) = secret_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|source| KeyError::Io {
            action: "create",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    // create_new: never replace a key others may already trust; 0600 from the start, so the
    // secret is never readable by others, not even briefly.
    let mut file = {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(secret_file)
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                    path: secret_file.to_path_buf(),
                },
                _ => io("create the secret key")(source),
            })?
    };
    file.write_all(key.to_secret_line().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write the secret key"))?;
    Ok(key.public_key())
}

/// The public keys a user trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<PublicKey>,
}

impl TrustedKeys {
    /// Parses `[cache] trusted-keys` (each `name:base64`).
    pub fn parse<S: AsRef<str>>(lines: &[S]) -> Result<TrustedKeys, KeyError> {
        let keys = lines
            .iter()
            .map(|line| line.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(TrustedKeys { keys })
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a PublicKey> {
        self.keys.iter().filter(move |key| key.name == name)
    }
}

impl From<Vec<PublicKey>> for TrustedKeys {
    fn from(keys: Vec<PublicKey>) -> TrustedKeys {
        TrustedKeys { keys }
    }
}

/// What the signature covers: the entry's name, its archive's hash and size, in a versioned
/// form so that no other message archway signs can be mistaken for it.
pub fn fingerprint(name: &str, archive_sha256: &str, size: u64) -> String {
    format!("archway-cache-entry-1;{name};sha256:{archive_sha256};{size}")
}

/// `<name>.json` beside a shared archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub format: u32,
    pub name: String,
    /// SHA-256 of the compressed archive, lowercase hex.
    pub archive_sha256: String,
    /// Size of the compressed archive in bytes.
    pub size: u64,
    /// The signing key's name; absent when unsigned.
    #[serde(default)]
    pub signer: Option<String>,
    /// base64 of the ed25519 signature over [`fingerprint`]; absent when unsigned.
    #[serde(default)]
    pub signature: Option<String>,
}

impl Record {
    /// Parses a downloaded record of the entry `name`.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Record, UpstreamError> {
        serde_json::from_slice(bytes)
            .map_err(|error| untrusted(name, format!("its record is not valid ({error})")))
    }

    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and integers always serializes.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Checks that this record is for `name` and signed by a key in `trusted`; returns the
    /// signer. The archive's hash is checked separately, once downloaded ([`Record::check_archive`]).
    pub fn verify_signature(
        &self,
        name: &str,
        trusted: &TrustedKeys,
    ) -> Result<String, UpstreamError> {
        if self.format != RECORD_FORMAT {
            return Err(untrusted(
                name,
                format!(
                    "its record has format {}, this archway reads {RECORD_FORMAT}",
                    self.format
                ),
            ));
        }
        if self.name != name {
            return Err(untrusted(
                name,
                format!("its record is for another entry, `{}`", self.name),
            ));
        }
        let (Some(signer), Some(signature)) = (&self.signer, &self.signature) else {
            return Err(untrusted(name, "it is not signed".to_string()));
        };
        let signature = BASE64
            .decode(signature)
            .ok()
            .and_then(|bytes| ed25519_dalek::Signature::from_slice(&bytes).ok())
            .ok_or_else(|| untrusted(name, format!("its signature by `{signer}` is malformed")))?;
        let mut keys = trusted.named(signer).peekable();
        if keys.peek().is_none() {
            return Err(untrusted(
                name,
                format!("it is signed by `{signer}`, which is not in `[cache] trusted-keys`"),
            ));
        }
        let message = fingerprint(&self.name, &self.archive_sha256, self.size);
        if keys.any(|key| key.key.verify(message.as_bytes(), &signature).is_ok()) {
            Ok(signer.clone())
        } else {
            Err(untrusted(
                name,
                format!("its signature does not match the trusted key `{signer}`"),
            ))
        }
    }

    /// Checks a downloaded archive's SHA-256 (hex) and size against the signed ones.
    pub fn check_archive(&self, sha256: &str, size: u64) -> Result<(), UpstreamError> {
        if sha256 == self.archive_sha256 && size == self.size {
            Ok(())
        } else {
            Err(untrusted(
                &self.name,
                format!(
                    "its archive was altered: sha256 `{sha256}` ({size} bytes), the signed record says `{}` ({} bytes)",
                    self.archive_sha256, self.size
                ),
            ))
        }
    }
}

fn untrusted(name: &str, reason: String) -> UpstreamError {
    UpstreamError::Untrusted {
        name: name.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn reason(error: UpstreamError) -> String {
        match error {
            UpstreamError::Untrusted { reason, .. } => reason,
            other => panic!("expected Untrusted, got {other:?}"),
        }
    }

    #[test]
    fn secret_key_round_trips_through_nix_format() {
        let key = SigningKey::generate("cache.example.org-1").expect("generate");
        let line = key.to_secret_line();
        let (name, data) = line.split_once(':').expect("name:data");
        assert_eq!(name, "cache.example.org-1");
        // Nix's secret keys are 64 bytes: 88 base64 characters (nix3-key-generate-secret(1)).
        assert_eq!(data.len(), 88);
        let again: SigningKey = line.parse().expect("parse");
        assert_eq!(again.public_key(), key.public_key());
        let public = key.public_key().to_string();
        assert_eq!(public.split_once(':').map(|(_, d)| d.len()), Some(44));
        assert_eq!(
            public.parse::<PublicKey>().expect("parse"),
            key.public_key()
        );
    }

    #[test]
    fn reads_the_example_key_of_nix_manual() {
        // The secret key printed in nix3-key-generate-secret(1), "Format".
        let line = "cache.example.org-0:E7lAO+MsPwTFfPXsdPtW8GKui/5ho4KQHVcAGnX+Tti1V4dUxoVoqLyWJ4YESuZJwQ67GVIksDt47og+tPVUZw==";
        let key: SigningKey = line.parse().expect("nix's own example parses");
        assert_eq!(key.name(), "cache.example.org-0");
    }

    #[test]
    fn malformed_keys_are_refused_without_showing_secrets() {
        for (text, expected) in [
            ("no-colon", "expected `name:base64`"),
            ("name:!!!", "not base64"),
            ("name:AAAA", "3 bytes"),
        ] {
            let error = text.parse::<SigningKey>().expect_err(text);
            assert!(error.to_string().contains(expected), "{text}: {error}");
            assert!(!error.to_string().contains("!!!"), "{error}");
            assert!(error.hint().is_some());
        }
        let error = ":AAAA".parse::<PublicKey>().expect_err("empty name");
        assert!(error.to_string().contains("it is empty"), "{error}");
        assert!(SigningKey::generate("a b").is_err());
    }

    #[test]
    fn a_signed_record_verifies_and_checks_its_archive() {
        let key = SigningKey::generate("ci-1").expect("generate");
        let trusted = TrustedKeys::from(vec![key.public_key()]);
        let record = key.sign("rootfs-abc", HASH, 1234);
        let parsed = Record::parse("rootfs-abc", &record.to_json()).expect("parse");
        assert_eq!(
            parsed
                .verify_signature("rootfs-abc", &trusted)
                .expect("verifies"),
            "ci-1"
        );
        parsed.check_archive(HASH, 1234).expect("same archive");
        let altered = reason(
            parsed
                .check_archive(&HASH.replace('9', "8"), 1234)
                .expect_err("altered"),
        );
        assert!(altered.contains("altered"), "{altered}");
    }

    #[test]
    fn verification_refuses_each_way_an_entry_can_be_wrong() {
        let key = SigningKey::generate("ci-1").expect("generate");
        let stranger = SigningKey::generate("ci-1").expect("generate");
        let other_name = SigningKey::generate("ci-2").expect("generate");
        let trusted = TrustedKeys::from(vec![key.public_key()]);
        let good = key.sign("build-1", HASH, 10);

        let mut unsigned = good.clone();
        unsigned.signature = None;
        let mut resized = good.clone();
        resized.size = 11;
        let mut renamed = good.clone();
        renamed.name = "build-2".to_string();
        let mut garbled = good.clone();
        garbled.signature = Some("AAAA".to_string());
        let cases = [
            (unsigned, "build-1", "not signed"),
            (resized, "build-1", "does not match the trusted key `ci-1`"),
            (renamed.clone(), "build-2", "does not match"),
            (renamed, "build-1", "another entry"),
            (garbled, "build-1", "malformed"),
            (
                stranger.sign("build-1", HASH, 10),
                "build-1",
                "does not match",
            ),
            (
                other_name.sign("build-1", HASH, 10),
                "build-1",
                "`ci-2`, which is not in `[cache] trusted-keys`",
            ),
        ];
        for (record, name, expected) in cases {
            let reason = reason(record.verify_signature(name, &trusted).expect_err(expected));
            assert!(reason.contains(expected), "{expected}: {reason}");
        }
        assert!(Record::parse("build-1", b"{").is_err());
    }

    #[test]
    fn keygen_writes_a_private_file_and_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().expect("tempdir");
        let path = directory.path().join("keys/secret");
        let public = generate_key_file("team-1", &path).expect("keygen");
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(SigningKey::read(&path).expect("read").public_key(), public);
        let again = generate_key_file("team-1", &path).expect_err("exists");
        assert!(matches!(again, KeyError::Exists { .. }), "{again}");
        assert_eq!(SigningKey::read(&path).expect("read").public_key(), public);
    }
}
