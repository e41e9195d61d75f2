//! Readers and writers that compute SHA-256 and a byte count of what passes
//! through them, so one pass over the data is enough.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// A finished digest: lowercase hex SHA-256 and the number of bytes hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digested {
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// Bytes hashed.
    pub size: u64,
}

/// A running SHA-256 and byte count that can be shared with a reader or
/// writer that was moved into another library (sequoia owns its reader).
#[derive(Debug, Clone, Default)]
pub(crate) struct SharedDigest(Arc<Mutex<(Sha256, u64)>>);

impl SharedDigest {
    /// Adds `bytes` to the digest.
    pub fn update(&self, bytes: &[u8]) {
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard.0.update(bytes);
        guard.1 += bytes.len() as u64;
    }

    /// How many bytes were added so far.
    #[cfg(test)]
    pub fn size(&self) -> u64 {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// The digest of everything added so far.
    pub fn finish(&self) -> Digested {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Digested {
            sha256: hex::encode(guard.0.clone().finalize()),
            size: guard.1,
        }
    }
}

/// Hashes everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    digest: SharedDigest,
}

impl<R: Read> HashingReader<R> {
    /// Wraps `inner`; the digest is readable through `digest` at any time.
    pub fn new(inner: R, digest: SharedDigest) -> Self {
        HashingReader { inner, digest }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Hashes everything written through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    digest: SharedDigest,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`; the digest is readable through `digest` at any time.
    pub fn new(inner: W, digest: SharedDigest) -> Self {
        HashingWriter { inner, digest }
    }

    /// Gives back the wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes a whole file in one streaming pass.
///
/// # Errors
/// Any I/O error reading it.
pub(crate) fn digest_file(path: &std::path::Path) -> io::Result<Digested> {
    let digest = SharedDigest::default();
    let mut reader = HashingReader::new(std::fs::File::open(path)?, digest.clone());
    io::copy(&mut reader, &mut io::sink())?;
    Ok(digest.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn what_is_read_or_written_through_is_hashed_and_counted_once() {
        let digest = SharedDigest::default();
        let mut read = String::new();
        HashingReader::new(&b"abc"[..], digest.clone())
            .read_to_string(&mut read)
            .unwrap();
        assert_eq!(read, "abc");
        assert_eq!(
            digest.finish(),
            Digested {
                sha256: ABC.into(),
                size: 3
            }
        );
        let digest = SharedDigest::default();
        let mut writer = HashingWriter::new(Vec::new(), digest.clone());
        writer.write_all(b"ab").unwrap();
        writer.write_all(b"c").unwrap();
        assert_eq!(writer.into_inner(), b"abc");
        assert_eq!((digest.finish().sha256.as_str(), digest.size()), (ABC, 3));
    }

    #[test]
    fn nothing_through_is_the_empty_digest() {
        let empty = SharedDigest::default().finish();
        assert_eq!(empty.size, 0);
        assert_eq!(
            empty.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
