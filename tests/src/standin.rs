//! A stand-in for a Server Monitor server, written from
//! `shared/docs/server-monitor.md` §4 and §6 (not from our client): axum on
//! 127.0.0.1 with a random port, real work on a temp data directory through
//! backupdesk-core, the contract's JSON shapes and status codes, admin and
//! non-admin accounts, HS256 JWTs that expire, the login rate limit (429 +
//! `Retry-After`), one request at a time, `Connection: close`, health that
//! answers 200 with `healthy:false`, a backup that answers 500 after its own
//! pruning, backups named by the second (a second backup in the same second
//! replaces the first, §6.10), and the restore of a supervised server
//! (§6.2, §6.3, §6.8, §6.9): see [`RestoreBehaviour`].

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
use backupdesk_core::OperationContext;
use backupdesk_core::clock::SystemClock;
use backupdesk_core::format::crypto::Passphrase;
use backupdesk_core::format::name::{BackupKind, BackupName};
use backupdesk_core::local::backup::{BackupOptions, create_backup};
use backupdesk_core::local::catalog::BackupCatalog;
use backupdesk_core::local::health::{self, HealthReport, StorageReport};
use backupdesk_core::local::layout::DataDir;
use backupdesk_core::progress::NoProgress;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Accounts of the stand-in: `admin`/`admin-password` (admin, also
/// `admin@example.org`) and `viewer`/`viewer-password` (not admin).
pub const ADMIN: (&str, &str) = ("admin", "admin-password");
/// See [`ADMIN`].
pub const VIEWER: (&str, &str) = ("viewer", "viewer-password");

/// What `POST /api/database/restore` does: the server's restore script
/// under a supervisor that restarts the API (systemd `Restart=always`).
///
/// In every mode but [`RestoreBehaviour::NeverRestores`] with a valid
/// backup, the script goes on like the real one (§6.8): it decrypts with
/// the server's passphrase (a file it cannot decrypt leaves no output, and
/// its check passes on that: §6.9), writes a plaintext `prerestore_*.db`
/// (§6.6), stops the API (the request's connection drops, every token dies,
/// requests are dropped for [`RESTART_GAP`]), the supervisor restarts it and
/// it answers from the *old* file until, [`COPY_AFTER`] after the request,
/// the decrypted file is copied over the live database (same inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestoreBehaviour {
    /// The script works: a valid backup becomes the live database.
    #[default]
    Works,
    /// v2.4.0 (§6.2): a valid backup is never restored: 500 "unable to open
    /// database", live database untouched, the decrypted plaintext
    /// `servers_db_….db` left in the backups folder. (A file it cannot
    /// decrypt still goes the §6.9 way.)
    NeverRestores,
    /// §6.9 for every file: the live database ends as a 0-byte file.
    EmptiesDatabase,
    /// Works, but afterwards the old API process still answers every other
    /// request from the old file (it ignored SIGTERM): never settles.
    NeverSettles,
}

/// How long the API is away while the supervisor restarts it.
pub const RESTART_GAP: Duration = Duration::from_millis(500);
/// When, after the restore request, the script copies the decrypted file
/// over the live database (it sleeps 2 s after stopping the API).
pub const COPY_AFTER: Duration = Duration::from_millis(2500);
/// When, after the copy, the emptied server restarts once more and its
/// schema initialisation recreates the tables (with `recreate_schema`).
pub const SECOND_START_AFTER: Duration = Duration::from_millis(1000);

/// How the stand-in behaves.
#[derive(Debug, Clone)]
pub struct StandInOptions {
    /// The installation it serves.
    pub data_dir: PathBuf,
    /// The passphrase its backups use.
    pub passphrase: String,
    /// Token lifetime (the real server: 24 h).
    pub token_lifetime: Duration,
    /// What its restore does.
    pub restore: RestoreBehaviour,
    /// §6.9: after a restore that emptied the database, the API restarts
    /// once more and recreates every table, empty.
    pub recreate_schema: bool,
    /// §6.10: a backup in the same second as the previous one takes its
    /// name and replaces it (the real server always does; off only to
    /// isolate other behaviour).
    pub same_second_names: bool,
    /// Added before every answer (a far or slow server; 0: none).
    pub latency: Duration,
}

