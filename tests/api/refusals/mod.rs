//! The authorization matrix, one table per resource: every endpoint against every kind of
//! caller, each cell the answer the contract names.
//!
//! A table's columns are the [`Cast`], gathered around the seeded participant of the first
//! organization: its admin, supervisor, the participant's current coach ("their coach"),
//! another coach never paired with the participant, a former coach whose pairing ended, the
//! participant's own login ("self"), another participant's login, the clinic integration
//! client; then the other organization's admin, supervisor, coach, participant and clinic.
//!
//! A cell is either a refusal status (`401`, `403`, `404`, `422`) or one of:
//!
//! - [`OK`]: the caller may make this read; it answers 200.
//! - [`SHOWN`]: 200, and the answer contains every id the row is [`Row::about`].
//! - [`HIDDEN`]: 200, and the answer contains none of them (a list scoped to the caller).
//! - [`ALLOW`]: the caller may make this write; it is not sent here (the resource's own tests
//!   cover it).
//! - [`SEEN_403`]: 403 from a caller who may read the object but not do this to it (only a
//!   note's author edits it); the same request naming a missing object is that caller's 404.
//!
//! For every refusal the runner also checks that
//! - the body is problem+json, and a 404 is byte-identical to the 404 of an object that does
//!   not exist, so existence never leaks;
//! - the same request naming an object that does not exist gets the same answer;
//! - on participant data ([`Row::audited`]), exactly one `denied` audit event by that caller
//!   was written, naming the participant where the endpoint addresses one;
//! - any event a refusal writes is that caller's one `denied` event, under the action and
//!   resource type the row states ([`Row::logs`]), whether the role guard or the work refused;
//! - nothing changed: the table's watched paths read the same, for both organizations' admins,
//!   before and after each row.
//!
//! Every row is also sent without a token and with garbage, expired and forged tokens: 401
//! with `WWW-Authenticate: Bearer`.
//!
//! The runner reports every wrong cell at once.

mod assessments;
mod audit_events;
mod coaches;
mod episodes;
mod goals;
mod group_sessions;
mod integration_clients;
mod match_suggestions;
mod me;
mod pairings;
mod participants;
mod referrals;
mod resources;
mod session_notes;
mod users;

mod consents;

mod denied_events;

use diesel_async::AsyncPgConnection;
use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{send, Caller, RawToken, TestApp, TestClient, TestUser};
use denied_events::{check_audit, events_since, last_seq};

/// Allowed read: 200.
pub const OK: u16 = 200;
/// Allowed read whose answer contains every id the row is about.
pub const SHOWN: u16 = 1200;
/// Allowed read whose answer contains none of the ids the row is about.
pub const HIDDEN: u16 = 2200;
/// Allowed write, not sent here.
pub const ALLOW: u16 = 0;
/// 403 for a caller who can read the object; a missing object is 404 to them.
pub const SEEN_403: u16 = 1403;

/// The callers every table is run against, in column order.
pub struct Cast {
    pub admin: TestUser,
    pub supervisor: TestUser,
    /// The seeded participant's current coach.
    pub their_coach: TestUser,
    /// A coach of the same organization who was never paired with the participant.
    pub another_coach: TestUser,
    /// A coach whose pairing with the participant has ended.
    pub former_coach: TestUser,
    /// That ended pairing.
    pub former_pairing_id: Uuid,
    /// The participant's own portal login.
    pub the_participant: TestUser,
    /// The portal login of another participant of the same organization (same coach).
    pub another_participant: TestUser,
    /// The organization's clinic integration client.
    pub clinic: TestClient,
    pub outside_admin: TestUser,
    pub outside_supervisor: TestUser,
    pub outside_coach: TestUser,
    pub outside_participant: TestUser,
    pub outside_clinic: TestClient,
}

/// One column: who calls, and how the audit log names them.
pub struct Column<'a> {
    pub name: &'static str,
    pub caller: &'a dyn Caller,
    /// `(actor_id, client_id)` of the caller's audit events.
    pub actor: (Option<Uuid>, Option<Uuid>),
}

const COLUMNS: usize = 13;

impl Cast {
    pub async fn new(app: &TestApp) -> Self {
        let (org, other) = (&app.org, &app.other_org);
        let record = org.participant_record();
        let former_coach = app.coach().await;
        let former_pairing_id = app.ended_pairing(&record, &former_coach).await;
        let neighbour = app.participant_of(&org.coach).await;
        Self {
            admin: org.admin.clone(),
            supervisor: org.supervisor.clone(),
            their_coach: org.coach.clone(),
            another_coach: org.other_coach.clone(),
            former_coach,
            former_pairing_id,
            the_participant: org.participant.clone(),
            another_participant: app.portal_user_of(&neighbour).await,
            clinic: org.client.clone(),
            outside_admin: other.admin.clone(),
            outside_supervisor: other.supervisor.clone(),
            outside_coach: other.coach.clone(),
            outside_participant: other.participant.clone(),
            outside_clinic: other.client.clone(),
        }
    }

