//! The public key sets integration clients sign their assertions with: registered inline, or
//! fetched from the client's `jwks_url` and kept no longer than the response's
//! `Cache-Control` allows. A fetch follows the webhook rules for outbound URLs
//! ([`crate::webhooks::url`]): `https` (loopback `http` in development), never a private
//! address, no redirects, no proxy, a short timeout and a size cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use uuid::Uuid;

use crate::ops::config::Environment;
use crate::webhooks::url;

/// The most a key set may weigh.
pub const MAX_BYTES: usize = 64 * 1024;
/// How long one fetch may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long a fetched set is kept when its response says nothing about caching.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// The longest a fetched set is kept, whatever its response says.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// An unknown `kid` fetches a client's set again at most this often.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

/// A fetched set and how long it may be used.
struct Cached {
    url: String,
    keys: Arc<JwkSet>,
    fetched_at: Instant,
    fresh_for: Duration,
    /// When an unknown `kid` last made the set be fetched again.
    refetched_at: Option<Instant>,
}

/// The fetched key sets of every client, per server instance.
pub struct KeySets {
    http: reqwest::Client,
    environment: Environment,
    cached: Mutex<HashMap<Uuid, Cached>>,
}

/// Why no key set could be had: the `detail` of the `invalid_client` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// Whether a fetch should look past the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The cached set while it is fresh.
    Cached,
    /// The assertion names a key the cached set lacks: fetch again, unless an unknown key
    /// made it fetch within the last [`REFETCH_INTERVAL`].
    MissingKey,
}

impl KeySets {
    pub fn new(environment: Environment) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .dns_resolver(Arc::new(url::GuardedResolver { environment }))
            .user_agent("Tandem-KeySets/1")
            .build()?;
        Ok(Self {
            http,
            environment,
            cached: Mutex::new(HashMap::new()),
        })
    }

    /// The set at `jwks_url` for `client`: the cached one while fresh, otherwise fetched.
    pub async fn get(
        &self,
        client: Uuid,
        jwks_url: &str,
        freshness: Freshness,
    ) -> Result<Arc<JwkSet>, Unavailable> {
        if let Some(keys) = self.cached(client, jwks_url, freshness) {
            return Ok(keys);
        }
        let fetched = self.fetch(jwks_url).await;
        let Ok(mut cached) = self.cached.lock() else {
            return fetched.map(|(keys, _)| Arc::new(keys));
        };
        let now = Instant::now();
        let previous = cached.get(&client).filter(|entry| entry.url == jwks_url);
        let refetched_at = match freshness {
            Freshness::MissingKey => Some(now),
            Freshness::Cached => previous.and_then(|entry| entry.refetched_at),
        };
        let (keys, fresh_for) = match fetched {
            Ok((keys, fresh_for)) => (Arc::new(keys), fresh_for),
            Err(unavailable) => {
                // A failed refetch still counts, so a stream of unknown `kid`s cannot make
                // one fetch after another.
                if let Some(entry) = cached.get_mut(&client) {
                    entry.refetched_at = refetched_at;
                }
                return Err(unavailable);
            }
        };
        let entry = Cached {
            url: jwks_url.to_owned(),
            keys: keys.clone(),
            fetched_at: now,
            fresh_for,
            refetched_at,
        };
        cached.insert(client, entry);
        Ok(keys)
    }

    fn cached(&self, client: Uuid, jwks_url: &str, freshness: Freshness) -> Option<Arc<JwkSet>> {
        let cached = self.cached.lock().ok()?;
        let entry = cached.get(&client).filter(|entry| entry.url == jwks_url)?;
        let usable = match freshness {
            Freshness::Cached => entry.fetched_at.elapsed() < entry.fresh_for,
            Freshness::MissingKey => entry
                .refetched_at
                .is_some_and(|at| at.elapsed() < REFETCH_INTERVAL),
        };
        usable.then(|| entry.keys.clone())
    }

    async fn fetch(&self, jwks_url: &str) -> Result<(JwkSet, Duration), Unavailable> {
        let refused = |why: String| Unavailable(format!("The key set at `jwks_url` {why}."));
        url::check(jwks_url, self.environment).map_err(&refused)?;
        let mut response = self
            .http
            .get(jwks_url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|error| {
                log::warn!("fetching the key set at {jwks_url}: {error}");
                refused(match error.is_timeout() {
                    true => format!("did not answer within {} s", TIMEOUT.as_secs()),
                    false => "could not be fetched".into(),
                })
            })?;
        if !response.status().is_success() {
            return Err(refused(format!(
                "answered HTTP {}",
                response.status().as_u16()
            )));
        }
        let fresh_for = max_age(response.headers().get("cache-control"));
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|_| refused("could not be read".into()))?
        {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(refused(format!("is larger than {} KiB", MAX_BYTES / 1024)));
            }
            body.extend_from_slice(&chunk);
        }
        let keys: JwkSet = serde_json::from_slice(&body)
            .map_err(|_| refused("is not a JSON Web Key Set".into()))?;
        Ok((keys, fresh_for))
    }
}

/// How long a response may be reused, from its `Cache-Control`: `no-store`, `no-cache` or
/// `max-age=0` not at all, `max-age=N` for N seconds (at most a day), otherwise 5 minutes.
fn max_age(header: Option<&reqwest::header::HeaderValue>) -> Duration {
    let Some(value) = header.and_then(|value| value.to_str().ok()) else {
        return DEFAULT_MAX_AGE;
    };
    let mut max_age = None;
    for directive in value.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=") {
            max_age = Some(
                seconds
                    .trim_matches('"')
                    .parse::<u64>()
                    .map_or(Duration::ZERO, Duration::from_secs),
            );
        }
    }
    max_age.unwrap_or(DEFAULT_MAX_AGE).min(LONGEST_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn cache_control_decides_how_long_a_set_is_kept() {
        let age = |value: &str| max_age(Some(&HeaderValue::from_str(value).unwrap()));
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(age("public, max-age=120"), Duration::from_secs(120));
        assert_eq!(age("max-age=0"), Duration::ZERO);
        assert_eq!(age("no-store"), Duration::ZERO);
        assert_eq!(age("max-age=600, no-cache"), Duration::ZERO);
        assert_eq!(age("max-age=99999999"), LONGEST_MAX_AGE);
        assert_eq!(age("max-age=soon"), Duration::ZERO);
        assert_eq!(age("public"), DEFAULT_MAX_AGE);
    }
}
