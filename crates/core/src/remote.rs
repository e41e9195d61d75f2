//! The remote side: a Server Monitor server's `/api/database/*` over HTTPS
//! with a Bearer token, surviving the server's quirks (contract §4 and §6):
//! one re-login on 401 (never a loop), no retry on 429 (the wait is
//! reported), backups recognised even when the server answers 500 after its
//! own pruning, restores never retried and followed to their real outcome
//! through health polling, names validated before any request.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::ErrorKind;
use crate::catalog::{ListItem, VerifiedState};
use crate::health::{HealthReport, StorageReport};
use crate::name::{BackupName, NameError};

/// Timeout for reads (health, list, storage, login, delete).
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout for a backup (the server allows itself 60 s).
pub const BACKUP_TIMEOUT: Duration = Duration::from_secs(90);
/// Timeout for a restore (the server allows itself 120 s).
pub const RESTORE_TIMEOUT: Duration = Duration::from_secs(180);

/// Why a remote operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The profile is a local installation: there is no server to log in to.
    #[error("profile {0} is local: there is nothing to log in to")]
    NotRemote(String),
    /// The server could not be reached.
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// The server did not answer in time.
    #[error("{url} did not answer within {seconds} s")]
    Timeout { url: String, seconds: u64 },
    /// The login was refused.
    #[error("login refused: {0}")]
    LoginFailed(String),
    /// No valid token (and no stored password to log in again once).
    #[error(
        "the server wants a new login (token missing or expired): run `backupdesk login PROFILE`"
    )]
    AuthenticationRequired,
    /// The account is valid but not an admin.
    #[error("this account is not an admin; the database API needs an admin account")]
    NotAdmin,
    /// The server's login rate limit blocked this client.
    #[error("the server blocked this address after too many logins; try again in {retry_after_seconds} s (about {} min)", retry_after_seconds.div_ceil(60))]
    RateLimited { retry_after_seconds: u64 },
    /// A backup name that is not a plain backup file name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// No backup of that name on the server.
    #[error("no backup named '{0}' on the server")]
    BackupNotFound(String),
    /// The server reported a failure.
    #[error("the server answered {status}: {message}")]
    Server { status: u16, message: String },
    /// The server's answer does not have the contract's shape.
    #[error("unexpected answer from the server: {0}")]
    BadResponse(String),
    /// The CA certificate file cannot be used.
    #[error("CA certificate {path}: {reason}")]
    BadCaCertificate { path: String, reason: String },
    /// A restore that the server called a success left an empty database.
    #[error(
        "the restore of {backup} FAILED: {reason}. The database before the restore is in the backup {pre_restore_backup}; restore it to go back"
    )]
    RemoteRestoreFailed {
        backup: String,
        reason: String,
        pre_restore_backup: String,
    },
    /// The fresh safety backup before a restore could not be confirmed.
    #[error(
        "the safety backup before the restore could not be confirmed ({0}); nothing was restored"
    )]
    SafetyBackupFailed(String),
    /// The restore was sent, but the server's restart invalidated the token
    /// and no password is kept for one re-login: the outcome is unknown.
    #[error(
        "the restore of {backup} was sent and the server restarted, which invalidated the token, so its outcome could not be checked: log in again (`backupdesk login PROFILE`) and check `health`; the database before the restore is in {pre_restore_backup}"
    )]
    RestoreUnverified {
        backup: String,
        pre_restore_backup: String,
    },
    /// The server did not come back after a restore.
    #[error(
        "the server did not answer for {seconds} s after the restore; check it, and restore {pre_restore_backup} if needed"
    )]
    NoAnswerAfterRestore {
        seconds: u64,
        pre_restore_backup: String,
    },
}