impl StandInOptions {
    /// A server for `data_dir` whose backups use `passphrase`: tokens for
    /// an hour, a working supervised restore, same-second names.
    pub fn new(data_dir: impl Into<PathBuf>, passphrase: &str) -> Self {
        StandInOptions {
            data_dir: data_dir.into(),
            passphrase: passphrase.to_owned(),
            token_lifetime: Duration::from_secs(3600),
            restore: RestoreBehaviour::Works,
            recreate_schema: false,
            same_second_names: true,
            latency: Duration::ZERO,
        }
    }
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
    /// Requests are dropped until then (the API is restarting).
    down_until: Mutex<Option<Instant>>,
    /// With [`RestoreBehaviour::NeverSettles`]: the old process's data
    /// directory, answering every other health request.
    old_process: Mutex<Option<PathBuf>>,
    health_requests: AtomicUsize,
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
            down_until: Mutex::new(None),
            old_process: Mutex::new(None),
            health_requests: AtomicUsize::new(0),
        });
        let app_state = state.clone();
        let latency = state.options.latency;
        let (addr, background) = Background::start(move |front, shutdown| async move {
            // axum (hyper) listens inside; clients talk to a front that
            // answers like the real server, as HTTP/1.0 with
            // `Connection: close` (hyper itself always says 1.1).
            let inner = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let inner_addr = inner.local_addr().expect("address");
            tokio::spawn(http10_front(front, inner_addr, latency));
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
        self.state.restart();
    }
}

impl AppState {
    /// The API process stops and the supervisor starts it again: every
    /// token dies (no fixed secret) and requests drop for [`RESTART_GAP`].
    fn restart(&self) {
        *self.secret.lock().unwrap() = random_secret();
        *self.down_until.lock().unwrap() = Some(Instant::now() + RESTART_GAP);
    }

    /// The stand-in's own scratch folder, beside `data/`.
    fn work_dir(&self) -> PathBuf {
        let dir = self.options.data_dir.join(".standin");
        let _ = std::fs::create_dir_all(&dir);
        dir
    }
}

/// Forwards each connection to `inner` and rewrites the response's status
/// line to HTTP/1.0 (one response per connection: `Connection: close`).
async fn http10_front(front: tokio::net::TcpListener, inner: SocketAddr, latency: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((client, _)) = front.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
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
    let restarting = state
        .down_until
        .lock()
        .unwrap()
        .is_some_and(|until| Instant::now() < until);
    if restarting {
        // Nothing listens while the supervisor restarts the API.
        std::panic::resume_unwind(Box::new("stand-in is restarting"))
    }
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
    let n = state.health_requests.fetch_add(1, Ordering::SeqCst);
    let old = state.old_process.lock().unwrap().clone();
    let dir = match old {
        Some(old) if n % 2 == 0 => DataDir::new(old),
        _ => data(&state),
    };
    match health::health(&dir, &OperationContext::bare(&SystemClock)) {
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
        .filter(|e| matches!(e.name.kind(), BackupKind::Encrypted | BackupKind::PreRestorePlain))
        .map(|e| {
            let item = e.list_item();
            let mut v = json!({
                "filename": item.filename, "path": item.path, "size": item.size,
                "size_human": item.size_human, "created_at": item.created_at, "encrypted": item.encrypted,
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
    if state.options.same_second_names {
        // The script names by the second and overwrites (§6.10).
        let name = BackupName::new_encrypted(chrono::Local::now().naive_local());
        let dir = data(&state).backups();
        let _ = std::fs::remove_file(dir.join(name.file_name()));
        let _ = std::fs::remove_file(dir.join(name.meta_name().unwrap_or_default()));
    }
    let report = match create_backup(
        &data(&state),
        &passphrase,
        &options,
        &OperationContext::bare(&SystemClock),
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
    let data = data(&state);
    let file = data.backups().join(filename);
    if filename.contains('/') || !file.is_file() {
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "success": false, "message": format!("Restore failed: Backup file not found: {filename}"), "error": "Backup file not found" }),
        );
    }
    let behaviour = state.options.restore;
    let work = state.work_dir();
    let plain = work.join("restore.db");
    let decrypted = decrypt_to(&file, &plain, &state.options.passphrase);
    if !decrypted || behaviour == RestoreBehaviour::EmptiesDatabase {
        // gpg failed: no output, and the script's check passes on that (§6.9).
        let _ = std::fs::write(&plain, b"");
    }
    if behaviour == RestoreBehaviour::NeverRestores && decrypted {
        // §6.2: log lines mixed into the path; the decrypted copy stays.
        let left = data.backups().join(filename.trim_end_matches(".gpg"));
        let _ = std::fs::rename(&plain, &left);
        let message = format!(
            "Restore failed: Error: unable to open database \"{} [INFO] Decrypting backup...\": unable to open database file",
            left.display()
        );
        return reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "success": false, "message": message, "error": message }),
        );
    }
    // §6.6: the script's plaintext safety copy.
    let now = chrono::Local::now().naive_local();
    let safety = data
        .backups()
        .join(format!("prerestore_{}.db", now.format("%Y%m%d_%H%M%S")));
    checkpoint(&data.database());
    let _ = std::fs::copy(data.database(), &safety);
    let old = work.join("old");
    if behaviour == RestoreBehaviour::NeverSettles {
        let _ = std::fs::create_dir_all(old.join("data"));
        let _ = std::fs::copy(data.database(), old.join("data/servers.db"));
    }
    // The script stops the API: this request never gets an answer, the
    // supervisor restarts it, and it answers from the old file until the
    // copy lands (§6.3, §6.8).
    state.restart();
    let script = state.clone();
    std::thread::spawn(move || {
        std::thread::sleep(COPY_AFTER);
        let live = data.database();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", live.display()));
        }
        let _ = std::fs::copy(&plain, &live);
        let _ = std::fs::remove_file(&plain);
        if behaviour == RestoreBehaviour::NeverSettles {
            *script.old_process.lock().unwrap() = Some(old);
        }
        let emptied = std::fs::metadata(&live)
            .map(|m| m.len() == 0)
            .unwrap_or(false);
        if emptied && script.options.recreate_schema {
            std::thread::sleep(SECOND_START_AFTER);
            script.restart();
            recreate_schema(&safety, &live);
        }
    });
    std::panic::resume_unwind(Box::new("stand-in restarts after a restore"))
}

