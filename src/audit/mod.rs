//! The audit trail: one row per access to participant data (and every sign-in attempt),
//! append-only and hash-chained, and the audited unit of work. May use `db`, `http` and
//! `crypto`; never `routes` or `domain`.
//!
//! Rows are inserted unsealed by the request's unit of work (see [`crate::audit::unit_of_work`]),
//! so auditing never serialises requests. A background sealer links them into the chain in
//! the order they commit ([`chain`]).

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::audit_events::{self, NewAuditEvent, Owned, Written};
use crate::db::models::idempotency_keys::IdempotencyRecord;
use crate::db::models::users::{Role, Session};
use crate::db::scope::Scope;
use crate::http::error::AppError;
use crate::http::request_log::RequestMeta;

pub mod batch;
pub mod chain;
pub mod operation;
pub mod unit_of_work;
pub mod verify;
pub mod vocabulary;

pub use batch::AuditWriter;
pub use chain::{log_heads, seal_pending, ChainKey, SEAL_BATCH};
pub use operation::Operation;
pub use verify::{verify, ChainHead, Verification};
pub use vocabulary::{Action, ResourceType};

/// Whether the request was carried out (`success`) or refused (`denied`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
        }
    }
}

/// Who did it.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub role: Option<Role>,
    pub client_id: Option<Uuid>,
    pub organization_id: Option<Uuid>,
    pub meta: RequestMeta,
    /// Set while the user's token has not yet been checked against their account: the audit
    /// row is then written only if the token still speaks for them (see [`record`]).
    pub session: Option<Session>,
}

impl Actor {
    /// A signed-in user acting within `scope`.
    pub fn user(scope: Scope, meta: RequestMeta) -> Self {
        Self {
            id: Some(scope.user_id),
            role: Some(scope.role),
            client_id: None,
            organization_id: Some(scope.organization_id),
            meta,
            session: None,
        }
    }

    /// An integration client of `organization_id`.
    pub fn client(client_id: Uuid, organization_id: Uuid, meta: RequestMeta) -> Self {
        Self {
            id: None,
            role: None,
            client_id: Some(client_id),
            organization_id: Some(organization_id),
            meta,
            session: None,
        }
    }
}

/// What a request touched, for its audit row.
#[derive(Debug, Clone)]
pub struct Target {
    pub action: Action,
    pub resource_type: ResourceType,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    /// Every participant a list returned.
    pub participant_ids: Vec<Uuid>,
}

impl Target {
    pub fn new(action: Action, resource_type: ResourceType) -> Self {
        Self {
            action,
            resource_type,
            resource_id: None,
            participant_id: None,
            participant_ids: Vec::new(),
        }
    }

    /// The target an operation declares (see [`operation`]).
    pub fn of(Operation(action, resource_type): Operation) -> Self {
        Self::new(action, resource_type)
    }

    /// The object acted on.
    pub fn id(mut self, id: Uuid) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    /// The participant whose data it is.
    pub fn participant(mut self, participant_id: Uuid) -> Self {
        self.participant_id = Some(participant_id);
        self
    }

    /// Names the participant once the work has found out who it is.
    pub fn set_participant(&mut self, participant_id: Uuid) {
        self.participant_id = Some(participant_id);
    }

    /// Names every participant a list (or a change to many) returned, so the audit log finds
    /// the read under each of them: `target.set_participants(rows.iter().map(|p| p.id))`.
    /// Each is named once, in the order first returned: a page of one participant's goals
    /// names them once, not once a goal.
    pub fn set_participants(&mut self, participant_ids: impl IntoIterator<Item = Uuid>) {
        let mut seen = std::collections::HashSet::new();
        self.participant_ids = participant_ids
            .into_iter()
            .filter(|id| seen.insert(*id))
            .collect();
    }

    /// Names the object once the work has made or found it.
    pub fn set_id(&mut self, id: Uuid) {
        self.resource_id = Some(id.to_string());
    }
}

/// Writes one audit row on `conn` (inside the caller's transaction when it has one).
///
/// For an actor whose token is not yet checked, the row is written only if the token still
/// speaks for its user, in the same statement; otherwise nothing is written and the request
/// is a 401 (`AppError::stale_token`), whatever its work found.
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Target,
    outcome: Outcome,
) -> Result<(), AppError> {
    if outcome == Outcome::Denied && target.participant_id.is_none() {
        let mut named = target.clone();
        named.participant_id = refused_participant(conn, actor, target).await?;
        return write(conn, actor, &named, outcome, None).await.map(|_| ());
    }
    write(conn, actor, target, outcome, None).await.map(|_| ())
}

/// The participant a refused request on one of their objects was about, so that searching
/// the log by participant finds the refusal too: looked up (in the caller's organization
/// only) when the object exists.
async fn refused_participant(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Target,
) -> Result<Option<Uuid>, AppError> {
    let owned = match target.resource_type {
        ResourceType::Goal => Owned::Goal,
        ResourceType::ActionItem => Owned::ActionItem,
        ResourceType::SessionNote => Owned::SessionNote,
        ResourceType::Assessment => Owned::Assessment,
        ResourceType::Pairing => Owned::Pairing,
        _ => return Ok(None),
    };
    let id = target.resource_id.as_deref().and_then(|id| id.parse().ok());
    let (Some(id), Some(organization_id)) = (id, actor.organization_id) else {
        return Ok(None);
    };
    audit_events::owner_of(conn, owned, organization_id, id)
        .await
        .map_err(|error| AppError::Unavailable(format!("audit write failed: {error}")))
}

/// Writes the success row of a create together with its idempotency key, in one statement:
/// `false` (and nothing written) when another request already holds the key. As [`record`]
/// for a token that no longer speaks for its user.
pub async fn record_created(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Target,
    key: Option<&IdempotencyRecord>,
) -> Result<bool, AppError> {
    write(conn, actor, target, Outcome::Success, key).await
}

/// Writes the success row of a read through the worker's `writer`, together with the rows of
/// concurrent reads (see [`batch`]); returns once it is committed. As [`record`] for a token
/// that no longer speaks for its user.
pub async fn record_read(
    writer: &AuditWriter,
    actor: &Actor,
    target: &Target,
) -> Result<(), AppError> {
    writer
        .write(event(actor, target, Outcome::Success), actor.session)
        .await
}

async fn write(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    target: &Target,
    outcome: Outcome,
    key: Option<&IdempotencyRecord>,
) -> Result<bool, AppError> {
    let written = audit_events::insert(conn, &event(actor, target, outcome), actor.session, key)
        .await
        .map_err(|error| AppError::Unavailable(format!("audit write failed: {error}")))?;
    match written {
        Written::Row => Ok(true),
        Written::KeyTaken => Ok(false),
        Written::StaleSession => Err(AppError::stale_token()),
    }
}

/// The row recording what `actor` did to `target`.
fn event(actor: &Actor, target: &Target, outcome: Outcome) -> NewAuditEvent {
    NewAuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor_id: actor.id,
        actor_role: actor.role.map(|role| role.as_str().to_owned()),
        client_id: actor.client_id,
        organization_id: actor.organization_id,
        action: target.action.as_str(),
        resource_type: target.resource_type.as_str(),
        resource_id: target.resource_id.clone(),
        participant_id: target.participant_id,
        participant_ids: match outcome {
            Outcome::Success => target.participant_ids.clone(),
            Outcome::Denied => Vec::new(),
        },
        outcome: outcome.as_str().to_owned(),
        request_id: actor.meta.request_id.clone(),
        ip: actor.meta.ip.clone(),
    }
}
