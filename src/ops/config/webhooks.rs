//! The webhook worker: `TANDEM_WEBHOOK_*`.

use std::time::Duration;

use super::{invalid, on_off, parse_number, ConfigError};

/// How the webhook worker delivers events.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookPolicy {
    /// Whether `serve` runs the worker (`TANDEM_WEBHOOK_WORKER=on|off`, default on).
    pub worker: bool,
    /// How often the worker looks for due events.
    pub poll_interval: Duration,
    /// How long one attempt may take, connection included.
    pub timeout: Duration,
    /// The waits after the 1st, 2nd, … failed attempt; the last repeats. Each is varied by up
    /// to a fifth either way so that retries do not arrive in step.
    pub backoff: Vec<Duration>,
    /// How long after the event (or its redelivery) it is retried before it is `failed`.
    pub retry_window: Duration,
    /// An endpoint whose every attempt has failed for this long is disabled.
    pub disable_after: Duration,
}

impl WebhookPolicy {
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let worker = on_off(get("TANDEM_WEBHOOK_WORKER"), "TANDEM_WEBHOOK_WORKER")?;
        let bounded = |name: &'static str, default: usize, max: usize| {
            let value = parse_number(get(name), name, default)?;
            if value > max {
                return Err(invalid(name, format!("must be at most {max}")));
            }
            Ok(value as u64)
        };
        Ok(Self {
            worker,
            poll_interval: Duration::from_millis(bounded("TANDEM_WEBHOOK_POLL_MS", 250, 60_000)?),
            timeout: Duration::from_millis(bounded("TANDEM_WEBHOOK_TIMEOUT_MS", 5_000, 60_000)?),
            backoff: backoff(get("TANDEM_WEBHOOK_BACKOFF_SECONDS"))?,
            retry_window: Duration::from_secs(bounded(
                "TANDEM_WEBHOOK_RETRY_SECONDS",
                86_400,
                30 * 86_400,
            )?),
            disable_after: Duration::from_secs(bounded(
                "TANDEM_WEBHOOK_DISABLE_AFTER_SECONDS",
                3 * 86_400,
                365 * 86_400,
            )?),
        })
    }
}

/// `TANDEM_WEBHOOK_BACKOFF_SECONDS`: positive numbers of seconds (fractions allowed), separated
/// by commas; default `10,30,60,300,900,3600`.
fn backoff(raw: Option<String>) -> Result<Vec<Duration>, ConfigError> {
    let raw = raw.unwrap_or_else(|| "10,30,60,300,900,3600".into());
    let parse = |part: &str| {
        part.trim()
            .parse::<f64>()
            .ok()
            .filter(|seconds| *seconds > 0.0 && *seconds <= 86_400.0)
            .map(Duration::from_secs_f64)
    };
    let steps: Option<Vec<Duration>> = raw.split(',').map(parse).collect();
    match steps {
        Some(steps) if !steps.is_empty() => Ok(steps),
        _ => Err(invalid(
            "TANDEM_WEBHOOK_BACKOFF_SECONDS",
            format!("`{raw}` is not a comma-separated list of seconds between 0 and 86400"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::settings;
    use std::time::Duration;

    #[test]
    fn webhook_defaults_and_bounds() {
        let policy = settings(&[]).unwrap().webhooks;
        assert!(policy.worker);
        assert_eq!(policy.timeout, Duration::from_secs(5));
        assert_eq!(policy.retry_window, Duration::from_secs(86_400));
        assert_eq!(policy.disable_after, Duration::from_secs(3 * 86_400));
        assert_eq!(policy.backoff.len(), 6);
        let quick = settings(&[("TANDEM_WEBHOOK_BACKOFF_SECONDS", "0.2, 1")]).unwrap();
        assert_eq!(quick.webhooks.backoff[0], Duration::from_millis(200));
        for (name, value) in [
            ("TANDEM_WEBHOOK_BACKOFF_SECONDS", "10,,30"),
            ("TANDEM_WEBHOOK_BACKOFF_SECONDS", "-1"),
            ("TANDEM_WEBHOOK_WORKER", "maybe"),
            ("TANDEM_WEBHOOK_TIMEOUT_MS", "0"),
        ] {
            assert_eq!(settings(&[(name, value)]).unwrap_err().variable, name);
        }
    }
}
