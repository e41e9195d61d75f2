//! Sending one notification to one notifier, in bounded time: a few
//! attempts with a pause between them, all within [`BOUND`]; each attempt
//! and its outcome in `logs/notify.log` (the notifier's URL redacted).
//! A delivery never fails the job that made it.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::book::{Notifier, NotifierKind};
use crate::context::OperationContext;
use crate::local::layout::DataDir;

/// The longest the notifiers may take after a job, all their messages and
/// attempts together (they are told at once).
pub const BOUND: Duration = Duration::from_secs(10);
/// The longest one attempt may take.
const ATTEMPT: Duration = Duration::from_secs(4);
/// Attempts at most.
const ATTEMPTS: u32 = 3;

/// One notification, as a webhook receives it (a stable, documented
/// shape) and as ntfy and e-mail word it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Event {
    /// `failed`, `recovered`, `succeeded` (a job that went well: `--on
    /// all`), or `test`.
    pub event: String,
    /// The installation's folder.
    pub installation: String,
    /// The backup it is about, when one.
    pub backup: Option<String>,
    /// What it is about: `backup`, `verification`, `drill`, `offsite`,
    /// `overdue`, `health`, `schedule` (or the job that succeeded).
    pub kind: String,
    /// In words.
    pub message: String,
    /// When (RFC 3339).
    pub time: String,
}

/// What a ping check is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ping {
    /// A scheduled job started: `URL/start`.
    Start,
    /// The whole proof holds: `URL`.
    Success(String),
    /// A link of it broke: `URL/fail`, with why.
    Fail(String),
}

/// What is sent.
#[derive(Debug, Clone)]
pub enum Sent<'a> {
    Event(&'a Event),
    Ping(&'a Ping),
}

/// How one delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Delivery {
    pub notifier: String,
    pub ok: bool,
    pub attempts: u32,
    /// The last attempt's outcome: `HTTP 200`, or why it failed.
    pub detail: String,
}

/// Sends `sent` to `notifier` at `url`: at most [`ATTEMPTS`] attempts,
/// none past `deadline`, each logged.
pub fn deliver(
    data: &DataDir,
    notifier: &Notifier,
    url: &str,
    sent: &Sent<'_>,
    deadline: Instant,
    ctx: &OperationContext<'_>,
) -> Delivery {
    let log = crate::local::activity_log::ActivityLog::notify(data);
    let what = describe(sent);
    let mut delivery = Delivery {
        notifier: notifier.name.clone(),
        ok: false,
        attempts: 0,
        detail: String::new(),
    };
    while delivery.attempts < ATTEMPTS {
        let left = deadline.saturating_duration_since(Instant::now());
        if left < Duration::from_millis(200) {
            if delivery.attempts == 0 {
                delivery.detail = "no time left within the bound".to_owned();
            }
            break;
        }
        delivery.attempts += 1;
        let outcome = attempt(notifier.kind, url, sent, left.min(ATTEMPT));
        delivery.ok = outcome.is_ok();
        delivery.detail = outcome.unwrap_or_else(|why| why);
        let level = match delivery.ok {
            true => crate::local::activity_log::Level::Info,
            false => crate::local::activity_log::Level::Warning,
        };
        log.append(
            ctx,
            level,
            &format!(
                "{} {} ({}): {what}: attempt {} {} ({})",
                kind_word(notifier.kind),
                notifier.name,
                notifier.shown,
                delivery.attempts,
                if delivery.ok { "delivered" } else { "failed" },
                delivery.detail,
            ),
        );
        if delivery.ok {
            break;
        }
        let pause = Duration::from_millis(500 << (delivery.attempts - 1));
        if Instant::now() + pause >= deadline {
            break;
        }
        std::thread::sleep(pause);
    }
    delivery
}

fn kind_word(kind: NotifierKind) -> &'static str {
    match kind {
        NotifierKind::Ntfy => "ntfy",
        NotifierKind::Webhook => "webhook",
        NotifierKind::Ping => "ping",
    }
}

fn describe(sent: &Sent<'_>) -> String {
    match sent {
        Sent::Event(e) => format!("{} {}", e.kind, e.event),
        Sent::Ping(Ping::Start) => "start".to_owned(),
        Sent::Ping(Ping::Success(_)) => "success".to_owned(),
        Sent::Ping(Ping::Fail(_)) => "fail".to_owned(),
    }
}

/// One request; `Ok` with `HTTP nnn` for a 2xx answer.
fn attempt(
    kind: NotifierKind,
    url: &str,
    sent: &Sent<'_>,
    timeout: Duration,
) -> Result<String, String> {
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let request = match (kind, sent) {
        (NotifierKind::Ntfy, Sent::Event(e)) => client
            .post(url)
            .header("Title", format!("Backup Desk: {} {}", e.kind, e.event))
            .header(
                "Priority",
                if e.event == "failed" {
                    "high"
                } else {
                    "default"
                },
            )
            .header(
                "Tags",
                if e.event == "failed" {
                    "warning"
                } else {
                    "white_check_mark"
                },
            )
            .body(format!("{} ({})", e.message, e.installation)),
        (NotifierKind::Webhook, Sent::Event(e)) => client.post(url).json(e),
        (NotifierKind::Ping, Sent::Ping(ping)) => {
            let base = url.trim_end_matches('/');
            match ping {
                Ping::Start => client.post(format!("{base}/start")),
                Ping::Success(body) => client.post(base).body(body.clone()),
                Ping::Fail(body) => client.post(format!("{base}/fail")).body(body.clone()),
            }
        }
        // A ping check hears pings only; the others hear events.
        (NotifierKind::Ping, Sent::Event(_)) | (_, Sent::Ping(_)) => {
            return Err("not for this kind of notifier".to_owned());
        }
    };
    let answer = request
        .header(
            "User-Agent",
            concat!("backupdesk/", env!("CARGO_PKG_VERSION")),
        )
        .send()
        .map_err(|e| {
            if e.is_timeout() {
                "no answer in time".to_owned()
            } else if e.is_connect() {
                "could not connect".to_owned()
            } else {
                "the request failed".to_owned()
            }
        })?;
    let status = answer.status();
    match status.is_success() {
        true => Ok(format!("HTTP {}", status.as_u16())),
        false => Err(format!("HTTP {}", status.as_u16())),
    }
}
