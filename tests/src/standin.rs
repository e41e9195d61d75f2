//! A stand-in for a Server Monitor server, written from
//! `shared/docs/server-monitor.md` §4 and §6 (not from our client): axum on
//! 127.0.0.1 with a random port, real work on a temp data directory through
//! backupdesk-core, the contract's JSON shapes and status codes, admin and
//! non-admin accounts, HS256 JWTs that expire, the login rate limit (429 +
//! `Retry-After`), one request at a time, `Connection: close`, health that
//! answers 200 with `healthy:false`, a backup that answers 500 after its own
//! pruning, a restore that drops the connection and restarts (invalidating
//! every token), and, when switched on, the empty-database-after-restore
//! defect.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use backupdesk_core::backup::{BackupOptions, create_backup};
use backupdesk_core::catalog::BackupCatalog;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::crypto::Passphrase;
use backupdesk_core::health::{self, HealthReport, StorageReport};
use backupdesk_core::layout::DataDir;
use backupdesk_core::name::{BackupKind, BackupName};
use backupdesk_core::progress::NoProgress;
use backupdesk_core::restore::{RestoreOptions, restore};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Accounts of the stand-in: `admin`/`admin-password` (admin, also
/// `admin@example.org`) and `viewer`/`viewer-password` (not admin).
pub const ADMIN: (&str, &str) = ("admin", "admin-password");
/// See [`ADMIN`].
pub const VIEWER: (&str, &str) = ("viewer", "viewer-password");

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct StandInOptions {
    /// The installation it serves.
    pub data_dir: PathBuf,
    /// The passphrase its backups use.
    pub passphrase: String,
    /// Token lifetime (the real server: 24 h).
    pub token_lifetime: Duration,
    /// Reproduce defect §6.1: after a restore the database is an empty file.
    pub empty_db_after_restore: bool,
}

struct AppState {
    options: StandInOptions,
    secret: Mutex<Vec<u8>>,
    logins: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    blocked_until: Mutex<HashMap<IpAddr, Instant>>,
    calls: Mutex<HashMap<IpAddr, Vec<Instant>>>,
    one_at_a_time: tokio::sync::Mutex<()>,
    login_requests: AtomicUsize,
    database_requests: AtomicUsize,
}

/// A running stand-in server; stops when dropped.
pub struct StandIn {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    state: Arc<AppState>,
    _background: Background,
}

/// A server running on its own thread with a one-thread tokio runtime;
/// stopped (and joined) when dropped.
struct Background {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Background {
    /// Binds a loopback listener on a random port and runs
    /// `serve(listener, shutdown)` on a new thread; returns the address.
    fn start<F, Fut>(serve: F) -> (SocketAddr, Self)
    where
        F: FnOnce(tokio::net::TcpListener, tokio::sync::oneshot::Receiver<()>) -> Fut
            + Send
            + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx.send(listener.local_addr().expect("address")).ok();
                serve(listener, rx).await;
            });
        });
        let addr = addr_rx.recv().expect("server started");
        (
            addr,
            Background {
                shutdown: Some(tx),
                thread: Some(thread),
            },
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl StandIn {
    /// Starts a stand-in on a random loopback port.
    pub fn start(options: StandInOptions) -> Self {
        let state = Arc::new(AppState {
            options,
            secret: Mutex::new(random_secret()),
            logins: Mutex::default(),
            blocked_until: Mutex::default(),
            calls: Mutex::default(),
            one_at_a_time: tokio::sync::Mutex::new(()),
            login_requests: AtomicUsize::new(0),
            database_requests: AtomicUsize::new(0),
        });
        let app_state = state.clone();
        let (addr, background) = Background::start(move |front, shutdown| async move {
            // axum (hyper) listens inside; clients talk to a front that
            // answers like the real server, as HTTP/1.0 with
            // `Connection: close` (hyper itself always says 1.1).
            let inner = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let inner_addr = inner.local_addr().expect("address");
            tokio::spawn(http10_front(front, inner_addr));
            let app = router(app_state);
            axum::serve(
                inner,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = shutdown.await;
            })
            .await
            .ok();
        });
        StandIn {
            base_url: format!("http://{addr}"),
            state,
            _background: background,
        }
    }

    /// How many login requests arrived so far.
    pub fn login_requests(&self) -> usize {
        self.state.login_requests.load(Ordering::SeqCst)
    }

    /// How many `/api/database/*` requests arrived so far.
    pub fn database_requests(&self) -> usize {
        self.state.database_requests.load(Ordering::SeqCst)
    }

    /// A token for `user` that expired an hour ago (signed with the current secret).
    pub fn expired_token(&self, user: &str) -> String {
        let role = if user == ADMIN.0 { "admin" } else { "user" };
        sign(
            &self.state.secret.lock().unwrap(),
            user,
            role,
            unix_now() - 3600,
        )
    }

    /// Simulates a restart: every token becomes invalid.
    pub fn restart(&self) {
        *self.state.secret.lock().unwrap() = random_secret();
    }
}

