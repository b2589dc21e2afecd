//! Webhook delivery, end to end: events published to the outbox reach a local receiver,
//! signed both ways, retried after failures, never through redirects, once each with two
//! workers, and no longer once the endpoint is disabled.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tandem::db::models::webhook_events::{self, EventType};
use tandem::ops::config::Environment;
use uuid::Uuid;

use crate::helpers::{created_json, ok_json, problem, test_settings_with, TestApp, TestOrg};
use crate::receiver::{client_of, spawn_with_worker, Receiver, Reply, QUICK};

async fn publish(app: &TestApp, org: &TestOrg, client: Uuid) -> Uuid {
    let mut conn = app.conn().await;
    let data = json!({"referral_id": Uuid::now_v7()});
    let ids = webhook_events::publish(
        &mut conn,
        org.id,
        &[client],
        EventType::ReferralCreated,
        &data,
    )
    .await
    .unwrap();
    ids[0]
}

async fn deliveries(app: &TestApp, client: Uuid) -> Vec<Value> {
    let path = format!("/integration-clients/{client}/deliveries");
    let page = ok_json(app.get(&path, &app.org.admin).await).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until the client's deliveries list holds `count` attempts (at most 15 s).
async fn wait_for_attempts(app: &TestApp, client: Uuid, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let items = deliveries(app, client).await;
        if items.len() >= count || Instant::now() > deadline {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[tokio::test]
async fn a_published_event_arrives_signed_with_both_signatures() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    let (client, secret) = client_of(&app, &app.org, &receiver).await;
    let event = publish(&app, &app.org, client).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let (headers, body) = (&got[0].headers, &got[0].body);
    assert_eq!(headers["content-type"], "application/json");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["id"], event.to_string());
    assert_eq!(payload["type"], "referral.created");
    assert!(payload["occurred_at"].as_str().unwrap().ends_with('Z'));
    assert!(payload["data"]["referral_id"].is_string());

    // X-Tandem-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">, keyed with the
    // UTF-8 bytes of the whole secret.
    let tandem = &headers["x-tandem-signature"];
    let (t, v1) = tandem.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let expected = hmac(secret.as_bytes(), format!("{t}.{body}").as_bytes());
    assert_eq!(v1, hex::encode(expected));
    assert!((chrono::Utc::now().timestamp() - t.parse::<i64>().unwrap()).abs() < 60);

    // Standard Webhooks: keyed with the decoded bytes after `whsec_`, over "id.timestamp.body".
    assert_eq!(headers["webhook-id"], event.to_string());
    assert_eq!(headers["webhook-timestamp"], t);
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let signed = format!(
        "{}.{}.{body}",
        headers["webhook-id"], headers["webhook-timestamp"]
    );
    let expected = format!("v1,{}", STANDARD.encode(hmac(&key, signed.as_bytes())));
    assert!(headers["webhook-signature"]
        .split(' ')
        .any(|s| s == expected));

    let attempts = wait_for_attempts(&app, client, 1).await;
    assert_eq!(attempts[0]["event_id"], event.to_string());
    assert_eq!(attempts[0]["attempt"], 1);
    assert_eq!(attempts[0]["succeeded"], true);
    assert_eq!(attempts[0]["response_status"], 200);
    assert_eq!(attempts[0]["url"], receiver.url);
    assert_eq!(attempts[0]["next_attempt_at"], Value::Null);
}

#[tokio::test]
async fn a_failed_delivery_is_retried_and_both_attempts_are_listed() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    receiver.script(&[Reply::Status(500)]);
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    let event = publish(&app, &app.org, client).await;
    let got = receiver.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].headers["webhook-id"], got[1].headers["webhook-id"]);
    let attempts = wait_for_attempts(&app, client, 2).await;
    // Newest first.
    assert_eq!(attempts[0]["attempt"], 2);
    assert_eq!(attempts[0]["succeeded"], true);
    assert_eq!(attempts[1]["attempt"], 1);
    assert_eq!(attempts[1]["succeeded"], false);
    assert_eq!(attempts[1]["response_status"], 500);
    assert!(attempts[1]["next_attempt_at"].is_string());
    assert!(attempts.iter().all(|a| a["event_id"] == event.to_string()));
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_a_slow_endpoint_is_a_failed_attempt() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    receiver.script(&[Reply::Redirect, Reply::Slow(Duration::from_millis(1500))]);
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    publish(&app, &app.org, client).await;
    let attempts = wait_for_attempts(&app, client, 3).await;
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    let (third, second, first) = (&attempts[0], &attempts[1], &attempts[2]);
    assert_eq!(first["response_status"], 302);
    assert_eq!(first["succeeded"], false);
    assert!(first["error"].as_str().unwrap().contains("redirect"));
    assert_eq!(second["succeeded"], false);
    assert_eq!(second["response_status"], Value::Null);
    assert!(
        second["error"].as_str().unwrap().contains("500 ms"),
        "{second}"
    );
    assert_eq!(third["succeeded"], true);
    assert!(receiver.received().iter().all(|r| r.path == "/hooks"));
}

