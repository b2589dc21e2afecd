//! Session notes: what happened in a session, who may read it, signing and amendments.

mod requests;

use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::OptionalExtension;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{AuthUser, Role, Staff};
use crate::db::models::session_notes::{
    self, After, Amendment, SessionNote, SessionType, Visibility,
};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Conflict, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

use requests::{new_note, validate_amendment, validate_create, validate_update};
pub use requests::{
    CreateAmendmentRequest, CreateSessionNoteRequest, ListSessionNotesQuery,
    UpdateSessionNoteRequest,
};

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(create_session_note)
        .service(list_session_notes)
        .service(get_session_note)
        .service(update_session_note)
        .service(sign_session_note)
        .service(create_session_note_amendment);
}

/// A session note as listed (without its amendments).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionNoteResponse {
    pub id: Uuid,
    pub participant_id: Uuid,
    /// The user who wrote the note.
    pub author_id: Uuid,
    pub session_type: SessionType,
    pub occurred_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub summary: String,
    pub body: Option<String>,
    pub visibility: Visibility,
    pub goal_ids: Vec<Uuid>,
    pub mood: Option<i32>,
    pub craving: Option<i32>,
    pub follow_up: Option<String>,
    pub follow_up_due: Option<NaiveDate>,
    /// Whether the note is signed; a signed note never changes, only gains amendments.
    pub signed: bool,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<SessionNote> for SessionNoteResponse {
    fn from(n: SessionNote) -> Self {
        Self {
            id: n.id,
            participant_id: n.participant_id,
            author_id: n.author_id,
            session_type: n.session_type,
            occurred_at: n.occurred_at,
            duration_minutes: n.duration_minutes,
            summary: n.summary,
            body: n.body,
            visibility: n.visibility,
            goal_ids: n.goal_ids,
            mood: n.mood,
            craving: n.craving,
            follow_up: n.follow_up,
            follow_up_due: n.follow_up_due,
            signed: n.signed_at.is_some(),
            signed_at: n.signed_at,
            created_at: n.created_at,
            updated_at: n.updated_at,
        }
    }
}

/// An amendment appended to a signed note.
#[derive(Debug, Serialize, ToSchema)]
pub struct AmendmentResponse {
    pub id: Uuid,
    pub author_id: Uuid,
    pub author_name: String,
    pub body: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
}

impl From<Amendment> for AmendmentResponse {
    fn from(a: Amendment) -> Self {
        Self {
            id: a.id,
            author_id: a.author_id,
            author_name: a.author_name,
            body: a.body,
            reason: a.reason,
            created_at: a.created_at,
        }
    }
}

/// One session note with its amendments.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionNoteDetail {
    #[serde(flatten)]
    pub note: SessionNoteResponse,
    /// Amendments, oldest first.
    pub amendments: Vec<AmendmentResponse>,
}

fn location(id: Uuid) -> String {
    format!("/api/v1/session-notes/{id}")
}

async fn detail(conn: &mut AsyncPgConnection, note: SessionNote) -> AppResult<SessionNoteDetail> {
    let amendments = session_notes::amendments(conn, note.id).await?;
    Ok(SessionNoteDetail {
        note: note.into(),
        amendments: amendments.into_iter().map(Into::into).collect(),
    })
}

/// The note visible to `scope`, shown to it, naming its participant in the audit row.
async fn show(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    target: &mut Target,
) -> AppResult<Created<SessionNoteDetail>> {
    let note = session_notes::find_visible(conn, scope, id).await?;
    target.set_participant(note.participant_id);
    Ok(Created {
        id,
        location: location(id),
        body: detail(conn, note).await?,
    })
}

/// Why a note for `participant_id` was not written: the participant is not the caller's to
/// see (404), or a goal is not theirs (422).
async fn not_written(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    goal_ids: &[Uuid],
) -> AppError {
    if let Err(error) = crate::db::scope::visible_participant(conn, scope, participant_id).await {
        return error.into();
    }
    match session_notes::foreign_goals(conn, participant_id, goal_ids).await {
        Ok(foreign) => match foreign.first() {
            Some(goal) => AppError::invalid("goal_ids", format!("unknown goal {goal}")),
            None => AppError::Unavailable("the participant changed meanwhile; try again".into()),
        },
        Err(error) => error.into(),
    }
}

fn signed_note() -> AppError {
    AppError::conflict(
        ProblemType::NoteSigned,
        "The note is signed and never changes; add an amendment instead.",
    )
}

