//! Realistic Server Monitor data for demos, tests and benchmarks: the
//! contract's 23 tables with foreign keys, `monitoring_history` dominating
//! the size, text and numbers shaped like a real installation. Generation is
//! deterministic for a given seed and clock.

use std::path::Path;

use chrono::{DateTime, Duration, FixedOffset};
use rusqlite::{Connection, params};

use crate::local::layout::DataDir;
use crate::publish::ensure_private_dir;

/// The schema of a Server Monitor v2.4 database (contract §5).
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT, color TEXT, created_at TEXT NOT NULL);
CREATE TABLE servers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, host TEXT NOT NULL UNIQUE, port INTEGER NOT NULL DEFAULT 22,
  username TEXT, ssh_key_path TEXT, ssh_password TEXT, agent_port INTEGER DEFAULT 9084, status TEXT NOT NULL DEFAULT 'unknown',
  group_id INTEGER REFERENCES groups(id) ON DELETE SET NULL, os TEXT, cpu_cores INTEGER, memory_total INTEGER,
  created_at TEXT NOT NULL, updated_at TEXT);
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, email TEXT UNIQUE, password_hash TEXT NOT NULL,
  role TEXT NOT NULL DEFAULT 'user', is_active INTEGER NOT NULL DEFAULT 1, last_login TEXT, created_at TEXT NOT NULL);
CREATE TABLE admin_users (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, granted_at TEXT NOT NULL);
CREATE TABLE monitoring_history (id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  timestamp TEXT NOT NULL, cpu_percent REAL, memory_percent REAL, memory_used INTEGER, disk_percent REAL, disk_used INTEGER,
  load_1 REAL, load_5 REAL, load_15 REAL, net_rx_bytes INTEGER, net_tx_bytes INTEGER, process_count INTEGER,
  uptime_seconds INTEGER, status TEXT, top_processes TEXT);
CREATE INDEX idx_history_server_time ON monitoring_history(server_id, timestamp);
CREATE TABLE alerts (id INTEGER PRIMARY KEY, server_id INTEGER REFERENCES servers(id) ON DELETE CASCADE, severity TEXT NOT NULL,
  metric TEXT, message TEXT NOT NULL, value REAL, threshold REAL, acknowledged INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, resolved_at TEXT);
CREATE TABLE audit_logs (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id) ON DELETE SET NULL, action TEXT NOT NULL,
  target TEXT, details TEXT, ip_address TEXT, created_at TEXT NOT NULL);
CREATE TABLE tasks (id INTEGER PRIMARY KEY, server_id INTEGER REFERENCES servers(id) ON DELETE CASCADE, name TEXT NOT NULL, command TEXT NOT NULL,
  schedule TEXT, status TEXT NOT NULL DEFAULT 'pending', last_run TEXT, last_output TEXT, created_by INTEGER REFERENCES users(id), created_at TEXT NOT NULL);
CREATE TABLE webhooks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, url TEXT NOT NULL, secret TEXT, events TEXT NOT NULL, is_active INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY, webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE, event TEXT NOT NULL,
  payload TEXT, status_code INTEGER, response TEXT, delivered_at TEXT NOT NULL);
