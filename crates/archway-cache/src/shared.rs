//! The shared store: entries in S3-compatible object storage (`[cache] url = "s3://bucket/prefix"`).
//!
//! Each entry is two objects under the prefix: its archive, named by entry and content
//! (`<name>-<sha256>.tar.zst`, see [`crate::archive`]), and its signed record `<name>.json`
//! ([`crate::sign::Record`]), written last. A reader that finds a record therefore finds the
//! archive it names, and two machines pushing the same entry at once cannot pair one's record
//! with the other's archive.
//!
//! Endpoint, region and credentials come the way AWS tools take them: `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT`), `AWS_REGION` / `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and the other `AWS_*` variables object_store
//! reads; the url may also carry `?endpoint=…&region=…`. An `http://` endpoint (a store on the
//! LAN, a test server) is allowed without `AWS_ALLOW_HTTP`.
//!
//! object_store (Apache Arrow's, used by DataFusion, delta-rs and polars) rather than opendal:
//! it is one crate with S3 behind a feature, where opendal adds its own layers and signing
//! crates, and a clean build of this crate with it takes about 80 s on two cores. It is async;
//! the rest of archway is not, so a current-thread tokio runtime lives inside [`SharedStore`]
//! and every call blocks on it.
//!
//! Timeouts: connecting and every small request (a record, a `HEAD`) get `timeout`; transfers
//! get `timeout` plus one second per MiB (a store slower than 1 MiB/s counts as unreachable),
//! and a download that stalls for `timeout` is abandoned. An unreachable store thus costs a
//! build at most `timeout` per entry, never an error: the caller warns and builds.

use std::fmt;
use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use archway_platform::{NoProgress, Reporter};
use futures::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use sha2::{Digest, Sha256};

use crate::archive::{self, ArchiveError};
use crate::sign::{KeyError, Record, SigningKey, TrustedKeys};
use crate::upstream::{Pulled, Upstream, UpstreamError};

pub use crate::settings::DEFAULT_TIMEOUT;
/// Uploads larger than this go in parts of this size (S3's minimum part is 5 MiB).
const PART_SIZE: usize = 16 << 20;
/// Transfers get one second per this many bytes on top of the timeout.
const MINIMUM_RATE: u64 = 1 << 20;
/// Entries from this size on show a progress bar.
const PROGRESS_FROM: u64 = 1 << 20;
/// A record is a few hundred bytes; anything far larger is not one.
const MAXIMUM_RECORD: usize = 64 << 10;

/// What [`SharedStore::open`] needs: the `[cache]` settings that concern the shared store
/// (`url` may carry `?endpoint=URL&region=NAME`).
pub type Options = crate::settings::SharedSettings;

/// Why the shared store could not be set up from its settings.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("invalid `[cache] url` `{url}`: {reason}")]
    Url { url: String, reason: String },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("cannot set up the shared cache `{url}`: {reason}")]
    Store { url: String, reason: String },
    #[error("cannot start the shared cache's network runtime: {source}")]
    Runtime {
        #[source]
        source: io::Error,
    },
}

impl OpenError {
    /// The command that fixes it, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            OpenError::Url { .. } => Some(
                "write it as `s3://BUCKET/PREFIX` (endpoint and region from AWS_ENDPOINT_URL and AWS_REGION, or `?endpoint=URL&region=NAME`)"
                    .to_string(),
            ),
            OpenError::Key(error) => error.hint(),
            OpenError::Store { .. } => {
                Some("check the AWS_* variables: `env | grep ^AWS_`".to_string())
            }
            OpenError::Runtime { .. } => None,
        }
    }
}

/// Where `s3://bucket/prefix?endpoint=…&region=…` points.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Location {
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    region: Option<String>,
}

impl FromStr for Location {
    type Err = String;

    fn from_str(url: &str) -> Result<Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or("only `s3://` urls are supported")?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() {
            return Err("the bucket name is missing".to_string());
        }
        let mut location = Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            endpoint: None,
            region: None,
        };
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("endpoint", value)) if !value.is_empty() => {
                    location.endpoint = Some(value.to_string())
                }
                Some(("region", value)) if !value.is_empty() => {
                    location.region = Some(value.to_string())
                }
                _ => {
                    return Err(format!(
                        "unknown parameter `{pair}` (known: `endpoint=URL`, `region=NAME`)"
                    ))
                }
            }
        }
        if location.prefix.split('/').any(|part| part == "..") {
            return Err("the prefix contains `..`".to_string());
        }
        Ok(location)
    }
}

