//! The one skeleton of a file's upload to any store kind, in named stages:
//! **open** (the local file and its size), **resume** (what a cut-off
//! upload of the same name left that is ours), **send** (the rest, paced
//! by the bandwidth limit), **confirm** (what the store now holds checked
//! against the file before the copy counts). Each store kind says how it
//! does each stage ([`StagedUpload`]); the order, the progress and the
//! local file's errors are kept here once.

use std::path::Path;

use crate::offsite::OffsiteError;
use crate::offsite::store::Uploaded;
use crate::offsite::throttle::Throttle;
use crate::progress::{Phase, Progress};

/// The file being uploaded: open, its size read once.
pub(crate) struct LocalFile<'a> {
    pub(crate) file: std::fs::File,
    pub(crate) path: &'a Path,
    pub(crate) size: u64,
}

impl<'a> LocalFile<'a> {
    /// Stage **open**.
    ///
    /// # Errors
    /// The file cannot be opened or its size read ([`OffsiteError::Local`]).
    fn open(path: &'a Path) -> Result<Self, OffsiteError> {
        let failed = local_error(path);
        let file = std::fs::File::open(path).map_err(&failed)?;
        let size = file.metadata().map_err(&failed)?.len();
        Ok(LocalFile { file, path, size })
    }

    /// Reading the file failed: the error names it.
    pub(crate) fn error(&self) -> impl Fn(std::io::Error) -> OffsiteError + 'a {
        local_error(self.path)
    }

    /// Back to the file's byte `at`.
    pub(crate) fn seek(&mut self, at: u64) -> Result<(), OffsiteError> {
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(at))
            .map(|_| ())
            .map_err(local_error(self.path))
    }
}

fn local_error(path: &Path) -> impl Fn(std::io::Error) -> OffsiteError + '_ {
    move |e| OffsiteError::Local(path.display().to_string(), e.to_string())
}

/// How one store kind does the stages of an upload.
pub(crate) trait StagedUpload {
    /// What stage **resume** found (and what **send** needs of it).
    type Resumed;
    /// What stage **send** did (and what **confirm** needs of it).
    type Sent;

    /// Stage **resume**: what an earlier upload of `name`, cut off, left
    /// that is ours (anything else there is discarded).
    fn resume(&self, name: &str, file: &mut LocalFile<'_>) -> Result<Self::Resumed, OffsiteError>;

    /// The bytes [`StagedUpload::resume`] found in place already (counted
    /// as done before **send** starts).
    fn kept_bytes(resumed: &Self::Resumed) -> u64;

    /// Stage **send**: the rest of the file, each byte through `throttle`.
    fn send(
        &self,
        name: &str,
        resumed: Self::Resumed,
        file: &mut LocalFile<'_>,
        throttle: &mut Throttle,
        progress: &dyn Progress,
    ) -> Result<Self::Sent, OffsiteError>;

    /// Stage **confirm**: what the store holds now checked against the
    /// file; only then is the copy in place and counted.
    fn confirm(
        &self,
        name: &str,
        sent: Self::Sent,
        file: &mut LocalFile<'_>,
        progress: &dyn Progress,
    ) -> Result<Uploaded, OffsiteError>;
}

/// Uploads the file at `path` to `store` as `name`, stage by stage.
///
/// # Errors
/// The file unreadable ([`OffsiteError::Local`]); the store's refusals;
/// what it holds not matching the file
/// ([`OffsiteError::ChecksumNotConfirmed`]).
pub(crate) fn upload<S: StagedUpload>(
    store: &S,
    name: &str,
    path: &Path,
    throttle: &mut Throttle,
    progress: &dyn Progress,
) -> Result<Uploaded, OffsiteError> {
    let mut file = LocalFile::open(path)?;
    let resumed = store.resume(name, &mut file)?;
    progress.start(Phase::Upload, Some(file.size));
    progress.advance(S::kept_bytes(&resumed));
    let sent = store.send(name, resumed, &mut file, throttle, progress)?;
    progress.finish();
    store.confirm(name, sent, &mut file, progress)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A store that records the stages and the progress it saw.
    #[derive(Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Recorded {
        fn note(&self, what: String) {
            self.0.lock().unwrap().push(what);
        }
    }

    impl Progress for Recorded {
        fn start(&self, phase: Phase, total: Option<u64>) {
            self.note(format!("start {phase:?} {total:?}"));
        }
        fn advance(&self, bytes: u64) {
            self.note(format!("advance {bytes}"));
        }
        fn finish(&self) {
            self.note("finish".into());
        }
    }

    struct Store<'a>(&'a Recorded);

    impl StagedUpload for Store<'_> {
        type Resumed = u64;
        type Sent = u64;
        fn resume(&self, name: &str, file: &mut LocalFile<'_>) -> Result<u64, OffsiteError> {
            self.0.note(format!("resume {name} of {}", file.size));
            Ok(3)
        }
        fn kept_bytes(kept: &u64) -> u64 {
            *kept
        }
        fn send(
            &self,
            _: &str,
            kept: u64,
            file: &mut LocalFile<'_>,
            _: &mut Throttle,
            progress: &dyn Progress,
        ) -> Result<u64, OffsiteError> {
            self.0.note(format!("send from {kept}"));
            progress.advance(file.size - kept);
            Ok(file.size - kept)
        }
        fn confirm(
            &self,
            _: &str,
            sent: u64,
            file: &mut LocalFile<'_>,
            _: &dyn Progress,
        ) -> Result<Uploaded, OffsiteError> {
            self.0.note("confirm".into());
            Ok(Uploaded {
                size: file.size,
                checksum_sha256: String::new(),
                parts_sent: 1,
                parts_kept: 1,
                bytes_sent: sent,
                bytes_kept: file.size - sent,
            })
        }
    }

    #[test]
    fn every_store_runs_the_stages_in_order_with_what_was_kept_counted_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db.gpg");
        std::fs::write(&path, b"0123456789").unwrap();
        let seen = Recorded::default();
        let done = upload(
            &Store(&seen),
            "b.db.gpg",
            &path,
            &mut Throttle::new(None),
            &seen,
        )
        .unwrap();
        assert_eq!((done.bytes_sent, done.bytes_kept), (7, 3));
        assert_eq!(
            *seen.0.lock().unwrap(),
            [
                "resume b.db.gpg of 10",
                "start Upload Some(10)",
                "advance 3",
                "send from 3",
                "advance 7",
                "finish",
                "confirm",
            ]
        );
    }

    #[test]
    fn a_file_that_cannot_be_read_is_a_local_error_naming_it_and_reaches_no_store() {
        let seen = Recorded::default();
        let e = upload(
            &Store(&seen),
            "x",
            Path::new("/nonexistent/b.db.gpg"),
            &mut Throttle::new(None),
            &seen,
        )
        .unwrap_err();
        assert!(matches!(&e, OffsiteError::Local(path, _) if path == "/nonexistent/b.db.gpg"));
        assert!(seen.0.lock().unwrap().is_empty());
    }
}
