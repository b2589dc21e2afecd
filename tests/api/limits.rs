//! Every limit in `tandem::http::limits` is stated by the served document and enforced: for each
//! limited field, the document's bound is the constant, the largest value the constant allows
//! is not refused for that field, and one more is refused naming the field (422 for a body
//! field, 400 for a query parameter).

use reqwest::Method;
use serde_json::{json, Value};
use tandem::http::limits::{self, List, Range, Text};
use uuid::Uuid;

use crate::helpers::{
    error_fields, json, problem, send, Caller, TestApp, TestOrg, TestUser, PASSWORD,
};

/// A limit and how to write values at and past it.
#[derive(Clone, Copy)]
enum Limit {
    /// A text of `a`s.
    Text(Text),
    /// A phone number of `1`s.
    Digits(Text),
    /// An address at `example.org`, padded to the length.
    Email(Text),
    /// A list of one repeated item.
    List(List, fn() -> Value),
    Range(Range),
}

impl Limit {
    /// The largest value allowed, or with `past`, the smallest one refused.
    fn value(self, past: bool) -> Value {
        let extra = usize::from(past);
        match self {
            Limit::Text(text) => json!("a".repeat(text.max + extra)),
            Limit::Digits(text) => json!("1".repeat(text.max + extra)),
            Limit::Email(text) => {
                let domain = "@example.org";
                json!(format!(
                    "{}{domain}",
                    "a".repeat(text.max + extra - domain.len())
                ))
            }
            Limit::List(list, item) => json!(vec![item(); list.max + extra]),
            Limit::Range(range) => json!(range.max + i64::from(past)),
        }
    }

    /// Asserts that `schema` (resolved) states this limit.
    fn assert_stated_by(self, schema: &Value, what: &str) {
        let text = |text: Text| {
            assert_eq!(schema["maxLength"], json!(text.max), "{what}: maxLength");
            let min = (text.min > 0).then_some(text.min);
            assert_eq!(
                schema.get("minLength"),
                min.map(|m| json!(m)).as_ref(),
                "{what}"
            );
        };
        match self {
            Limit::Text(t) | Limit::Digits(t) | Limit::Email(t) => text(t),
            Limit::List(list, _) => {
                assert_eq!(schema["maxItems"], json!(list.max), "{what}: maxItems")
            }
            Limit::Range(range) => {
                assert_eq!(schema["minimum"], json!(range.min), "{what}: minimum");
                assert_eq!(schema["maximum"], json!(range.max), "{what}: maximum");
            }
        }
    }
}

