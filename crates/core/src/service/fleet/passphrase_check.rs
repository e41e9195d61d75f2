//! A tile rule that needs this machine's keychain: the stored passphrase
//! of a local installation must open its newest backup. One that does not
//! (a typo stored on purpose as a new set, another machine's rotation, a
//! hand edit) means new backups form a set the old ones do not share, or
//! the next restore fails: the tile is never ok then. The answer is kept
//! per profile, newest backup and passphrase (by digest, in memory only),
//! so a refresh does not derive a key again for what it already checked.

use std::collections::HashMap;
use std::io::BufReader;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::context::SecretStore;
use crate::format::crypto::{self, CryptoError};
use crate::local::layout::DataDir;
use crate::service::secrets::{self, PassphraseScope};
use crate::targets::profile::{Profile, ProfileTarget};

/// What was found for (profile, newest backup, passphrase digest).
fn checked() -> &'static Mutex<HashMap<String, bool>> {
    static CHECKED: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    CHECKED.get_or_init(Default::default)
}

/// The problem to show when profile `name`'s stored passphrase does not
/// open `newest` (an encrypted backup of its local folder); `None` when
/// it does, when nothing is stored, or when no keychain answers.
pub(crate) fn stored_passphrase_problem(
    name: &str,
    profile: &Profile,
    newest: &str,
    store: &dyn SecretStore,
) -> Option<String> {
    let ProfileTarget::Local { data_dir } = &profile.target else {
        return None;
    };
    if !newest.ends_with(".gpg") {
        return None;
    }
    let scope = PassphraseScope::for_profile(name, profile);
    let stored = secrets::stored_passphrase(store, &scope).ok()??;
    let digest = Sha256::digest(stored.expose().as_bytes());
    let key = format!("{name}\0{newest}\0{digest:x}");
    let known = checked()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .copied();
    let opens = match known {
        Some(opens) => opens,
        None => {
            let path = DataDir::new(data_dir).backup_file(newest);
            let file = std::fs::File::open(path).ok()?;
            let opens = !matches!(
                crypto::check_passphrase(BufReader::new(file), &stored),
                Err(CryptoError::WrongPassphrase)
            );
            checked()
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, opens);
            opens
        }
    };
    (!opens).then(|| {
        format!(
            "the stored passphrase does not open {newest}, the newest backup: backups made with it \
             form another set; store the passphrase that set was made with (Settings), or rotate"
        )
    })
}