/// Forwards each connection to `inner` and rewrites the response's status
/// line to HTTP/1.0 (one response per connection: `Connection: close`).
async fn http10_front(front: tokio::net::TcpListener, inner: SocketAddr) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((client, _)) = front.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let Ok(backend) = tokio::net::TcpStream::connect(inner).await else {
                return;
            };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut backend_read, mut backend_write) = backend.into_split();
            let upstream = tokio::spawn(async move {
                let _ = tokio::io::copy(&mut client_read, &mut backend_write).await;
                let _ = backend_write.shutdown().await;
            });
            let mut first = vec![0u8; 64 * 1024];
            if let Ok(n) = backend_read.read(&mut first).await {
                if first[..n].starts_with(b"HTTP/1.1") {
                    first[..8].copy_from_slice(b"HTTP/1.0");
                }
                if n > 0 && client_write.write_all(&first[..n]).await.is_ok() {
                    let _ = tokio::io::copy(&mut backend_read, &mut client_write).await;
                }
            }
            let _ = client_write.shutdown().await;
            upstream.abort();
        });
    }
}

fn router(state: Arc<AppState>) -> Router {
    let database = Router::new()
        .route("/api/database/health", get(health_handler))
        .route("/api/database/backups", get(list_handler))
        .route("/api/database/backup", post(backup_handler))
        .route("/api/database/restore", post(restore_handler))
        .route("/api/database/backups/{*rest}", delete(delete_handler))
        .route("/api/database/storage", get(storage_handler))
        .route("/api/auth/verify", get(verify_handler))
        .layer(middleware::from_fn_with_state(state.clone(), require_admin));
    Router::new()
        .route("/api/auth/login", post(login_handler))
        .merge(database)
        .layer(middleware::from_fn_with_state(state.clone(), gate))
        .with_state(state)
}

fn random_secret() -> Vec<u8> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut hasher = <Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut hasher, nanos.to_le_bytes());
    sha2::Digest::update(&mut hasher, std::process::id().to_le_bytes());
    sha2::Digest::finalize(hasher).to_vec()
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(secret: &[u8], user: &str, role: &str, exp: i64) -> String {
    let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64(json!({ "sub": user, "role": role, "exp": exp })
        .to_string()
        .as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(format!("{header}.{payload}").as_bytes());
    format!("{header}.{payload}.{}", b64(&mac.finalize().into_bytes()))
}

/// The claims of a valid, unexpired token.
fn verify(secret: &[u8], token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    mac.update(format!("{header}.{payload}").as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(signature)
        .ok()?;
    mac.verify_slice(&expected).ok()?;
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?,
    )
    .ok()?;
    (claims["exp"].as_i64()? > unix_now()).then_some(claims)
}

fn reply(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// Every request: one at a time, the IP block of the login rate limit,
/// 100 calls a minute, and `Connection: close` (no keep-alive).
async fn gate(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let _turn = state.one_at_a_time.lock().await;
    let ip = peer.ip();
    let blocked = state
        .blocked_until
        .lock()
        .unwrap()
        .get(&ip)
        .map(|until| until.saturating_duration_since(Instant::now()).as_secs())
        .filter(|left| *left > 0);
    let mut response = if let Some(left) = blocked {
        let mut r = reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "error": "Too many login attempts. IP blocked for 15 minutes", "retry_after": left }),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(left));
        r
    } else {
        let too_many = {
            let mut calls = state.calls.lock().unwrap();
            let list = calls.entry(ip).or_default();
            list.retain(|t| t.elapsed() < Duration::from_secs(60));
            list.push(Instant::now());
            list.len() > 100
        };
        if too_many {
            reply(
                StatusCode::TOO_MANY_REQUESTS,
                json!({ "error": "Too many requests", "retry_after": 60 }),
            )
        } else {
            next.run(request).await
        }
    };
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

