//! Streaming file I/O that does not fill the page cache with data nobody
//! will read again: backup files as they are written, backup files as they
//! are verified, the old database as the pre-restore copy reads it.
//!
//! [`DropBehind`] wraps a file read or written front to back and, every
//! [`WINDOW`] bytes, asks the kernel (`posix_fadvise(DONTNEED)`) to start
//! writing the last window back and to drop the window before it, which by
//! then is clean. The file's pages in the cache stay within a few windows,
//! and the pages it gives back are reused at once by the next window. This
//! is what `dd oflag=nocache` and `rsync --drop-cache` do; it matters most
//! where fresh memory is expensive to touch (measured on this project's
//! virtual machines: writing 512 MiB into the cache costs 1.5 s of system
//! time, recycling a few windows 0.2 s; see `README.md`, Performance).
//!
//! Advice is advice: failures are ignored, and nothing here changes what is
//! read or written, or when data is durable (callers still `fsync`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

use rustix::fs::{Advice, fadvise};

/// How many bytes pass between two pieces of advice.
pub(crate) const WINDOW: u64 = 8 * 1024 * 1024;

/// A file used front to back whose pages leave the cache behind the
/// current position (see the module documentation). Reads and writes are
/// passed through unchanged; the position is counted from where the file
/// was when it was wrapped.
#[derive(Debug)]
pub(crate) struct DropBehind<F> {
    inner: F,
    position: u64,
    advised: u64,
    dropped: u64,
}

impl<F: AsFd> DropBehind<F> {
    /// Wraps a file positioned at its start.
    pub fn new(inner: F) -> Self {
        DropBehind {
            inner,
            position: 0,
            advised: 0,
            dropped: 0,
        }
    }

    fn advance(&mut self, n: usize) {
        self.position += n as u64;
        if self.position - self.advised < WINDOW {
            return;
        }
        // Written pages: start their writeback now. Read pages: drop them.
        advise_dont_need(
            self.inner.as_fd(),
            self.advised,
            self.position - self.advised,
        );
        self.advised = self.position;
        // One window later the written pages are clean and can go.
        let upto = self.advised.saturating_sub(WINDOW);
        if upto > self.dropped {
            advise_dont_need(self.inner.as_fd(), self.dropped, upto - self.dropped);
            self.dropped = upto;
        }
    }

    /// Drops every page of the file that is clean (all of them after an
    /// `fsync`).
    pub(crate) fn drop_all(&mut self) {
        advise_dont_need(self.inner.as_fd(), 0, 0);
        self.dropped = self.position;
        self.advised = self.position;
    }
}

impl DropBehind<File> {
    /// `fsync`s the file, then drops all of its pages from the cache.
    ///
    /// # Errors
    /// The `fsync`'s.
    pub(crate) fn sync_all(&mut self) -> std::io::Result<()> {
        self.inner.sync_all()?;
        self.drop_all();
        Ok(())
    }
}

fn advise_dont_need(fd: BorrowedFd<'_>, offset: u64, len: u64) {
    // A `len` of 0 means "to the end of the file".
    let len = std::num::NonZeroU64::new(len);
    if let Err(e) = fadvise(fd, offset, len, Advice::DontNeed) {
        tracing::trace!(error = %e, "posix_fadvise(DONTNEED) refused; the cache keeps the pages");
    }
}

impl<F: AsFd + Read> Read for DropBehind<F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.advance(n);
        Ok(n)
    }
}

impl<F: AsFd + Write> Write for DropBehind<F> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.advance(n);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes are the bytes: wrapping changes nothing a reader or writer
    /// sees, across many windows and odd sizes.
    #[test]
    fn reads_and_writes_pass_through_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(2 * WINDOW as usize + 12_345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let mut writer = DropBehind::new(File::create(&path).unwrap());
        for chunk in data.chunks(1_000_003) {
            writer.write_all(chunk).unwrap();
        }
        writer.sync_all().unwrap();
        drop(writer);

        let mut back = Vec::new();
        DropBehind::new(File::open(&path).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back.len(), data.len());
        assert!(
            back == data,
            "the bytes read back differ from those written"
        );
    }
}
