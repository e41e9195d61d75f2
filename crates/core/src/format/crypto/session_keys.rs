//! The session keys a laptop hands a server's engine (issue 30): one per
//! backup the verb reads, each under the backup's file name. A key opens
//! only the backup it was taken from, and an engine uses a key only for
//! the backup it is named for, so handing over the keys of the backups a
//! verb reads gives the server nothing more than that verb needs.
//!
//! As text (framed like a passphrase on the engine's stdin): first, when
//! known, `from MACHINE` (who recovered them: the ledger records that
//! machine as the one that proved the backups), then a line per backup,
//! `NAME ALGO:HEX` (the key in gpg's `--override-session-key` form).

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::{CryptoError, OpenedSession};

/// Session keys by backup file name.
#[derive(Debug, Default)]
pub struct SessionKeys {
    by_name: BTreeMap<String, OpenedSession>,
    from: Option<String>,
}

impl SessionKeys {
    /// No key.
    pub fn new() -> Self {
        SessionKeys::default()
    }

    /// The machine that recovered the keys (it holds the way in), as the
    /// ledger names who proved a backup.
    pub fn from(&self) -> Option<&str> {
        self.from.as_deref()
    }

    /// These keys, said to come from `machine` (printable, one line).
    pub fn recovered_on(mut self, machine: &str) -> Self {
        let machine: String = machine
            .chars()
            .filter(|c| !c.is_control())
            .take(128)
            .collect();
        self.from = (!machine.trim().is_empty()).then(|| machine.trim().to_owned());
        self
    }

    /// The key of backup `name` (replacing one given before).
    pub fn insert(&mut self, name: &str, key: OpenedSession) {
        self.by_name.insert(name.to_owned(), key);
    }

    /// The key handed over for backup `name`, if any.
    pub fn get(&self, name: &str) -> Option<&OpenedSession> {
        self.by_name.get(name)
    }

    /// How many backups have a key.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no backup has a key.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// The backups that have a key.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    /// As text: a line `NAME ALGO:HEX` per backup.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::new());
        if let Some(from) = &self.from {
            text.push_str("from ");
            text.push_str(from);
            text.push('\n');
        }
        for (name, key) in &self.by_name {
            text.push_str(name);
            text.push(' ');
            text.push_str(&key.to_text());
            text.push('\n');
        }
        text
    }

    /// Reads [`SessionKeys::to_text`]'s form.
    ///
    /// # Errors
    /// [`CryptoError::Corrupt`] for a line that is not `NAME ALGO:HEX` (a
    /// backup file name, then a key as [`OpenedSession::parse`] reads it),
    /// a name given twice, or no line at all.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let mut keys = SessionKeys::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let bad = |why: &str| {
                CryptoError::Corrupt(format!("handed-over session key {}: {why}", n + 1))
            };
            if let Some(from) = line.strip_prefix("from ") {
                keys = keys.recovered_on(from);
                continue;
            }
            let (name, key) = line
                .trim()
                .split_once(' ')
                .ok_or_else(|| bad("not NAME ALGO:HEX"))?;
            crate::format::name::BackupName::parse(name)
                .map_err(|_| bad("not a backup's file name"))?;
            let key = OpenedSession::parse(key).map_err(|_| bad("not ALGO:HEX"))?;
            if keys.by_name.insert(name.to_owned(), key).is_some() {
                return Err(bad("a backup named twice"));
            }
        }
        if keys.is_empty() {
            return Err(CryptoError::Corrupt(
                "no session key was handed over".to_owned(),
            ));
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "servers_db_20261201_020000.db.gpg";
    const B: &str = "servers_db_20261202_020000.db.gpg";

    fn key(byte: u8) -> OpenedSession {
        OpenedSession::parse(&format!("9:{}", format!("{byte:02x}").repeat(32))).unwrap()
    }

    #[test]
    fn each_key_is_found_under_its_backup_only_and_survives_its_text() {
        let mut keys = SessionKeys::new().recovered_on("laptop\n7");
        keys.insert(A, key(1));
        keys.insert(B, key(2));
        let again = SessionKeys::parse(&keys.to_text()).unwrap();
        assert_eq!(again.from(), Some("laptop7"));
        assert_eq!(again.len(), 2);
        assert_eq!(*again.get(A).unwrap().to_text(), *key(1).to_text());
        assert_eq!(*again.get(B).unwrap().to_text(), *key(2).to_text());
        assert!(again.get("servers_db_20261203_020000.db.gpg").is_none());
        assert_eq!(again.names().collect::<Vec<_>>(), [A, B]);
    }

    #[test]
    fn anything_but_named_keys_is_refused() {
        let one = key(1).to_text();
        for bad in [
            String::new(),
            "\n\n".to_owned(),
            "from laptop".to_owned(),
            one.to_string(),
            format!("../etc/passwd {}", *one),
            format!("{A} 9:zz"),
            format!("{A} {}\n{A} {}", *one, *one),
        ] {
            assert!(SessionKeys::parse(&bad).is_err(), "{bad:?}");
        }
    }
}