CREATE TABLE group_memberships (id INTEGER PRIMARY KEY, group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, role TEXT NOT NULL DEFAULT 'viewer', UNIQUE(group_id, user_id));
CREATE TABLE ssh_keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL, public_key TEXT NOT NULL, fingerprint TEXT NOT NULL, key_path TEXT, created_by INTEGER REFERENCES users(id), created_at TEXT NOT NULL);
CREATE TABLE server_notes (id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL, content TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, color TEXT);
CREATE TABLE server_tag_map (server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE, tag_id INTEGER NOT NULL REFERENCES tags(id) ON DELETE CASCADE, PRIMARY KEY (server_id, tag_id));
CREATE TABLE domain_settings (id INTEGER PRIMARY KEY, domain TEXT NOT NULL UNIQUE, ssl_enabled INTEGER NOT NULL DEFAULT 0, cert_path TEXT, key_path TEXT, updated_at TEXT);
CREATE TABLE terminal_sessions (id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL, started_at TEXT NOT NULL, ended_at TEXT, bytes_in INTEGER, bytes_out INTEGER);
CREATE TABLE server_inventory_latest (server_id INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE, collected_at TEXT NOT NULL, inventory TEXT NOT NULL);
CREATE TABLE server_inventory_snapshots (id INTEGER PRIMARY KEY, server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE, collected_at TEXT NOT NULL, inventory TEXT NOT NULL);
CREATE TABLE command_snippets (id INTEGER PRIMARY KEY, title TEXT NOT NULL, command TEXT NOT NULL, description TEXT, created_by INTEGER REFERENCES users(id), created_at TEXT NOT NULL);
CREATE TABLE system_settings (key TEXT PRIMARY KEY, value TEXT, updated_at TEXT);
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE, created_at TEXT NOT NULL, expires_at TEXT NOT NULL, ip_address TEXT, user_agent TEXT);
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);
"#;

/// Journal mode of a generated database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JournalMode {
    /// Write-ahead log (most installs).
    #[default]
    Wal,
    /// Classic rollback journal.
    Delete,
}

/// Options of [`create_demo`].
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Approximate size of `servers.db` in bytes.
    pub size_bytes: u64,
    /// Journal mode of the database.
    pub journal_mode: JournalMode,
    /// Number of monitored servers.
    pub servers: u32,
    /// Seed for the deterministic generator.
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            size_bytes: 50 * 1024 * 1024,
            journal_mode: JournalMode::Wal,
            servers: 24,
            seed: 0x5eed,
        }
    }
}

/// Why a demo directory could not be created.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `data/servers.db` exists already: demo never overwrites a database.
    #[error("{0} already exists; demo init never overwrites a database")]
    DatabaseExists(String),
    /// SQLite failed.
    #[error("SQLite error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Creating folders failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl crate::KindedError for DemoError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            DemoError::DatabaseExists(_) => crate::ErrorKind::DatabaseExists,
            DemoError::Sqlite(_) => crate::ErrorKind::Sqlite,
            DemoError::Io { .. } => crate::ErrorKind::Io,
        }
    }
}

/// What [`create_demo`] made.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DemoReport {
    /// The database path.
    pub database: String,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Number of tables.
    pub tables: usize,
    /// Rows in `monitoring_history`.
    pub history_rows: u64,
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const PROCESSES: &[&str] = &[
    "nginx",
    "postgres",
    "python3",
    "node",
    "java",
    "redis-server",
    "sshd",
    "dockerd",
    "containerd",
    "systemd-journald",
    "php-fpm",
    "gunicorn",
    "celery",
    "prometheus",
    "node_exporter",
    "rsyslogd",
];
const OSES: &[&str] = &[
    "Debian 12",
    "Ubuntu 22.04 LTS",
    "Ubuntu 24.04 LTS",
    "Rocky Linux 9",
    "Debian 11",
];
const ROLES: &[&str] = &[
    "web", "db", "cache", "worker", "edge", "build", "mail", "backup",
];
const SEVERITIES: &[&str] = &["info", "warning", "critical"];
const METRICS: &[&str] = &["cpu_percent", "memory_percent", "disk_percent", "load_5"];

/// Creates a Server Monitor data directory at `data` with a database of about
/// `options.size_bytes`, an empty `data/backups/` (0700) and `logs/`.
///
/// `now` is the time the newest monitoring sample carries.
///
/// # Errors
/// [`DemoError::DatabaseExists`] when the database is already there; SQLite
/// or I/O errors otherwise.
pub fn create_demo(
    data: &DataDir,
    options: &DemoOptions,
    now: DateTime<FixedOffset>,
) -> Result<DemoReport, DemoError> {
    let db = data.database();
    if db.exists() {
        return Err(DemoError::DatabaseExists(db.display().to_string()));
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| DemoError::Io { path, source }
    };
    let data_folder = db.parent().expect("database has a parent").to_path_buf();
    std::fs::create_dir_all(&data_folder).map_err(io(&data_folder))?;
    ensure_private_dir(&data.backups()).map_err(io(&data.backups()))?;
    std::fs::create_dir_all(data.logs()).map_err(io(&data.logs()))?;
    fill_database(&db, options, now)?;
    let conn = Connection::open(&db)?;
    let history_rows: i64 =
        conn.query_row("SELECT count(*) FROM monitoring_history", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'",
        [],
        |r| r.get(0),
    )?;
    drop(conn);
    Ok(DemoReport {
        database: db.display().to_string(),
        size_bytes: std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0),
        tables: tables as usize,
        history_rows: history_rows as u64,
    })
}