    pub fn columns(&self) -> [Column<'_>; COLUMNS] {
        fn user<'a>(name: &'static str, user: &'a TestUser) -> Column<'a> {
            Column {
                name,
                caller: user,
                actor: (Some(user.id), None),
            }
        }
        fn client<'a>(name: &'static str, client: &'a TestClient) -> Column<'a> {
            Column {
                name,
                caller: client,
                actor: (None, Some(client.id)),
            }
        }
        [
            user("admin", &self.admin),
            user("supervisor", &self.supervisor),
            user("their coach", &self.their_coach),
            user("another coach", &self.another_coach),
            user("former coach", &self.former_coach),
            user("the participant", &self.the_participant),
            user("another participant", &self.another_participant),
            client("clinic", &self.clinic),
            user("other org admin", &self.outside_admin),
            user("other org supervisor", &self.outside_supervisor),
            user("other org coach", &self.outside_coach),
            user("other org participant", &self.outside_participant),
            client("other org clinic", &self.outside_clinic),
        ]
    }

    /// Tokens that must never get past authentication: `None` sends no token at all. The
    /// expired and forged ones carry the first organization's admin, who could otherwise do
    /// anything.
    fn bad_tokens(&self) -> Vec<(&'static str, Option<RawToken>)> {
        vec![
            ("no token", None),
            ("garbage token", Some(RawToken::new("not-a-token"))),
            ("expired token", Some(RawToken::expired(&self.admin))),
            ("forged token", Some(RawToken::forged(&self.admin))),
        ]
    }
}

/// How refusals of a row are audited.
#[derive(Debug, Clone, Copy)]
pub enum Audit {
    /// Not participant data: not checked here.
    Unchecked,
    /// One `denied` event by the caller.
    Denied,
    /// One `denied` event by the caller naming this participant.
    DeniedNaming(Uuid),
}

/// One endpoint and what each column gets from it.
pub struct Row {
    method: Method,
    path: String,
    body: Option<Value>,
    expect: [u16; COLUMNS],
    about: Vec<String>,
    audit: Audit,
    /// `(action, resource_type)` of its audit events.
    logs: Option<(&'static str, &'static str)>,
}

pub fn get(path: impl Into<String>) -> Row {
    Row::new(Method::GET, path.into(), None)
}

pub fn post(path: impl Into<String>, body: &Value) -> Row {
    Row::new(Method::POST, path.into(), Some(body.clone()))
}

pub fn patch(path: impl Into<String>, body: &Value) -> Row {
    Row::new(Method::PATCH, path.into(), Some(body.clone()))
}

pub fn put(path: impl Into<String>, body: &Value) -> Row {
    Row::new(Method::PUT, path.into(), Some(body.clone()))
}

impl Row {
    fn new(method: Method, path: String, body: Option<Value>) -> Self {
        Self {
            method,
            path,
            body,
            expect: [ALLOW; COLUMNS],
            about: Vec::new(),
            audit: Audit::Unchecked,
            logs: None,
        }
    }

    /// What each column gets, in the order of [`Cast::columns`].
    pub fn expect(mut self, expect: [u16; COLUMNS]) -> Self {
        self.expect = expect;
        self
    }

    /// The ids that [`SHOWN`] answers contain and [`HIDDEN`] answers never do.
    pub fn about(mut self, ids: &[Uuid]) -> Self {
        self.about = ids.iter().map(Uuid::to_string).collect();
        self
    }

    /// The action and resource type the operation's audit events carry, refusals included.
    pub fn logs(mut self, action: &'static str, resource_type: &'static str) -> Self {
        self.logs = Some((action, resource_type));
        self
    }

    /// Participant data: every refusal leaves one `denied` audit event by the caller.
    pub fn audited(mut self) -> Self {
        self.audit = Audit::Denied;
        self
    }

    /// Like [`Row::audited`], and the event names `participant`.
    pub fn audited_naming(mut self, participant: Uuid) -> Self {
        self.audit = Audit::DeniedNaming(participant);
        self
    }

    fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The same request for an object that does not exist: the first id in the path replaced.
    fn for_missing_object(&self) -> Option<String> {
        let segments: Vec<&str> = self.path.split('/').collect();
        let index = segments
            .iter()
            .position(|segment| Uuid::parse_str(segment).is_ok())?;
        let missing = Uuid::now_v7().to_string();
        let mut segments: Vec<String> = segments.into_iter().map(str::to_owned).collect();
        segments[index] = missing;
        Some(segments.join("/"))
    }
}

/// An answer, read whole.
struct Answer {
    status: u16,
    content_type: String,
    www_authenticate: Option<String>,
    body: String,
}

async fn call(app: &TestApp, row: &Row, path: &str, caller: Option<&dyn Caller>) -> Answer {
    let mut request = app.request(row.method.clone(), path, caller);
    if let Some(body) = &row.body {
        request = request.json(body);
    }
    let response = send(request).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(ToOwned::to_owned)
    };
    let (content_type, www_authenticate) = (header("content-type"), header("www-authenticate"));
    Answer {
        status: response.status().as_u16(),
        content_type: content_type.unwrap_or_default(),
        www_authenticate,
        body: response.text().await.unwrap_or_default(),
    }
}

