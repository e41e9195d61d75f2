//! Daily scheduled backups.