impl ErrorKind for RemoteError {
    fn kind(&self) -> &'static str {
        match self {
            RemoteError::NotRemote(_) => "not_remote",
            RemoteError::Unreachable { .. } => "unreachable",
            RemoteError::Timeout { .. } => "timeout",
            RemoteError::LoginFailed(_) => "login_failed",
            RemoteError::AuthenticationRequired => "authentication_required",
            RemoteError::NotAdmin => "not_admin",
            RemoteError::RateLimited { .. } => "rate_limited",
            RemoteError::Name(e) => e.kind(),
            RemoteError::BackupNotFound(_) => "backup_not_found",
            RemoteError::Server { .. } => "server_error",
            RemoteError::BadResponse(_) => "bad_response",
            RemoteError::BadCaCertificate { .. } => "bad_ca_certificate",
            RemoteError::RemoteRestoreFailed { .. } => "remote_restore_failed",
            RemoteError::SafetyBackupFailed(_) => "safety_backup_failed",
            RemoteError::NoAnswerAfterRestore { .. } => "no_answer_after_restore",
            RemoteError::RestoreUnverified { .. } => "restore_unverified",
        }
    }
}

#[derive(Default)]
struct Session {
    token: Option<Zeroizing<String>>,
    password: Option<Zeroizing<String>>,
    renewed: bool,
}

/// A Server Monitor server.
pub struct RemoteServer {
    base: String,
    username: String,
    reads: Client,
    backups: Client,
    restores: Client,
    session: Mutex<Session>,
}

impl std::fmt::Debug for RemoteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteServer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Whether `url` would send a token in clear text to another machine.
pub fn insecure_url(url: &str) -> bool {
    if !url.starts_with("http://") {
        return false;
    }
    let host = url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    !(host == "localhost" || host.starts_with("127.") || url.starts_with("http://[::1]"))
}

impl RemoteServer {
    /// A client for the server at `base_url` (system roots, plus `ca_cert`
    /// for a self-signed server; invalid certificates are never accepted).
    ///
    /// # Errors
    /// [`RemoteError::BadCaCertificate`].
    pub fn new(
        base_url: &str,
        username: &str,
        ca_cert: Option<&Path>,
    ) -> Result<Self, RemoteError> {
        let ca = match ca_cert {
            Some(path) => {
                let bad = |reason: String| RemoteError::BadCaCertificate {
                    path: path.display().to_string(),
                    reason,
                };
                let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
                let certs =
                    reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
                if certs.is_empty() {
                    return Err(bad("the file holds no PEM certificate".to_owned()));
                }
                Some(certs)
            }
            None => None,
        };
        let build = |timeout: Duration| {
            let mut builder = Client::builder()
                .timeout(timeout)
                .connect_timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(0)
                .user_agent(concat!("backupdesk/", env!("CARGO_PKG_VERSION")));
            for cert in ca.iter().flatten() {
                builder = builder.add_root_certificate(cert.clone());
            }
            builder
                .build()
                .map_err(|e| RemoteError::BadResponse(e.to_string()))
        };
        Ok(RemoteServer {
            base: base_url.trim_end_matches('/').to_owned(),
            username: username.to_owned(),
            reads: build(READ_TIMEOUT)?,
            backups: build(BACKUP_TIMEOUT)?,
            restores: build(RESTORE_TIMEOUT)?,
            session: Mutex::new(Session::default()),
        })
    }

    /// Uses `token` for requests.
    pub fn set_token(&self, token: &str) {
        self.lock().token = Some(Zeroizing::new(token.to_owned()));
    }

    /// Allows one re-login with `password` when the token expired.
    pub fn set_password(&self, password: &str) {
        self.lock().password = Some(Zeroizing::new(password.to_owned()));
    }