/// The reporter, with a `Debug` the trait objects lack.
#[derive(Clone)]
struct Progress(Arc<dyn Reporter>);

impl fmt::Debug for Progress {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Reporter")
    }
}

/// An S3-compatible shared store; implements [`Upstream`].
#[derive(Debug)]
pub struct SharedStore {
    url: String,
    store: Arc<dyn ObjectStore>,
    prefix: String,
    trusted: TrustedKeys,
    signing: Option<SigningKey>,
    timeout: Duration,
    runtime: tokio::runtime::Runtime,
    progress: Progress,
}

impl SharedStore {
    /// The store `options` describe, with endpoint, region and credentials from this process's
    /// `AWS_*` environment variables. Nothing is contacted yet.
    pub fn open(options: &Options) -> Result<SharedStore, OpenError> {
        SharedStore::open_with_environment(options, std::env::vars())
    }

    /// [`SharedStore::open`] with the `AWS_*` variables given instead of read from the process
    /// (tests, and callers that keep credentials elsewhere).
    pub fn open_with_environment(
        options: &Options,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Result<SharedStore, OpenError> {
        let url = options.url.clone();
        let location: Location = url.parse().map_err(|reason| OpenError::Url {
            url: url.clone(),
            reason,
        })?;
        let trusted = TrustedKeys::from(options.trusted_keys.clone());
        let signing = options
            .signing_key
            .as_deref()
            .map(SigningKey::read)
            .transpose()?;
        let mut builder = AmazonS3Builder::new();
        // What AmazonS3Builder::from_env does, over the given variables.
        for (name, value) in environment {
            if name.starts_with("AWS_") {
                if let Ok(key) = AmazonS3ConfigKey::from_str(&name.to_ascii_lowercase()) {
                    builder = builder.with_config(key, value);
                }
            }
        }
        builder = builder.with_bucket_name(&location.bucket);
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &location.region {
            builder = builder.with_region(region);
        }
        let plain_http = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .is_some_and(|endpoint| endpoint.starts_with("http://"));
        // The whole-request timeout stays off: a large download may rightly take minutes. A
        // read that stalls for `timeout` ends it instead, and `transfer` bounds each call.
        let client = ClientOptions::new()
            .with_connect_timeout(options.timeout)
            .with_read_timeout(options.timeout)
            .with_timeout_disabled()
            .with_allow_http(plain_http);
        let retry = RetryConfig {
            max_retries: 2,
            retry_timeout: options.timeout,
            ..RetryConfig::default()
        };
        let store = builder
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|error| OpenError::Store {
                url: url.clone(),
                reason: error.to_string(),
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| OpenError::Runtime { source })?;
        Ok(SharedStore {
            url,
            store: Arc::new(store),
            prefix: location.prefix,
            trusted,
            signing,
            timeout: options.timeout,
            runtime,
            progress: Progress(Arc::new(NoProgress)),
        })
    }

    /// Reports uploads and downloads of large entries (the CLI's indicatif reporter draws
    /// them on a terminal only).
    pub fn with_reporter(mut self, reporter: Arc<dyn Reporter>) -> SharedStore {
        self.progress = Progress(reporter);
        self
    }

    /// The url it was opened with.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether pushes are signed and sent (a signing key is configured).
    pub fn can_push(&self) -> bool {
        self.signing.is_some()
    }

    fn object(&self, file: &str) -> ObjectPath {
        if self.prefix.is_empty() {
            ObjectPath::from(file)
        } else {
            ObjectPath::from(format!("{}/{file}", self.prefix))
        }
    }

    fn record_path(&self, name: &str) -> ObjectPath {
        self.object(&format!("{name}.json"))
    }

    fn archive_path(&self, name: &str, sha256: &str) -> ObjectPath {
        self.object(&format!("{name}-{sha256}.tar.zst"))
    }

    fn unreachable(&self, reason: impl fmt::Display) -> UpstreamError {
        UpstreamError::Unreachable {
            url: self.url.clone(),
            reason: reason.to_string(),
        }
    }

    /// Runs `operation` on the runtime, giving up after `limit`.
    fn run<T>(
        &self,
        limit: Duration,
        what: &str,
        operation: impl std::future::Future<Output = Result<T, object_store::Error>>,
    ) -> Result<Result<T, object_store::Error>, UpstreamError> {
        self.runtime
            .block_on(async { tokio::time::timeout(limit, operation).await })
            .map_err(|_| self.unreachable(format!("{what} took longer than {limit:?}")))
    }

    /// The record of `name`, or `None` when the store has none.
    fn fetch_record(&self, name: &str) -> Result<Option<Record>, UpstreamError> {
        let path = self.record_path(name);
        let fetched = self.run(self.timeout, "reading the record", async {
            self.store.get(&path).await?.bytes().await
        })?;
        let bytes = match fetched {
            Ok(bytes) => bytes,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(self.unreachable(error)),
        };
        if bytes.len() > MAXIMUM_RECORD {
            return Err(UpstreamError::Untrusted {
                name: name.to_string(),
                reason: format!("its record is {} bytes, not a record", bytes.len()),
            });
        }
        Record::parse(name, &bytes).map(Some)
    }

    /// Downloads `path` into `file`, hashing as it goes; returns (sha256 hex, bytes).
    fn download(
        &self,
        name: &str,
        path: &ObjectPath,
        expected: u64,
        file: &mut fs::File,
    ) -> Result<(String, u64), UpstreamError> {
        let large = expected >= PROGRESS_FROM;
        if large {
            self.progress
                .0
                .start(&format!("downloading {name}"), Some(expected));
        }
        let result = self.runtime.block_on(async {
            let mut hasher = Sha256::new();
            let mut received = 0u64;
            let mut stream = tokio::time::timeout(self.timeout, self.store.get(path))
                .await
                .map_err(|_| self.unreachable("the download did not start in time"))?
                .map_err(|error| self.unreachable(error))?
                .into_stream();
            loop {
                let chunk = tokio::time::timeout(self.timeout, stream.next())
                    .await
                    .map_err(|_| {
                        self.unreachable(format!(
                            "the download stalled for {:?} after {received} bytes",
                            self.timeout
                        ))
                    })?;
                let Some(chunk) = chunk else { break };
                let chunk = chunk.map_err(|error| self.unreachable(error))?;
                hasher.update(&chunk);
                received += chunk.len() as u64;
                if received > expected {
                    // Longer than signed: altered, and possibly endless.
                    break;
                }
                file.write_all(&chunk).map_err(|source| UpstreamError::Io {
                    action: "write the download of",
                    path: PathBuf::from(name),
                    source,
                })?;
                if large {
                    self.progress.0.advance(chunk.len() as u64);
                }
            }
            Ok((hex(&hasher.finalize()), received))
        });
        if large {
            self.progress.0.finish();
        }
        result
    }

    /// Uploads `file` (`size` bytes) to `path`: one request, or parts for large ones.
    fn upload(
        &self,
        name: &str,
        path: &ObjectPath,
        file: &mut fs::File,
        size: u64,
    ) -> Result<(), UpstreamError> {
        let read_error = |source| UpstreamError::Io {
            action: "read the archive of",
            path: PathBuf::from(name),
            source,
        };
        file.rewind().map_err(read_error)?;
        let large = size >= PROGRESS_FROM;
        if large {
            self.progress
                .0
                .start(&format!("uploading {name}"), Some(size));
        }
        let result = (|| {
            if size <= PART_SIZE as u64 {
                let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
                file.read_to_end(&mut bytes).map_err(read_error)?;
                self.run(transfer_limit(self.timeout, size), "the upload", async {
                    self.store.put(path, PutPayload::from(bytes)).await
                })?
                .map_err(|error| self.unreachable(error))?;
                if large {
                    self.progress.0.advance(size);
                }
                return Ok(());
            }
            let mut upload = self
                .run(
                    self.timeout,
                    "starting the upload",
                    self.store.put_multipart(path),
                )?
                .map_err(|error| self.unreachable(error))?;
            let parts = (|| {
                loop {
                    let mut part = Vec::with_capacity(PART_SIZE);
                    Read::by_ref(file)
                        .take(PART_SIZE as u64)
                        .read_to_end(&mut part)
                        .map_err(read_error)?;
                    if part.is_empty() {
                        break;
                    }
                    let length = part.len() as u64;
                    self.run(
                        transfer_limit(self.timeout, length),
                        "uploading a part",
                        upload.put_part(PutPayload::from(part)),
                    )?
                    .map_err(|error| self.unreachable(error))?;
                    if large {
                        self.progress.0.advance(length);
                    }
                }
                self.run(self.timeout, "finishing the upload", upload.complete())?
                    .map_err(|error| self.unreachable(error))?;
                Ok(())
            })();
            if parts.is_err() {
                // Best effort: an unfinished multipart upload costs storage until aborted.
                let _ = self.run(self.timeout, "aborting the upload", upload.abort());
            }
            parts
        })();
        if large {
            self.progress.0.finish();
        }
        result
    }
}

impl Upstream for SharedStore {
    fn pull(&self, name: &str, into: &Path) -> Result<Pulled, UpstreamError> {
        check_entry_name(name)?;
        let Some(record) = self.fetch_record(name)? else {
            return Ok(Pulled::Absent);
        };
        // The signature first: an entry nobody trusts is not even downloaded.
        let signer = record.verify_signature(name, &self.trusted)?;
        if !is_sha256_hex(&record.archive_sha256) {
            return Err(UpstreamError::Untrusted {
                name: name.to_string(),
                reason: "its record names no valid archive hash".to_string(),
            });
        }
        // Never unpacked over, and never removed on failure, when it was there before.
        if fs::symlink_metadata(into).is_ok() {
            return Err(UpstreamError::Io {
                action: "restore into",
                path: into.to_path_buf(),
                source: io::Error::from(io::ErrorKind::AlreadyExists),
            });
        }
        // The download goes to the temporary directory (an anonymous-on-drop file there), not
        // beside `into`: a killed process leaves nothing in the cache that no one cleans.
        let mut download = tempfile::Builder::new()
            .prefix(&format!("archway-{name}.download-"))
            .tempfile()
            .map_err(io_error("create a download file in", &std::env::temp_dir()))?;
        let path = self.archive_path(name, &record.archive_sha256);
        let (sha256, bytes) = self.download(name, &path, record.size, download.as_file_mut())?;
        record.check_archive(&sha256, bytes)?;
        let mut archive = download
            .reopen()
            .map_err(io_error("open", download.path()))?;
        archive
            .rewind()
            .map_err(io_error("read", download.path()))?;
        if let Some(parent) = into
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            fs::create_dir_all(parent).map_err(io_error("create", parent))?;
        }
        // Callers pass a partial path they rename when done (the rootfs store's
        // `.partial-<name>-<pid>`), so `into` is complete or absent to everyone else.
        if let Err(error) = archive::unpack(io::BufReader::new(archive), into) {
            remove_tree(into);
            return Err(archive_error(name, error));
        }
        tracing::info!(entry = name, signer = %signer, bytes, "restored from the shared cache");
        Ok(Pulled::Restored { signer, bytes })
    }