/// A note the caller can see but may not change: only its author may.
fn author_only(note: &SessionNote, scope: Scope) -> AppResult<()> {
    if note.author_id == scope.user_id {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Record a session note for a participant.
///
/// Roles: admin, supervisor, coach (current caseload). The caller is the note's author.
/// `goal_ids` must name goals of this participant (422 otherwise). A participant outside the
/// caller's scope is 404.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Participant id"), IdempotencyKey),
    request_body = CreateSessionNoteRequest,
    responses(
        (status = 201, description = "Created; `Location` names the note", body = SessionNoteDetail),
        Authenticated, JsonBody, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[post(
    "/participants/{id}/session-notes",
    wrap = "Operation(Action::Create, ResourceType::SessionNote)"
)]
pub async fn create_session_note(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateSessionNoteRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body)?;
    let participant_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let new = new_note(scope, participant_id, &body);
        match session_notes::insert_visible(conn, scope, &new)
            .await
            .optional()?
        {
            // New: no amendments to look for.
            Some(note) => Ok(Created {
                id: note.id,
                location: location(note.id),
                body: SessionNoteDetail {
                    note: note.into(),
                    amendments: Vec::new(),
                },
            }),
            None => Err(not_written(conn, scope, participant_id, &body.goal_ids).await),
        }
    };
    let target = user.target().participant(participant_id);
    user.create(target, &key, &body, make, show).await
}

/// List a participant's session notes, newest first.
///
/// Roles: admin, supervisor, coach (current caseload), participant (their own notes shared
/// with them). Only the notes the caller may read are listed (see `visibility`). A
/// participant outside the caller's scope is 404. 400 when `from` or `to` is not RFC 3339 or
/// `from` is after `to`.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Participant id"), ListSessionNotesQuery),
    responses(
        (status = 200, description = "A page of notes", body = Page<SessionNoteResponse>),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/participants/{id}/session-notes",
    wrap = "Operation(Action::List, ResourceType::SessionNote)"
)]
pub async fn list_session_notes(
    user: AuthUser,
    id: web::Path<Uuid>,
    Query(query): Query<ListSessionNotesQuery>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let after = after(&page)?;
    let filter = query.filter()?;
    let participant_id = id.into_inner();
    let target = user.target().participant(participant_id);
    let rows = user
        .read(target, async |conn, scope, target| {
            crate::db::scope::visible_participant(conn, scope, participant_id).await?;
            let rows =
                session_notes::list(conn, scope, participant_id, &filter, &page, after).await?;
            target.set_participants(page.shown(&rows).iter().map(|n| n.participant_id));
            Ok(rows)
        })
        .await?;
    let page = page.finish(rows, cursor_of, SessionNoteResponse::from);
    Ok(HttpResponse::Ok().json(page))
}

fn cursor_of(note: &SessionNote) -> Cursor {
    let at = note
        .occurred_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    Cursor::AfterKey(at, note.id)
}

/// Where the page starts, from the cursor a previous page of this list issued.
fn after(page: &PageRequest) -> AppResult<Option<After>> {
    let garbled =
        || AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into());
    match &page.cursor {
        None => Ok(None),
        Some(Cursor::AfterKey(at, id)) => {
            let occurred_at = DateTime::parse_from_rfc3339(at).map_err(|_| garbled())?;
            Ok(Some(After {
                occurred_at: occurred_at.with_timezone(&Utc),
                id: *id,
            }))
        }
        Some(Cursor::After(_)) => Err(garbled()),
    }
}

/// Get one session note with its amendments.
///
/// Roles: admin (not `restricted` notes), supervisor, coach (current caseload; `restricted`
/// notes only when they wrote them), participant (their own notes of visibility
/// `participant`). Anything else is 404.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Session note id")),
    responses(
        (status = 200, description = "The note; `ETag` identifies this version", body = SessionNoteDetail),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/session-notes/{id}",
    wrap = "Operation(Action::Read, ResourceType::SessionNote)"
)]
pub async fn get_session_note(user: AuthUser, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let note = user
        .read(target, async |conn, scope, target| {
            let note = session_notes::find_visible(conn, scope, id).await?;
            target.set_participant(note.participant_id);
            detail(conn, note).await
        })
        .await?;
    Ok(http::ok(&note))
}

