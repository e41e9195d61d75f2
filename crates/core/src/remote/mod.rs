//! The remote side: a Server Monitor server's `/api/database/*` over HTTPS
//! with a Bearer token, surviving the server's quirks (contract §4 and §6):
//! one re-login on 401 (never a loop), no retry on 429 (the wait is
//! reported), backups recognised even when the server answers 500 after its
//! own pruning or reused a name within the same second, restores never
//! retried and followed until the database settled, then judged from
//! evidence ([`outcome`]), names validated before any request.

pub mod follow;
pub mod outcome;
pub mod records;
pub mod wire;

mod error;
mod http;
mod url;

pub use error::RemoteError;
use http::*;
pub use http::{MAX_BODY_BYTES, redact};
pub use url::{UrlRefused, check_base_url, insecure_url};

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde::Serialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::format::name::BackupName;
use crate::model::ListItem;
use crate::model::{HealthReport, StorageReport};

/// Timeout for reads (health, list, storage, login, delete).
pub(crate) const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Timeout for a backup (the server allows itself 60 s).
pub(crate) const BACKUP_TIMEOUT: Duration = Duration::from_secs(90);
/// Timeout for a restore (the server allows itself 120 s).
pub(crate) const RESTORE_TIMEOUT: Duration = Duration::from_secs(180);

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
    /// How long a read (list, health, storage, delete, login) may take.
    read_timeout: Duration,
    reads: Client,
    backups: Client,
    restores: Client,
    session: Mutex<Session>,
    keeper: std::sync::OnceLock<TokenKeeper>,
}