/// What the watched paths answer each organization's admin.
async fn snapshot(app: &TestApp, watched: &[String]) -> Vec<(String, u16, String)> {
    let mut seen = Vec::new();
    for path in watched {
        for admin in [&app.org.admin, &app.other_org.admin] {
            let response = app.get(path, admin).await;
            let status = response.status().as_u16();
            seen.push((path.clone(), status, response.text().await.unwrap()));
        }
    }
    seen
}

/// Runs `table` against `cast`, reading `watched` around every row, and fails listing every
/// cell that answered otherwise.
pub async fn run(app: &TestApp, cast: &Cast, table: &[Row], watched: &[String]) {
    let missing = get(format!("/participants/{}", Uuid::now_v7()));
    let missing_404 = call(app, &missing, &missing.path, Some(&app.org.admin)).await;
    assert_eq!(missing_404.status, 404, "{}", missing_404.body);
    let mut conn = app.conn().await;
    let mut failures = Vec::new();
    for row in table {
        let before = snapshot(app, watched).await;
        for (column, &expected) in cast.columns().iter().zip(&row.expect) {
            let wrong = match expected {
                ALLOW => Vec::new(),
                OK | SHOWN | HIDDEN => check_allowed(app, row, column, expected).await,
                _ => check_refused(app, &mut conn, row, column, expected, &missing_404.body).await,
            };
            failures.extend(wrong.into_iter().map(|w| format!("{}: {w}", column.name)));
        }
        for (name, token) in cast.bad_tokens() {
            let answer = call(app, row, &row.path, token.as_ref().map(|t| t as _)).await;
            let bearer = answer.www_authenticate.as_deref() == Some("Bearer");
            if !bearer || !is_problem(&answer, 401) {
                failures.push(format!(
                    "{name}: {}: expected a 401 problem with WWW-Authenticate: Bearer, got {} {}",
                    row.label(),
                    answer.status,
                    answer.body
                ));
            }
        }
        if snapshot(app, watched).await != before {
            failures.push(format!("{}: a refused request changed data", row.label()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong cells:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

async fn check_allowed(
    app: &TestApp,
    row: &Row,
    column: &Column<'_>,
    expected: u16,
) -> Vec<String> {
    let answer = call(app, row, &row.path, Some(column.caller)).await;
    let label = row.label();
    if answer.status != 200 {
        return vec![format!(
            "{label}: expected 200, got {} {}",
            answer.status, answer.body
        )];
    }
    let mut wrong = Vec::new();
    for id in &row.about {
        let shows = answer.body.contains(id.as_str());
        if expected == SHOWN && !shows {
            wrong.push(format!(
                "{label}: the answer should show {id}: {}",
                answer.body
            ));
        }
        if expected == HIDDEN && shows {
            wrong.push(format!(
                "{label}: the answer must not show {id}: {}",
                answer.body
            ));
        }
    }
    wrong
}

async fn check_refused(
    app: &TestApp,
    conn: &mut AsyncPgConnection,
    row: &Row,
    column: &Column<'_>,
    expected: u16,
    missing_404: &str,
) -> Vec<String> {
    let label = row.label();
    let seen = expected == SEEN_403;
    let expected = if seen { 403 } else { expected };
    let seq = last_seq(conn).await;
    let answer = call(app, row, &row.path, Some(column.caller)).await;
    if answer.status != expected {
        return vec![format!(
            "{label}: expected {expected}, got {} {}",
            answer.status, answer.body
        )];
    }
    let mut wrong = Vec::new();
    if !is_problem(&answer, expected) {
        wrong.push(format!(
            "{label}: not a problem+json {expected}: {} {}",
            answer.content_type, answer.body
        ));
    }
    if expected == 404 && answer.body != missing_404 {
        wrong.push(format!(
            "{label}: this 404 differs from a missing object's: {}",
            answer.body
        ));
    }
    wrong.extend(check_audit(row, column, events_since(conn, seq).await));
    if let Some(path) = row.for_missing_object() {
        let missing = call(app, row, &path, Some(column.caller)).await;
        let refused = if seen {
            (404, missing_404)
        } else {
            (answer.status, answer.body.as_str())
        };
        if (missing.status, missing.body.as_str()) != refused {
            wrong.push(format!(
                "{label}: a missing object answers {} {}, this one {} {}",
                missing.status, missing.body, answer.status, answer.body
            ));
        }
    }
    wrong
}

/// A problem+json body with this status and the fields every problem has.
fn is_problem(answer: &Answer, status: u16) -> bool {
    let body: Value = serde_json::from_str(&answer.body).unwrap_or_default();
    answer.content_type == "application/problem+json"
        && body["status"] == status
        && ["type", "title", "detail"]
            .iter()
            .all(|field| body[field].is_string())
}