/// Decrypts `file` with `passphrase` into `out`; false when it cannot.
fn decrypt_to(file: &std::path::Path, out: &std::path::Path, passphrase: &str) -> bool {
    let _ = std::fs::remove_file(out);
    let (Ok(input), Ok(mut sink)) = (std::fs::File::open(file), std::fs::File::create(out)) else {
        return false;
    };
    let passphrase = Passphrase::new(passphrase.to_owned());
    backupdesk_core::format::crypto::decrypt(
        std::io::BufReader::new(input),
        &mut sink,
        &backupdesk_core::format::crypto::Openers::passphrases(&[&passphrase]),
        None,
        &NoProgress,
    )
    .is_ok()
}

/// The stopping API closes its database: the WAL is checkpointed away.
fn checkpoint(db: &std::path::Path) {
    if let Ok(conn) = rusqlite::Connection::open(db) {
        let _ = conn.busy_timeout(Duration::from_secs(10));
        let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }
}

/// The schema initialisation of a fresh start: every table of `model`
/// (its definitions), created empty in `db`.
fn recreate_schema(model: &std::path::Path, db: &std::path::Path) {
    let Ok(source) = rusqlite::Connection::open(model) else {
        return;
    };
    let Ok(mut statement) = source.prepare(
        "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 0 ELSE 1 END",
    ) else {
        return;
    };
    let ddl: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .map(|rows| rows.flatten().collect())
        .unwrap_or_default();
    if let Ok(target) = rusqlite::Connection::open(db) {
        for sql in ddl {
            let _ = target.execute_batch(&sql);
        }
    }
}

async fn delete_handler(State(state): State<Arc<AppState>>, request: Request) -> Response {
    // The real server does not URL-decode this segment; neither do we.
    let raw = request
        .uri()
        .path()
        .trim_start_matches("/api/database/backups/")
        .to_owned();
    // It deletes any file name in the backups folder (§6.2), with its
    // `.meta` for a backup; nothing outside it.
    let dir = data(&state).backups();
    let plain_name = !raw.is_empty() && !raw.contains('/') && raw != "." && raw != "..";
    if plain_name && dir.join(&raw).is_file() {
        let _ = std::fs::remove_file(dir.join(&raw));
        if let Ok(n) = BackupName::parse(&raw) {
            let _ = std::fs::remove_file(dir.join(n.meta_name().unwrap_or_default()));
        }
        reply(
            StatusCode::OK,
            json!({ "success": true, "message": format!("Backup deleted: {raw}") }),
        )
    } else {
        reply(
            StatusCode::NOT_FOUND,
            json!({ "success": false, "message": format!("Backup not found: {raw}") }),
        )
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

/// A server that accepts connections and never answers (a busy server:
/// the real one runs one request at a time, and a backup blocks it for up
/// to a minute); stops when dropped.
pub struct SilentServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    _background: Background,
}

impl SilentServer {
    /// Starts one on a random loopback port.
    pub fn start() -> Self {
        let (addr, background) = Background::start(|listener, mut shutdown| async move {
            let mut held = Vec::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        if let Ok((stream, _)) = accepted {
                            held.push(stream);
                        }
                    }
                    _ = &mut shutdown => break,
                }
            }
        });
        SilentServer {
            base_url: format!("http://{addr}"),
            _background: background,
        }
    }
}

/// A loopback URL where nothing listens (connections are refused).
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}
