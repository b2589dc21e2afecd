//! The audit trail: one row per access to participant data (and every login attempt),
//! append-only and hash-chained.
//!
//! Rows are inserted unsealed in the request's own transaction, so auditing never serialises
//! requests. A background sealer, guarded by an advisory lock so several instances can run,
//! links them into the chain in insertion order. Verification walks the chain and reports the
//! first row whose contents no longer match its link.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::auth::{AuthUser, RequestMeta, Role};
use crate::db::models::audit_events::{self, NewAuditEvent};

pub mod chain;

pub use chain::{seal_pending, verify, Verification, SEAL_BATCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Denied,
}

impl Outcome {
    fn as_str(self) -> &'static str {
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
}

impl From<&AuthUser> for Actor {
    fn from(user: &AuthUser) -> Self {
        Self {
            id: Some(user.id),
            role: Some(user.role),
            client_id: None,
            organization_id: Some(user.organization_id),
            meta: user.meta.clone(),
        }
    }
}

/// What was done to what.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
    pub outcome: Outcome,
}

/// Writes one audit row on `conn` (inside the caller's transaction when it has one).
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    entry: Entry<'_>,
) -> diesel::QueryResult<()> {
    let event = NewAuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        actor_id: actor.id,
        actor_role: actor.role.map(|role| role.as_str().to_owned()),
        client_id: actor.client_id,
        organization_id: actor.organization_id,
        action: entry.action.to_owned(),
        resource_type: entry.resource_type.to_owned(),
        resource_id: entry.resource_id,
        participant_id: entry.participant_id,
        outcome: entry.outcome.as_str().to_owned(),
        request_id: actor.meta.request_id.clone(),
        ip: actor.meta.ip.clone(),
    };
    audit_events::insert(conn, &event).await.map(|_| ())
}

/// What a request touched, for its audit row.
#[derive(Debug, Clone)]
pub struct Target {
    pub action: &'static str,
    pub resource_type: &'static str,
    pub resource_id: Option<String>,
    pub participant_id: Option<Uuid>,
}

impl Target {
    pub fn new(action: &'static str, resource_type: &'static str) -> Self {
        Self {
            action,
            resource_type,
            resource_id: None,
            participant_id: None,
        }
    }

    pub fn id(mut self, id: Uuid) -> Self {
        self.resource_id = Some(id.to_string());
        self
    }

    pub fn participant(mut self, participant_id: Uuid) -> Self {
        self.participant_id = Some(participant_id);
        self
    }

    fn entry(&self, outcome: Outcome) -> Entry<'_> {
        Entry {
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id.clone(),
            participant_id: self.participant_id,
            outcome,
        }
    }
}

fn audit_failed(error: diesel::result::Error) -> crate::error::AppError {
    crate::error::AppError::Unavailable(format!("audit write failed: {error}"))
}

/// Records a successful access. Inside a write's transaction, so the row and the change
/// commit together; if the row cannot be written the request fails with 503.
pub async fn success(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    target: &Target,
) -> Result<(), crate::error::AppError> {
    record(conn, &Actor::from(actor), target.entry(Outcome::Success))
        .await
        .map_err(audit_failed)
}

/// Audits a read: success, or denied when the object is absent or out of scope (404).
pub async fn read<T>(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    target: &Target,
    result: diesel::QueryResult<T>,
) -> Result<T, crate::error::AppError> {
    let outcome = match &result {
        Ok(_) => Outcome::Success,
        Err(diesel::result::Error::NotFound) => Outcome::Denied,
        Err(_) => return result.map_err(Into::into),
    };
    record(conn, &Actor::from(actor), target.entry(outcome))
        .await
        .map_err(audit_failed)?;
    result.map_err(Into::into)
}

/// After a write's transaction: a request refused with a 4xx was rolled back with its
/// success row, so record the refusal now. Server failures are not the caller's doing and
/// leave nothing to record.
pub async fn refused<T>(
    conn: &mut AsyncPgConnection,
    actor: &AuthUser,
    target: &Target,
    result: Result<T, crate::error::AppError>,
) -> Result<T, crate::error::AppError> {
    use actix_web::ResponseError;
    if let Err(error) = &result {
        if error.status_code().is_client_error() {
            record(conn, &Actor::from(actor), target.entry(Outcome::Denied))
                .await
                .map_err(audit_failed)?;
        }
    }
    result
}