/// Change an unsigned session note.
///
/// Roles: the note's author (admin, supervisor or coach). 403 for anyone else who can read
/// the note, 404 for whoever cannot; 409 once the note is signed. Send `If-Match` with the
/// `ETag` you read to get 412 instead of overwriting a change.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Session note id"), IfMatch),
    request_body = UpdateSessionNoteRequest,
    responses(
        (status = 200, description = "The updated note", body = SessionNoteDetail),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/session-notes/{id}",
    wrap = "Operation(Action::Update, ResourceType::SessionNote)"
)]
pub async fn update_session_note(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateSessionNoteRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, target| {
            let current = session_notes::lock_visible(conn, scope, id).await?;
            target.set_participant(current.participant_id);
            author_only(&current, scope)?;
            if current.signed_at.is_some() {
                return Err(signed_note());
            }
            if let Some(goal_ids) = &changes.goal_ids {
                let pid = current.participant_id;
                let foreign = session_notes::foreign_goals(conn, pid, goal_ids).await?;
                if let Some(goal) = foreign.first() {
                    return Err(AppError::invalid(
                        "goal_ids",
                        format!("unknown goal {goal}"),
                    ));
                }
            }
            if_match.check(&detail(conn, current).await?)?;
            let updated = session_notes::update(conn, id, &changes).await?;
            detail(conn, updated).await
        })
        .await?;
    Ok(http::ok(&updated))
}

/// Sign a session note: from then on it never changes and only gains amendments.
///
/// Roles: the note's author (admin, supervisor or coach). 403 for anyone else who can read the note, 404 for whoever
/// cannot; 409 when it is already signed.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Session note id")),
    responses(
        (status = 200, description = "The signed note", body = SessionNoteDetail),
        Authenticated, BadRequest, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/session-notes/{id}/sign",
    wrap = "Operation(Action::Sign, ResourceType::SessionNote)"
)]
pub async fn sign_session_note(Staff(user): Staff, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let target = user.target().id(id);
    let signed = user
        .write(target, async |conn, scope, target| {
            let current = session_notes::lock_visible(conn, scope, id).await?;
            target.set_participant(current.participant_id);
            author_only(&current, scope)?;
            if current.signed_at.is_some() {
                return Err(AppError::conflict(
                    ProblemType::NoteSigned,
                    "The note is already signed.",
                ));
            }
            let signed = session_notes::sign(conn, id).await?;
            detail(conn, signed).await
        })
        .await?;
    Ok(http::ok(&signed))
}

/// Append an amendment to a signed session note.
///
/// Roles: the note's author, supervisors. 403 for anyone else who can read the note, 404
/// for whoever cannot; 409 while the note is unsigned (change it instead). Answers with the
/// note and all its amendments, oldest first; `Location` names the note.
#[utoipa::path(
    tag = "session notes",
    params(("id" = Uuid, Path, description = "Session note id"), IdempotencyKey),
    request_body = CreateAmendmentRequest,
    responses(
        (status = 201, description = "The note with the new amendment last", body = SessionNoteDetail),
        Authenticated, JsonBody, Forbidden, NotFound, Conflict,
    ),
    security(("bearer" = []))
)]
#[post(
    "/session-notes/{id}/amendments",
    wrap = "Operation(Action::Create, ResourceType::SessionNoteAmendment)"
)]
pub async fn create_session_note_amendment(
    Staff(user): Staff,
    id: web::Path<Uuid>,
    key: IdempotencyKey,
    Json(body): Json<CreateAmendmentRequest>,
) -> AppResult<HttpResponse> {
    validate_amendment(&body)?;
    let note_id = id.into_inner();
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, target: &mut Target| {
        let note = session_notes::lock_visible(conn, scope, note_id).await?;
        target.set_participant(note.participant_id);
        if scope.role != Role::Supervisor {
            author_only(&note, scope)?;
        }
        if note.signed_at.is_none() {
            return Err(AppError::conflict(
                ProblemType::NoteUnsigned,
                "The note is not signed yet; change it instead of amending it.",
            ));
        }
        let (text, reason) = (body.body.trim(), body.reason.trim());
        let id = session_notes::add_amendment(conn, note_id, scope.user_id, text, reason).await?;
        let note = show(conn, scope, note_id, target).await?;
        Ok(Created { id, ..note })
    };
    // The amendment is created; the note with all its amendments is shown.
    let show = async |conn: &mut AsyncPgConnection, scope: Scope, id: Uuid, target: &mut Target| {
        let note_id = session_notes::note_of_amendment(conn, id).await?;
        let note = show(conn, scope, note_id, target).await?;
        Ok(Created { id, ..note })
    };
    let target = user.target();
    user.create(target, &key, &body, make, show).await
}
