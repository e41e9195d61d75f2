//! Command-line grammar. Global flags are accepted before or after the verb.

use std::path::PathBuf;

use backupdesk_core::local::retention::RetentionPolicy;
use clap::{Args, Parser, Subcommand};

mod offsite;

pub use offsite::*;

/// Encrypted, verified backups of a Server Monitor database.
#[derive(Debug, Parser)]
#[command(name = "backupdesk", version = backupdesk_core::targets::ssh::VERSION_LINE, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub verb: Verb,
}

/// Flags every verb accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// The Server Monitor installation root.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "/opt/server-monitor"
    )]
    pub data_dir: PathBuf,
    /// A saved profile (local or remote server).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Machine-readable output with stable shapes.
    #[arg(long, global = true)]
    pub json: bool,
    /// Read the backup passphrase from this file (first line).
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Do not ask for confirmation (for scripts).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Progress as JSON lines on stderr (what a laptop asks of this engine
    /// over SSH, to draw them there).
    #[arg(long, global = true, hide = true)]
    pub progress_lines: bool,
    /// The fleet tile's evidence in `list --json` (the schedule, the latest
    /// backup attempt): what a laptop of this very version asks of this
    /// engine over SSH. Others get the server's list shape.
    #[arg(long, global = true, hide = true)]
    pub tile_evidence: bool,
    /// The secrets come framed on stdin (what a laptop sends this engine
    /// over SSH): the passphrase, then a rotation's new one.
    #[arg(long, global = true, hide = true)]
    pub secrets_on_stdin: bool,
    /// The first secret framed on stdin is the session key (`ALGO:HEX`) of
    /// the one backup this verb reads: what a laptop holding the key hands
    /// a server that holds none. No passphrase is then needed.
    #[arg(long, global = true, hide = true, requires = "secrets_on_stdin")]
    pub session_key_on_stdin: bool,
    /// The secrets read from stdin with `--secrets-on-stdin` (filled in
    /// after parsing).
    #[arg(skip)]
    pub stdin_secrets: StdinSecrets,
    /// The remote server selected by `--profile` (filled in after parsing).
    /// The `--profile` as the profile book held it when the run began
    /// (the book is read once per run).
    #[arg(skip)]
    pub chosen: Option<backupdesk_core::targets::profile::Profile>,
    #[arg(skip)]
    pub remote: Option<RemoteProfile>,
    /// The retention policy of the selected profile, if it has one.
    #[arg(skip)]
    pub retention: Option<backupdesk_core::local::retention::RetentionPolicy>,
    /// The SSH server selected by `--profile` (filled in after parsing).
    #[arg(skip)]
    pub ssh: Option<backupdesk_core::targets::ssh::SshHost>,
}

/// The secrets a laptop framed on this engine's stdin, in order: the
/// passphrase, then a rotation's new one.
#[derive(Clone, Default)]
pub struct StdinSecrets(pub Vec<backupdesk_core::format::crypto::Passphrase>);

impl std::fmt::Debug for StdinSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StdinSecrets({} given)", self.0.len())
    }
}

impl StdinSecrets {
    /// The passphrase, when one was given.
    pub fn passphrase(&self) -> Option<&backupdesk_core::format::crypto::Passphrase> {
        self.0.first()
    }

    /// A rotation's new passphrase, when one was given.
    pub fn new_passphrase(&self) -> Option<&backupdesk_core::format::crypto::Passphrase> {
        self.0.get(1)
    }
}

/// A remote profile, resolved from the profile book.
#[derive(Debug, Clone)]
pub struct RemoteProfile {
    pub name: String,
    pub base_url: String,
    pub username: String,
}