async fn require_admin(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    state.database_requests.fetch_add(1, Ordering::SeqCst);
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let claims = token.and_then(|t| verify(&state.secret.lock().unwrap(), &t));
    match claims {
        None => reply(
            StatusCode::UNAUTHORIZED,
            json!({ "error": "Authentication required" }),
        ),
        Some(c) if request.uri().path() == "/api/auth/verify" => reply(
            StatusCode::OK,
            json!({ "valid": true, "username": c["sub"], "role": c["role"] }),
        ),
        Some(c) if c["role"] != "admin" => reply(
            StatusCode::FORBIDDEN,
            json!({ "error": "Admin access required" }),
        ),
        Some(_) => next.run(request).await,
    }
}

async fn verify_handler() -> Response {
    reply(StatusCode::OK, json!({ "valid": true }))
}

async fn login_handler(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: axum::body::Bytes,
) -> Response {
    state.login_requests.fetch_add(1, Ordering::SeqCst);
    let ip = peer.ip();
    let attempts = {
        let mut logins = state.logins.lock().unwrap();
        let list = logins.entry(ip).or_default();
        list.retain(|t| t.elapsed() < Duration::from_secs(300));
        list.push(Instant::now());
        list.len()
    };
    if attempts >= 6 {
        state
            .blocked_until
            .lock()
            .unwrap()
            .insert(ip, Instant::now() + Duration::from_secs(900));
        let mut r = reply(
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "error": "Too many login attempts. IP blocked for 15 minutes", "retry_after": 900 }),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(900u64));
        return r;
    }
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (Some(user), Some(password)) = (value["username"].as_str(), value["password"].as_str())
    else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "success": false, "error": "Username and password are required" }),
        );
    };
    let account = [ADMIN, VIEWER]
        .into_iter()
        .find(|(name, _)| user == *name || user == format!("{name}@example.org"));
    match account {
        Some((name, expected)) if password == expected => {
            let role = if name == ADMIN.0 { "admin" } else { "user" };
            let exp = unix_now() + state.options.token_lifetime.as_secs() as i64;
            let token = sign(&state.secret.lock().unwrap(), name, role, exp);
            reply(
                StatusCode::OK,
                json!({
                    "success": true, "token": token, "username": name, "role": role,
                    "user": { "id": if role == "admin" { 1 } else { 2 }, "username": name, "email": format!("{name}@example.org"), "role": role },
                    "message": "Login successful",
                }),
            )
        }
        _ => reply(
            StatusCode::UNAUTHORIZED,
            json!({ "success": false, "error": "Invalid username or password" }),
        ),
    }
}

fn data(state: &AppState) -> DataDir {
    DataDir::new(&state.options.data_dir)
}

async fn health_handler(State(state): State<Arc<AppState>>) -> Response {
    match health::health(&data(&state), &SystemClock) {
        HealthReport::Checked(h) => reply(StatusCode::OK, serde_json::to_value(h).unwrap()),
        HealthReport::Failed(f) => reply(StatusCode::OK, serde_json::to_value(f).unwrap()),
    }
}

async fn storage_handler(State(state): State<Arc<AppState>>) -> Response {
    match health::storage(&data(&state)) {
        StorageReport::Measured(s) => reply(StatusCode::OK, serde_json::to_value(s).unwrap()),
        StorageReport::Failed(f) => reply(StatusCode::OK, json!({ "error": f.error })),
    }
}

fn server_items(state: &AppState) -> Vec<Value> {
    let Ok(catalog) = BackupCatalog::scan(&data(state)) else {
        return Vec::new();
    };
    catalog
        .entries()
        .iter()
        .filter(|e| e.name.kind() == BackupKind::Encrypted)
        .map(|e| {
            let item = e.list_item();
            let mut v = json!({
                "filename": item.filename, "path": item.path, "size": item.size,
                "size_human": item.size_human, "created_at": item.created_at, "encrypted": true,
            });
            if let Some(c) = item.checksum {
                v["checksum"] = json!(c);
            }
            if let Some(t) = item.timestamp {
                v["timestamp"] = json!(t);
            }
            v
        })
        .collect()
}

async fn list_handler(State(state): State<Arc<AppState>>) -> Response {
    let items = server_items(&state);
    reply(
        StatusCode::OK,
        json!({ "count": items.len(), "backups": items }),
    )
}

