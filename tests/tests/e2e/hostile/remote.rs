//! Remote: servers that redirect, answer without end, or answer
//! nonsense; profile URLs that carry secrets or are malformed.

use super::*;

use backupdesk_core::remote::RemoteServer;

/// Cases 2 and 3/17: a login answered with a 307 elsewhere is not
/// followed (the password stays here); URLs with credentials, queries,
/// fragments, bad ports or paths are refused; the plain-http warning
/// judges the real host.
#[test]
fn redirects_are_never_followed_and_urls_are_checked() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let evil = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let evil_addr = evil.local_addr().unwrap();
    evil.set_nonblocking(true).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let answer = format!(
            "HTTP/1.0 307 Temporary Redirect\r\nLocation: http://{evil_addr}/api/auth/login\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(answer.as_bytes()).unwrap();
    });
    let client = RemoteServer::new(&format!("http://{addr}"), "admin", None).unwrap();
    let err = client.login("the-admin-password").unwrap_err();
    server.join().unwrap();
    assert_eq!(err.kind(), "redirected", "{err}");
    assert!(err.to_string().contains(&evil_addr.to_string()), "{err}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(evil.accept().is_err(), "nothing reached the other origin");

    for bad in [
        "http://admin:secret@monitor.example.org:9083",
        "https://monitor.example.org:99999",
        "https://monitor.example.org/#frag",
        "https://monitor.example.org/?q=1",
        "https://monitor example.org",
        "ftp://monitor.example.org",
        "https://monitor.example.org/api",
    ] {
        let err = RemoteServer::new(bad, "admin", None)
            .map(|_| ())
            .unwrap_err();
        assert_eq!(err.kind(), "invalid_url", "{bad}: {err}");
        assert!(!err.to_string().contains("secret"), "{err}");
        let scratch = tempfile::tempdir().unwrap();
        let out = backupdesk()
            .env("BACKUPDESK_CONFIG_DIR", scratch.path())
            .args([
                "--json",
                "profile",
                "add",
                "x",
                "--url",
                bad,
                "--username",
                "admin",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("invalid_url") && !text.contains("secret"),
            "{bad}: {text}"
        );
        assert!(!scratch.path().join("profiles.toml").exists());
    }
    use backupdesk_core::remote::insecure_url;
    assert!(insecure_url("http://127.0.0.1@evil.example/"));
    assert!(insecure_url("http://127.evil.example/"));
    assert!(!insecure_url("http://127.0.0.2:9083"));
    assert!(!insecure_url("http://[::1]:9083"));
}

/// Case 10: an endless answer is cut at the limit, not read into memory.
#[test]
fn an_endless_server_answer_is_refused_at_the_limit() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = stream.read(&mut buf);
        let _ = stream
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"backups\": [");
        let chunk = vec![b' '; 1 << 20];
        // At most 256 MiB, and only while the client reads.
        for _ in 0..256 {
            if stream.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let client = RemoteServer::new(&format!("http://{addr}"), "admin", None).unwrap();
    client.set_token("t");
    let err = client.list().unwrap_err();
    server.join().unwrap();
    assert_eq!(err.kind(), "bad_response", "{err}");
    assert!(err.to_string().contains("larger than 32 MiB"), "{err}");
}