    fn push(&self, name: &str, from: &Path) -> Result<(), UpstreamError> {
        let Some(signing) = &self.signing else {
            return Ok(());
        };
        check_entry_name(name)?;
        // Already there (entries are named by what decides their content): nothing to send.
        // Asked before packing, so an unreachable store costs the timeout, not a pack.
        let record_path = self.record_path(name);
        match self.run(
            self.timeout,
            "checking the record",
            self.store.head(&record_path),
        )? {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(error) => return Err(self.unreachable(error)),
        }
        let mut packed =
            tempfile::tempfile().map_err(io_error("create a temporary file for", from))?;
        let (sha256, size) = {
            let writer = HashingWriter::new(io::BufWriter::new(&mut packed));
            let (mut writer, _) =
                archive::pack(from, writer).map_err(|error| archive_error(name, error))?;
            writer
                .flush()
                .map_err(io_error("write the archive of", from))?;
            writer.finish()
        };
        let archive_path = self.archive_path(name, &sha256);
        self.upload(name, &archive_path, &mut packed, size)?;
        let record = signing.sign(name, &sha256, size);
        self.run(self.timeout, "writing the record", async {
            self.store
                .put(&record_path, PutPayload::from(record.to_json()))
                .await
        })?
        .map_err(|error| self.unreachable(error))?;
        tracing::info!(entry = name, bytes = size, "pushed to the shared cache");
        Ok(())
    }
}