#[derive(Debug, Subcommand)]
pub enum Verb {
    /// Make a new encrypted backup of the live database.
    Backup(BackupArgs),
    /// List every backup, newest first.
    List,
    /// Check that backups decrypt and match their checksums.
    Verify(VerifyArgs),
    /// Restore a backup into a private scratch folder and check it (never the live database).
    Drill(DrillArgs),
    /// Every saved profile at a glance; exit 1 when any needs attention.
    Fleet(FleetArgs),
    /// Restore a backup over the live database (safety backup, automatic
    /// rollback), or with --table only some tables or rows of it.
    Restore(RestoreArgs),
    /// The tables of a backup (decrypted and checked first) or of the live database.
    Tables(TablesArgs),
    /// Run one read-only SQL statement on a backup or on the live database.
    Query(QueryArgs),
    /// What changed between two backups, or a backup and the live database.
    Diff(DiffArgs),
    /// The history of the configuration (servers, users, webhooks, settings…)
    /// from the kept backups, each compared with the one before it.
    Changes(ChangesArgs),
    /// Delete backups the retention policy no longer keeps.
    Prune(PruneArgs),
    /// Delete one backup (its .gpg and .meta).
    Delete(NameArg),
    /// Protect a backup from pruning.
    Pin(NameArg),
    /// Remove the protection of `pin`.
    Unpin(NameArg),
    /// What happened, newest first: backups, verifications, drills, prunes,
    /// deletions, off-site copies, restores and rotations (the installation's logs).
    Activity(ActivityArgs),
    /// Integrity and size of the live database (the server's /api/database/health shape).
    Health,
    /// Sizes of the database, the backups and the data folder (the server's /api/database/storage shape).
    Storage,
    /// Create demo data.
    #[command(subcommand)]
    Demo(DemoVerb),
    /// Saved local installations and remote servers.
    #[command(subcommand)]
    Profile(ProfileVerb),
    /// Log in to a remote profile's server and keep the token in the keychain.
    Login(LoginArgs),
    /// The backup passphrase in the OS keychain.
    #[command(subcommand)]
    Passphrase(PassphraseVerb),
    /// Daily automatic backups (systemd timer or cron).
    #[command(subcommand)]
    Schedule(ScheduleVerb),
    /// Off-site copies in S3-compatible storage.
    #[command(subcommand)]
    Offsite(OffsiteVerb),
    /// Which public keys new backups are encrypted to (a server that keeps
    /// no passphrase can back up but never read its backups).
    #[command(subcommand)]
    Encryption(EncryptionVerb),
    /// Your own keys for reading backups (the secret part in the keychain).
    #[command(subcommand)]
    Key(KeyVerb),
    /// Alerts from the installation itself: ntfy, webhooks, ping checks.
    #[command(subcommand)]
    Notify(NotifyVerb),
}

#[derive(Debug, Subcommand)]
pub enum EncryptionVerb {
    /// The installation's encryption policy.
    Show,
    /// Set the policy: the recipients, and whether the passphrase stays a way in.
    Set(EncryptionSetArgs),
    /// Give backups the policy's ways in by their key packets alone (the
    /// encrypted body stays byte for byte the same).
    Rewrap(EncryptionRewrapArgs),
}