/// Keeps the token a re-login renewed where the old one was (a profile's
/// keychain entry), called at the renewal itself: nothing is left to a
/// drop, where a failure could not be reported and a kill would lose it.
pub(crate) type TokenKeeper = Box<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for RemoteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteServer")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
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
        Self::with_read_timeout(base_url, username, ca_cert, READ_TIMEOUT)
    }

    /// [`RemoteServer::new`] with reads bounded by `read_timeout` instead
    /// of [`READ_TIMEOUT`] (the fleet's glance: a busy server is reported
    /// as busy sooner).
    ///
    /// # Errors
    /// As [`RemoteServer::new`].
    pub fn with_read_timeout(
        base_url: &str,
        username: &str,
        ca_cert: Option<&Path>,
        read_timeout: Duration,
    ) -> Result<Self, RemoteError> {
        let base_url = check_base_url(base_url).map_err(|reason| RemoteError::InvalidUrl {
            url: redact(base_url),
            reason: reason.to_string(),
        })?;
        let base_url = base_url.as_str();
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
                // Never follow a redirect: a 307 would resend the login's
                // password (or the token) to wherever it points.
                .redirect(reqwest::redirect::Policy::none())
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
            read_timeout,
            reads: build(read_timeout)?,
            backups: build(BACKUP_TIMEOUT)?,
            restores: build(RESTORE_TIMEOUT)?,
            session: Mutex::new(Session::default()),
            keeper: std::sync::OnceLock::new(),
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

    /// Whether a password is kept for a login after a restart.
    pub(crate) fn has_password(&self) -> bool {
        self.lock().password.is_some()
    }

    /// Hands every token a re-login renews to `keeper` as it arrives (the
    /// first keeper set stays).
    pub fn set_token_keeper(&self, keeper: TokenKeeper) {
        let _ = self.keeper.set(keeper);
    }

    /// Records that a re-login renewed the token, and hands it to the
    /// keeper.
    pub(crate) fn renewed(&self) {
        let token = {
            let mut session = self.lock();
            session.renewed = true;
            session.token.clone()
        };
        if let (Some(keeper), Some(token)) = (self.keeper.get(), token) {
            keeper(&token);
        }
    }

    /// The token obtained by a re-login during this session, if any.
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
        let deadline = std::time::Instant::now() + self.read_timeout;
        let response = self.send(self.reads.post(&url).json(&body), &url, self.read_timeout)?;
        let status = response.status();
        redirected(&response)?;
        let retry_header = retry_after(&response);
        let value: Value = read_json(response, &url, deadline)?.unwrap_or(Value::Null);
        match status {
            StatusCode::OK => {
                let token = wire::LoginAnswer::of(&value).token.0.ok_or_else(|| {
                    RemoteError::BadResponse("login answer without a token".into())
                })?;
                let token = Zeroizing::new(token);
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
            let deadline = std::time::Instant::now() + timeout;
            let response = self.send(request, &url, timeout)?;
            let status = response.status();
            redirected(&response)?;
            let retry_header = retry_after(&response);
            let value: Value = read_json(response, &url, deadline)?.unwrap_or(Value::Null);
            match status {
                StatusCode::UNAUTHORIZED if retry_on_401 && !relogged => {
                    let password = self.lock().password.clone();
                    let Some(password) = password else {
                        return Err(RemoteError::AuthenticationRequired);
                    };
                    relogged = true;
                    self.login(&password)?;
                    self.renewed();
                }
                StatusCode::UNAUTHORIZED => return Err(RemoteError::AuthenticationRequired),
                StatusCode::FORBIDDEN => return Err(RemoteError::NotAdmin),
                StatusCode::TOO_MANY_REQUESTS => return Err(rate_limited(retry_header, &value)),
                _ => return Ok((status, value)),
            }
        }
    }

    fn get(&self, path: &str) -> Result<Value, RemoteError> {
        let (status, value) = self.call(
            &self.reads,
            reqwest::Method::GET,
            path,
            self.read_timeout,
            true,
        )?;
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
        let items = wire::BackupListAnswer::of(&value)
            .backups
            .0
            .ok_or_else(|| RemoteError::BadResponse(format!("backups: {value}")))?;
        let mut list: Vec<ListItem> = items
            .into_iter()
            .filter_map(|item| item.0.and_then(wire::ListItemAnswer::into_list_item))
            .collect();
        list.sort_by(|a, b| b.filename.cmp(&a.filename));
        // A name listed twice is one file: restoring or deleting "it" must
        // not depend on which entry a screen picked.
        list.dedup_by(|a, b| a.filename == b.filename);
        Ok(list)
    }

    /// Makes a backup on the server: list before, `POST`, list after. A
    /// backup that appears is reported even when the server answered 500
    /// (its own pruning failed: defect §6.5), and so is one that took the
    /// name of a backup made in the same second (§6.10: the list then shows
    /// that name with a newer `created_at`). Then reads health once, so the
    /// backup's content is on record for a later restore (a failed read only
    /// leaves it off the record).
    ///
    /// # Errors
    /// When no new or rewritten backup appears.
    pub fn backup(&self) -> Result<RemoteBackup, RemoteError> {
        let mut made = self.backup_unrecorded()?;
        match self.health() {
            Ok(HealthReport::Checked(h)) => {
                made.content = Some(outcome::ContentFingerprint::of(&h))
            }
            Ok(HealthReport::Failed(f)) => made
                .warnings
                .push(format!("the server's health after the backup: {}", f.error)),
            Err(e) => made.warnings.push(format!(
                "the server's health after the backup could not be read: {e}"
            )),
        }
        Ok(made)
    }

    /// [`RemoteServer::backup`] without the health read.
    fn backup_unrecorded(&self) -> Result<RemoteBackup, RemoteError> {
        let before = self.list()?;
        let (status, value) = self.call(
            &self.backups,
            reqwest::Method::POST,
            "/api/database/backup",
            BACKUP_TIMEOUT,
            true,
        )?;
        let after = self.list()?;
        let Some((item, reused)) = made_by_post(&before, after) else {
            return Err(RemoteError::Server {
                status: status.as_u16(),
                message: error_text(&value, status),
            });
        };
        let mut warnings = Vec::new();
        if !status.is_success() {
            warnings.push(format!(
                "the server answered {}: {}, although the backup exists",
                status.as_u16(),
                error_text(&value, status)
            ));
        }
        if reused {
            warnings.push(format!(
                "the server named this backup like the one made earlier in the same second and replaced that file: {} now holds this backup",
                item.filename
            ));
        }
        Ok(RemoteBackup {
            server_reported: (!status.is_success()).then(|| error_text(&value, status)),
            reused_name: reused,
            content: None,
            warnings,
            item,
        })
    }

    /// `DELETE /api/database/backups/{name}` (plain names only: the server
    /// does not URL-decode the path).
    ///
    /// # Errors
    /// An invalid name (no request is sent), not found, transport errors.
    pub fn delete(&self, name: &str) -> Result<(), RemoteError> {
        BackupName::parse(name)?;
        if self.delete_file(name)? {
            Ok(())
        } else {
            Err(RemoteError::BackupNotFound(name.to_owned()))
        }
    }

    /// `DELETE /api/database/backups/{file}` for a name the caller built
    /// from a validated one; `false` when the server has no such file.
    fn delete_file(&self, file: &str) -> Result<bool, RemoteError> {
        let path = format!("/api/database/backups/{file}");
        let (status, value) = self.call(
            &self.reads,
            reqwest::Method::DELETE,
            &path,
            READ_TIMEOUT,
            true,
        )?;
        match status {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            s => Err(RemoteError::Server {
                status: s.as_u16(),
                message: error_text(&value, s),
            }),
        }
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
    /// The server reused the name of a backup made in the same second
    /// (§6.10) and replaced that file.
    pub reused_name: bool,
    /// The server's database right after the backup (kept on record).
    pub content: Option<outcome::ContentFingerprint>,
    /// What did not fail the backup but should be known.
    pub warnings: Vec<String>,
}

/// The backup a `POST /api/database/backup` made, comparing the lists
/// before and after: a new name (the newest if several), else a name whose
/// file changed (newer `created_at` or another size; `true`: reused).
fn made_by_post(before: &[ListItem], after: Vec<ListItem>) -> Option<(ListItem, bool)> {
    let regular = |i: &ListItem| i.kind == crate::format::name::BackupKind::Encrypted;
    let mut new: Vec<ListItem> = Vec::new();
    let mut rewritten: Vec<ListItem> = Vec::new();
    for item in after.into_iter().filter(regular) {
        match before.iter().find(|b| b.filename == item.filename) {
            None => new.push(item),
            Some(b) if b.created_at != item.created_at || b.size != item.size => {
                rewritten.push(item)
            }
            Some(_) => {}
        }
    }
    if let Some(item) = new.into_iter().max_by(|a, b| a.filename.cmp(&b.filename)) {
        return Some((item, false));
    }
    rewritten
        .into_iter()
        .max_by(|a, b| a.created_at.cmp(&b.created_at))
        .map(|item| (item, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_in_a_log_never_holds_a_password() {
        let shown = redact("https://admin:secret@monitor.example.org/api");
        assert!(
            !shown.contains("secret") && !shown.contains("admin"),
            "{shown}"
        );
        assert!(shown.contains("***@monitor.example.org"), "{shown}");
        assert_eq!(
            redact("https://monitor.example.org/"),
            "https://monitor.example.org/"
        );
        assert_eq!(redact("not a url"), "not a url");
    }

    #[test]
    fn a_rate_limit_waits_as_told_by_header_then_body_then_15_minutes() {
        let wait = |header, body: Value| match rate_limited(header, &body) {
            RemoteError::RateLimited {
                retry_after_seconds,
            } => retry_after_seconds,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(Some(30), serde_json::json!({"retry_after": 60})), 30);
        assert_eq!(wait(None, serde_json::json!({"retry_after": 60})), 60);
        assert_eq!(wait(None, serde_json::json!({})), 900);
    }
}