/// A request with limited body fields: a body valid as it is, and for each field the limit
/// the document states on `schema` (`tags[0]` for the entries of `tags`).
struct Operation {
    method: Method,
    /// `{id}` is replaced by `id` of the fixture's first organization.
    path: &'static str,
    id: fn(&TestOrg) -> Uuid,
    caller: Option<fn(&TestOrg) -> &TestUser>,
    schema: &'static str,
    body: fn(&TestOrg) -> Value,
    fields: Vec<(&'static str, Limit)>,
}

/// Fields that are checked for more than their length, and so can be refused at the limit.
const CHECKED_BEYOND_LENGTH: &[&str] = &[
    "current_password",
    "instrument",
    "url",
    // A URL of `a`s is not a URL, and made-up ids are not the organization's resources.
    "webhook_url",
    "resource_ids",
];

fn tag() -> Value {
    json!("a")
}

fn language() -> Value {
    json!("en")
}

fn new_id() -> Value {
    json!(Uuid::now_v7())
}

fn participant(org: &TestOrg) -> Uuid {
    org.participant_id
}

fn coach(org: &TestOrg) -> Uuid {
    org.coach.id
}

fn pairing(org: &TestOrg) -> Uuid {
    org.pairing_id
}

fn admin(org: &TestOrg) -> &TestUser {
    &org.admin
}

fn supervisor(org: &TestOrg) -> &TestUser {
    &org.supervisor
}

/// Changing a password ends the caller's sessions, so only the second coach does it.
fn other_coach(org: &TestOrg) -> &TestUser {
    &org.other_coach
}

fn operations() -> Vec<Operation> {
    use Limit::{Digits, Email, List, Range, Text};
    let participant_fields = || {
        vec![
            ("first_name", Text(limits::PERSON_NAME)),
            ("last_name", Text(limits::PERSON_NAME)),
            ("preferred_name", Text(limits::PERSON_NAME)),
            ("pronouns", Text(limits::PRONOUNS)),
            ("email", Email(limits::EMAIL)),
            ("phone", Digits(limits::PHONE)),
            ("preferred_language", Text(limits::LANGUAGE_TAG)),
            ("recovery_pathways", List(limits::TAGS, tag)),
            ("needs", List(limits::TAGS, tag)),
            ("needs[0]", Text(limits::TAG)),
        ]
    };
    let operation = |method, path, id, caller, schema, body, fields| Operation {
        method,
        path,
        id,
        caller,
        schema,
        body,
        fields,
    };
    let note_fields = || {
        vec![
            ("duration_minutes", Range(limits::SESSION_MINUTES)),
            ("summary", Text(limits::NOTE_SUMMARY)),
            ("body", Text(limits::NOTE_BODY)),
            ("mood", Range(limits::MOOD)),
            ("craving", Range(limits::CRAVING)),
            ("follow_up", Text(limits::FOLLOW_UP)),
        ]
    };
    vec![
        operation(
            Method::POST,
            "/participants/{id}/session-notes",
            participant,
            Some(supervisor),
            "CreateSessionNoteRequest",
            |_| {
                json!({"session_type": "phone", "occurred_at": "2026-01-05T10:00:00Z",
                       "duration_minutes": 30, "summary": "Check-in"})
            },
            note_fields(),
        ),
        operation(
            Method::PATCH,
            "/session-notes/{id}",
            participant,
            Some(supervisor),
            "UpdateSessionNoteRequest",
            |_| json!({}),
            note_fields(),
        ),
        operation(
            Method::POST,
            "/session-notes/{id}/amendments",
            participant,
            Some(supervisor),
            "CreateAmendmentRequest",
            |_| json!({"body": "Added detail", "reason": "missing"}),
            vec![
                ("body", Text(limits::NOTE_BODY)),
                ("reason", Text(limits::REASON)),
            ],
        ),
        operation(
            Method::POST,
            "/participants",
            participant,
            Some(supervisor),
            "CreateParticipantRequest",
            |_| json!({"first_name": "Ana", "last_name": "Diaz"}),
            participant_fields(),
        ),
        operation(
            Method::PATCH,
            "/participants/{id}",
            participant,
            Some(supervisor),
            "UpdateParticipantRequest",
            |_| json!({}),
            participant_fields(),
        ),
        operation(
            Method::POST,
            "/participants/{id}/status",
            participant,
            Some(supervisor),
            "ParticipantStatusRequest",
            |_| json!({"status": "inactive", "reason": "moved away"}),
            vec![("reason", Text(limits::REASON))],
        ),
        operation(
            Method::POST,
            "/participants/{id}/portal-account",
            participant,
            Some(supervisor),
            "PortalAccountRequest",
            |_| json!({"email": "p@example.org", "password": "a long enough password"}),
            vec![
                ("email", Email(limits::EMAIL)),
                ("password", Text(limits::PASSWORD)),
            ],
        ),
        operation(
            Method::POST,
            "/users",
            coach,
            Some(admin),
            "CreateUserRequest",
            |_| {
                json!({"email": "new@example.org", "display_name": "N", "role": "coach",
                       "password": "a long enough password"})
            },
            vec![
                ("email", Email(limits::EMAIL)),
                ("display_name", Text(limits::DISPLAY_NAME)),
                ("password", Text(limits::PASSWORD)),
            ],
        ),
        operation(
            Method::PATCH,
            "/users/{id}",
            coach,
            Some(admin),
            "UpdateUserRequest",
            |_| json!({}),
            vec![("display_name", Text(limits::DISPLAY_NAME))],
        ),
        operation(
            Method::PATCH,
            "/coaches/{id}",
            coach,
            Some(supervisor),
            "UpdateCoachRequest",
            |_| json!({}),
            vec![
                ("max_caseload", Range(limits::CASELOAD)),
                ("languages", List(limits::LANGUAGES, language)),
                ("languages[0]", Text(limits::LANGUAGE_TAG)),
                ("specialties", List(limits::TAGS, tag)),
                ("lived_experience", List(limits::TAGS, tag)),
                ("recovery_pathways", List(limits::TAGS, tag)),
                ("bio", Text(limits::BIO)),
            ],
        ),
        operation(
            Method::POST,
            "/pairings",
            coach,
            Some(supervisor),
            "CreatePairingRequest",
            |org| json!({"participant_id": org.participant_id, "coach_id": org.other_coach.id}),
            vec![("reason", Text(limits::REASON))],
        ),
        operation(
            Method::POST,
            "/pairings/{id}/status",
            pairing,
            Some(supervisor),
            "PairingStatusRequest",
            |_| json!({"status": "paused"}),
            vec![("reason", Text(limits::REASON))],
        ),
        operation(
            Method::POST,
            "/pairings/reassign",
            coach,
            Some(supervisor),
            "ReassignRequest",
            |org| json!({"from_coach_id": org.other_coach.id, "to_coach_id": org.coach.id, "reason": "leave"}),
            vec![
                ("participant_ids", List(limits::PARTICIPANT_IDS, new_id)),
                ("reason", Text(limits::REASON)),
            ],
        ),
        operation(
            Method::POST,
            "/group-sessions",
            coach,
            Some(supervisor),
            "CreateGroupSessionRequest",
            |org| {
                json!({"title": "Group", "kind": "wellness", "occurred_at": "2026-01-05T18:00:00Z",
                       "duration_minutes": 60, "facilitator_ids": [org.coach.id]})
            },
            vec![
                ("title", Text(limits::GROUP_TITLE)),
                ("summary", Text(limits::GROUP_SUMMARY)),
                ("duration_minutes", Range(limits::GROUP_DURATION)),
                ("facilitator_ids", List(limits::FACILITATORS, new_id)),
            ],
        ),
        operation(
            Method::POST,
            "/me/password",
            coach,
            Some(other_coach),
            "ChangePasswordRequest",
            |_| json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"}),
            vec![
                ("current_password", Text(limits::CREDENTIAL)),
                ("new_password", Text(limits::PASSWORD)),
            ],
        ),
        operation(
            Method::POST,
            "/auth/login",
            coach,
            None,
            "LoginRequest",
            |org| json!({"email": org.coach.email, "password": "not the password"}),
            vec![
                ("email", Email(limits::EMAIL)),
                ("password", Text(limits::CREDENTIAL)),
            ],
        ),
        operation(
            Method::POST,
            "/auth/refresh",
            coach,
            None,
            "RefreshRequest",
            |_| json!({"refresh_token": "rt_unknown"}),
            vec![("refresh_token", Text(limits::CREDENTIAL))],
        ),
        operation(
            Method::POST,
            "/auth/logout",
            coach,
            None,
            "RefreshRequest",
            |_| json!({"refresh_token": "rt_unknown"}),
            vec![("refresh_token", Text(limits::CREDENTIAL))],
        ),
        operation(
            Method::POST,
            "/resources",
            coach,
            Some(supervisor),
            "CreateResourceRequest",
            |_| json!({"name": "Harbor", "organization_name": "Harbor Collective"}),
            resource_fields(),
        ),
        operation(
            Method::POST,
            "/participants/{id}/assessments",
            participant,
            Some(supervisor),
            "CreateAssessmentRequest",
            |_| json!({"instrument": "barc-10", "answers": [3, 3, 3, 3, 3, 3, 3, 3, 3, 3]}),
            vec![("instrument", Text(limits::INSTRUMENT_ID))],
        ),
        operation(
            Method::POST,
            "/participants/{id}/consents",
            participant,
            Some(supervisor),
            "CreateConsentRequest",
            |org| TestApp::consent_body(org.client.id),
            vec![
                ("recipient_name", Text(limits::RECIPIENT_NAME)),
                ("discloser_name", Text(limits::DISCLOSER_NAME)),
                ("purpose", Text(limits::CONSENT_PURPOSE)),
                (
                    "information_description",
                    Text(limits::INFORMATION_DESCRIPTION),
                ),
                ("expiration_event", Text(limits::EXPIRATION_EVENT)),
                ("signed_by_name", Text(limits::SIGNER_NAME)),
                (
                    "information_categories",
                    List(limits::INFORMATION_CATEGORIES, information_category),
                ),
            ],
        ),
        operation(
            Method::POST,
            "/referrals",
            participant,
            Some(supervisor),
            "CreateReferralRequest",
            |org| json!({"participant_id": participant(org), "resource_id": Uuid::now_v7(), "reason": "x", "urgency": "routine"}),
            vec![("reason", Text(limits::REFERRAL_REASON))],
        ),
        operation(
            Method::POST,
            "/referrals/{id}/status",
            |_| Uuid::now_v7(),
            Some(supervisor),
            "ReferralStatusRequest",
            |_| json!({"status": "cancelled", "reason": "x"}),
            vec![("reason", Text(limits::REASON))],
        ),
        operation(
            Method::POST,
            "/integration-clients",
            participant,
            Some(admin),
            "CreateIntegrationClientRequest",
            |_| json!({"name": "Clinic", "resource_ids": [], "scopes": ["directory:read"]}),
            vec![
                ("name", Text(limits::CLIENT_NAME)),
                ("webhook_url", Text(limits::WEBHOOK_URL)),
                ("resource_ids", List(limits::CLIENT_RESOURCES, new_id)),
            ],
        ),
        operation(
            Method::PATCH,
            "/integration-clients/{id}",
            clinic,
            Some(admin),
            "UpdateIntegrationClientRequest",
            |_| json!({}),
            vec![
                ("name", Text(limits::CLIENT_NAME)),
                ("webhook_url", Text(limits::WEBHOOK_URL)),
                ("resource_ids", List(limits::CLIENT_RESOURCES, new_id)),
            ],
        ),
    ]
}

/// The limited fields of a directory resource.
fn resource_fields() -> Vec<(&'static str, Limit)> {
    use Limit::{Digits, Email, List, Text};
    vec![
        ("name", Text(limits::RESOURCE_NAME)),
        ("organization_name", Text(limits::RESOURCE_NAME)),
        ("description", Text(limits::RESOURCE_DESCRIPTION)),
        ("email", Email(limits::EMAIL)),
        ("phone", Digits(limits::PHONE)),
        ("address_1", Text(limits::ADDRESS_LINE)),
        ("address_2", Text(limits::ADDRESS_LINE)),
        ("city", Text(limits::PLACE_NAME)),
        ("state_province", Text(limits::PLACE_NAME)),
        ("postal_code", Text(limits::POSTAL_CODE)),
        ("country", Text(limits::COUNTRY)),
        ("url", Text(limits::URL)),
        ("languages", List(limits::LANGUAGES, language)),
        ("eligibility_description", Text(limits::RESOURCE_NOTE)),
        ("schedule_description", Text(limits::RESOURCE_NOTE)),
        ("categories", List(limits::CATEGORIES, category)),
    ]
}

fn category() -> Value {
    json!("food")
}

fn information_category() -> Value {
    json!("demographics")
}

/// The organization's seeded integration client.
fn clinic(org: &TestOrg) -> Uuid {
    org.client.id
}

/// The schema a property or parameter points at, with `$ref` and `oneOf: [null, …]` undone.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    let schema = match schema["oneOf"].as_array() {
        Some(choices) => choices
            .iter()
            .find(|choice| choice["type"] != "null")
            .expect("a non-null choice"),
        None => schema,
    };
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            let target = &document["components"]["schemas"][name];
            assert!(target.is_object(), "{reference} does not resolve");
            target
        }
        None => schema,
    }
}