#[derive(Debug, Args)]
pub struct EncryptionRewrapArgs {
    /// The backups to rewrap, by file name.
    #[arg(
        value_name = "BACKUP",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub backups: Vec<String>,
    /// Every encrypted backup of the installation.
    #[arg(long)]
    pub all: bool,
    /// Say what would be rewrapped; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct EncryptionSetArgs {
    /// A certificate file, or a fingerprint in your GnuPG keyring (repeat).
    #[arg(
        long = "recipient",
        value_name = "CERT",
        required_unless_present = "recovery_passphrase_file"
    )]
    pub recipients: Vec<String>,
    /// Keep the installation's passphrase as a further way in (the default).
    #[arg(long, conflicts_with = "no_passphrase")]
    pub passphrase: bool,
    /// The server keeps no passphrase: it can back up, never read its backups
    /// (needs two ways in: two recipients, or one and a recovery passphrase).
    #[arg(long)]
    pub no_passphrase: bool,
    /// A recovery passphrase (the file's first line): a recovery key is made,
    /// its public part added as a recipient, its secret part, encrypted by
    /// this passphrase, written to a recovery sheet; the server keeps neither.
    #[arg(long, value_name = "FILE")]
    pub recovery_passphrase_file: Option<std::path::PathBuf>,
    /// Where the recovery sheet is written (default: the current folder).
    #[arg(long, value_name = "DIR", requires = "recovery_passphrase_file")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum NotifyVerb {
    /// Add a notifier. Its URL is a secret (tokens live in URLs): given
    /// after the flag it shows in `ps`; left out, it is read from stdin
    /// (asked for, hidden, on a terminal).
    Add(NotifyAddArgs),
    /// The notifiers, their URLs redacted.
    List,
    /// Remove a notifier and its secret.
    Remove(NotifyNameArg),
    /// Send a test to one notifier, or to all.
    Test(NotifyTestArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["ntfy", "webhook", "ping"])))]
pub struct NotifyAddArgs {
    /// Its name (letters, digits, '-', '_', '.').
    pub name: String,
    /// An ntfy topic URL.
    #[arg(long, num_args = 0..=1, value_name = "URL", default_missing_value = "")]
    pub ntfy: Option<String>,
    /// A URL that gets each event as JSON (event, installation, backup, kind, message, time).
    #[arg(long, num_args = 0..=1, value_name = "URL", default_missing_value = "")]
    pub webhook: Option<String>,
    /// A healthchecks.io-style check URL (URL/start, URL, URL/fail).
    #[arg(long, num_args = 0..=1, value_name = "URL", default_missing_value = "")]
    pub ping: Option<String>,
    /// What it hears of: failures, changes (failures and recoveries), or all (also each job that went well).
    #[arg(long, default_value = "changes", value_parser = ["failures", "changes", "all"])]
    pub on: String,
}

