//! The webhook worker: claims due events from the outbox, POSTs each to its client's
//! endpoint, records the attempt, and schedules a retry, gives up, or disables an endpoint
//! that has failed for too long. Several workers (one per server instance) share the outbox
//! without sending an event twice in the normal case (see [`webhook_events::claim_due`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel_async::AsyncConnection;
use rand::Rng;
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::models::webhook_deliveries::{self, Delivery};
use crate::db::models::webhook_events::{self, ClaimedEvent, Settled};
use crate::db::Pool;
use crate::ops::config::{Environment, WebhookPolicy};
use crate::webhooks::{signing, url};

/// Events one worker claims at a time.
const BATCH: i64 = 32;

/// A running worker; [`WorkerHandle::stop`] ends it after the attempts in flight.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct Worker {
    pool: Pool,
    policy: WebhookPolicy,
    environment: Environment,
    http: reqwest::Client,
}

/// Starts a worker on `pool`.
pub fn spawn(
    pool: Pool,
    policy: WebhookPolicy,
    environment: Environment,
) -> Result<WorkerHandle, reqwest::Error> {
    let http = http_client(policy.timeout, environment)?;
    let worker = Worker {
        pool,
        policy,
        environment,
        http,
    };
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        loop {
            let claimed = worker.run_once().await;
            if *stopped.borrow() {
                return;
            }
            if claimed == BATCH as usize {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(worker.policy.poll_interval) => {}
                _ = stopped.changed() => return,
            }
        }
    });
    Ok(WorkerHandle { stop, task })
}

/// The client deliveries go through: no redirects, a timeout, names resolved through
/// [`url::GuardedResolver`], and never a proxy (`HTTPS_PROXY` and the like are ignored: a
/// proxy would resolve and connect to names the address check never saw).
fn http_client(
    timeout: Duration,
    environment: Environment,
) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .dns_resolver(Arc::new(url::GuardedResolver { environment }))
        .user_agent("Tandem-Webhooks/1")
        .build()
}

/// What one attempt got back.
struct Attempt {
    status: Option<u16>,
    error: Option<String>,
    elapsed: Duration,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.error.is_none() && self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

impl Worker {
    /// Claims and delivers one batch; returns how many events it claimed.
    async fn run_once(&self) -> usize {
        let lease = self.policy.timeout + Duration::from_secs(60);
        let claimed = match self.pool.get().await {
            Ok(mut conn) => webhook_events::claim_due(&mut conn, BATCH, lease).await,
            Err(error) => {
                log::warn!("webhook worker: no database connection: {error}");
                return 0;
            }
        };
        let events = match claimed {
            Ok(events) => events,
            Err(error) => {
                log::warn!("webhook worker: claiming events: {error}");
                return 0;
            }
        };
        let count = events.len();
        let sends = events.into_iter().map(|event| async move {
            let attempt = self.send(&event).await;
            if let Err(error) = self.record(&event, &attempt).await {
                log::warn!("webhook worker: recording event {}: {error}", event.id);
            }
        });
        futures_util::future::join_all(sends).await;
        count
    }

    async fn send(&self, event: &ClaimedEvent) -> Attempt {
        let started = Instant::now();
        let failed = |error: String| Attempt {
            status: None,
            error: Some(error),
            elapsed: started.elapsed(),
        };
        if let Err(problem) = url::check(&event.url, self.environment) {
            return failed(format!("the endpoint URL {problem}"));
        }
        let body = json!({
            "id": event.id,
            "type": event.event_type,
            "occurred_at": event.occurred_at,
            "data": event.data,
        })
        .to_string();
        let timestamp = Utc::now().timestamp();
        let id = event.id.to_string();
        let (tandem, standard) = signing::headers(
            &event.secret,
            event.previous_secret.as_deref(),
            &id,
            timestamp,
            body.as_bytes(),
        );
        let mut request = self
            .http
            .post(&event.url)
            .header("content-type", "application/json")
            .header("x-tandem-signature", tandem)
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string());
        if let Some(signature) = standard {
            request = request.header("webhook-signature", signature);
        }
        match request.body(body).send().await {
            Ok(response) => {
                let status = response.status();
                let error = status
                    .is_redirection()
                    .then(|| "redirects are not followed".to_owned());
                Attempt {
                    status: Some(status.as_u16()),
                    error,
                    elapsed: started.elapsed(),
                }
            }
            Err(error) => failed(describe(&error, self.policy.timeout)),
        }
    }