    /// The token obtained by a re-login during this session, to store.
    pub fn renewed_token(&self) -> Option<Zeroizing<String>> {
        let session = self.lock();
        session.renewed.then(|| session.token.clone()).flatten()
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Session> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn send(
        &self,
        request: RequestBuilder,
        url: &str,
        timeout: Duration,
    ) -> Result<Response, RemoteError> {
        request.send().map_err(|e| transport(e, url, timeout))
    }

    /// `POST /api/auth/login`; keeps and returns the token. Never retried.
    ///
    /// # Errors
    /// [`RemoteError::LoginFailed`], [`RemoteError::RateLimited`], transport errors.
    pub fn login(&self, password: &str) -> Result<Zeroizing<String>, RemoteError> {
        let url = self.url("/api/auth/login");
        let body = serde_json::json!({ "username": self.username, "password": password });
        let response = self.send(self.reads.post(&url).json(&body), &url, READ_TIMEOUT)?;
        let status = response.status();
        let retry_header = retry_after(&response);
        let value: Value = response.json().unwrap_or(Value::Null);
        match status {
            StatusCode::OK => {
                let token = value["token"].as_str().ok_or_else(|| {
                    RemoteError::BadResponse("login answer without a token".into())
                })?;
                let token = Zeroizing::new(token.to_owned());
                self.lock().token = Some(token.clone());
                Ok(token)
            }
            StatusCode::TOO_MANY_REQUESTS => Err(rate_limited(retry_header, &value)),
            _ => Err(RemoteError::LoginFailed(error_text(&value, status))),
        }
    }

    /// A call with the Bearer token; on 401, one re-login (when a password
    /// is stored) and one retry, never more.
    fn call(
        &self,
        client: &Client,
        method: reqwest::Method,
        path: &str,
        timeout: Duration,
        retry_on_401: bool,
    ) -> Result<(StatusCode, Value), RemoteError> {
        let url = self.url(path);
        let mut relogged = false;
        loop {
            let token = self.lock().token.clone();
            let mut request = client.request(method.clone(), &url);
            if let Some(token) = &token {
                request = request.bearer_auth(token.as_str());
            }
            let response = self.send(request, &url, timeout)?;
            let status = response.status();
            let retry_header = retry_after(&response);
            let value: Value = response.json().unwrap_or(Value::Null);
            match status {
                StatusCode::UNAUTHORIZED if retry_on_401 && !relogged => {
                    let password = self.lock().password.clone();
                    let Some(password) = password else {
                        return Err(RemoteError::AuthenticationRequired);
                    };
                    relogged = true;
                    self.login(&password)?;
                    self.lock().renewed = true;
                }
                StatusCode::UNAUTHORIZED => return Err(RemoteError::AuthenticationRequired),
                StatusCode::FORBIDDEN => return Err(RemoteError::NotAdmin),
                StatusCode::TOO_MANY_REQUESTS => return Err(rate_limited(retry_header, &value)),
                _ => return Ok((status, value)),
            }
        }
    }

    fn get(&self, path: &str) -> Result<Value, RemoteError> {
        let (status, value) =
            self.call(&self.reads, reqwest::Method::GET, path, READ_TIMEOUT, true)?;
        if status.is_success() {
            Ok(value)
        } else {
            Err(RemoteError::Server {
                status: status.as_u16(),
                message: error_text(&value, status),
            })
        }
    }

    /// `GET /api/database/health` (the server answers 200 even when unhealthy).
    ///
    /// # Errors
    /// Transport, auth or shape errors.
    pub fn health(&self) -> Result<HealthReport, RemoteError> {
        let value = self.get("/api/database/health")?;
        serde_json::from_value(value.clone())
            .map_err(|e| RemoteError::BadResponse(format!("health: {e}: {value}")))
    }

    /// `GET /api/database/storage`.
    ///
    /// # Errors
    /// Transport, auth or shape errors.
    pub fn storage(&self) -> Result<StorageReport, RemoteError> {
        let value = self.get("/api/database/storage")?;
        serde_json::from_value(value.clone())
            .map_err(|e| RemoteError::BadResponse(format!("storage: {e}: {value}")))
    }

    /// `GET /api/database/backups`, as list items with Backup Desk's fields.
    ///
    /// # Errors
    /// Transport, auth or shape errors.
    pub fn list(&self) -> Result<Vec<ListItem>, RemoteError> {
        let value = self.get("/api/database/backups")?;
        let items = value["backups"]
            .as_array()
            .ok_or_else(|| RemoteError::BadResponse(format!("backups: {value}")))?;
        let mut list: Vec<ListItem> = items.iter().filter_map(list_item).collect();
        list.sort_by(|a, b| b.filename.cmp(&a.filename));
        Ok(list)
    }

    /// Makes a backup on the server: list before, `POST`, list after. A
    /// backup that appears is reported even when the server answered 500
    /// (its own pruning failed: defect §6.5).
    ///
    /// # Errors
    /// When no new backup appears.
    pub fn backup(&self) -> Result<RemoteBackup, RemoteError> {
        let before = self.list()?;
        let (status, value) = self.call(
            &self.backups,
            reqwest::Method::POST,
            "/api/database/backup",
            BACKUP_TIMEOUT,
            true,
        )?;
        let after = self.list()?;
        let new: Vec<ListItem> = after
            .into_iter()
            .filter(|i| !before.iter().any(|b| b.filename == i.filename))
            .collect();
        let Some(item) = new.into_iter().max_by(|a, b| a.filename.cmp(&b.filename)) else {
            return Err(RemoteError::Server {
                status: status.as_u16(),
                message: error_text(&value, status),
            });
        };
        let server_reported = (!status.is_success()).then(|| error_text(&value, status));
        Ok(RemoteBackup {
            item,
            server_reported,
        })
    }

    /// `DELETE /api/database/backups/{name}` (plain names only: the server
    /// does not URL-decode the path).
    ///
    /// # Errors
    /// An invalid name (no request is sent), not found, transport errors.
    pub fn delete(&self, name: &str) -> Result<(), RemoteError> {
        BackupName::parse(name)?;
        let path = format!("/api/database/backups/{name}");
        let (status, value) = self.call(
            &self.reads,
            reqwest::Method::DELETE,
            &path,
            READ_TIMEOUT,
            true,
        )?;
        match status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(RemoteError::BackupNotFound(name.to_owned())),
            s => Err(RemoteError::Server {
                status: s.as_u16(),
                message: error_text(&value, s),
            }),
        }
    }