#[derive(Debug, Args)]
pub struct NotifyNameArg {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// The notifier (default: all).
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeyVerb {
    /// Make a key (secret part in the keychain; certificate and recovery sheet written out).
    Create(KeyCreateArgs),
}

#[derive(Debug, Args)]
pub struct KeyCreateArgs {
    /// The key's name, e.g. "Ops team <ops@example.org>".
    pub name: String,
    /// Where the certificate (NAME.pub.asc) and the recovery sheet go.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Deflate effort: none, fast, default (gpg's), best.
    #[arg(long, default_value = "default")]
    pub compression: backupdesk_core::format::crypto::Compression,
    /// Allow Server Monitor's well-known default passphrase (not recommended).
    #[arg(long)]
    pub allow_default_passphrase: bool,
    /// Do not prune old backups after this one.
    #[arg(long)]
    pub no_prune: bool,
    /// The passphrase opens none of the backups here, and a new set is
    /// meant (else refused: the backups would split into two sets).
    #[arg(long)]
    pub new_set: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup to restore; without it, pick one from a numbered list.
    pub name: Option<String>,
    /// Print the plan and what would change; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Shell command that stops the service before the swap.
    #[arg(long, value_name = "CMD")]
    pub stop_cmd: Option<String>,
    /// Shell command that starts the service after the swap.
    #[arg(long, value_name = "CMD")]
    pub start_cmd: Option<String>,
    /// Fetch the backup (default: the newest) from this off-site location
    /// first, making the installation's folders when they are gone.
    #[arg(long, value_name = "LOCATION")]
    pub from_offsite: Option<String>,
    /// Restore only this table's rows, in one transaction while the
    /// service runs (repeat for more); the rows it changes are saved first
    /// as a prerestore_rows_ backup that restoring undoes.
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
    /// With --table: only the rows this SQL expression chooses.
    #[arg(long = "where", value_name = "EXPR", requires = "tables")]
    pub where_sql: Option<String>,
    /// With --table: make the chosen rows exactly the backup's, deleting
    /// those only live has (default: merge, keeping them).
    #[arg(long, requires = "tables")]
    pub replace: bool,
    /// With --table: bring along the rows they point at that live lacks.
    #[arg(long, requires = "tables")]
    pub with_parents: bool,
}

#[derive(Debug, Args)]
pub struct TablesArgs {
    /// The backup (or --live).
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub name: Option<String>,
    /// The live database, read-only.
    #[arg(long)]
    pub live: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// NAME "SQL", or with --live only "SQL".
    #[arg(value_name = "NAME SQL", num_args = 1..=2, required = true)]
    pub words: Vec<String>,
    /// Query the live database (read-only) instead of a backup.
    #[arg(long)]
    pub live: bool,
    /// Print CSV instead of a table (--json prints JSON).
    #[arg(long)]
    pub csv: bool,
    /// Rows printed at most.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_rows: usize,
    /// Stop the query after this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub time_limit: u64,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// From this date on ("2026-12-01" or "2026-12-01 14:05"; the backup
    /// before it is the base).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older side: a backup.
    pub old: String,
    /// The newer side: another backup (or --live).
    #[arg(required_unless_present = "live", conflicts_with = "live")]
    pub new: Option<String>,
    /// Compare with the live database (read-only).
    #[arg(long)]
    pub live: bool,
    /// Only this table (repeat for more).
    #[arg(long = "table", value_name = "TABLE")]
    pub tables: Vec<String>,
    /// The changed rows too, by key, with each changed column's old and new value.
    #[arg(long)]
    pub rows: bool,
    /// Changed rows per table (with --rows).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub limit: usize,
    /// Changed rows of each table to skip: the next page (with --rows).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub offset: usize,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Print the plan; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub policy: RetentionArgs,
    /// Save this policy for the automatic prune after each backup.
    #[arg(long)]
    pub save: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The backup's file name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup's file name, e.g. servers_db_20260110_012354.db.gpg.
    #[arg(required_unless_present_any = ["all", "rolling"], conflicts_with_all = ["all", "rolling"])]
    pub name: Option<String>,
    /// Verify every backup.
    #[arg(long, conflicts_with = "rolling")]
    pub all: bool,
    /// The scheduled verification: deep-verify the newest backup and the
    /// share of the older ones checked longest ago, so each is deep-checked
    /// at least once every 28 runs.
    #[arg(long)]
    pub rolling: bool,
    /// Also run SQLite's integrity and foreign-key checks on the snapshot.
    #[arg(long)]
    pub deep: bool,
}

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// Seconds a server may take to answer before its tile says busy.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub timeout: u64,
    /// Profiles read at the same time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub in_flight: u64,
    /// Read nothing: the fleet as last known (the cache), offline too.
    #[arg(long)]
    pub cached: bool,
    /// `prometheus`: the fleet as last known (the cache) in Prometheus'
    /// text format, for a textfile collector or a scrape.
    #[arg(long, value_parser = ["text", "prometheus"], default_value = "text")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// The backup to drill (default: the newest regular backup).
    pub name: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum DemoVerb {
    /// Create a Server Monitor data directory with realistic data.
    Init(DemoInitArgs),
}

#[derive(Debug, Args)]
pub struct DemoInitArgs {
    /// Where to create it (becomes the installation root).
    pub dir: PathBuf,
    /// Approximate database size: 50MiB, 512M, 2GiB, or bytes.
    #[arg(long, default_value = "50MiB", value_parser = parse_size)]
    pub size: u64,
    /// Journal mode of the database: wal or delete.
    #[arg(long, default_value = "wal", value_parser = ["wal", "delete"])]
    pub journal: String,
    /// Seed of the generator.
    #[arg(long, default_value_t = 0x5eed)]
    pub seed: u64,
}

#[derive(Debug, Subcommand)]
pub enum ProfileVerb {
    /// Save a profile: a local data directory or a remote server.
    Add(Box<ProfileAddArgs>),
    /// List profiles.
    List,
    /// Show one profile.
    Show(ProfileName),
    /// Remove a profile (and forget its secrets in the keychain).
    Remove(ProfileName),
    /// Check that a profile is reachable and healthy.
    Test(ProfileName),
    /// Copy this backupdesk to an SSH profile's server (after asking).
    Install(ProfileName),
}

#[derive(Debug, Args)]
pub struct ProfileName {
    /// The profile's name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// The profile's name (letters, digits, '-', '_', '.').
    pub name: String,
    /// A local Server Monitor installation root.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["url", "username", "ssh"], required_unless_present_any = ["url", "ssh"])]
    pub local: Option<PathBuf>,
    /// A server reached over SSH (`user@host` or an ~/.ssh/config alias);
    /// its installation root is --data-dir (default /opt/server-monitor).
    /// With --url and --username too, the server's API reads health and
    /// storage; what decrypts or changes goes through SSH.
    #[arg(long, value_name = "USER@HOST")]
    pub ssh: Option<String>,
    /// The SSH port, when not the SSH config's.
    #[arg(long, value_name = "N", requires = "ssh")]
    pub port: Option<u16>,
    /// The SSH private key, when not the agent's or the SSH config's.
    #[arg(long, value_name = "FILE", requires = "ssh")]
    pub identity: Option<PathBuf>,
    /// Where `backupdesk` is on the server (default
    /// ~/.local/bin/backupdesk, where `profile install` puts it).
    #[arg(long, value_name = "PATH", requires = "ssh")]
    pub engine: Option<String>,
    /// A remote server's base URL (http:// or https://).
    #[arg(long, value_name = "URL", requires = "username")]
    pub url: Option<String>,
    /// The admin account on the remote server.
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// A CA certificate (PEM) for a self-signed remote server.
    #[arg(long, value_name = "FILE", requires = "url")]
    pub ca_cert: Option<PathBuf>,
    /// A backup older than this many hours is overdue.
    #[arg(long, default_value_t = 26)]
    pub overdue_hours: u32,
    /// Warn when no restore drill passed for this many days.
    #[arg(long, default_value_t = 8, value_name = "DAYS")]
    pub drill_overdue_days: u32,
    /// For a server: how long a restore may take and then settle, in
    /// seconds (default 180; more for a big database).
    #[arg(long, value_name = "SECONDS", requires = "url", value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub restore_timeout: Option<u64>,
    /// This profile's retention (unset counts keep their defaults).
    #[command(flatten)]
    pub policy: RetentionArgs,
}

/// `--keep-*` flags: a retention policy, each count over a base policy.
#[derive(Debug, Args, Clone, Copy)]
pub struct RetentionArgs {
    /// Keep the N newest backups.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N days that have one.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N weeks that have one.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months that have one.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep the N newest pre-restore safety backups.
    #[arg(long, value_name = "N")]
    pub keep_pre_restore: Option<u32>,
}

impl RetentionArgs {
    /// Whether any count was given.
    pub fn any(&self) -> bool {
        [
            self.keep_last,
            self.keep_daily,
            self.keep_weekly,
            self.keep_monthly,
            self.keep_pre_restore,
        ]
        .iter()
        .any(Option::is_some)
    }