/// `field` of a body, with `tags[0]` meaning the entries of `tags`.
fn property<'a>(document: &'a Value, schema: &str, field: &str) -> &'a Value {
    let (name, entries) = match field.strip_suffix("[0]") {
        Some(name) => (name, true),
        None => (field, false),
    };
    let property = &document["components"]["schemas"][schema]["properties"][name];
    assert!(property.is_object(), "{schema} has no property {name}");
    let resolved = resolve(document, property);
    if entries {
        resolve(document, &resolved["items"])
    } else {
        resolved
    }
}

/// `body` with `value` at `field` (`tags[0]` puts it in a list of one).
fn with_value(mut body: Value, field: &str, value: Value) -> Value {
    match field.strip_suffix("[0]") {
        Some(name) => body[name] = json!([value]),
        None => body[field] = value,
    }
    body
}

async fn served_document(app: &TestApp) -> Value {
    let response = send(app.client.get(app.url("/api/v1/openapi.json"))).await;
    assert_eq!(response.status(), 200);
    json(response).await
}

#[tokio::test]
async fn every_limited_body_field_states_its_limit_and_refuses_one_past_it() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let org = &app.org;
    for operation in operations() {
        let path = operation
            .path
            .replace("{id}", &(operation.id)(org).to_string());
        let caller = operation.caller.map(|who| who(org) as &dyn Caller);
        for (field, limit) in &operation.fields {
            let what = format!("{} {} {field}", operation.method, operation.path);
            limit.assert_stated_by(property(&document, operation.schema, field), &what);
            // One past the limit first: a value at the limit may change the caller's account.
            for past in [true, false] {
                let body = with_value((operation.body)(org), field, limit.value(past));
                let request = app.request(operation.method.clone(), &path, caller);
                let response = send(request.json(&body)).await;
                if past {
                    let refused = problem(response, 422).await;
                    assert_eq!(error_fields(&refused), vec![*field], "{what}: {refused}");
                } else if response.status() == 422 && !CHECKED_BEYOND_LENGTH.contains(field) {
                    let refused = json(response).await;
                    assert!(
                        !error_fields(&refused).iter().any(|f| f == field),
                        "{what}: the limit itself was refused: {refused}"
                    );
                }
            }
        }
    }
}