#[tokio::test]
async fn two_workers_on_one_database_deliver_each_event_once() {
    // A timed-out attempt is retried, so it may arrive twice (delivery is at least once): a
    // generous timeout keeps a slow moment of the machine from passing for a second claim.
    let patient = ("TANDEM_WEBHOOK_TIMEOUT_MS", "10000");
    let app = spawn_with_worker(&[patient]).await;
    let settings = test_settings_with(&[QUICK, &[patient]].concat());
    let pool = tandem::db::build_pool(&app.runtime_url, 4).unwrap();
    let second =
        tandem::webhooks::worker::spawn(pool, settings.webhooks, Environment::Development).unwrap();
    let receiver = Receiver::start();
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    let mut conn = app.conn().await;
    let clients = vec![client; 60];
    let published = webhook_events::publish(
        &mut conn,
        app.org.id,
        &clients,
        EventType::ReferralStatusChanged,
        &json!({"referral_id": Uuid::now_v7()}),
    )
    .await
    .unwrap();
    receiver.wait_for(published.len()).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ids: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    assert_eq!(ids.len(), published.len());
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), published.len());
    second.stop().await;
}

#[tokio::test]
async fn an_endpoint_failing_past_the_window_is_disabled_and_a_patch_resumes_delivery() {
    let app = spawn_with_worker(&[("TANDEM_WEBHOOK_DISABLE_AFTER_SECONDS", "1")]).await;
    let receiver = Receiver::start();
    receiver.answer_otherwise(503);
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    let first = publish(&app, &app.org, client).await;
    let path = format!("/integration-clients/{client}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let disabled = loop {
        let shown = ok_json(app.get(&path, &app.org.admin).await).await;
        if shown["webhook_enabled"] == false || Instant::now() > deadline {
            break shown;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disabled["webhook_enabled"], false);
    assert!(disabled["webhook_disabled_reason"]
        .as_str()
        .unwrap()
        .contains("HTTP 503"));

    receiver.answer_otherwise(200);
    let second = publish(&app, &app.org, client).await;
    let calls = receiver.received().len();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        receiver.received().len(),
        calls,
        "a disabled endpoint is not called"
    );

    let enabled = ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_enabled": true}))
            .await,
    )
    .await;
    assert_eq!(enabled["webhook_disabled_reason"], Value::Null);
    let got = receiver.wait_for(calls + 2).await;
    let delivered: Vec<&String> = got[calls..]
        .iter()
        .map(|r| &r.headers["webhook-id"])
        .collect();
    assert!(delivered.contains(&&first.to_string()) && delivered.contains(&&second.to_string()));
}

#[tokio::test]
async fn an_admin_redelivers_an_event() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    let event = publish(&app, &app.org, client).await;
    let attempts = wait_for_attempts(&app, client, 1).await;
    let delivery = attempts[0]["id"].as_str().unwrap();
    let path = format!("/integration-clients/{client}/deliveries/{delivery}/redeliver");
    let queued = app.post(&path, Some(&app.org.admin), &json!({})).await;
    assert_eq!(queued.status(), 202);
    let queued = ok_json_any(queued).await;
    assert_eq!(queued["event_id"], event.to_string());
    assert_eq!(queued["state"], "pending");
    let got = receiver.wait_for(2).await;
    assert_eq!(got[1].headers["webhook-id"], event.to_string());
    let attempts = wait_for_attempts(&app, client, 2).await;
    assert_eq!(attempts[0]["attempt"], 2);
}

