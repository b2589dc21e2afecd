//! Whose data a query may touch.
//!
//! Every model function that reads or writes participant data takes a [`Scope`], never the
//! request's identity, and filters through [`participants`] (or [`participant_ids`] for tables
//! that belong to a participant: goals, notes, consents, referrals…). A query written without
//! one of them reads as wrong, and a forgotten check yields "not found", never a leak.

use diesel::dsl::exists;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::fragment::Fragment;
use crate::db::models::users::Role;
use crate::db::schema::{pairings, participants};

/// The caller a query runs for: their organization, their user id and their role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role: Role,
}

impl Scope {
    /// Admins and supervisors act on the whole organization.
    pub fn is_supervisor(self) -> bool {
        matches!(self.role, Role::Admin | Role::Supervisor)
    }
}

/// An integration client a query runs for: its organization and its row id
/// (`integration_clients.id`, not its public `client_id`). What its token allows is decided in
/// `auth`, before the query runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientScope {
    pub organization_id: Uuid,
    pub client_id: Uuid,
}

/// Whoever a query open to both users and integration clients runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    User(Scope),
    Client(ClientScope),
}

impl Viewer {
    pub fn organization_id(self) -> Uuid {
        match self {
            Self::User(scope) => scope.organization_id,
            Self::Client(client) => client.organization_id,
        }
    }
}

/// `pairings.status <> 'ended'` as a literal, so the partial indexes on current pairings
/// match generic plans too (a bind parameter would hide the constant from the planner).
pub fn pairing_is_current() -> Fragment<Bool> {
    Fragment::new("pairings.status <> 'ended'")
}

/// The participants `scope` may see: the organization's for admins and supervisors, those with
/// a current pairing to them for coaches, their own record for participants.
pub fn participants<'a>(scope: Scope) -> participants::BoxedQuery<'a, Pg> {
    let query = participants::table
        .filter(participants::organization_id.eq(scope.organization_id))
        .into_boxed();
    match scope.role {
        Role::Admin | Role::Supervisor => query,
        Role::Coach => query.filter(exists(
            pairings::table
                .filter(pairings::participant_id.eq(participants::id))
                .filter(pairings::coach_id.eq(scope.user_id))
                .filter(pairing_is_current()),
        )),
        Role::Participant => query.filter(participants::user_id.eq(scope.user_id)),
    }
}

/// The ids of [`participants`], as a subquery: `goals::participant_id.eq_any(participant_ids(scope))`.
pub fn participant_ids<'a>(
    scope: Scope,
) -> participants::BoxedQuery<'a, Pg, diesel::sql_types::Uuid> {
    participants(scope).select(participants::id)
}

/// The participant's id when `scope` may see them, `NotFound` otherwise: the check that comes
/// first in every endpoint under `/participants/{id}/…`.
pub async fn visible_participant(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
) -> QueryResult<Uuid> {
    participant_ids(scope)
        .filter(participants::id.eq(participant_id))
        .first(conn)
        .await
}
