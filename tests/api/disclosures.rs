//! The accounting of disclosures: what left the organization, to whom, when, why and under
//! which consent, newest first.

use chrono::{Duration, Utc};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use tandem::db::models::disclosures::{self, NewDisclosure};
use uuid::Uuid;

use crate::helpers::{ids, ok_json, problem, TestApp};

fn path(participant: Uuid) -> String {
    format!("/participants/{participant}/disclosures")
}

/// Records a disclosure of the first organization's participant under `consent`, to the
/// resource when given, and moves it `days_ago` into the past; returns its id.
async fn disclose(app: &TestApp, consent: &Value, resource: Option<Uuid>, days_ago: i64) -> Uuid {
    let mut conn = app.conn().await;
    let new = NewDisclosure {
        organization_id: app.org.id,
        participant_id: app.org.participant_id,
        recipient_client_id: Some(app.org.client.id),
        recipient_resource_id: resource,
        recipient_name: "Harbor Light MOUD Clinic".into(),
        recipient_address: None,
        information_categories: vec!["demographics".into(), "referral_details".into()],
        description: "Name, date of birth and the reason for the referral".into(),
        purpose: "Referral for medication treatment".into(),
        consent_id: consent["id"].as_str().map(|id| id.parse().unwrap()),
        referral_id: None,
        request_id: None,
    };
    let row = disclosures::record(&mut conn, new).await.unwrap();
    let sql = format!(
        "UPDATE disclosures SET disclosed_at = now() - interval '{days_ago} days' WHERE id = '{}'",
        row.id
    );
    diesel::sql_query(sql).execute(&mut conn).await.unwrap();
    row.id
}

#[tokio::test]
async fn the_accounting_lists_each_disclosure_with_what_an_accounting_needs() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let consent = app.consent_of(p).await;
    let resource = app.consent_recipient_resource(&app.org).await;
    let older = disclose(&app, &consent, None, 3).await;
    let newer = disclose(&app, &consent, Some(resource), 1).await;
    let response = app.get(&path(p), &app.org.participant).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = ok_json(response).await;
    assert_eq!(ids(&page), [newer, older].map(|id| id.to_string()));
    let entry = &page["items"][0];
    assert_eq!(entry["recipient_name"], "Harbor Light MOUD Clinic");
    assert_eq!(
        entry["recipient_address"],
        "12 Pier Street, Portland, ME, 04101, US"
    );
    assert_eq!(entry["information_categories"][1], "referral_details");
    assert_eq!(entry["purpose"], "Referral for medication treatment");
    assert_eq!(entry["consent_id"], consent["id"]);
    assert!(entry["disclosed_at"].is_string() && entry["description"].is_string());
    assert_eq!(page["items"][1]["recipient_address"], Value::Null);
}

#[tokio::test]
async fn the_accounting_pages_newest_first_and_filters_by_time() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let consent = app.consent_of(p).await;
    let mut made = Vec::new();
    for days_ago in [5, 4, 3, 2, 1] {
        made.push(disclose(&app, &consent, None, days_ago).await.to_string());
    }
    made.reverse();
    let first = ok_json(
        app.get(&format!("{}?limit=2", path(p)), &app.org.coach)
            .await,
    )
    .await;
    assert_eq!(ids(&first), made[..2]);
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let second = ok_json(
        app.get(
            &format!("{}?limit=2&cursor={cursor}", path(p)),
            &app.org.coach,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&second), made[2..4]);

    let from = (Utc::now() - Duration::hours(84)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (Utc::now() - Duration::hours(36)).format("%Y-%m-%dT%H:%M:%SZ");
    let window = format!("{}?from={from}&to={to}", path(p));
    let page = ok_json(app.get(&window, &app.org.supervisor).await).await;
    assert_eq!(ids(&page), made[1..3]);
    let backwards = format!("{}?from={to}&to={from}", path(p));
    problem(app.get(&backwards, &app.org.supervisor).await, 400).await;
    for bad in ["limit=0", "limit=201", "cursor=garbage", "from=yesterday"] {
        problem(
            app.get(&format!("{}?{bad}", path(p)), &app.org.coach).await,
            400,
        )
        .await;
    }
}

#[tokio::test]
async fn the_accounting_is_empty_until_something_is_disclosed() {
    let app = TestApp::spawn().await;
    app.consent_of(app.org.participant_id).await;
    let page = ok_json(app.get(&path(app.org.participant_id), &app.org.admin).await).await;
    assert_eq!(page["items"], serde_json::json!([]));
    assert_eq!(page["next_cursor"], Value::Null);
}

/// The plan of `sql` with sequential scans discouraged, as one text.
async fn plan(app: &TestApp, sql: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Line {
        #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
        line: String,
    }
    let mut conn = app.conn().await;
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .unwrap();
    let lines: Vec<Line> = diesel::sql_query(format!("EXPLAIN {sql}"))
        .load(&mut conn)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| l.line)
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_consent_and_disclosure_lists_read_their_index_in_order_without_sorting() {
    let app = TestApp::spawn().await;
    let p = app.org.participant_id;
    let max = Uuid::max();
    let disclosures = plan(
        &app,
        &format!(
            "SELECT id FROM disclosures WHERE participant_id = '{p}' AND disclosed_at >= now() - interval '1 year' \
             AND (disclosed_at, id) < (now(), '{max}') ORDER BY disclosed_at DESC, id DESC LIMIT 51"
        ),
    )
    .await;
    assert!(
        disclosures.contains("disclosures_participant_idx"),
        "{disclosures}"
    );
    assert!(!disclosures.contains("Sort"), "{disclosures}");
    let consents = plan(
        &app,
        &format!(
            "SELECT id FROM consents WHERE participant_id = '{p}' AND revoked_at IS NULL \
             AND id < '{max}' ORDER BY id DESC LIMIT 51"
        ),
    )
    .await;
    assert!(consents.contains("consents_participant_idx"), "{consents}");
    assert!(!consents.contains("Sort"), "{consents}");
}