async fn ok_json_any(response: reqwest::Response) -> Value {
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_url_pointing_inside_the_network_is_refused_at_delivery_and_recorded() {
    let app = spawn_with_worker(&[("TANDEM_WEBHOOK_BACKOFF_SECONDS", "3600")]).await;
    let receiver = Receiver::start();
    let (client, _) = client_of(&app, &app.org, &receiver).await;
    let sql = format!(
        "UPDATE integration_clients SET webhook_url = 'https://10.0.0.7/h' WHERE id = '{client}'"
    );
    app.sql(&sql).await.unwrap();
    publish(&app, &app.org, client).await;
    let attempts = wait_for_attempts(&app, client, 1).await;
    assert_eq!(attempts[0]["succeeded"], false);
    assert!(
        attempts[0]["error"].as_str().unwrap().contains("private"),
        "{}",
        attempts[0]
    );
    assert!(receiver.received().is_empty());
}

/// A measurement, not a check: how long a `referral.created` webhook takes from the status
/// change that sends the referral to its receipt, over 100 referrals, with the default poll
/// interval. Run it with
/// `cargo test --test api webhook_latency -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "prints a measurement"]
async fn webhook_latency_from_status_change_to_receipt() {
    let app = TestApp::spawn_with(&[("TANDEM_WEBHOOK_WORKER", "on")]).await;
    let receiver = Receiver::start();
    let (org, p) = (&app.org, app.org.participant_id);
    let secret = format!("whsec_{}", STANDARD.encode([7u8; 32]));
    let endpoint = format!(
        "UPDATE integration_clients SET webhook_url = '{}', webhook_secret = '{secret}' WHERE id = '{}'",
        receiver.url, org.client.id
    );
    app.sql(&endpoint).await.unwrap();
    let resource = app.referral_resource(org, Some(&org.client)).await;
    let categories = ["referral_details", "demographics"];
    app.referral_consent(org, p, Some(&org.client), Some(resource), &categories, 30)
        .await;
    let mut sent = HashMap::new();
    for _ in 0..100 {
        let draft = app.referral(&org.coach, p, resource, "draft").await;
        let id = draft["id"].as_str().unwrap().to_owned();
        let at = Instant::now();
        let send = json!({"status": "requested"});
        let path = format!("/referrals/{id}/status");
        let response = app.post(&path, Some(&org.coach), &send).await;
        assert_eq!(response.status(), 200);
        sent.insert(id, at);
    }
    let got = receiver.wait_for(100).await;
    let mut latencies: Vec<Duration> = got
        .iter()
        .filter_map(|r| {
            let body: Value = serde_json::from_str(&r.body).ok()?;
            let at = sent.get(body["data"]["referral_id"].as_str()?)?;
            Some(r.at - *at)
        })
        .collect();
    latencies.sort();
    assert_eq!(latencies.len(), 100, "every referral's webhook arrived");
    println!(
        "webhook latency, status change to receipt, 100 referrals: p50 {:?}, p90 {:?}, p99 {:?}",
        latencies[49], latencies[89], latencies[98]
    );
}

/// The plan PostgreSQL chooses for `query`, as the app's runtime role sees it.
async fn plan(app: &TestApp, query: &str) -> String {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN (COSTS OFF) {query}"))
        .load(&mut app.runtime_conn().await)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_deliveries_list_and_the_due_events_read_their_indexes_without_sorting() {
    let app = TestApp::spawn().await;
    let (org, clinic, other) = (
        app.org.id,
        app.org.client.id,
        app.client_in(&app.org, &[]).await.id,
    );
    let seed = format!(
        "INSERT INTO webhook_events (id, organization_id, client_id, event_type, data, state,
             occurred_at, next_attempt_at)
         SELECT gen_random_uuid(), '{org}', c, 'referral.created', '{{}}',
                CASE WHEN n % 500 = 0 THEN 'pending' ELSE 'delivered' END,
                now() - n * interval '1 minute', now() - n * interval '1 minute'
         FROM generate_series(1, 10000) n, unnest(ARRAY['{clinic}', '{other}']::uuid[]) c;
         INSERT INTO webhook_deliveries (id, organization_id, client_id, event_id, event_type,
             attempt, attempted_at, url, response_status, duration_ms, succeeded)
         SELECT gen_random_uuid(), organization_id, client_id, id, event_type, 1, occurred_at,
                'https://clinic.example.org/h', 200, 10, true
         FROM webhook_events;
         ANALYZE webhook_events; ANALYZE webhook_deliveries;"
    );
    app.sql(&seed).await.unwrap();
    let list = plan(
        &app,
        &format!(
            "SELECT * FROM webhook_deliveries WHERE client_id = '{clinic}'
             AND organization_id = '{org}' AND id < '{}' ORDER BY id DESC LIMIT 51",
            Uuid::max()
        ),
    )
    .await;
    assert!(list.contains("webhook_deliveries_client_idx"), "{list}");
    assert!(!list.contains("Sort"), "{list}");
    let due = plan(
        &app,
        "SELECT e.id FROM webhook_events e JOIN integration_clients c ON c.id = e.client_id
         WHERE e.state = 'pending' AND e.next_attempt_at <= now() AND c.active
           AND c.webhook_url IS NOT NULL AND c.webhook_disabled_at IS NULL
         ORDER BY e.next_attempt_at LIMIT 32 FOR UPDATE OF e SKIP LOCKED",
    )
    .await;
    assert!(due.contains("webhook_events_due_idx"), "{due}");
}

#[tokio::test]
async fn events_of_a_client_without_an_endpoint_are_held_until_it_has_one() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    let body = json!({"name": "No endpoint yet", "resource_ids": [], "scopes": ["referrals:read"]});
    let created = created_json(
        app.post("/integration-clients", Some(&app.org.admin), &body)
            .await,
    )
    .await;
    let client: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let event = publish(&app, &app.org, client).await;
    let held =
        format!("SELECT count(*) FROM webhook_events WHERE id = '{event}' AND state = 'held'");
    assert_eq!(app.count(&held).await, 1);

    let endpoint = json!({"webhook_url": receiver.url});
    let path = format!("/integration-clients/{client}");
    ok_json(app.patch(&path, &app.org.admin, &endpoint).await).await;
    let got = receiver.wait_for(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].headers["webhook-id"], event.to_string());

    // Switched off again, new events wait; switched on, they go out.
    ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_enabled": false}))
            .await,
    )
    .await;
    let later = publish(&app, &app.org, client).await;
    let held =
        format!("SELECT count(*) FROM webhook_events WHERE id = '{later}' AND state = 'held'");
    assert_eq!(app.count(&held).await, 1);
    ok_json(
        app.patch(&path, &app.org.admin, &json!({"webhook_enabled": true}))
            .await,
    )
    .await;
    assert_eq!(receiver.wait_for(2).await.len(), 2);
}

