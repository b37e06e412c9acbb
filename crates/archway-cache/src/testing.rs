//! Test support (hidden from the docs, not archway's interface: it panics, which library code
//! never does): a real S3 server, moto's, for the shared store's tests in this crate and the
//! CLI's end-to-end tests of the shared cache.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archway_platform::testing::in_ci;

/// Where scripts/test.sh installs moto's server (its "S3 test server" step).
pub const MOTO_SERVER: &str = "/var/cache/archway-test/moto-venv/bin/moto_server";

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
