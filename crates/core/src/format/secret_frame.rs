//! Secrets on a byte channel (an SSH session's stdin), framed so that any
//! secret arrives whole: each is a netstring, `LEN:BYTES,` with `LEN` in
//! decimal. A passphrase holding a line break (`$(pass show x)`, whose
//! second line is metadata) travels as one secret, never as two lines.
//!
//! Invariants: [`decode`] gives back exactly what [`encode`] was given,
//! for any bytes of any length up to [`MAX_SECRET`]; a frame that is cut
//! short, too long, or malformed is an error, never a shorter secret.

use std::io::Read;

use zeroize::Zeroizing;

/// The longest secret a frame may carry (64 KiB: far beyond any
/// passphrase, small enough that a hostile peer cannot make us hold much).
pub(crate) const MAX_SECRET: usize = 64 * 1024;

/// The most secrets one channel carries (a rotation sends two).
pub(crate) const MAX_SECRETS: usize = 4;

/// Why framed secrets could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The channel ended inside a frame.
    #[error("the secrets on stdin end inside a frame (expected {expected} more bytes)")]
    CutShort { expected: usize },
    /// The length is not decimal digits followed by `:`.
    #[error("the secrets on stdin are not framed as LEN:BYTES, (found byte {found:#04x})")]
    Malformed { found: u8 },
    /// A frame longer than [`MAX_SECRET`].
    #[error("a secret on stdin is longer than {MAX_SECRET} bytes")]
    TooLong,
    /// More than [`MAX_SECRETS`] frames.
    #[error("more than {MAX_SECRETS} secrets on stdin")]
    TooMany,
    /// The channel could not be read.
    #[error("cannot read the secrets on stdin: {0}")]
    Io(String),
}

/// The frames of `secrets`, in order (zeroed when dropped).
pub fn encode<S: AsRef<[u8]>>(secrets: &[S]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    for secret in secrets {
        let secret = secret.as_ref();
        out.extend_from_slice(secret.len().to_string().as_bytes());
        out.push(b':');
        out.extend_from_slice(secret);
        out.push(b',');
    }
    out
}

/// Every frame `input` holds up to its end (at most [`MAX_SECRETS`]).
///
/// # Errors
/// [`FrameError`]: a frame cut short, malformed, too long, too many.
pub fn decode(input: &mut dyn Read) -> Result<Vec<Zeroizing<Vec<u8>>>, FrameError> {
    let mut secrets = Vec::new();
    loop {
        let Some(len) = read_length(input)? else {
            return Ok(secrets);
        };
        if secrets.len() == MAX_SECRETS {
            return Err(FrameError::TooMany);
        }
        let mut secret = Zeroizing::new(vec![0u8; len]);
        read_exactly(input, &mut secret, len + 1)?;
        let mut comma = [0u8; 1];
        read_exactly(input, &mut comma, 1)?;
        if comma[0] != b',' {
            return Err(FrameError::Malformed { found: comma[0] });
        }
        secrets.push(secret);
    }
}

/// A frame's length, or `None` at a clean end of the channel.
fn read_length(input: &mut dyn Read) -> Result<Option<usize>, FrameError> {
    let mut len: usize = 0;
    let mut digits = 0;
    loop {
        let mut byte = [0u8; 1];
        let n = read_some(input, &mut byte)?;
        match (n, byte[0]) {
            (0, _) if digits == 0 => return Ok(None),
            (0, _) => return Err(FrameError::CutShort { expected: 1 }),
            (_, b':') if digits > 0 => return Ok(Some(len)),
            (_, d @ b'0'..=b'9') if digits < 6 => {
                len = len * 10 + usize::from(d - b'0');
                digits += 1;
                if len > MAX_SECRET {
                    return Err(FrameError::TooLong);
                }
            }
            (_, b'0'..=b'9') => return Err(FrameError::TooLong),
            (_, found) => return Err(FrameError::Malformed { found }),
        }
    }
}