/// A limited query parameter, stated on the operation at `path` (as the document writes it).
struct QueryParameter {
    path: &'static str,
    parameter: &'static str,
    limit: Limit,
    id: fn(&TestOrg) -> Uuid,
}

fn query_parameters() -> Vec<QueryParameter> {
    let page = |path, id| QueryParameter {
        path,
        parameter: "limit",
        limit: Limit::Range(limits::PAGE_SIZE),
        id,
    };
    vec![
        QueryParameter {
            path: "/participants",
            parameter: "q",
            limit: Limit::Text(limits::SEARCH),
            id: participant,
        },
        QueryParameter {
            path: "/coaches",
            parameter: "language",
            limit: Limit::Text(limits::LANGUAGE_TAG),
            id: coach,
        },
        QueryParameter {
            path: "/participants/{id}/match-suggestions",
            parameter: "limit",
            limit: Limit::Range(limits::SUGGESTIONS),
            id: participant,
        },
        QueryParameter {
            path: "/coaches/{id}/caseload",
            parameter: "no_contact_days",
            limit: Limit::Range(limits::NO_CONTACT_DAYS),
            id: coach,
        },
        QueryParameter {
            path: "/resources",
            parameter: "q",
            limit: Limit::Text(limits::SEARCH),
            id: participant,
        },
        QueryParameter {
            path: "/resources",
            parameter: "postal_code",
            limit: Limit::Text(limits::POSTAL_CODE),
            id: participant,
        },
        page("/resources", participant),
        QueryParameter {
            path: "/hsds/services",
            parameter: "per_page",
            limit: Limit::Range(limits::PAGE_SIZE),
            id: participant,
        },
        QueryParameter {
            path: "/hsds/services",
            parameter: "page",
            limit: Limit::Range(limits::HSDS_PAGE),
            id: participant,
        },
        page("/participants/{id}/session-notes", participant),
        page("/participants", participant),
        page("/users", coach),
        page("/coaches", coach),
        page("/coaches/{id}/caseload", coach),
        page("/pairings", coach),
        page("/participants/{id}/goals", participant),
        page("/audit-events", coach),
        page("/group-sessions", coach),
        page("/participants/{id}/group-attendance", participant),
    ]
}

