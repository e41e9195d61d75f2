//! pigz-style parallel deflate that still yields **one** valid raw deflate
//! stream, so `gpg -d` reads it like any other ZIP-compressed packet.
//!
//! The input is cut into blocks; each block is compressed on a worker thread
//! with the previous block's last 32 KiB as preset dictionary and ends with a
//! sync flush (byte-aligned, as if the stream had simply gone on); the last
//! block ends the stream. Blocks are written out in order. Memory stays
//! bounded: a few blocks in flight, whatever the input size.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use flate2::{Compress, Compression, FlushCompress, Status};

/// Uncompressed bytes per block.
pub(crate) const BLOCK: usize = 1 << 20;
/// Deflate's window: the dictionary carried from block to block.
const WINDOW: usize = 32 * 1024;

struct Job {
    seq: u64,
    dictionary: Vec<u8>,
    data: Vec<u8>,
    last: bool,
}

/// A compressed block, in sequence order.
pub struct Compressed {
    /// Position in the stream.
    pub seq: u64,
    /// Raw deflate bytes.
    pub bytes: io::Result<Vec<u8>>,
    /// Whether this block ends the stream.
    pub last: bool,
}

/// The writing end: buffers what is written, cuts it into blocks and hands
/// them to the workers. Dropping it (or [`BlockSink::finish`]) sends the
/// final block.
pub struct BlockSink {
    jobs: Option<SyncSender<Job>>,
    pending: Vec<u8>,
    dictionary: Vec<u8>,
    seq: u64,
}

impl BlockSink {
    fn dispatch(&mut self, last: bool) -> io::Result<()> {
        let data = std::mem::replace(&mut self.pending, Vec::with_capacity(BLOCK));
        let dictionary = std::mem::take(&mut self.dictionary);
        let tail = data.len().saturating_sub(WINDOW);
        self.dictionary = if data.len() >= WINDOW {
            data[tail..].to_vec()
        } else {
            let mut d = dictionary.clone();
            d.extend_from_slice(&data);
            let cut = d.len().saturating_sub(WINDOW);
            d.split_off(cut)
        };
        let job = Job {
            seq: self.seq,
            dictionary,
            data,
            last,
        };
        self.seq += 1;
        match &self.jobs {
            Some(jobs) => jobs
                .send(job)
                .map_err(|_| io::Error::other("the compression workers stopped")),
            None => Err(io::Error::other("the stream is already finished")),
        }
    }

    /// Sends the final block and closes the stream.
    ///
    /// # Errors
    /// When the workers have stopped (an error is reported by the reader).
    pub fn finish(&mut self) -> io::Result<()> {
        if self.jobs.is_none() {
            return Ok(());
        }
        let result = self.dispatch(true);
        self.jobs = None;
        result
    }
}

impl Write for BlockSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = BLOCK - self.pending.len();
        let take = room.min(buf.len());
        self.pending.extend_from_slice(&buf[..take]);
        if self.pending.len() == BLOCK {
            self.dispatch(false)?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for BlockSink {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Starts `workers` compression threads inside `scope`. Returns the sink to
/// write uncompressed bytes into and the receiver of compressed blocks (in
/// completion order; see [`Reorder`]).
pub fn start<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    level: u32,
    workers: usize,
) -> (BlockSink, Receiver<Compressed>) {
    let (job_tx, job_rx) = sync_channel::<Job>(workers * 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = sync_channel::<Compressed>(workers * 2);
    for _ in 0..workers.max(1) {
        let job_rx = job_rx.clone();
        let done_tx = done_tx.clone();
        scope.spawn(move || {
            let mut compressor = Compress::new_with_window_bits(Compression::new(level), false, 15);
            loop {
                let job = match job_rx.lock().unwrap_or_else(|e| e.into_inner()).recv() {
                    Ok(job) => job,
                    Err(_) => return,
                };
                let bytes = compress_block(&mut compressor, &job);
                if done_tx
                    .send(Compressed {
                        seq: job.seq,
                        bytes,
                        last: job.last,
                    })
                    .is_err()
                {
                    return;
                }
            }
        });
    }
    (
        BlockSink {
            jobs: Some(job_tx),
            pending: Vec::with_capacity(BLOCK),
            dictionary: Vec::new(),
            seq: 0,
        },
        done_rx,
    )
}

fn compress_block(compressor: &mut Compress, job: &Job) -> io::Result<Vec<u8>> {
    compressor.reset();
    if !job.dictionary.is_empty() {
        compressor
            .set_dictionary(&job.dictionary)
            .map_err(io::Error::other)?;
    }
    let flush = if job.last {
        FlushCompress::Finish
    } else {
        FlushCompress::Sync
    };
    let mut out = Vec::with_capacity(job.data.len() / 2 + 4096);
    let start_in = compressor.total_in();
    loop {
        let consumed = (compressor.total_in() - start_in) as usize;
        let status = compressor
            .compress_vec(&job.data[consumed..], &mut out, flush)
            .map_err(io::Error::other)?;
        let consumed = (compressor.total_in() - start_in) as usize;
        let room_left = out.len() < out.capacity();
        let done = match status {
            Status::StreamEnd => true,
            _ if job.last => false,
            _ => consumed == job.data.len() && room_left,
        };
        if done {
            return Ok(out);
        }
        out.reserve(out.capacity().max(64 * 1024));
    }
}

/// Puts compressed blocks back in stream order.
#[derive(Default)]
pub(crate) struct Reorder {
    next: u64,
    waiting: BTreeMap<u64, Compressed>,
}

impl Reorder {
    /// Accepts a block and returns every block that is now next in order.
    pub fn accept(&mut self, block: Compressed) -> Vec<Compressed> {
        self.waiting.insert(block.seq, block);
        let mut ready = Vec::new();
        while let Some(b) = self.waiting.remove(&self.next) {
            self.next += 1;
            ready.push(b);
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn roundtrip(input: &[u8], level: u32, workers: usize) -> Vec<u8> {
        let compressed = std::thread::scope(|scope| {
            let (mut sink, done) = start(scope, level, workers);
            let collector = scope.spawn(move || {
                let mut reorder = Reorder::default();
                let mut out = Vec::new();
                for block in done {
                    for b in reorder.accept(block) {
                        out.extend_from_slice(&b.bytes.unwrap());
                    }
                }
                out
            });
            sink.write_all(input).unwrap();
            sink.finish().unwrap();
            drop(sink);
            collector.join().unwrap()
        });
        let mut plain = Vec::new();
        flate2::read::DeflateDecoder::new(&compressed[..])
            .read_to_end(&mut plain)
            .unwrap();
        plain
    }

    #[test]
    fn one_valid_stream_for_any_size() {
        let mut data = Vec::new();
        let mut x = 7u64;
        while data.len() < 3 * BLOCK + 12345 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            data.extend_from_slice(format!("row {} value {}\n", x % 1000, x >> 50).as_bytes());
        }
        for (len, workers) in [
            (0, 2),
            (1, 1),
            (WINDOW - 1, 2),
            (BLOCK, 2),
            (BLOCK + 1, 3),
            (data.len(), 2),
        ] {
            assert_eq!(
                roundtrip(&data[..len], 3, workers),
                &data[..len],
                "len {len}"
            );
        }
    }
}
