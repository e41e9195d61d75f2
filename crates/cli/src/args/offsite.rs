//! The `offsite` verbs' grammar: locations, push, list, verify, prune,
//! fetch.

use super::*;

#[derive(Debug, Subcommand)]
pub enum OffsiteVerb {
    /// Add an S3 location (keys from $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY
    /// or asked, kept in the keychain) or an SFTP folder (host key pinned).
    Add(OffsiteAddArgs),
    /// This installation's locations; with --location, the copies that
    /// location holds, read from the store alone.
    List(OffsiteListArgs),
    /// One location.
    Show(OffsiteName),
    /// Remove a location and forget its keys (the copies stay).
    Remove(OffsiteName),
    /// Reach a location, write a probe, read it back, delete it.
    Test(OffsiteName),
    /// Copy every backup and .meta not yet there, checksums confirmed by the
    /// store, each locked for its retention where the bucket has Object Lock.
    Push(OffsitePushArgs),
    /// Check the copies: sizes and the store's checksums (quick); with
    /// --deep also download, decrypt and check the newest and the 1/30
    /// checked longest ago (every copy with --all).
    Verify(OffsiteVerifyArgs),
    /// Apply the retention policy to the copies; locked ones stay, with their date.
    Prune(OffsitePruneArgs),
}

#[derive(Debug, Args)]
pub struct OffsiteVerifyArgs {
    /// Only this location (default: every location of the installation).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
    /// Also download, decrypt and check (the rolling share of the copies).
    #[arg(long)]
    pub deep: bool,
    /// With --deep: every copy, not the rolling share.
    #[arg(long, requires = "deep")]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct OffsitePruneArgs {
    /// Only this location (default: every location of the installation).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
    /// Say what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct OffsiteName {
    /// The location's name.
    pub name: String,
}

#[derive(Debug, Args)]
pub struct OffsiteAddArgs {
    /// The location's name (letters, digits, '-', '_', '.').
    pub name: String,
    /// The bucket and key prefix.
    #[arg(
        long,
        value_name = "s3://BUCKET/PREFIX",
        required_unless_present = "sftp",
        conflicts_with = "sftp"
    )]
    pub s3: Option<String>,
    /// A folder on an SSH host (its host key is pinned now).
    #[arg(long, value_name = "USER@HOST:/PATH")]
    pub sftp: Option<String>,
    /// The SFTP host's port.
    #[arg(long, requires = "sftp")]
    pub port: Option<u16>,
    /// The SSH key for the SFTP login (default: the agent's and the SSH config's).
    #[arg(long, value_name = "FILE", requires = "sftp")]
    pub identity: Option<std::path::PathBuf>,
    /// A file holding that key's passphrase, for the keychain (ssh gets it
    /// when it asks; else a key with a passphrase needs the agent).
    #[arg(long, value_name = "FILE", requires = "identity")]
    pub key_passphrase_file: Option<std::path::PathBuf>,
    /// Another endpoint than AWS's (MinIO, Ceph, Garage, B2, Wasabi…).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// The region (default us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Path-style addressing (ENDPOINT/BUCKET/KEY), for most self-hosted stores.
    #[arg(long)]
    pub path_style: bool,
}

#[derive(Debug, Args)]
pub struct OffsiteListArgs {
    /// List the copies this location holds (works without a data folder).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
}

#[derive(Debug, Args)]
pub struct OffsitePushArgs {
    /// Only this location (default: every location of the installation).
    #[arg(long, value_name = "NAME")]
    pub location: Option<String>,
    /// At most this rate, e.g. 5MiB/s or 800KB/s.
    #[arg(long, value_name = "RATE")]
    pub limit: Option<String>,
}