#[tokio::test]
async fn every_limited_query_parameter_states_its_limit_and_refuses_one_past_it() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    for row in query_parameters() {
        let what = format!("GET {}?{}", row.path, row.parameter);
        let parameters = document["paths"][format!("/api/v1{}", row.path)]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{what}: no parameters"));
        let parameter = parameters
            .iter()
            .find(|p| p["name"] == row.parameter)
            .unwrap_or_else(|| panic!("{what}: not documented"));
        row.limit
            .assert_stated_by(resolve(&document, &parameter["schema"]), &what);
        let path = row.path.replace("{id}", &(row.id)(&app.org).to_string());
        for past in [false, true] {
            let value = match row.limit.value(past) {
                Value::String(text) => text,
                other => other.to_string(),
            };
            let query = format!("{path}?{}={value}", row.parameter);
            let response = app.get(&query, &app.org.admin).await;
            if past {
                let refused = problem(response, 400).await;
                let detail = refused["detail"].as_str().unwrap();
                assert!(
                    detail.contains(&format!("`{}`", row.parameter)),
                    "{what}: {detail}"
                );
            } else {
                assert_eq!(
                    response.status(),
                    200,
                    "{what}: the limit itself is allowed"
                );
            }
        }
    }
}

#[test]
fn every_reference_in_the_document_resolves() {
    let document: Value = serde_json::from_str(&tandem::http::openapi::document_json()).unwrap();
    fn walk(document: &Value, value: &Value) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let name = reference.trim_start_matches("#/components/schemas/");
                    assert!(
                        document["components"]["schemas"][name].is_object(),
                        "{reference} does not resolve"
                    );
                }
                map.values().for_each(|v| walk(document, v));
            }
            Value::Array(items) => items.iter().for_each(|v| walk(document, v)),
            _ => {}
        }
    }
    walk(&document, &document);
}

