//! The engine's side of a detached operation, as shell the server runs:
//! the folder of answers, the room check, how an answer is handed over
//! (once), the exit codes that say what happened, and how much of an
//! answer and of stderr is kept.

/// Makes `$d`, the server's folder of detached operations (private).
pub(super) const OPS_DIR_SETUP: &str = "set -e; d=\"$HOME/.local/state/backupdesk/ssh-ops\"; \
     mkdir -p \"$d\"; chmod 700 \"$d\";";

/// The exit status of a script that found no room for an operation's
/// answer in `$d` (nothing was started).
pub(super) const NO_ROOM: i32 = 203;

/// The exit status of an answer whose exit code file is not a number.
pub(super) const DAMAGED_ANSWER: i32 = 204;

/// Fails with [`NO_ROOM`] unless 64 KiB can be written in `$d` (the
/// answer's files; a backup's JSON is far smaller).
pub(super) const ROOM_CHECK: &str = "r=\"$d/.room.$$\"; \
     if ! head -c 65536 /dev/zero 2>/dev/null >\"$r\"; then rm -f \"$r\"; exit 203; fi; rm -f \"$r\";";

/// The exit of a detached run whose record vanished while it waited (its
/// answer read by another call).
pub(super) const ANSWER_TAKEN: i32 = 205;

/// The tail of [`ANSWER`] and [`ANSWER_STREAMED`]: stdout, then the exit
/// code, the files forgotten.
macro_rules! answer_streamed {
    () => {
        "cat \"$o.out\"; c=$(cat \"$o.code\"); \
         rm -f \"$o.out\" \"$o.err\" \"$o.code\" \"$o.pid\"; \
         case \"$c\" in ''|*[!0-9]*) exit 204;; esac; exit \"$c\""
    };
}

/// Answers a finished operation `$o` as the engine would have (stderr,
/// stdout, exit code), forgetting it on the server; a code file that is
/// not a number (written on a full disk) exits [`DAMAGED_ANSWER`].
pub(super) const ANSWER: &str = concat!("cat \"$o.err\" >&2; ", answer_streamed!());

/// [`ANSWER`] for an operation whose stderr was streamed already.
pub(super) const ANSWER_STREAMED: &str = answer_streamed!();

/// The signal that stopped the engine, from its shell's exit code
/// (128 + the signal's number); `None` for an exit of its own.
pub(super) fn stopped_by_signal(code: i32) -> Option<i32> {
    (129..=192).contains(&code).then_some(code - 128)
}

/// An operation id as a file name: letters, digits and `-` only.
pub(super) fn op_id(op: &str) -> String {
    op.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

/// A new operation id: the time (for the admin) and 128 random bits, so
/// two machines, containers or processes never share one.
///
/// # Panics
/// Never: without the OS's randomness the time and PID stand in.
pub fn new_op_id() -> String {
    use std::io::Read;
    let mut random = [0u8; 16];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut random));
    let tail = match read {
        Ok(()) => hex::encode(random),
        Err(_) => format!(
            "{}-{:x}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ),
    };
    format!("{}-{tail}", chrono::Utc::now().format("%Y%m%dT%H%M%S"))
}

/// Stops the ssh client `pid` (its pipes then close, so the readers end).
pub(super) fn stop_process(pid: u32) {
    if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
    }
}

/// The largest answer (stdout) read from the engine: 64 MiB, far beyond
/// a `list --json` of thousands of backups.
pub(super) const ANSWER_LIMIT: u64 = 64 << 20;

/// The most of the engine's stderr kept for the admin: its last 64 KiB.
pub(super) const STDERR_KEPT: usize = 64 * 1024;

/// The longest stderr line read as one (a progress line is far shorter).
pub(super) const STDERR_LINE: u64 = 16 * 1024;

/// Reads `errors` to its end: progress lines go to `progress`, the rest
/// is kept (its last [`STDERR_KEPT`] bytes, after a mark saying how much
/// went before), so a flood of stderr costs bounded memory.
pub(super) fn read_stderr(
    errors: impl std::io::Read,
    progress: &dyn crate::progress::Progress,
) -> String {
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(errors);
    let mut kept = String::new();
    let mut dropped = 0usize;
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(STDERR_LINE).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let text = String::from_utf8_lossy(&line);
        match crate::progress::ProgressLine::parse(text.trim_end_matches(['\n', '\r'])) {
            Some(event) => event.apply(progress),
            None => {
                kept.push_str(&text);
                if !text.ends_with('\n') {
                    kept.push('\n');
                }
            }
        }
        if kept.len() > 2 * STDERR_KEPT {
            let mut cut = kept.len() - STDERR_KEPT;
            while !kept.is_char_boundary(cut) {
                cut += 1;
            }
            dropped += cut;
            kept.drain(..cut);
        }
    }
    if dropped > 0 {
        kept.insert_str(
            0,
            &format!("[{dropped} earlier bytes of stderr not kept]\n"),
        );
    }
    kept
}
