//! A part's bytes as a request body that says when the last of them was
//! handed to the connection: the next part may then start, so several
//! parts wait for the store's answer at once while only one is ever being
//! transmitted. A push killed then cuts off at most that one part.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;

/// Frames handed to the connection one at a time: it asks for the next one
/// only once it has room, so "the last frame was taken" is close to "the
/// part was sent".
const FRAME: usize = 64 * 1024;

struct PartBody {
    frames: VecDeque<Bytes>,
    len: u64,
    taken: Arc<Notify>,
}

impl Body for PartBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let next = self.frames.pop_front();
        if next.is_some() && self.frames.is_empty() {
            self.taken.notify_one();
        }
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}

/// The body of a part, and what is notified when its last frame is taken
/// (once per attempt: a retried request notifies again).
pub(crate) fn part_body(bytes: Vec<u8>) -> (ByteStream, Arc<Notify>) {
    let bytes = Bytes::from(bytes);
    let taken = Arc::new(Notify::new());
    let signal = taken.clone();
    let body = SdkBody::retryable(move || {
        let frames = (0..bytes.len())
            .step_by(FRAME)
            .map(|at| bytes.slice(at..(at + FRAME).min(bytes.len())))
            .collect();
        SdkBody::from_body_1_x(PartBody {
            frames,
            len: bytes.len() as u64,
            taken: signal.clone(),
        })
    });
    (ByteStream::new(body), taken)
}