async fn backup_handler(State(state): State<Arc<AppState>>) -> Response {
    let passphrase = Passphrase::new(state.options.passphrase.clone());
    let options = BackupOptions {
        allow_default_passphrase: true,
        prune_after: false,
        ..BackupOptions::default()
    };
    let report = match create_backup(
        &data(&state),
        &passphrase,
        &options,
        &SystemClock,
        &NoProgress,
    ) {
        Ok(r) => r,
        Err(e) => {
            return reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "success": false, "message": format!("Backup failed: {e}"), "error": e.to_string() }),
            );
        }
    };
    // The server's own retention: "older than 7 days", by the time in the
    // name. When it deletes something it then reports failure (defect §6.5).
    let cutoff = chrono::Local::now().naive_local() - chrono::Duration::days(7);
    let mut pruned = 0;
    for item in server_items(&state) {
        let name = item["filename"].as_str().unwrap_or_default();
        if let Ok(parsed) = BackupName::parse(name)
            && parsed.taken_at() < cutoff
        {
            let dir = data(&state).backups();
            let _ = std::fs::remove_file(dir.join(name));
            let _ = std::fs::remove_file(dir.join(parsed.meta_name().unwrap_or_default()));
            pruned += 1;
        }
    }
    if pruned > 0 {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "success": false, "message": "Backup failed: cleanup error", "error": "cleanup error" }),
        );
    }
    let item = server_items(&state)
        .into_iter()
        .find(|i| i["filename"] == report.name.file_name());
    reply(
        StatusCode::OK,
        json!({ "success": true, "message": "Backup created successfully", "backup": item }),
    )
}

async fn restore_handler(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(filename) = value["filename"].as_str() else {
        return reply(
            StatusCode::BAD_REQUEST,
            json!({ "error": "Backup filename is required" }),
        );
    };
    let passphrase = Passphrase::new(state.options.passphrase.clone());
    let result = restore(
        &data(&state),
        filename,
        &passphrase,
        &RestoreOptions::default(),
        &SystemClock,
        &NoProgress,
    );
    if let Err(e) = result {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "success": false, "error": e.to_string() }),
        );
    }
    if state.options.empty_db_after_restore {
        let _ = std::fs::write(data(&state).database(), b"");
    }
    // The restore restarts the service: tokens die, and this request never
    // gets an answer (defect §6.3). Unwinding the connection task drops it.
    *state.secret.lock().unwrap() = random_secret();
    std::panic::resume_unwind(Box::new("stand-in restarts after a restore"))
}

async fn delete_handler(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // The real server does not URL-decode this segment; neither do we.
    let raw = request
        .uri()
        .path()
        .trim_start_matches("/api/database/backups/")
        .to_owned();
    let name = BackupName::parse(&raw)
        .ok()
        .filter(|n| n.kind() == BackupKind::Encrypted);
    let dir = data(&state).backups();
    match name {
        Some(n) if dir.join(n.file_name()).exists() => {
            let _ = std::fs::remove_file(dir.join(n.file_name()));
            let _ = std::fs::remove_file(dir.join(n.meta_name().unwrap_or_default()));
            reply(
                StatusCode::OK,
                json!({ "success": true, "message": format!("Backup deleted: {raw}") }),
            )
        }
        _ => reply(
            StatusCode::NOT_FOUND,
            json!({ "success": false, "message": format!("Backup not found: {raw}") }),
        ),
    }
}

/// A TLS front for a stand-in: terminates TLS on 127.0.0.1 (random port)
/// with the given PEM certificate chain and key, and forwards each
/// connection to `backend` in clear. For testing the per-profile CA
/// certificate of self-signed servers.
pub struct TlsFront {
    /// `https://127.0.0.1:PORT`.
    pub base_url: String,
    _background: Background,
}

impl TlsFront {
    /// Starts the front.
    ///
    /// # Panics
    /// When the certificate or key cannot be loaded (a test set-up error).
    pub fn start(cert_pem: &std::path::Path, key_pem: &std::path::Path, backend: &str) -> Self {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::{CertificateDer, PrivateKeyDer};
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_pem)
            .expect("certificate file")
            .collect::<Result<_, _>>()
            .expect("certificates");
        let key = PrivateKeyDer::from_pem_file(key_pem).expect("private key");
        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server certificate");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let backend = backend.trim_start_matches("http://").to_owned();
        let (addr, background) = Background::start(move |listener, mut shutdown| async move {
            loop {
                tokio::select! {
                    _ = &mut shutdown => return,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let acceptor = acceptor.clone();
                        let backend = backend.clone();
                        tokio::spawn(async move {
                            let Ok(mut tls) = acceptor.accept(stream).await else { return };
                            let Ok(mut plain) = tokio::net::TcpStream::connect(&backend).await else { return };
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                        });
                    }
                }
            }
        });
        TlsFront {
            base_url: format!("https://{addr}"),
            _background: background,
        }
    }
}
