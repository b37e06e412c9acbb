//! Test support: a real S3 server (moto's) and an exact description of a directory tree.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where scripts/test.sh installs moto's server (its "S3 test server" step).
pub const MOTO_SERVER: &str = "/var/cache/archway-test/moto-venv/bin/moto_server";

/// Whether this run is CI, where a missing tool fails the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Skips (returns `None`) outside CI when moto is not installed; fails in CI.
pub fn moto_or_skip(test: &str) -> Option<Moto> {
    if !Path::new(MOTO_SERVER).exists() {
        assert!(
            !in_ci(),
            "CI: {MOTO_SERVER} is missing; scripts/test.sh installs it"
        );
        eprintln!("skipping {test}: {MOTO_SERVER} is missing (scripts/test.sh installs it)");
        return None;
    }
    Some(Moto::start())
}

/// moto's S3 server on a free port of 127.0.0.1, with one bucket; stopped on drop.
#[derive(Debug)]
pub struct Moto {
    child: Option<Child>,
    pub port: u16,
    pub bucket: String,
}

impl Moto {
    pub fn start() -> Moto {
        // A port the kernel just handed out and we released: free unless raced.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(MOTO_SERVER)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child: Some(child),
            port,
            bucket: "archway-test".to_string(),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let bucket = format!("/{}", moto.bucket);
        let (status, body) = moto.request("PUT", &bucket, &[]);
        assert_eq!(status, 200, "creating the bucket: {body:?}");
        moto
    }

    /// The endpoint for `?endpoint=` / AWS_ENDPOINT_URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `s3://bucket/prefix?endpoint=…`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}?endpoint={}", self.bucket, self.endpoint())
    }

    /// Credentials moto accepts (it checks none by default, object_store signs anyway).
    pub fn environment() -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
        ]
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .to_vec()
    }

    /// One plain HTTP/1.1 request (moto serves unsigned requests): (status, body).
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.port,
            body.len()
        );
        stream.write_all(head.as_bytes()).expect("send");
        stream.write_all(body).expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("receive");
        let text = String::from_utf8_lossy(&response);
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        let header_end = response
            .windows(4)
            .position(|window| window == b"\r\n\r\n")
            .map_or(response.len(), |position| position + 4);
        (status, response[header_end..].to_vec())
    }

    /// A signed client of the bucket (moto refuses anonymous object reads).
    fn client(&self) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_bucket_name(&self.bucket)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .expect("client")
    }

    fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    /// The bytes of object `key`.
    pub fn get(&self, key: &str) -> Vec<u8> {
        use object_store::ObjectStoreExt;
        let client = self.client();
        let path = object_store::path::Path::from(key);
        Moto::block_on(async { client.get(&path).await?.bytes().await })
            .unwrap_or_else(|error| panic!("GET {key}: {error}"))
            .to_vec()
    }

    /// Replaces object `key`.
    pub fn put(&self, key: &str, body: &[u8]) {
        use object_store::ObjectStoreExt;
        let client = self.client();
        let path = object_store::path::Path::from(key);
        Moto::block_on(client.put(&path, body.to_vec().into()))
            .unwrap_or_else(|error| panic!("PUT {key}: {error}"));
    }

    /// Stops the server now (the store becomes unreachable).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything an archive must keep about a tree, one line per entry: kind, mode, owner,
/// modification time (seconds), size or target or device, and for hard-linked files the first
/// path of their group within the tree (links to files outside the tree do not count).
pub fn describe_tree(root: &Path) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let mut inodes: BTreeMap<(u64, u64), Vec<String>> = BTreeMap::new();
    let mut pending = vec![PathBuf::new()];
    let mut metadata_of = BTreeMap::new();
    while let Some(relative) = pending.pop() {
        for entry in fs::read_dir(root.join(&relative)).expect("read_dir") {
            let entry = entry.expect("entry");
            let relative = relative.join(entry.file_name());
            let metadata = fs::symlink_metadata(root.join(&relative)).expect("lstat");
            let name = relative.to_string_lossy().into_owned();
            if metadata.is_dir() {
                pending.push(relative);
            } else if metadata.nlink() > 1 {
                inodes
                    .entry((metadata.dev(), metadata.ino()))
                    .or_default()
                    .push(name.clone());
            }
            metadata_of.insert(name, metadata);
        }
    }
    let mut group_of = BTreeMap::new();
    for paths in inodes.values().filter(|paths| paths.len() > 1) {
        let first = paths.iter().min().expect("non-empty").clone();
        for path in paths {
            group_of.insert(path.clone(), first.clone());
        }
    }
    for (name, metadata) in metadata_of {
        let file_type = metadata.file_type();
        let what = if file_type.is_symlink() {
            format!(
                "symlink -> {}",
                fs::read_link(root.join(&name)).expect("readlink").display()
            )
        } else if file_type.is_dir() {
            "directory".to_string()
        } else if file_type.is_file() {
            format!("file {} bytes", metadata.len())
        } else if file_type.is_char_device() || file_type.is_block_device() {
            format!("device {:x}", metadata.rdev())
        } else if file_type.is_fifo() {
            "fifo".to_string()
        } else {
            "socket".to_string()
        };
        let mode = if file_type.is_symlink() {
            0
        } else {
            metadata.mode() & 0o7777
        };
        let group = group_of
            .get(&name)
            .map(|first| format!(" linked with {first}"))
            .unwrap_or_default();
        entries.insert(
            name,
            format!(
                "{what} mode {mode:o} owner {}:{} mtime {}{group}",
                metadata.uid(),
                metadata.gid(),
                metadata.mtime()
            ),
        );
    }
    entries
}

/// The paths whose file content differs between two trees with the same description.
pub fn different_contents(left: &Path, right: &Path) -> Vec<String> {
    let mut different = Vec::new();
    for (name, line) in describe_tree(left) {
        if !line.starts_with("file ") {
            continue;
        }
        let same = fs::read(left.join(&name)).ok() == fs::read(right.join(&name)).ok();
        if !same {
            different.push(name);
        }
    }
    different
}

/// Lines of `expected` that `actual` lacks or has otherwise, for a readable failure.
pub fn differences(
    expected: &BTreeMap<String, String>,
    actual: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut lines = Vec::new();
    for (name, line) in expected {
        match actual.get(name) {
            Some(other) if other == line => {}
            Some(other) => lines.push(format!("{name}: {line} ≠ {other}")),
            None => lines.push(format!("{name}: missing")),
        }
    }
    for name in actual.keys().filter(|name| !expected.contains_key(*name)) {
        lines.push(format!("{name}: extra"));
    }
    lines
}
