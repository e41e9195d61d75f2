//! moto's S3 server on 127.0.0.1 (PyPI `moto[server]`, pinned, in the
//! venv `make test`'s bootstrap puts under `target/venv`), with a bucket
//! made by moto's own boto3: the off-site tests' real S3 peer. Its request
//! log (werkzeug's, one line per request) counts what reached it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server and its request log.
pub struct Moto {
    child: Child,
    pub dir: tempfile::TempDir,
    pub endpoint: String,
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin")
}

impl Moto {
    /// Starts the server with a bucket `bucket` (Object Lock enabled).
    pub fn start(bucket: &str) -> Moto {
        let dir = tempfile::Builder::new()
            .prefix("bd-moto-")
            .tempdir()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.path().join("requests.log")).unwrap();
        let child = Command::new(venv().join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("moto_server in target/venv (scripts/bootstrap.sh test installs it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        let moto = Moto {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        moto.boto(&format!(
            "s3.create_bucket(Bucket='{bucket}', ObjectLockEnabledForBucket=True)"
        ));
        moto
    }

    /// Runs `code` with `s3`, a boto3 client of this server (moto's own
    /// dependency), and returns its stdout. It checks no response
    /// checksum: moto reports a multipart object's composite checksum as
    /// if it were the whole object's, which boto3 would then refuse.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, botocore.config\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', \
             aws_secret_access_key='test', region_name='us-east-1', \
             config=botocore.config.Config(response_checksum_validation='when_required'))\n{code}\n",
            self.endpoint
        );
        let out = Command::new(venv().join("python"))
            .arg("-c")
            .arg(script)
            .env_remove("AWS_CA_BUNDLE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The request lines logged so far.
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("requests.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\" ") && l.contains(" HTTP/"))
            .map(str::to_owned)
            .collect()
    }

    /// The part numbers uploaded for `key_part` (UploadPart requests) in
    /// `lines`.
    pub fn parts_uploaded(lines: &[String], key_part: &str) -> Vec<u32> {
        lines
            .iter()
            .filter(|l| l.contains("PUT ") && l.contains(key_part) && l.contains("partNumber="))
            .filter_map(|l| {
                let n = l.split("partNumber=").nth(1)?;
                n.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
