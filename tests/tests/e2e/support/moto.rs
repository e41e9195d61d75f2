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
    /// The keys [`Moto::boto`] signs with (any key, unless IAM is on).
    admin: (String, String),
}

/// A key moto's IAM knows: an access key id and its secret.
#[derive(Debug, Clone)]
pub struct MotoKey {
    pub id: String,
    pub secret: String,
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin")
}

impl Moto {
    /// Starts the server with a bucket `bucket` (Object Lock enabled).
    pub fn start(bucket: &str) -> Moto {
        let moto = Self::launch(None);
        moto.boto(&format!(
            "s3.create_bucket(Bucket='{bucket}', ObjectLockEnabledForBucket=True)"
        ));
        moto
    }

    /// Starts the server with IAM on: every request is checked against
    /// moto's users. Its first requests (unchecked, counted by
    /// `INITIAL_NO_AUTH_ACTION_COUNT`) make the bucket, an admin user for
    /// [`Moto::boto`], and a user whose key may do what `policy` (an IAM
    /// policy document) allows; that key is returned.
    pub fn start_with_iam(bucket: &str, policy: &str) -> (Moto, MotoKey) {
        let mut moto = Self::launch(Some(7));
        let out = moto.boto(&format!(
            "import json\n\
             s3.create_bucket(Bucket='{bucket}', ObjectLockEnabledForBucket=True)\n\
             iam = boto3.client('iam', endpoint_url='{e}', aws_access_key_id='test', aws_secret_access_key='test', region_name='us-east-1')\n\
             keys = []\n\
             for user, doc in (('admin', json.dumps({{'Version': '2012-10-17', 'Statement': [{{'Effect': 'Allow', 'Action': '*', 'Resource': '*'}}]}})), ('pusher', {policy:?})):\n\
             \x20   iam.create_user(UserName=user)\n\
             \x20   iam.put_user_policy(UserName=user, PolicyName='p', PolicyDocument=doc)\n\
             \x20   k = iam.create_access_key(UserName=user)['AccessKey']\n\
             \x20   keys.append(k['AccessKeyId'] + ' ' + k['SecretAccessKey'])\n\
             print('\\n'.join(keys))",
            e = moto.endpoint
        ));
        let mut lines = out.lines().map(|l| {
            let (id, secret) = l.split_once(' ').unwrap();
            MotoKey {
                id: id.to_owned(),
                secret: secret.to_owned(),
            }
        });
        let admin = lines.next().unwrap();
        let pusher = lines.next().unwrap();
        moto.admin = (admin.id, admin.secret);
        (moto, pusher)
    }

    /// Revokes `key` (deletes it from moto's IAM).
    pub fn revoke(&self, key: &MotoKey) {
        self.boto(&format!(
            "iam = boto3.client('iam', endpoint_url='{}', aws_access_key_id='{}', aws_secret_access_key='{}', region_name='us-east-1')\n\
             iam.delete_access_key(UserName='pusher', AccessKeyId='{}')",
            self.endpoint, self.admin.0, self.admin.1, key.id
        ));
    }

    fn launch(unchecked: Option<u32>) -> Moto {
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
        let mut command = Command::new(venv().join("moto_server"));
        if let Some(count) = unchecked {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", count.to_string());
        }
        let child = command
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
        Moto {
            child,
            dir,
            endpoint: format!("http://127.0.0.1:{port}"),
            admin: ("test".to_owned(), "test".to_owned()),
        }
    }

    /// Runs `code` with `s3`, a boto3 client of this server (moto's own
    /// dependency), and returns its stdout. It checks no response
    /// checksum: moto reports a multipart object's composite checksum as
    /// if it were the whole object's, which boto3 would then refuse.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, botocore.config\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='{}', \
             aws_secret_access_key='{}', region_name='us-east-1', \
             config=botocore.config.Config(response_checksum_validation='when_required'))\n{code}\n",
            self.endpoint, self.admin.0, self.admin.1
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
