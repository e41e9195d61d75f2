//! Reading a file that holds a secret (a passphrase file, a password file,
//! an SSH key's passphrase): within bounds, whatever the file is. A regular
//! file, a pipe or process substitution alike give their first line; a
//! FIFO nobody writes to is given up on after [`PIPE_WAIT`] instead of
//! hanging the operation (and its lock) for ever; `/dev/zero` or a file
//! without a line end in its first [`SECRET_FILE_LIMIT`] bytes is refused,
//! never read without bound.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::ErrorKind;

/// The longest first line a secret file may have.
pub(crate) const SECRET_FILE_LIMIT: u64 = 4096;

/// How long a secret pipe (a FIFO, process substitution) may take to give
/// its line.
pub const PIPE_WAIT: Duration = Duration::from_secs(10);

/// [`PIPE_WAIT`], or (feature `test-hooks`) the whole seconds of
/// `BACKUPDESK_TEST_PIPE_WAIT_S`: a test of a FIFO nobody writes to then
/// waits 1 s instead of 10 for the same refusal.
pub fn pipe_wait() -> Duration {
    #[cfg(feature = "test-hooks")]
    if let Some(seconds) = std::env::var("BACKUPDESK_TEST_PIPE_WAIT_S")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return Duration::from_secs(seconds);
    }
    PIPE_WAIT
}

/// Why a secret file gave no secret, with the kind both shells report.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct SecretFileError {
    pub kind: ErrorKind,
    pub message: String,
}

impl crate::KindedError for SecretFileError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

fn error(kind: ErrorKind, message: String) -> SecretFileError {
    SecretFileError { kind, message }
}

/// The first line of `file`, a secret (`what` names the file in errors):
/// read within bounds ([`read_secret_file`]), UTF-8 text without NUL, not
/// empty, a trailing `\r` dropped.
///
/// # Errors
/// Unreadable, too long, not text, or empty: each its own kind.
pub fn first_line_of(file: &Path, what: &str) -> Result<String, SecretFileError> {
    let bytes = read_secret_file(file, what)?;
    let line_end = bytes.iter().position(|b| *b == b'\n');
    if line_end.is_none() && bytes.len() as u64 > SECRET_FILE_LIMIT {
        return Err(error(
            ErrorKind::PassphraseFileTooLong,
            format!(
                "{what} {} has no line end in its first {SECRET_FILE_LIMIT} bytes: it holds no secret line",
                file.display()
            ),
        ));
    }
    let first = &bytes[..line_end.unwrap_or(bytes.len())];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let Ok(first) = String::from_utf8(first.to_vec()) else {
        return Err(error(
            ErrorKind::PassphraseFileNotText,
            format!("{what} {} is not UTF-8 text", file.display()),
        ));
    };
    if first.contains('\0') {
        return Err(error(
            ErrorKind::PassphraseFileNotText,
            format!("{what} {} holds NUL bytes", file.display()),
        ));
    }
    if first.is_empty() {
        return Err(error(
            ErrorKind::EmptyPassphrase,
            format!("{what} {} is empty", file.display()),
        ));
    }
    Ok(first)
}

/// At most [`SECRET_FILE_LIMIT`] + 1 bytes of `file` (`what` names it in
/// the error), read on a thread of its own and given up on after
/// [`PIPE_WAIT`].
///
/// This process's stdin (`/dev/stdin`) gives one line per read: its buffer
/// is shared, so a second secret read the same way gets the next line.
///
/// # Errors
/// [`ErrorKind::PassphraseFileUnreadable`]: missing, a folder, unreadable,
/// or nothing written within [`PIPE_WAIT`].
pub(crate) fn read_secret_file(file: &Path, what: &str) -> Result<Vec<u8>, SecretFileError> {
    let unreadable = |why: String| {
        error(
            ErrorKind::PassphraseFileUnreadable,
            format!("cannot read {what} {}: {why}", file.display()),
        )
    };
    let stdin = file == Path::new("/dev/stdin");
    match std::fs::metadata(file) {
        _ if stdin => {}
        Ok(m) if m.is_dir() => return Err(unreadable("it is a folder".to_owned())),
        Ok(_) => {}
        Err(e) => return Err(unreadable(e.to_string())),
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let path = file.to_owned();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let read = if stdin {
            use std::io::BufRead;
            std::io::stdin()
                .lock()
                .take(SECRET_FILE_LIMIT + 1)
                .read_until(b'\n', &mut bytes)
                .map(|_| bytes)
        } else {
            std::fs::File::open(&path)
                .and_then(|f| f.take(SECRET_FILE_LIMIT + 1).read_to_end(&mut bytes))
                .map(|_| bytes)
        };
        let _ = tx.send(read);
    });
    match rx.recv_timeout(pipe_wait()) {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(unreadable(e.to_string())),
        Err(_) => Err(unreadable(format!(
            "nothing was written to it within {} s",
            pipe_wait().as_secs()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(bytes: &[u8]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn the_first_line_without_its_line_end() {
        let file = written(b"secret\r\nmetadata\n");
        assert_eq!(first_line_of(file.path(), "f").unwrap(), "secret");
    }

    #[test]
    fn each_bad_file_is_its_own_kind() {
        let kind = |bytes: &[u8]| first_line_of(written(bytes).path(), "f").unwrap_err().kind;
        assert_eq!(kind(b"\n"), ErrorKind::EmptyPassphrase);
        assert_eq!(kind(b"a\0b\n"), ErrorKind::PassphraseFileNotText);
        assert_eq!(kind(&[0xff, 0xfe, b'\n']), ErrorKind::PassphraseFileNotText);
        assert_eq!(kind(&[b'x'; 5000]), ErrorKind::PassphraseFileTooLong);
        let missing = first_line_of(Path::new("/nonexistent/f"), "the file").unwrap_err();
        assert_eq!(missing.kind, ErrorKind::PassphraseFileUnreadable);
        assert!(
            missing
                .message
                .starts_with("cannot read the file /nonexistent/f")
        );
    }
}