    /// `base` with the given counts replaced.
    pub fn over(&self, base: RetentionPolicy) -> RetentionPolicy {
        RetentionPolicy {
            keep_last: self.keep_last.unwrap_or(base.keep_last),
            daily: self.keep_daily.unwrap_or(base.daily),
            weekly: self.keep_weekly.unwrap_or(base.weekly),
            monthly: self.keep_monthly.unwrap_or(base.monthly),
            pre_restore: self.keep_pre_restore.unwrap_or(base.pre_restore),
        }
    }
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The remote profile.
    pub profile_name: String,
    /// Read the password from this file (first line) instead of asking.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Also keep the password in the keychain, so an expired token is
    /// renewed by one automatic login (asked when omitted; off by default).
    #[arg(long)]
    pub remember_password: bool,
}

#[derive(Debug, Subcommand)]
pub enum PassphraseVerb {
    /// Store the backup passphrase in the keychain (from --passphrase-file or a prompt).
    Set,
    /// Check the stored passphrase against the newest backup (first block only).
    Test,
    /// Remove the passphrase from the keychain.
    Forget,
    /// Re-encrypt every local backup under a new passphrase (resumable),
    /// then store the new one in the keychain.
    Rotate(RotateArgs),
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Read the new passphrase from this file (first line); else it is asked twice.
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleVerb {
    /// Install (or replace) the daily backup, the daily verification and the weekly restore drill.
    Install(ScheduleInstallArgs),
    /// Show which jobs are installed.
    Status,
    /// Remove every job.
    Remove,
    /// For an SSH profile whose server keeps no secret: run its daily deep
    /// verification and weekly drill from this machine, where the key is.
    Prove(ScheduleProveArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleProveArgs {
    /// Time of day of the deep verification, HH:MM (local time).
    #[arg(long, default_value = "03:00")]
    pub at: String,
    #[command(flatten)]
    pub drill: DrillWhen,
    /// Say which proving jobs are installed here.
    #[arg(long, conflicts_with_all = ["remove", "no_drill", "drill_at"])]
    pub status: bool,
    /// Remove this profile's proving jobs from this machine.
    #[arg(long, conflicts_with_all = ["status", "no_drill", "drill_at"])]
    pub remove: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleInstallArgs {
    /// Time of day of the backup, HH:MM (local time).
    #[arg(long, default_value = "02:00")]
    pub at: String,
    /// Time of day of the verification, HH:MM (default: an hour after the backup).
    #[arg(long, value_name = "HH:MM", conflicts_with = "no_verify")]
    pub verify_at: Option<String>,
    /// Do not schedule the daily verification.
    #[arg(long)]
    pub no_verify: bool,
    #[command(flatten)]
    pub drill: DrillWhen,
}

/// When the weekly restore drill runs.
#[derive(Debug, Args)]
pub struct DrillWhen {
    /// Weekday of the restore drill (mon..sun).
    #[arg(
        long,
        default_value = "sun",
        value_name = "DAY",
        conflicts_with = "no_drill"
    )]
    pub drill_day: String,
    /// Time of day of the restore drill, HH:MM (default: two hours after --at).
    #[arg(long, value_name = "HH:MM", conflicts_with = "no_drill")]
    pub drill_at: Option<String>,
    /// Do not schedule the weekly restore drill.
    #[arg(long)]
    pub no_drill: bool,
}

/// Parses sizes like `50MiB`, `512M`, `2GiB`, `100MB` (binary units) or bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 50MiB)"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit '{other}' (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("'{text}' is too large"))
}

#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// Only entries from this local time on: YYYY-MM-DD, or YYYY-MM-DD HH:MM[:SS].
    #[arg(long, value_parser = parse_since)]
    pub since: Option<chrono::NaiveDateTime>,
    /// Only entries whose message contains this text (any case).
    #[arg(long)]
    pub search: Option<String>,
    /// Only entries at this level or graver.
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
    /// Only this log (repeatable): backup, verify, restore.
    #[arg(long = "log", value_enum)]
    pub logs: Vec<LogArg>,
    /// At most this many entries, newest first (1 to 10000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub limit: u32,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LevelArg {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogArg {
    Backup,
    Verify,
    Restore,
}

/// `YYYY-MM-DD` (midnight) or `YYYY-MM-DD HH:MM[:SS]` (also with a `T`).
fn parse_since(text: &str) -> Result<chrono::NaiveDateTime, String> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(at);
        }
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .map_err(|_| format!("{text:?} is not a date: use YYYY-MM-DD or \"YYYY-MM-DD HH:MM\""))
}