fn ts(t: DateTime<FixedOffset>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The demo's rows: the small tables first (in one transaction), then
/// monitoring history until the file reaches the asked size.
fn fill_database(
    db: &Path,
    options: &DemoOptions,
    now: DateTime<FixedOffset>,
) -> Result<(), DemoError> {
    let mut rng = Rng(options.seed);
    let mut conn = Connection::open(db)?;
    let mode = match options.journal_mode {
        JournalMode::Wal => "wal",
        JournalMode::Delete => "delete",
    };
    conn.query_row(&format!("PRAGMA journal_mode={mode}"), [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA synchronous=OFF;")?;
    conn.execute_batch(SCHEMA)?;
    let start = now - Duration::days(90);
    let fill = Fill {
        now,
        start,
        created: ts(start),
        servers: options.servers.max(1) as i64,
    };
    {
        let tx = conn.transaction()?;
        fill.people(&tx, &mut rng)?;
        for id in 1..=fill.servers {
            fill.server(&tx, &mut rng, id)?;
        }
        fill.settings(&tx, &mut rng)?;
        tx.commit()?;
    }
    fill.history(&mut conn, &mut rng, options.size_bytes / 4096)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// What every table of the demo is filled from: the time now, the start of
/// its history, and how many servers it has.
struct Fill {
    now: DateTime<FixedOffset>,
    start: DateTime<FixedOffset>,
    created: String,
    servers: i64,
}

impl Fill {
    /// Groups, users, their admin grants and memberships.
    fn people(&self, tx: &rusqlite::Transaction<'_>, rng: &mut Rng) -> Result<(), DemoError> {
        let (now, created) = (self.now, &self.created);
        for (i, name) in ["production", "staging", "databases", "edge"]
            .iter()
            .enumerate()
        {
            tx.execute(
            "INSERT INTO groups (id, name, description, color, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![i as i64 + 1, name, format!("{name} servers"), ["#2b8a3e", "#e67700", "#1971c2", "#862e9c"][i], created],
        )?;
        }
        let users = [
            "admin", "alice", "bob", "carol", "dave", "erin", "frank", "grace",
        ];
        for (i, user) in users.iter().enumerate() {
            let role = if i < 2 { "admin" } else { "user" };
            tx.execute(
            "INSERT INTO users (id, username, email, password_hash, role, is_active, last_login, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
            params![i as i64 + 1, user, format!("{user}@example.org"),
                format!("pbkdf2:sha256:600000${:016x}${:064x}", rng.next(), rng.next() as u128 * rng.next() as u128),
                role, ts(now - Duration::minutes(rng.below(10_000) as i64)), created],
        )?;
            if role == "admin" {
                tx.execute(
                    "INSERT INTO admin_users (user_id, granted_at) VALUES (?1, ?2)",
                    params![i as i64 + 1, created],
                )?;
            }
            tx.execute(
                "INSERT INTO group_memberships (group_id, user_id, role) VALUES (?1, ?2, ?3)",
                params![
                    (i % 4) as i64 + 1,
                    i as i64 + 1,
                    if role == "admin" { "owner" } else { "viewer" }
                ],
            )?;
        }
        Ok(())
    }

    /// One server with its inventory, snapshots, note and task.
    fn server(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rng: &mut Rng,
        id: i64,
    ) -> Result<(), DemoError> {
        let (now, created) = (self.now, &self.created);
        let role = rng.pick(ROLES);
        tx.execute(
            "INSERT INTO servers (id, name, host, port, username, ssh_key_path, ssh_password, agent_port, status, group_id, os, cpu_cores, memory_total, created_at, updated_at)
             VALUES (?1, ?2, ?3, 22, 'monitor', ?4, NULL, 9084, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![id, format!("{role}-{id:02}"), format!("10.{}.{}.{}", id / 200, id % 200, 10 + id % 50),
                format!("/opt/server-monitor/keys/{role}-{id:02}.pem"),
                if rng.below(10) == 0 { "offline" } else { "online" }, (id % 4) + 1, rng.pick(OSES),
                [2, 4, 8, 16, 32][rng.below(5) as usize], [4, 8, 16, 32, 64][rng.below(5) as usize] * 1024 * 1024 * 1024i64,
                created, ts(now)],
        )?;
        tx.execute(
            "INSERT INTO server_inventory_latest (server_id, collected_at, inventory) VALUES (?1, ?2, ?3)",
            params![id, ts(now), inventory(rng, id)],
        )?;
        for day in 0..6 {
            tx.execute(
                "INSERT INTO server_inventory_snapshots (server_id, collected_at, inventory) VALUES (?1, ?2, ?3)",
                params![id, ts(now - Duration::days(day * 15)), inventory(rng, id)],
            )?;
        }
        tx.execute(
            "INSERT INTO server_notes (server_id, user_id, content, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, 1 + rng.below(8) as i64, format!("{role} node; maintenance window Sunday 02:00. Contact on-call before rebooting."), created],
        )?;
        tx.execute(
            "INSERT INTO tasks (server_id, name, command, schedule, status, last_run, last_output, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8)",
            params![id, "apt upgrade", "apt-get update && apt-get -y upgrade", "0 3 * * 0", "completed", ts(now - Duration::days(3)), "Reading package lists... Done\n0 upgraded, 0 newly installed.", created],
        )?;
        Ok(())
    }

    /// Tags, the webhook, settings, snippets, keys, the migration, sessions.
    fn settings(&self, tx: &rusqlite::Transaction<'_>, rng: &mut Rng) -> Result<(), DemoError> {
        let (now, created, servers) = (self.now, &self.created, self.servers);
        for (i, tag) in ["prod", "eu-west", "us-east", "critical", "legacy", "k8s"]
            .iter()
            .enumerate()
        {
            tx.execute(
                "INSERT INTO tags (id, name, color) VALUES (?1, ?2, ?3)",
                params![i as i64 + 1, tag, "#868e96"],
            )?;
            for server in (1..=servers).filter(|s| (s + i as i64) % 3 == 0) {
                tx.execute(
                    "INSERT INTO server_tag_map (server_id, tag_id) VALUES (?1, ?2)",
                    params![server, i as i64 + 1],
                )?;
            }
        }
        tx.execute(
        "INSERT INTO webhooks (id, name, url, secret, events, created_at) VALUES (1, 'ops-chat', 'https://chat.example.org/hooks/ops', ?1, 'alert.critical,server.offline', ?2)",
        params![format!("{:032x}", rng.next() as u128 * 7), created],
    )?;
        tx.execute("INSERT INTO domain_settings (domain, ssl_enabled, cert_path, key_path, updated_at) VALUES ('monitor.example.org', 1, '/etc/ssl/monitor.crt', '/etc/ssl/monitor.key', ?1)", params![created])?;
        for (key, value) in [
            ("retention_days", "90"),
            ("alert_cpu_threshold", "90"),
            ("alert_disk_threshold", "85"),
            ("smtp_host", "mail.example.org"),
            ("version", "2.4.0"),
        ] {
            tx.execute(
                "INSERT INTO system_settings (key, value, updated_at) VALUES (?1, ?2, ?3)",
                params![key, value, created],
            )?;
        }
        for (i, (title, cmd)) in [
            ("Disk usage", "df -h"),
            ("Top memory", "ps aux --sort=-%mem | head"),
            ("Failed units", "systemctl --failed"),
            ("Journal errors", "journalctl -p err -n 50"),
        ]
        .iter()
        .enumerate()
        {
            tx.execute("INSERT INTO command_snippets (id, title, command, description, created_by, created_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)", params![i as i64 + 1, title, cmd, format!("{title} on the selected server"), created])?;
        }
        tx.execute("INSERT INTO ssh_keys (name, public_key, fingerprint, key_path, created_by, created_at) VALUES ('deploy', ?1, ?2, '/opt/server-monitor/keys/deploy', 1, ?3)",
        params![format!("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{:040x} deploy@monitor", rng.next() as u128 * 3), format!("SHA256:{:043x}", rng.next() as u128 * 5), created])?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (24, ?1)",
            params![created],
        )?;
        for i in 0..20i64 {
            tx.execute("INSERT INTO sessions (id, user_id, created_at, expires_at, ip_address, user_agent) VALUES (?1, ?2, ?3, ?4, ?5, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0')",
            params![format!("{:032x}", rng.next() as u128 * 11 + i as u128), 1 + i % 8, ts(now - Duration::hours(i)), ts(now + Duration::hours(24 - i)), format!("192.0.2.{}", 10 + i)])?;
        }
        Ok(())
    }

    /// Monitoring samples (and now and then an alert with its trail), 5,000
    /// a transaction, until the database has `target_pages` pages.
    fn history(
        &self,
        conn: &mut Connection,
        rng: &mut Rng,
        target_pages: u64,
    ) -> Result<(), DemoError> {
        let mut sample: i64 = 0;
        let mut event: i64 = 0;
        loop {
            let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
            if pages as u64 >= target_pages {
                return Ok(());
            }
            let tx = conn.transaction()?;
            {
                let mut history = tx.prepare_cached(
                    "INSERT INTO monitoring_history (server_id, timestamp, cpu_percent, memory_percent, memory_used, disk_percent, disk_used, load_1, load_5, load_15, net_rx_bytes, net_tx_bytes, process_count, uptime_seconds, status, top_processes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
                )?;
                for _ in 0..5_000 {
                    let (server, when, cpu) = self.sample(&mut history, rng, sample)?;
                    if rng.below(400) == 0 {
                        event += 1;
                        self.event(&tx, rng, event, server, when, cpu)?;
                    }
                    sample += 1;
                }
            }
            tx.commit()?;
        }
    }

    /// Sample number `sample`: its server, time and CPU load.
    fn sample(
        &self,
        history: &mut rusqlite::CachedStatement<'_>,
        rng: &mut Rng,
        sample: i64,
    ) -> Result<(i64, DateTime<FixedOffset>, f64), DemoError> {
        let servers = self.servers;
        let sample_every = Duration::seconds(30);
        let start = self.start;
        let server = 1 + sample % servers;
        let when = start + sample_every * (sample / servers) as i32;
        let cpu = (rng.unit() * 60.0 + 5.0 * (server % 5) as f64).min(100.0);
        let mem = 30.0 + rng.unit() * 50.0;
        let top = format!(
            "[{{\"name\":\"{}\",\"cpu\":{:.1},\"mem\":{:.1}}},{{\"name\":\"{}\",\"cpu\":{:.1},\"mem\":{:.1}}},{{\"name\":\"{}\",\"cpu\":{:.1},\"mem\":{:.1}}}]",
            rng.pick(PROCESSES),
            cpu * 0.5,
            mem * 0.3,
            rng.pick(PROCESSES),
            cpu * 0.2,
            mem * 0.1,
            rng.pick(PROCESSES),
            cpu * 0.1,
            mem * 0.05
        );
        history.execute(params![
            server,
            ts(when),
            (cpu * 10.0).round() / 10.0,
            (mem * 10.0).round() / 10.0,
            (mem * 16_777_216.0) as i64,
            40.0 + (sample % 1000) as f64 / 50.0,
            20_000_000_000i64 + sample * 1000,
            (cpu / 25.0 * 100.0).round() / 100.0,
            (cpu / 27.0 * 100.0).round() / 100.0,
            (cpu / 30.0 * 100.0).round() / 100.0,
            sample * 15_000 + rng.below(10_000) as i64,
            sample * 9_000 + rng.below(10_000) as i64,
            120 + rng.below(200) as i64,
            86_400 * 30 + sample * 30,
            if cpu > 90.0 { "warning" } else { "ok" },
            top,
        ])?;
        Ok((server, when, cpu))
    }

    /// An alert with its audit line, webhook delivery and terminal session.
    fn event(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rng: &mut Rng,
        event: i64,
        server: i64,
        when: DateTime<FixedOffset>,
        cpu: f64,
    ) -> Result<(), DemoError> {
        tx.execute(
            "INSERT INTO alerts (server_id, severity, metric, message, value, threshold, acknowledged, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 90, ?6, ?7)",
            params![server, rng.pick(SEVERITIES), rng.pick(METRICS), format!("High usage on server {server}"), cpu, (event % 2), ts(when)],
        )?;
        tx.execute(
            "INSERT INTO audit_logs (user_id, action, target, details, ip_address, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![1 + event % 8, ["login", "server.update", "task.run", "alert.ack"][(event % 4) as usize], format!("server:{server}"), "{\"source\":\"web\"}", format!("192.0.2.{}", event % 250), ts(when)],
        )?;
        tx.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event, payload, status_code, response, delivered_at) VALUES (1, 'alert.critical', ?1, 200, 'ok', ?2)",
            params![format!("{{\"server\":{server},\"cpu\":{cpu:.1}}}"), ts(when)],
        )?;
        tx.execute(
            "INSERT INTO terminal_sessions (server_id, user_id, started_at, ended_at, bytes_in, bytes_out) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![server, 1 + event % 8, ts(when), ts(when + Duration::minutes(12)), rng.below(100_000) as i64, rng.below(2_000_000) as i64],
        )?;
        Ok(())
    }
}

fn inventory(rng: &mut Rng, id: i64) -> String {
    format!(
        "{{\"hostname\":\"node-{id:02}\",\"kernel\":\"6.1.0-{}-amd64\",\"packages\":{},\"cpu\":\"Intel(R) Xeon(R) Gold 6{:03}\",\"disks\":[{{\"dev\":\"/dev/sda\",\"size\":{}}}],\"services\":[\"sshd\",\"{}\",\"{}\"]}}",
        20 + rng.below(10),
        600 + rng.below(900),
        rng.below(300),
        (1 + rng.below(8)) * 128 * 1024 * 1024 * 1024,
        rng.pick(PROCESSES),
        rng.pick(PROCESSES)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    fn made(seed: u64) -> (tempfile::TempDir, DemoReport) {
        let dir = tempfile::tempdir().unwrap();
        let options = DemoOptions {
            size_bytes: 256 * 1024,
            servers: 3,
            seed,
            ..DemoOptions::default()
        };
        let now = FixedClock::utc(2026, 12, 4, 0, 0, 0).0;
        let report = create_demo(&DataDir::new(dir.path()), &options, now).unwrap();
        (dir, report)
    }

    #[test]
    fn the_same_seed_makes_the_same_installation() {
        let (_a, first) = made(7);
        let (_b, second) = made(7);
        assert_eq!(first.history_rows, second.history_rows);
        assert_eq!(first.tables, second.tables);
        assert!(
            first.tables >= 10,
            "Server Monitor's schema: {}",
            first.tables
        );
    }

    #[test]
    fn a_demo_is_about_the_size_asked_for_and_a_sound_database() {
        let dir = tempfile::tempdir().unwrap();
        let options = DemoOptions {
            size_bytes: 6 << 20,
            servers: 3,
            ..DemoOptions::default()
        };
        let now = FixedClock::utc(2026, 12, 4, 0, 0, 0).0;
        let report = create_demo(&DataDir::new(dir.path()), &options, now).unwrap();
        assert!(report.size_bytes >= 3 << 20, "{}", report.size_bytes);
        assert!(report.size_bytes <= 9 << 20, "{}", report.size_bytes);
        let conn = rusqlite::Connection::open(dir.path().join("data/servers.db")).unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let servers: i64 = conn
            .query_row("SELECT count(*) FROM servers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(servers, 3);
    }
}