/// Entry names are `[a-z0-9-]+` (the trait's contract): safe as object and file names.
fn check_entry_name(name: &str) -> Result<(), UpstreamError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    if valid {
        Ok(())
    } else {
        Err(UpstreamError::Untrusted {
            name: name.to_string(),
            reason: "an entry name is made of `a-z`, `0-9` and `-` only".to_string(),
        })
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

/// How long a transfer of `bytes` may take: the timeout plus a second per MiB.
fn transfer_limit(timeout: Duration, bytes: u64) -> Duration {
    timeout + Duration::from_secs(bytes.div_ceil(MINIMUM_RATE))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(io::Error) -> UpstreamError + 'a {
    move |source| UpstreamError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A damaged or hostile archive of a signed entry is still refused, as untrusted.
fn archive_error(name: &str, error: ArchiveError) -> UpstreamError {
    match error {
        ArchiveError::Io {
            action,
            path,
            source,
        } => UpstreamError::Io {
            action,
            path,
            source,
        },
        other => UpstreamError::Untrusted {
            name: name.to_string(),
            reason: other.to_string(),
        },
    }
}

/// Removes a tree this module made (best effort: it is a leftover either way).
fn remove_tree(path: &Path) {
    if let Err(error) = fs::remove_dir_all(path) {
        tracing::warn!(path = %path.display(), error = %error, "cannot remove a partial entry");
    }
}

/// Counts and hashes what passes through.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
        }
    }

    fn finish(&mut self) -> (String, u64) {
        (hex(&self.hasher.clone().finalize()), self.written)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_bucket_prefix_and_parameters() {
        let location: Location =
            "s3://team-cache/archway/v1/?endpoint=http://10.0.0.2:9000&region=eu-west-1"
                .parse()
                .expect("valid");
        assert_eq!(
            location,
            Location {
                bucket: "team-cache".to_string(),
                prefix: "archway/v1".to_string(),
                endpoint: Some("http://10.0.0.2:9000".to_string()),
                region: Some("eu-west-1".to_string()),
            }
        );
        let bare: Location = "s3://bucket".parse().expect("valid");
        assert_eq!((bare.prefix.as_str(), bare.endpoint), ("", None));
        for (url, expected) in [
            ("https://bucket/prefix", "only `s3://`"),
            ("s3:///prefix", "bucket name is missing"),
            ("s3://bucket/a?color=red", "unknown parameter `color=red`"),
            ("s3://bucket/a/../b", "`..`"),
        ] {
            let error = url.parse::<Location>().expect_err(url);
            assert!(error.contains(expected), "{url}: {error}");
        }
    }

    #[test]
    fn entry_names_are_checked() {
        assert!(check_entry_name("rootfs-arm64-bookworm-0a1b").is_ok());
        for name in ["", "Build", "a/b", "../x", "a.json", "a b"] {
            assert!(check_entry_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn transfer_limit_grows_with_size() {
        let timeout = Duration::from_secs(5);
        assert_eq!(transfer_limit(timeout, 0), timeout);
        assert_eq!(transfer_limit(timeout, 1), Duration::from_secs(6));
        assert_eq!(transfer_limit(timeout, 150 << 20), Duration::from_secs(155));
    }

    #[test]
    fn opening_checks_url_and_keys_without_contacting_anything() {
        let options = |url: &str| Options {
            url: url.to_string(),
            trusted_keys: Vec::new(),
            signing_key: None,
            timeout: DEFAULT_TIMEOUT,
        };
        let environment = || {
            [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]
                .map(|(name, value)| (name.to_string(), value.to_string()))
        };
        let store = SharedStore::open_with_environment(
            &options("s3://bucket/prefix?endpoint=http://127.0.0.1:1"),
            environment(),
        )
        .expect("opens");
        assert!(!store.can_push());
        assert_eq!(
            store.archive_path("build-1", "ab").as_ref(),
            "prefix/build-1-ab.tar.zst"
        );
        assert!(matches!(
            SharedStore::open_with_environment(&options("gs://x"), environment()),
            Err(OpenError::Url { .. })
        ));
        let missing_key = Options {
            signing_key: Some(PathBuf::from("/nonexistent/archway.secret")),
            ..options("s3://bucket")
        };
        assert!(matches!(
            SharedStore::open_with_environment(&missing_key, environment()),
            Err(OpenError::Key(_))
        ));
    }
}