fn redeliver_path(client: Uuid, delivery: Uuid) -> String {
    format!("/integration-clients/{client}/deliveries/{delivery}/redeliver")
}

/// Events that a redelivery has touched: the factory's attempts are at failed events never
/// queued again.
const REQUEUED: &str =
    "SELECT count(*) FROM webhook_events WHERE state <> 'failed' OR requeued_at IS NOT NULL";

#[tokio::test]
async fn redelivering_for_a_client_without_a_webhook_url_is_409_and_queues_nothing() {
    let app = TestApp::spawn().await;
    let client = app.org.client.id;
    let delivery = app.webhook_delivery_of(&app.org, client).await;
    let before = deliveries(&app, client).await;
    assert_eq!(before.len(), 1);
    let path = redeliver_path(client, delivery);
    let refused = problem(app.post(&path, Some(&app.org.admin), &json!({})).await, 409).await;
    assert!(
        refused["type"].as_str().unwrap().ends_with("/conflict"),
        "{refused}"
    );
    assert_eq!(refused["title"], "Conflict");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("no webhook URL"),
        "{refused}"
    );
    assert_eq!(deliveries(&app, client).await, before);
    assert_eq!(app.count(REQUEUED).await, 0);
    // With an endpoint the same request queues the event.
    let endpoint = json!({"webhook_url": "https://clinic.example.org/hooks"});
    let client_path = format!("/integration-clients/{client}");
    ok_json(app.patch(&client_path, &app.org.admin, &endpoint).await).await;
    let queued = app.post(&path, Some(&app.org.admin), &json!({})).await;
    assert_eq!(queued.status(), 202);
    assert_eq!(ok_json_any(queued).await["state"], "pending");
    assert_eq!(app.count(REQUEUED).await, 1);
}