    /// Writes the attempt and its consequences in one transaction.
    async fn record(&self, event: &ClaimedEvent, attempt: &Attempt) -> Result<(), String> {
        let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
        let number = event.attempts + 1;
        let settled = self.settle(event, number, attempt);
        let delivery = Delivery {
            id: Uuid::now_v7(),
            organization_id: event.organization_id,
            client_id: event.client_id,
            event_id: event.id,
            event_type: event.event_type.clone(),
            attempt: number,
            attempted_at: Utc::now() - chrono_span(attempt.elapsed),
            url: event.url.clone(),
            response_status: attempt.status.map(i32::from),
            error: attempt.error.clone(),
            duration_ms: attempt.elapsed.as_millis().min(i32::MAX as u128) as i32,
            succeeded: attempt.succeeded(),
            next_attempt_at: match settled {
                Settled::RetryAt(at) => Some(at),
                _ => None,
            },
        };
        let disable_after = chrono_span(self.policy.disable_after);
        let reason = format!(
            "Every delivery attempt failed for {} or longer; the last one: {}.",
            human(self.policy.disable_after),
            delivery
                .error
                .clone()
                .unwrap_or_else(|| match delivery.response_status {
                    Some(status) => format!("HTTP {status}"),
                    None => "no response".into(),
                }),
        );
        let disabled = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                webhook_deliveries::insert(conn, &delivery).await?;
                webhook_events::settle(conn, event.id, number, settled).await?;
                webhook_deliveries::track_endpoint(
                    conn,
                    event.client_id,
                    delivery.succeeded,
                    disable_after,
                    &reason,
                )
                .await
            })
            .await
            .map_err(|e| e.to_string())?;
        if disabled {
            log::warn!("webhook endpoint of client {} disabled", event.client_id);
        }
        Ok(())
    }

    /// Delivered, retried after the backoff (varied by up to a fifth either way), or failed
    /// once the next try would fall outside the retry window.
    fn settle(&self, event: &ClaimedEvent, number: i32, attempt: &Attempt) -> Settled {
        if attempt.succeeded() {
            return Settled::Delivered;
        }
        let steps = &self.policy.backoff;
        let step = steps[(number as usize - 1).min(steps.len() - 1)];
        let jitter = rand::thread_rng().gen_range(0.8..1.2);
        let next = Utc::now() + chrono_span(step.mul_f64(jitter));
        if next > event.window_start + chrono_span(self.policy.retry_window) {
            Settled::Failed
        } else {
            Settled::RetryAt(next)
        }
    }
}

fn chrono_span(span: Duration) -> chrono::Duration {
    chrono::Duration::from_std(span).unwrap_or(chrono::Duration::MAX)
}

/// "3 days", "2 hours", "90 seconds".
fn human(span: Duration) -> String {
    let seconds = span.as_secs();
    match seconds {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3_600 && s % 3_600 == 0 => format!("{} hours", s / 3_600),
        s => format!("{s} seconds"),
    }
}

/// A short account of a failed request, without the URL (the attempt records it).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no response within {} ms", timeout.as_millis());
    }
    let mut text = if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::thread::JoinHandle;

    use super::*;

    const PROBE: &str = "TANDEM_TEST_PROXY_PROBE";
    const NAME: &str = "webhooks::worker::tests::deliveries_ignore_proxy_settings";

    /// Answers every connection to `listener` with 204 until `stop`; returns how many came.
    fn count_connections(listener: TcpListener, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
        std::thread::spawn(move || {
            let _ = listener.set_nonblocking(true);
            let mut count = 0;
            while !stop.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                count += 1;
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = stream.read(&mut [0u8; 4096]);
                let _ = stream.write_all(
                    b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
            count
        })
    }

    /// The child's half: builds the delivery client under the proxy settings it was started
    /// with and posts to `target`.
    fn post_through_delivery_client(target: &str) {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        let status = runtime.block_on(async {
            let client =
                http_client(Duration::from_secs(5), Environment::Development).expect("client");
            client
                .post(target)
                .body("{}")
                .send()
                .await
                .map(|r| r.status())
        });
        assert!(
            status.as_ref().is_ok_and(|s| s.as_u16() == 204),
            "{status:?}"
        );
    }

    /// With every proxy variable pointing at a listener of its own, a delivery still goes
    /// straight to the endpoint. Proxy settings are environment variables read when a client
    /// is built, so the client is built in a child process: this same test, run again with
    /// [`PROBE`] set, so that this process's environment stays as it is.
    #[test]
    fn deliveries_ignore_proxy_settings() {
        if let Some(target) = std::env::var_os(PROBE) {
            return post_through_delivery_client(&target.to_string_lossy());
        }
        let proxy = TcpListener::bind("127.0.0.1:0").expect("bind");
        let endpoint = TcpListener::bind("127.0.0.1:0").expect("bind");
        let proxy_url = format!("http://{}", proxy.local_addr().expect("address"));
        let target = format!("http://{}/hooks", endpoint.local_addr().expect("address"));
        let stop = Arc::new(AtomicBool::new(false));
        let proxied = count_connections(proxy, stop.clone());
        let direct = count_connections(endpoint, stop.clone());
        let mut child = Command::new(std::env::current_exe().expect("test binary"));
        child
            .args(["--exact", NAME, "--test-threads", "1"])
            .env(PROBE, &target)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy");
        for name in ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"] {
            child
                .env(name, &proxy_url)
                .env(name.to_lowercase(), &proxy_url);
        }
        let output = child.output().expect("child test");
        stop.store(true, Ordering::Relaxed);
        let counts = (
            proxied.join().expect("proxy"),
            direct.join().expect("endpoint"),
        );
        let log = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{log}");
        assert!(log.contains("1 passed"), "{log}");
        assert_eq!(
            counts,
            (0, 1),
            "(through the proxy, straight to the endpoint)"
        );
    }
}
