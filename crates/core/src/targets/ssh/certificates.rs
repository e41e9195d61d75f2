//! Public certificates put on a server for its engine (an encryption
//! policy set from this machine reads them there). Public parts only: a
//! secret key never goes to a server.

use super::{SshError, SshHost, last_line};

impl SshHost {
    /// Puts the public certificate `armored` of `fingerprint` (hex) in the
    /// login's `~/.local/state/backupdesk/certificates/` (written whole,
    /// then renamed); its path there.
    ///
    /// # Errors
    /// A fingerprint that is not hex; the connection's errors; a folder
    /// that cannot be written there.
    pub(crate) fn put_certificate(
        &self,
        fingerprint: &str,
        armored: &[u8],
    ) -> Result<String, SshError> {
        let failed = |detail: String| SshError::Failed {
            host: self.destination.clone(),
            detail,
        };
        if fingerprint.is_empty() || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(failed(format!("{fingerprint} is no fingerprint")));
        }
        let script = format!(
            "d=\"$HOME/.local/state/backupdesk/certificates\"; f=\"$d/{fingerprint}.asc\"; \
             mkdir -p \"$d\" && cat > \"$f.part\" && mv \"$f.part\" \"$f\" && printf '%s' \"$f\""
        );
        let run = self.judge(self.run_raw(&script, armored)?)?;
        if run.code != 0 {
            return Err(failed(last_line(&run.stderr)));
        }
        Ok(String::from_utf8_lossy(&run.stdout).trim().to_owned())
    }
}
