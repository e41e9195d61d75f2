//! The last known state of every profile: its tile, its backup list and
//! its health, kept in SQLite in Backup Desk's data folder
//! (`fleet-cache.sqlite3`), so the fleet paints at once and stays readable
//! offline. Holds no secret: what a tile shows, never a token, password or
//! passphrase. Schema versioned (`PRAGMA user_version`); a cache of an
//! unknown version or a damaged one is set aside and started again (it is
//! a cache: nothing is lost that the next refresh does not bring back).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::FleetTile;
use crate::model::{HealthReport, ListItem};

/// The schema this version writes.
const SCHEMA_VERSION: i64 = 3;

/// Why the cache could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("the fleet cache {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the fleet cache {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A profile's backup list as last read.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct KnownBackups {
    /// When it was read (RFC 3339).
    pub read_at: String,
    pub backups: Vec<ListItem>,
}

/// One profile's last known state, as the cache holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedProfile {
    pub tile: FleetTile,
    /// When it was read (RFC 3339).
    pub read_at: String,
}

/// The cache file, opened once per process (SQLite serialises writers).
pub struct FleetCache {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl FleetCache {
    /// The cache in `dir` (created 0700 when missing).
    ///
    /// # Errors
    /// The folder or the database cannot be created.
    pub fn open(dir: &Path) -> Result<Self, CacheError> {
        crate::publish::ensure_private_dir(dir).map_err(|source| CacheError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = dir.join("fleet-cache.sqlite3");
        let conn = match Self::connect(&path) {
            Ok(conn) => conn,
            Err(e) => {
                // Damaged or of another version: set aside, start again.
                tracing::warn!("{e}; starting a new fleet cache");
                let aside = path.with_extension("sqlite3.old");
                let _ = std::fs::rename(&path, &aside);
                // Its journal belongs to it, never to the new file.
                for companion in ["fleet-cache.sqlite3-wal", "fleet-cache.sqlite3-shm"] {
                    let _ = std::fs::remove_file(dir.join(companion));
                }
                Self::connect(&path)?
            }
        };
        Ok(FleetCache {
            path,
            conn: Mutex::new(conn),
        })
    }

    fn connect(path: &Path) -> Result<Connection, CacheError> {
        let err = |source| CacheError::Sqlite {
            path: path.display().to_string(),
            source,
        };
        // Never through a link: a cache that is a symlink to another
        // database would get our tables, WAL mode and version written into
        // that database. SQLite refuses it; `open` then sets the link
        // itself aside (a rename moves the link, never its target).
        let conn = Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::default() | rusqlite::OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(err)?;
        match version {
            0 => conn
                .execute_batch(
                    "PRAGMA journal_mode=WAL;
                     CREATE TABLE IF NOT EXISTS tiles (
                         profile TEXT PRIMARY KEY,
                         read_at TEXT NOT NULL,
                         tile TEXT NOT NULL,
                         backups TEXT,
                         health TEXT
                     );
                     CREATE TABLE IF NOT EXISTS reads (
                         profile TEXT PRIMARY KEY,
                         millis INTEGER NOT NULL
                     );
                     PRAGMA user_version = 3;",
                )
                .map_err(err)?,
            // Version 1 kept the tile only; version 2 no read times.
            1 | 2 => conn
                .execute_batch(&format!(
                    "{}CREATE TABLE IF NOT EXISTS reads (
                         profile TEXT PRIMARY KEY,
                         millis INTEGER NOT NULL
                     );
                     PRAGMA user_version = 3;",
                    if version == 1 {
                        "ALTER TABLE tiles ADD COLUMN backups TEXT;
                         ALTER TABLE tiles ADD COLUMN health TEXT;"
                    } else {
                        ""
                    }
                ))
                .map_err(err)?,
            SCHEMA_VERSION => {}
            other => {
                return Err(err(rusqlite::Error::InvalidParameterName(format!(
                    "schema version {other} is not {SCHEMA_VERSION}"
                ))));
            }
        }
        // Owner only: what it holds describes the admin's servers.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        Ok(conn)
    }