    /// The safe remote restore: validate the name, take a fresh backup and
    /// confirm it in the list, record health and row counts, restore (never
    /// retried; a dropped connection or a timeout is expected when the
    /// server restarts), poll health until the server answers, compare.
    ///
    /// # Errors
    /// [`RemoteError::RemoteRestoreFailed`] when the server is left with an
    /// empty or table-less database; others before the restore is sent.
    pub fn restore(&self, name: &str, wait: Duration) -> Result<RemoteRestoreReport, RemoteError> {
        BackupName::parse(name)?;
        if !self.list()?.iter().any(|i| i.filename == name) {
            return Err(RemoteError::BackupNotFound(name.to_owned()));
        }
        let safety = self
            .backup()
            .map_err(|e| RemoteError::SafetyBackupFailed(e.to_string()))?;
        let before = self.health()?;
        let url = self.url("/api/database/restore");
        let token = self.lock().token.clone();
        let mut request = self
            .restores
            .post(&url)
            .json(&serde_json::json!({ "filename": name }));
        if let Some(token) = &token {
            request = request.bearer_auth(token.as_str());
        }
        let answer = match request.send() {
            Ok(response) => {
                let status = response.status();
                match response.json::<Value>() {
                    Ok(value) => Some((status, value)),
                    Err(_) => None,
                }
            }
            Err(_) => None, // connection dropped or timed out: the server restarts
        };
        if let Some((status, value)) = &answer {
            if *status == StatusCode::UNAUTHORIZED {
                return Err(RemoteError::AuthenticationRequired);
            }
            if *status == StatusCode::FORBIDDEN {
                return Err(RemoteError::NotAdmin);
            }
            if !status.is_success() && status.as_u16() != 500 {
                return Err(RemoteError::Server {
                    status: status.as_u16(),
                    message: error_text(value, *status),
                });
            }
        }
        let started = Instant::now();
        let after = loop {
            match self.health() {
                Ok(h) => break h,
                Err(RemoteError::AuthenticationRequired) => {
                    return Err(RemoteError::RestoreUnverified {
                        backup: name.to_owned(),
                        pre_restore_backup: safety.item.filename,
                    });
                }
                Err(_) if started.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(500))
                }
                Err(_) => {
                    return Err(RemoteError::NoAnswerAfterRestore {
                        seconds: wait.as_secs(),
                        pre_restore_backup: safety.item.filename.clone(),
                    });
                }
            }
        };
        let failure = match &after {
            HealthReport::Failed(f) => Some(format!(
                "the server reports an unhealthy database: {}",
                f.error
            )),
            HealthReport::Checked(h) if h.tables == 0 => {
                Some("the server's database is empty (no tables) after the restore".to_owned())
            }
            HealthReport::Checked(h) if !h.healthy => {
                Some("the database fails its integrity check".to_owned())
            }
            HealthReport::Checked(_) => None,
        };
        if let Some(reason) = failure {
            return Err(RemoteError::RemoteRestoreFailed {
                backup: name.to_owned(),
                reason,
                pre_restore_backup: safety.item.filename,
            });
        }
        Ok(RemoteRestoreReport {
            backup: name.to_owned(),
            pre_restore_backup: safety.item.filename,
            server_answer: answer.map(|(s, v)| format!("{s}: {}", error_text(&v, s))),
            before,
            after,
        })
    }
}

