//! The HTTP side of an answer: transport failures in the admin's words,
//! bodies read within one bound, redirects refused, rate limits and error
//! texts read from the server's JSON, URLs redacted for logs.

use super::*;

pub(super) fn transport(e: reqwest::Error, url: &str, timeout: Duration) -> RemoteError {
    if e.is_timeout() {
        RemoteError::Timeout {
            url: url.to_owned(),
            seconds: timeout.as_secs(),
        }
    } else {
        let mut reason = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        RemoteError::Unreachable {
            url: url.to_owned(),
            reason,
        }
    }
}

/// The largest answer body read from a server (a list of 10,000 backups
/// is about 4 MB).
pub const MAX_BODY_BYTES: u64 = 32 * 1024 * 1024;

/// The body as JSON (`None` when it is not JSON), reading at most
/// [`MAX_BODY_BYTES`] and only until `deadline`: the client's timeout
/// bounds each read, not the answer, so a body sent a byte a second would
/// otherwise be waited on for as long as the server likes.
pub(super) fn read_json(
    response: Response,
    url: &str,
    deadline: std::time::Instant,
) -> Result<Option<Value>, RemoteError> {
    use std::io::Read;
    let seconds = deadline
        .saturating_duration_since(std::time::Instant::now())
        .as_secs();
    let mut body = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let mut reader = response.take(MAX_BODY_BYTES + 1);
    loop {
        if std::time::Instant::now() >= deadline {
            return Err(RemoteError::Timeout {
                url: redact(url),
                seconds,
            });
        }
        let n = reader
            .read(&mut chunk)
            .map_err(|e| RemoteError::BadResponse(format!("the answer could not be read: {e}")))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(RemoteError::BadResponse(format!(
            "the answer is larger than {} MiB; it is not read",
            MAX_BODY_BYTES >> 20
        )));
    }
    Ok(serde_json::from_slice(&body).ok())
}

/// A redirect answer as an error (they are never followed).
pub(super) fn redirected(response: &Response) -> Result<(), RemoteError> {
    if !response.status().is_redirection() {
        return Ok(());
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(redact)
        .unwrap_or_else(|| "(no Location)".to_owned());
    Err(RemoteError::Redirected {
        status: response.status().as_u16(),
        location,
    })
}

/// `url` with any user name and password replaced by `***`.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("***");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

pub(super) fn retry_after(response: &Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

pub(super) fn rate_limited(header: Option<u64>, body: &Value) -> RemoteError {
    RemoteError::RateLimited {
        retry_after_seconds: header
            .or(wire::ErrorAnswer::of(body).retry_after.0)
            .unwrap_or(900),
    }
}

pub(super) fn error_text(value: &Value, status: StatusCode) -> String {
    wire::ErrorAnswer::of(value).text(status)
}