    fn sqlite(&self, source: rusqlite::Error) -> CacheError {
        CacheError::Sqlite {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps `tile` as the profile's last known state (a tile that was not
    /// read, `read_at` unset, is not kept).
    ///
    /// # Errors
    /// The database cannot be written.
    pub fn store(&self, tile: &FleetTile) -> Result<(), CacheError> {
        self.store_read(tile, None, None)
    }

    /// Keeps `tile` with the backup list and health it was judged from.
    ///
    /// # Errors
    /// The database cannot be written.
    pub(crate) fn store_read(
        &self,
        tile: &FleetTile,
        backups: Option<&[ListItem]>,
        health: Option<&HealthReport>,
    ) -> Result<(), CacheError> {
        let Some(read_at) = &tile.read_at else {
            return Ok(());
        };
        let json = serde_json::to_string(tile).expect("a tile serializes");
        let backups = backups.map(|b| serde_json::to_string(b).expect("a list serializes"));
        let health = health.map(|h| serde_json::to_string(h).expect("health serializes"));
        self.lock()
            .execute(
                "INSERT INTO tiles (profile, read_at, tile, backups, health) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(profile) DO UPDATE SET read_at = ?2, tile = ?3, backups = ?4, health = ?5",
                params![tile.profile, read_at, json, backups, health],
            )
            .map(drop)
            .map_err(|e| self.sqlite(e))
    }

    /// Remembers how long reading `profile` took (read or not: a busy
    /// server's full timeout counts), so the next refresh starts the
    /// slowest first.
    ///
    /// # Errors
    /// The database cannot be written.
    pub(crate) fn record_read_time(
        &self,
        profile: &str,
        took: std::time::Duration,
    ) -> Result<(), CacheError> {
        self.lock()
            .execute(
                "INSERT INTO reads (profile, millis) VALUES (?1, ?2)
                 ON CONFLICT(profile) DO UPDATE SET millis = ?2",
                params![profile, took.as_millis() as i64],
            )
            .map(drop)
            .map_err(|e| self.sqlite(e))
    }

    /// How long each profile took to read last time, in milliseconds.
    ///
    /// # Errors
    /// The database cannot be read.
    pub(crate) fn read_times(&self) -> Result<std::collections::HashMap<String, u64>, CacheError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare("SELECT profile, millis FROM reads")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(|e| self.sqlite(e))?;
        rows.map(|r| r.map(|(p, ms)| (p, ms.max(0) as u64)))
            .collect::<Result<_, _>>()
            .map_err(|e| self.sqlite(e))
    }

    /// The last known backup list of `profile`, with when it was read.
    ///
    /// # Errors
    /// The database cannot be read.
    pub fn backups(&self, profile: &str) -> Result<Option<KnownBackups>, CacheError> {
        let row: Option<(String, Option<String>)> = self
            .lock()
            .query_row(
                "SELECT read_at, backups FROM tiles WHERE profile = ?1",
                params![profile],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        Ok(row.and_then(|(read_at, json)| {
            let backups = serde_json::from_str(json.as_deref()?).ok()?;
            Some(KnownBackups { read_at, backups })
        }))
    }

    /// The last known tile of `profile`.
    ///
    /// # Errors
    /// The database cannot be read.
    pub fn tile(&self, profile: &str) -> Result<Option<FleetTile>, CacheError> {
        let json: Option<String> = self
            .lock()
            .query_row(
                "SELECT tile FROM tiles WHERE profile = ?1",
                params![profile],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.sqlite(e))?;
        Ok(json.and_then(|j| serde_json::from_str(&j).ok()))
    }

    /// Every cached profile among `profiles` (others are forgotten: a
    /// removed profile does not come back).
    ///
    /// # Errors
    /// The database cannot be read.
    pub fn all(&self, profiles: &[&str]) -> Result<Vec<CachedProfile>, CacheError> {
        let conn = self.lock();
        let mut statement = conn
            .prepare("SELECT profile, read_at, tile FROM tiles ORDER BY profile")
            .map_err(|e| self.sqlite(e))?;
        let rows = statement
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| self.sqlite(e))?;
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for row in rows {
            let (profile, read_at, json) = row.map_err(|e| self.sqlite(e))?;
            if !profiles.contains(&profile.as_str()) {
                gone.push(profile);
                continue;
            }
            if let Ok(mut tile) = serde_json::from_str::<FleetTile>(&json) {
                tile.from_cache = true;
                out.push(CachedProfile { tile, read_at });
            }
        }
        drop(statement);
        for profile in gone {
            let _ = conn.execute("DELETE FROM tiles WHERE profile = ?1", params![profile]);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::fleet::{TilePolicy, TileStatus};

    fn tile(profile: &str, read_at: Option<&str>) -> FleetTile {
        let mut tile = FleetTile::unknown(
            profile,
            "/x".into(),
            false,
            TilePolicy {
                overdue_after_hours: 26,
                drill_overdue_after_days: 8,
            },
        );
        tile.read_at = read_at.map(str::to_owned);
        tile.status = TileStatus::Ok;
        tile.backup_count = 7;
        tile
    }

    #[test]
    fn tiles_survive_a_reopen_and_removed_profiles_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FleetCache::open(dir.path()).unwrap();
        cache
            .store(&tile("a", Some("2026-12-02T10:00:00+00:00")))
            .unwrap();
        cache
            .store(&tile("b", Some("2026-12-02T10:00:01+00:00")))
            .unwrap();
        cache.store(&tile("never-read", None)).unwrap();
        drop(cache);
        let cache = FleetCache::open(dir.path()).unwrap();
        let all = cache.all(&["a", "never-read"]).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].read_at, "2026-12-02T10:00:00+00:00");
        assert!(all[0].tile.from_cache);
        assert_eq!(all[0].tile.backup_count, 7);
        assert_eq!(all[0].tile.status, TileStatus::Ok);
        assert_eq!(cache.all(&["a", "b"]).unwrap().len(), 1, "b was forgotten");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("fleet-cache.sqlite3"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    #[test]
    fn the_backup_list_is_kept_beside_the_tile_and_a_version_1_cache_is_upgraded() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("fleet-cache.sqlite3")).unwrap();
        conn.execute_batch(
            "CREATE TABLE tiles (profile TEXT PRIMARY KEY, read_at TEXT NOT NULL, tile TEXT NOT NULL);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        drop(conn);
        let cache = FleetCache::open(dir.path()).unwrap();
        let t = tile("a", Some("2026-12-02T10:00:00+00:00"));
        cache.store_read(&t, Some(&[]), None).unwrap();
        let known = cache.backups("a").unwrap().unwrap();
        assert_eq!(known.read_at, "2026-12-02T10:00:00+00:00");
        assert!(known.backups.is_empty());
        assert!(cache.backups("b").unwrap().is_none());
        cache.store(&t).unwrap();
        assert!(
            cache.backups("a").unwrap().is_none(),
            "a tile alone keeps no stale list"
        );
    }

    #[test]
    fn a_damaged_or_newer_cache_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fleet-cache.sqlite3"), b"not sqlite at all").unwrap();
        let cache = FleetCache::open(dir.path()).unwrap();
        cache
            .store(&tile("a", Some("2026-12-02T10:00:00+00:00")))
            .unwrap();
        assert_eq!(cache.all(&["a"]).unwrap().len(), 1);
        drop(cache);
        let conn = Connection::open(dir.path().join("fleet-cache.sqlite3")).unwrap();
        conn.execute_batch("PRAGMA user_version = 9").unwrap();
        drop(conn);
        let cache = FleetCache::open(dir.path()).unwrap();
        assert!(cache.all(&["a"]).unwrap().is_empty());
    }

    /// Issue 27, case 19: a cache that is a link to another SQLite
    /// database never writes into that database.
    #[test]
    fn a_cache_that_is_a_link_never_writes_through_it() {
        let dir = tempfile::tempdir().unwrap();
        let other = dir.path().join("precious.db");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(conn);
        let before = std::fs::read(&other).unwrap();
        let config = dir.path().join("config");
        std::fs::create_dir(&config).unwrap();
        std::os::unix::fs::symlink(&other, config.join("fleet-cache.sqlite3")).unwrap();
        let cache = FleetCache::open(&config).unwrap();
        cache
            .store(&tile("a", Some("2026-12-02T10:00:00+00:00")))
            .unwrap();
        drop(cache);
        assert_eq!(
            std::fs::read(&other).unwrap(),
            before,
            "written through the link"
        );
        assert!(!dir.path().join("precious.db-wal").exists());
        let cache_file = config.join("fleet-cache.sqlite3");
        assert!(!cache_file.symlink_metadata().unwrap().is_symlink());
    }
}
