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

/// Issue 27 case 14: an answer whose body comes a byte every 200 ms (each
/// read well within the timeout) is given up when the answer's own time
/// runs out, with the timeout's kind (before: waited on for as long as
/// the server kept sending).
#[test]
fn an_answer_sent_a_byte_at_a_time_is_given_up_at_its_deadline() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"backups\": [",
                );
                // 20 minutes' worth, a byte at a time, while the client reads.
                for _ in 0..6000 {
                    std::thread::sleep(Duration::from_millis(200));
                    if stream.write_all(b" ").is_err() {
                        break;
                    }
                }
            });
        }
    });
    let client = RemoteServer::with_read_timeout(
        &format!("http://{addr}"),
        "admin",
        None,
        Duration::from_secs(3),
    )
    .unwrap();
    client.set_token("t");
    let started = Instant::now();
    let err = client.list().map(|_| ()).unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), "timeout", "{err}");
    assert!(
        took < Duration::from_secs(15),
        "given up at its deadline: {took:?}"
    );
}

/// A server on 127.0.0.1 that answers every request with `answer` (raw
/// HTTP), until the test ends. Written from the wire, not from our client.
fn canned_server(answer: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut buf = [0u8; 8192];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(&answer);
        }
    });
    format!("http://{addr}")
}

fn http(status: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut answer = format!(
        "HTTP/1.0 {status}\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body);
    answer
}

/// Answers a hostile or broken server may give: each is reported with its
/// kind (never a panic, a hang or a crash from a deep nesting), and names
/// that could escape a folder never reach a listing.
#[test]
fn hostile_server_answers_are_reported_with_their_kind() {
    const JSON: &str = "Content-Type: application/json\r\n";
    let item = |name: &str| {
        format!(
            r#"{{"filename": "{name}", "path": "/x", "size": 10, "size_human": "10 B", "created_at": "2026-12-01T00:00:00", "encrypted": true}}"#
        )
    };
    let good = "servers_db_20261201_000000.db.gpg";
    let deep = format!(
        "{{\"backups\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("an HTML page", http("200 OK", "Content-Type: text/html\r\n", b"<html>login</html>"), "bad_response"),
        ("an empty body", http("200 OK", JSON, b""), "bad_response"),
        ("an object without backups", http("200 OK", JSON, b"{}"), "bad_response"),
        ("backups that are a string", http("200 OK", JSON, br#"{"backups": "x"}"#), "bad_response"),
        ("JSON nested 100000 deep", http("200 OK", JSON, deep.as_bytes()), "bad_response"),
        ("bytes that are not UTF-8", http("200 OK", JSON, b"{\"backups\": [\"\xff\xfe\"]}"), "bad_response"),
        (
            "a body cut short of its Content-Length",
            b"HTTP/1.0 200 OK\r\nContent-Length: 5000\r\nContent-Type: application/json\r\n\r\n{\"backups\": [".to_vec(),
            "bad_response",
        ),
        ("a 500 with an HTML page", http("500 Internal Server Error", "Content-Type: text/html\r\n", b"<h1>oops</h1>"), "server_error"),
        ("a 401 (no password kept)", http("401 Unauthorized", JSON, br#"{"error": "token expired"}"#), "authentication_required"),
        ("a 403", http("403 Forbidden", JSON, br#"{"error": "admin only"}"#), "not_admin"),
        ("a 429 with Retry-After", http("429 Too Many Requests", &format!("{JSON}Retry-After: 30\r\n"), br#"{"error": "slow down"}"#), "rate_limited"),
        ("a connection closed without an answer", Vec::new(), "unreachable"),
        ("a status line that is not HTTP", b"SSH-2.0-OpenSSH_9.2\r\n".to_vec(), "unreachable"),
    ];
    for (what, answer, kind) in &cases {
        let url = canned_server(answer.clone());
        let client = RemoteServer::new(&url, "admin", None).unwrap();
        client.set_token("t");
        let err = client.list().map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), *kind, "{what}: {err}");
        assert!(
            err.to_string().len() < 2048,
            "{what}: the message is bounded"
        );
    }
    // Names that could escape a folder, and duplicates, never reach the list.
    let hostile = format!(
        r#"{{"backups": [{}, {}, {}, {}, {}, {}, {}]}}"#,
        item("../../etc/passwd"),
        item("/var/lib/secret.db.gpg"),
        item("servers_db_20261201_000000.db.gpg/../../x"),
        item("..%2f..%2fservers.db"),
        item(good),
        item(good),
        r#"{"filename": 42, "size": "big"}"#,
    );
    let url = canned_server(http("200 OK", JSON, hostile.as_bytes()));
    let client = RemoteServer::new(&url, "admin", None).unwrap();
    client.set_token("t");
    let list = client.list().unwrap();
    let names: Vec<&str> = list.iter().map(|i| i.filename.as_str()).collect();
    assert_eq!(names, [good], "only the one real backup, once");
    // Ten thousand entries are fine.
    let many: Vec<String> = (0..10_000)
        .map(|i| {
            item(&format!(
                "servers_db_20261201_{:02}{:02}{:02}.db.gpg",
                i / 3600,
                i / 60 % 60,
                i % 60
            ))
        })
        .collect();
    let url = canned_server(http(
        "200 OK",
        JSON,
        format!(r#"{{"backups": [{}]}}"#, many.join(",")).as_bytes(),
    ));
    let client = RemoteServer::new(&url, "admin", None).unwrap();
    client.set_token("t");
    assert_eq!(client.list().unwrap().len(), 10_000);
    tally("remote (answers)", cases.len() + 2);
}
