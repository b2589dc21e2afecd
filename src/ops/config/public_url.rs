//! `TANDEM_PUBLIC_URL`: the URL clients reach this server at.

use super::{invalid, ConfigError};

/// `TANDEM_PUBLIC_URL`: an absolute `http(s)` URL with no query or fragment, kept without its
/// trailing slash.
pub(super) fn from_env(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let parsed = url::Url::parse(raw.trim()).ok().filter(|url| {
        matches!(url.scheme(), "http" | "https")
            && url.host().is_some()
            && url.query().is_none()
            && url.fragment().is_none()
    });
    match parsed {
        Some(url) => Ok(Some(url.as_str().trim_end_matches('/').to_owned())),
        None => Err(invalid(
            "TANDEM_PUBLIC_URL",
            format!("`{raw}` is not an http(s) URL such as https://tandem.example.org"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;

    #[test]
    fn the_public_url_is_an_http_url_kept_without_its_trailing_slash() {
        let url = |raw: &str| settings(&[("TANDEM_PUBLIC_URL", raw)]).map(|s| s.public_url);
        assert_eq!(
            url("https://tandem.example.org/").unwrap().as_deref(),
            Some("https://tandem.example.org")
        );
        assert_eq!(
            url("http://127.0.0.1:8080").unwrap().as_deref(),
            Some("http://127.0.0.1:8080")
        );
        for bad in [
            "tandem.example.org",
            "ftp://x.example",
            "https://x.example/?a=1",
            "https://x.example/#f",
        ] {
            assert_eq!(url(bad).unwrap_err().variable, "TANDEM_PUBLIC_URL", "{bad}");
        }
        assert_eq!(settings(&[]).unwrap().public_url, None);
    }
}
