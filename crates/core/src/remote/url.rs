//! A server's base URL: what may be one (checked before anything is
//! stored or sent), and which would carry a token in clear text.

/// Why a text is no usable base URL of a server.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// It does not parse as a URL.
    #[error("{0}")]
    Unparsable(String),
    /// Another scheme than http or https.
    #[error("the scheme is {0}, not http or https")]
    Scheme(String),
    /// No host.
    #[error("it names no host")]
    NoHost,
    /// A user name or password in it (they would be stored, printed, sent).
    #[error(
        "it holds a user name or password: give the user with --username; the password is asked for by `login`"
    )]
    Credentials,
    /// A query or a fragment.
    #[error("it has a query (?…) or a fragment (#…)")]
    QueryOrFragment,
    /// A path beyond `/`.
    #[error(
        "it has a path ({0}): give the server's base URL, like https://monitor.example.org:9083"
    )]
    Path(String),
}

/// Checks a server's base URL: `http://` or `https://`, a host, a valid
/// port, no user name or password in it (they would be stored, printed and
/// sent), no query or fragment, no path beyond `/`. Returns it without a
/// trailing slash.
///
/// # Errors
/// [`UrlRefused`]: why it is not a usable base URL.
pub fn check_base_url(url: &str) -> Result<String, UrlRefused> {
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|e| UrlRefused::Unparsable(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme(parsed.scheme().to_owned()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(UrlRefused::NoHost);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused::Credentials);
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(UrlRefused::QueryOrFragment);
    }
    if parsed.path() != "/" && !parsed.path().is_empty() {
        return Err(UrlRefused::Path(parsed.path().to_owned()));
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// Whether `url` would send a token in clear text to another machine:
/// plain `http://` to a host that is not this one (`localhost`, 127.0.0.0/8,
/// `::1`, judged on the parsed host, so `http://127.0.0.1@evil.example/` and
/// `http://127.evil.example/` are flagged). An unparsable URL counts as
/// insecure.
pub fn insecure_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return true;
    };
    if parsed.scheme() != "http" {
        return false;
    }
    let Some(host) = parsed.host_str() else {
        return true;
    };
    let ip = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<std::net::IpAddr>();
    match ip {
        Ok(ip) => !ip.is_loopback(),
        Err(_) => host != "localhost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_url_is_a_scheme_and_a_host_and_nothing_else() {
        assert_eq!(
            check_base_url(" https://monitor.example.org:9083/ ").unwrap(),
            "https://monitor.example.org:9083"
        );
        assert_eq!(
            check_base_url("http://10.0.0.5").unwrap(),
            "http://10.0.0.5"
        );
        for (url, why) in [
            ("ftp://monitor.example.org", "the scheme is ftp"),
            (
                "https://admin:secret@monitor.example.org",
                "user name or password",
            ),
            ("https://monitor.example.org/?x=1", "a query"),
            ("https://monitor.example.org/#top", "a fragment"),
            ("https://monitor.example.org/api", "it has a path (/api)"),
        ] {
            let refused = check_base_url(url).unwrap_err().to_string();
            assert!(refused.contains(why), "{url}: {refused}");
        }
        assert!(check_base_url("not a url").is_err());
    }

    #[test]
    fn only_plain_http_to_another_machine_is_insecure() {
        for url in [
            "https://monitor.example.org",
            "http://localhost:9083",
            "http://127.0.0.1",
            "http://[::1]:8080",
        ] {
            assert!(!insecure_url(url), "{url}");
        }
        for url in [
            "http://monitor.example.org",
            "http://127.0.0.1@evil.example/",
            "http://127.evil.example/",
            "garbage",
        ] {
            assert!(insecure_url(url), "{url}");
        }
    }
}