#[tokio::test]
async fn redelivering_another_clients_or_organizations_delivery_is_404_like_a_missing_one() {
    let app = TestApp::spawn().await;
    let ours = app
        .integration_client_with_webhook(&app.org, "https://clinic.example.org/h")
        .await;
    let ours: Uuid = ours["id"].as_str().unwrap().parse().unwrap();
    let neighbours = app.webhook_delivery_of(&app.org, app.org.client.id).await;
    let (other_org, other_client) = (&app.other_org, app.other_org.client.id);
    let theirs = app.webhook_delivery_of(other_org, other_client).await;
    let admin = &app.org.admin;
    let missing = redeliver_path(ours, Uuid::now_v7());
    let missing = problem(app.post(&missing, Some(admin), &json!({})).await, 404).await;
    for path in [
        redeliver_path(ours, neighbours),
        redeliver_path(ours, theirs),
        redeliver_path(other_client, theirs),
    ] {
        let refused = problem(app.post(&path, Some(admin), &json!({})).await, 404).await;
        assert_eq!(refused, missing, "{path}");
    }
    assert_eq!(app.count(REQUEUED).await, 0);
    // The client's own attempt is redelivered.
    let own = app.webhook_delivery_of(&app.org, ours).await;
    let path = redeliver_path(ours, own);
    let queued = app.post(&path, Some(admin), &json!({})).await;
    assert_eq!(queued.status(), 202);
    assert_eq!(app.count(REQUEUED).await, 1);
}

/// The `v1` signatures of a delivery's two headers: (X-Tandem-Signature's hex digests,
/// webhook-signature's `v1,<base64>` entries).
fn signatures(got: &crate::receiver::Received) -> (Vec<String>, Vec<String>) {
    let tandem = got.headers["x-tandem-signature"]
        .split(',')
        .filter_map(|part| part.strip_prefix("v1="))
        .map(str::to_owned)
        .collect();
    let standard = got.headers["webhook-signature"]
        .split(' ')
        .map(str::to_owned)
        .collect();
    (tandem, standard)
}

/// Both signatures `secret` would give `got`.
fn signed_with(secret: &str, got: &crate::receiver::Received) -> (String, String) {
    let (t, id, body) = (
        &got.headers["webhook-timestamp"],
        &got.headers["webhook-id"],
        &got.body,
    );
    let tandem = hex::encode(hmac(secret.as_bytes(), format!("{t}.{body}").as_bytes()));
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let standard = STANDARD.encode(hmac(&key, format!("{id}.{t}.{body}").as_bytes()));
    (tandem, format!("v1,{standard}"))
}

#[tokio::test]
async fn a_rotated_webhook_secret_signs_beside_the_new_one_for_24_hours() {
    let app = spawn_with_worker(&[]).await;
    let receiver = Receiver::start();
    let (client, old) = client_of(&app, &app.org, &receiver).await;
    let rotate = format!("/integration-clients/{client}/rotate-secret");
    let body = json!({"rotate": "webhook_secret"});
    let rotated = ok_json(app.post(&rotate, Some(&app.org.admin), &body).await).await;
    let new = rotated["webhook_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let until: chrono::DateTime<chrono::Utc> = rotated["webhook_rotation_ends_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let hours = (until - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");

    // During the 24 hours: each header carries both signatures, the new one first, so a
    // receiver still holding the old secret verifies as well as one holding the new.
    publish(&app, &app.org, client).await;
    let got = receiver.wait_for(1).await;
    let (new_tandem, new_standard) = signed_with(&new, &got[0]);
    let (old_tandem, old_standard) = signed_with(&old, &got[0]);
    assert_eq!(
        signatures(&got[0]),
        (
            vec![new_tandem, old_tandem],
            vec![new_standard, old_standard]
        )
    );

    // Afterwards only the new secret signs.
    app.sql(&format!(
        "UPDATE integration_clients SET previous_webhook_secret_until = now() - interval '1 second' \
         WHERE id = '{client}'"
    ))
    .await
    .unwrap();
    publish(&app, &app.org, client).await;
    let got = receiver.wait_for(2).await;
    let (new_tandem, new_standard) = signed_with(&new, &got[1]);
    assert_eq!(signatures(&got[1]), (vec![new_tandem], vec![new_standard]));
    let shown = ok_json(
        app.get(&format!("/integration-clients/{client}"), &app.org.admin)
            .await,
    )
    .await;
    assert_eq!(shown["webhook_rotation_ends_at"], Value::Null);
}