/// A backup made on the server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteBackup {
    /// The new backup as listed.
    pub item: ListItem,
    /// The server answered with an error although the backup exists.
    pub server_reported: Option<String>,
}

/// What a remote restore did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteRestoreReport {
    pub backup: String,
    /// The fresh backup taken just before (the way back).
    pub pre_restore_backup: String,
    /// What the restore call answered, if it answered at all.
    pub server_answer: Option<String>,
    /// Health before the restore.
    pub before: HealthReport,
    /// Health once the server answered again.
    pub after: HealthReport,
}

fn list_item(value: &Value) -> Option<ListItem> {
    let filename = value["filename"].as_str()?.to_owned();
    let kind = BackupName::parse(&filename).ok()?.kind();
    let size = value["size"].as_u64().unwrap_or(0);
    let checksum = value["checksum"].as_str().map(str::to_owned);
    Some(ListItem {
        path: value["path"].as_str().unwrap_or_default().to_owned(),
        size,
        size_human: value["size_human"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| crate::human::size_human(size)),
        created_at: value["created_at"].as_str().unwrap_or_default().to_owned(),
        encrypted: value["encrypted"].as_bool().unwrap_or(kind.is_encrypted()),
        has_meta: checksum.is_some(),
        checksum,
        timestamp: value["timestamp"].as_str().map(str::to_owned),
        kind,
        meta_problem: None,
        db_size: None,
        verified: VerifiedState {
            state: "never",
            depth: None,
            at: None,
            error_kind: None,
            deep_passed_at: None,
        },
        pinned: false,
        filename,
    })
}

fn transport(e: reqwest::Error, url: &str, timeout: Duration) -> RemoteError {
    if e.is_timeout() {
        RemoteError::Timeout {
            url: url.to_owned(),
            seconds: timeout.as_secs(),
        }
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        RemoteError::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }
}

fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn rate_limited(header: Option<u64>, body: &Value) -> RemoteError {
    RemoteError::RateLimited {
        retry_after_seconds: header
            .or_else(|| body["retry_after"].as_u64())
            .unwrap_or(900),
    }
}

fn error_text(value: &Value, status: StatusCode) -> String {
    value["error"]
        .as_str()
        .or_else(|| value["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| status.to_string())
}