#[tokio::test]
async fn an_organization_name_past_its_limit_is_refused() {
    let app = TestApp::spawn().await;
    let mut conn = app.conn().await;
    let create = async |conn: &mut _, name: &str, email: &str| {
        tandem::ops::bootstrap::create_organization(conn, name, email, PASSWORD).await
    };
    let max = limits::ORGANIZATION_NAME.max;
    let refused = create(&mut conn, &"a".repeat(max + 1), "first@example.org").await;
    assert!(refused.unwrap_err().starts_with("name must be at most"));
    let created = create(&mut conn, &"a".repeat(max), "second@example.org").await;
    assert_eq!(created.unwrap().0.name.chars().count(), max);
}

/// The limited fields of the recovery plan's bodies: `{goal}` and `{item}` are a goal of the
/// first organization's participant and one of its action items.
/// Method, path, schema, a valid body, and the limited fields.
type GoalOperation = (
    Method,
    &'static str,
    &'static str,
    Value,
    Vec<(&'static str, Limit)>,
);

fn goal_operations() -> Vec<GoalOperation> {
    use Limit::{Range, Text};
    let title = ("title", Text(limits::GOAL_TITLE));
    let description = ("description", Text(limits::GOAL_DESCRIPTION));
    vec![
        (
            Method::POST,
            "/participants/{participant}/goals",
            "CreateGoalRequest",
            json!({"title": "Housing", "domain": "housing"}),
            vec![title, description],
        ),
        (
            Method::PATCH,
            "/goals/{goal}",
            "UpdateGoalRequest",
            json!({}),
            vec![title, description],
        ),
        (
            Method::POST,
            "/goals/{goal}/status",
            "GoalStatusRequest",
            json!({"status": "paused"}),
            vec![("reason", Text(limits::REASON))],
        ),
        (
            Method::POST,
            "/goals/{goal}/action-items",
            "CreateActionItemRequest",
            json!({"title": "Call"}),
            vec![title],
        ),
        (
            Method::PATCH,
            "/action-items/{item}",
            "UpdateActionItemRequest",
            json!({}),
            vec![title],
        ),
        (
            Method::POST,
            "/goals/{goal}/progress",
            "CreateProgressRequest",
            json!({"note": "Going well"}),
            vec![
                ("note", Text(limits::PROGRESS_NOTE)),
                ("percent_complete", Range(limits::PERCENT_COMPLETE)),
            ],
        ),
    ]
}

#[tokio::test]
async fn every_limited_goal_field_states_its_limit_and_refuses_one_past_it() {
    let app = TestApp::spawn().await;
    let document = served_document(&app).await;
    let goal = app.goal_of(app.org.participant_id).await;
    let item = app.action_item_of(&goal).await;
    for (method, path, schema, valid, fields) in goal_operations() {
        let path = path
            .replace("{participant}", &app.org.participant_id.to_string())
            .replace("{goal}", goal["id"].as_str().unwrap())
            .replace("{item}", item["id"].as_str().unwrap());
        for (field, limit) in fields {
            let what = format!("{method} {path} {field}");
            limit.assert_stated_by(property(&document, schema, field), &what);
            for past in [true, false] {
                let body = with_value(valid.clone(), field, limit.value(past));
                let request = app.request(method.clone(), &path, Some(&app.org.supervisor));
                let response = send(request.json(&body)).await;
                if past {
                    let refused = problem(response, 422).await;
                    assert_eq!(error_fields(&refused), vec![field], "{what}: {refused}");
                } else {
                    assert!(
                        response.status().is_success(),
                        "{what}: the limit itself was refused"
                    );
                }
            }
        }
    }
}