/// Fills `buf` whole; `expected` is what is said to be missing if cut short.
fn read_exactly(input: &mut dyn Read, buf: &mut [u8], expected: usize) -> Result<(), FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match read_some(input, &mut buf[filled..])? {
            0 => {
                return Err(FrameError::CutShort {
                    expected: expected - filled,
                });
            }
            n => filled += n,
        }
    }
    Ok(())
}

fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> Result<usize, FrameError> {
    loop {
        match input.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so the property runs
    /// need no extra crate and every failure is reproducible.
    struct Bytes(u64);

    impl Bytes {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn secret(&mut self) -> Vec<u8> {
            // Mostly short, sometimes up to the limit; bytes biased towards
            // the ones a line- or length-based reader trips on.
            let len = match self.next() % 8 {
                0 => 0,
                1 => (self.next() % MAX_SECRET as u64) as usize + 1,
                _ => (self.next() % 64) as usize,
            };
            (0..len)
                .map(|_| match self.next() % 6 {
                    0 => b'\n',
                    1 => b',',
                    2 => b':',
                    3 => b'0' + (self.next() % 10) as u8,
                    _ => self.next() as u8,
                })
                .collect()
        }
    }

    #[test]
    fn any_secrets_of_any_length_come_back_whole_and_in_order() {
        let mut rng = Bytes(0x9e37_79b9_7f4a_7c15);
        for case in 0..300 {
            let count = (rng.next() % (MAX_SECRETS as u64 + 1)) as usize;
            let secrets: Vec<Vec<u8>> = (0..count).map(|_| rng.secret()).collect();
            let framed = encode(&secrets);
            let back = decode(&mut framed.as_slice()).unwrap();
            let back: Vec<Vec<u8>> = back.iter().map(|s| s.to_vec()).collect();
            assert_eq!(back, secrets, "case {case}");
        }
    }

    #[test]
    fn a_passphrase_with_line_breaks_is_one_secret() {
        let framed = encode(&["hunter2\nlogin: admin\n", "new\r\npass"]);
        let back = decode(&mut framed.as_slice()).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].as_slice(), b"hunter2\nlogin: admin\n");
        assert_eq!(back[1].as_slice(), b"new\r\npass");
    }

    #[test]
    fn every_cut_of_a_frame_is_an_error_never_a_shorter_secret() {
        let mut rng = Bytes(42);
        for _ in 0..200 {
            // Short secrets: every cut of every frame is tried.
            let short = |mut s: Vec<u8>| {
                s.truncate(40);
                s
            };
            let secrets = vec![short(rng.secret()), short(rng.secret())];
            let framed = encode(&secrets);
            // Every cut that is not at a frame boundary fails.
            let first_end = encode(&secrets[..1]).len();
            for cut in 1..framed.len() {
                let result = decode(&mut &framed[..cut]);
                if cut == first_end {
                    assert_eq!(result.unwrap().len(), 1);
                } else {
                    assert!(result.is_err(), "cut at {cut} of {}", framed.len());
                }
            }
        }
    }

    #[test]
    fn hostile_frames_are_refused() {
        let refused = |bytes: &[u8]| decode(&mut &bytes[..]).unwrap_err();
        assert_eq!(refused(b"x:abc,"), FrameError::Malformed { found: b'x' });
        assert_eq!(refused(b":abc,"), FrameError::Malformed { found: b':' });
        assert_eq!(refused(b"3:abcX"), FrameError::Malformed { found: b'X' });
        assert_eq!(refused(b"99999999999:"), FrameError::TooLong);
        assert_eq!(refused(b"65537:"), FrameError::TooLong);
        assert_eq!(refused(b"5:ab"), FrameError::CutShort { expected: 4 });
        assert_eq!(
            refused(&encode(&["a"; MAX_SECRETS + 1])),
            FrameError::TooMany
        );
        assert!(decode(&mut &b""[..]).unwrap().is_empty());
    }
}
