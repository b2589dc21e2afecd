//! State machines: which status may follow which, as data, and the history every change
//! leaves. Pairings, participants and goals use it; referrals will too.

use std::borrow::Cow;

use chrono::{DateTime, SubsecRound, Utc};
use diesel_async::AsyncPgConnection;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{
    KnownFormat, ObjectBuilder, OneOfBuilder, Ref, RefBuilder, Schema, SchemaFormat, SchemaType,
    Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use crate::db::models::goals::GoalStatus;
use crate::db::models::pairings::PairingStatus;
use crate::db::models::participants::ParticipantStatus;
use crate::db::models::referrals::ReferralStatus;
use crate::db::models::status_changes::{self, NewStatusChange, StatusChange, StoredStatus};
use crate::http::error::{AppError, AppResult, ProblemType};

/// A state machine: each status with the statuses that may follow it.
pub struct Machine<S: 'static> {
    /// What the history calls the subject, e.g. `pairing`.
    pub subject: &'static str,
    pub moves: &'static [(S, &'static [S])],
}

/// `proposed → active | ended`, `active → paused | ended`, `paused → active | ended`;
/// `ended` is final.
pub const PAIRING: Machine<PairingStatus> = {
    use PairingStatus::*;
    Machine {
        subject: "pairing",
        moves: &[
            (Proposed, &[Active, Ended]),
            (Active, &[Paused, Ended]),
            (Paused, &[Active, Ended]),
            (Ended, &[]),
        ],
    }
};

/// `active → inactive | discharged`, `inactive → active | discharged`, `discharged → active`
/// (readmission).
pub const PARTICIPANT: Machine<ParticipantStatus> = {
    use ParticipantStatus::*;
    Machine {
        subject: "participant",
        moves: &[
            (Active, &[Inactive, Discharged]),
            (Inactive, &[Active, Discharged]),
            (Discharged, &[Active]),
        ],
    }
};

/// `active ↔ paused`, `active | paused → achieved | abandoned`; `achieved` and `abandoned`
/// are final.
pub const GOAL: Machine<GoalStatus> = {
    use GoalStatus::*;
    Machine {
        subject: "goal",
        moves: &[
            (Active, &[Paused, Achieved, Abandoned]),
            (Paused, &[Active, Achieved, Abandoned]),
            (Achieved, &[]),
            (Abandoned, &[]),
        ],
    }
};

/// One change: who made it, when, from what to what, and why.
pub struct Change<'a, S> {
    pub subject_id: Uuid,
    pub from: Option<S>,
    pub to: S,
    pub reason: Option<&'a str>,
    pub actor_id: Uuid,
}

impl<S> Machine<S>
where
    S: Copy + Eq + Into<&'static str> + 'static,
{
    /// The statuses that may follow `from`.
    pub fn next(&self, from: S) -> &'static [S] {
        self.moves
            .iter()
            .find(|(status, _)| *status == from)
            .map_or(&[], |(_, next)| *next)
    }

    /// 409 naming the current status and the allowed next ones, unless `from → to` is allowed.
    pub fn check(&self, from: S, to: S) -> AppResult<()> {
        let next = self.next(from);
        if next.contains(&to) {
            return Ok(());
        }
        let (from, to): (&str, &str) = (from.into(), to.into());
        let detail = if next.is_empty() {
            format!("The status is `{from}`, which is final; it cannot become `{to}`.")
        } else {
            let allowed: Vec<String> = next
                .iter()
                .map(|s| format!("`{}`", Into::<&str>::into(*s)))
                .collect();
            format!(
                "The status is `{from}`; it cannot become `{to}`. Allowed next: {}.",
                allowed.join(", ")
            )
        };
        Err(AppError::conflict(ProblemType::InvalidTransition, detail))
    }

    /// A new subject's first status: the row to write with the subject (see
    /// `status_changes::insert_of`), and the history entry it makes.
    pub fn first(
        &self,
        subject_id: Uuid,
        to: S,
        actor_id: Uuid,
    ) -> (NewStatusChange<'static>, HistoryEntry<S>) {
        let at = now();
        let row = NewStatusChange {
            subject_type: self.subject,
            subject_id,
            from_status: None,
            to_status: to.into(),
            reason: None,
            actor_id: Some(actor_id),
            at,
        };
        let entry = HistoryEntry {
            from: None,
            to,
            reason: None,
            actor_id: Some(actor_id),
            at,
        };
        (row, entry)
    }

    /// Checks a move (unless it is the first status) and records it in the history.
    pub async fn record(
        &self,
        conn: &mut AsyncPgConnection,
        change: Change<'_, S>,
    ) -> AppResult<()> {
        if let Some(from) = change.from {
            self.check(from, change.to)?;
        }
        status_changes::insert(
            conn,
            NewStatusChange {
                subject_type: self.subject,
                subject_id: change.subject_id,
                from_status: change.from.map(Into::into),
                to_status: change.to.into(),
                reason: change.reason.map(str::trim),
                actor_id: Some(change.actor_id),
                at: now(),
            },
        )
        .await?;
        Ok(())
    }
}

/// The time of a change, in the whole microseconds PostgreSQL keeps.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// One status change, as responses show it; `S` is the status of the subject's machine.
#[derive(Debug, Serialize, Deserialize)]
pub struct HistoryEntry<S> {
    /// The status before; `null` for the first entry.
    pub from: Option<S>,
    pub to: S,
    pub reason: Option<String>,
    /// Who made the change.
    pub actor_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The history entries of pairings, participants and goals. Response types name these rather
/// than `HistoryEntry<…>`, which the `ToSchema` derive would compose itself.
pub type PairingHistoryEntry = HistoryEntry<PairingStatus>;
pub type ParticipantHistoryEntry = HistoryEntry<ParticipantStatus>;
pub type GoalHistoryEntry = HistoryEntry<GoalStatus>;

// Written out because the derive inlines a generic status and drops `from`'s `null`: each
// machine's history is its own component (`HistoryEntry_GoalStatus`, named as utoipa names
// generic components) referring to the machine's status enum.
impl<S: ToSchema> PartialSchema for HistoryEntry<S> {
    fn schema() -> RefOr<Schema> {
        let status = || Ref::from_schema_name(S::name());
        let nullable = |kind: Type| SchemaType::from_iter([kind, Type::Null]);
        ObjectBuilder::new()
            .description(Some("One status change, as responses show it."))
            .property(
                "actor_id",
                ObjectBuilder::new()
                    .schema_type(nullable(Type::String))
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .description(Some("Who made the change.")),
            )
            .property(
                "at",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
            )
            .property(
                "from",
                OneOfBuilder::new()
                    .item(ObjectBuilder::new().schema_type(Type::Null))
                    .item(
                        RefBuilder::new()
                            .ref_location_from_schema_name(S::name())
                            .description(Some("The status before; `null` for the first entry.")),
                    ),
            )
            .property(
                "reason",
                ObjectBuilder::new().schema_type(nullable(Type::String)),
            )
            .property("to", status())
            .required("to")
            .required("at")
            .into()
    }
}

impl<S: ToSchema> ToSchema for HistoryEntry<S> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("HistoryEntry_{}", S::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((S::name().into_owned(), S::schema()));
        S::schemas(schemas);
    }
}

impl<S> From<StatusChange<S>> for HistoryEntry<S> {
    fn from(change: StatusChange<S>) -> Self {
        Self {
            from: change.from_status,
            to: change.to_status,
            reason: change.reason,
            actor_id: change.actor_id,
            at: change.at,
        }
    }
}

/// The history of a subject the caller has already been allowed to see, oldest first.
pub async fn history<S>(
    conn: &mut AsyncPgConnection,
    subject_id: Uuid,
) -> diesel::QueryResult<Vec<HistoryEntry<S>>>
where
    S: StoredStatus,
{
    let changes = status_changes::for_subject(conn, subject_id).await?;
    Ok(changes.into_iter().map(HistoryEntry::from).collect())
}

/// A history read with its subject (see `status_changes::history_json!`).
pub fn history_from_json<S: DeserializeOwned>(
    history: serde_json::Value,
) -> AppResult<Vec<HistoryEntry<S>>> {
    serde_json::from_value(history)
        .map_err(|error| AppError::Internal(format!("reading a status history: {error}")))
}

/// Referrals, by the FHIR Task codes. `entered-in-error` may follow any status but itself;
/// `rejected`, `failed`, `completed` and `cancelled` are otherwise final.
pub const REFERRAL: Machine<ReferralStatus> = {
    use ReferralStatus::*;
    Machine {
        subject: "referral",
        moves: &[
            (Draft, &[Requested, Cancelled, EnteredInError]),
            (Requested, &[Accepted, Rejected, Cancelled, EnteredInError]),
            (
                Accepted,
                &[
                    InProgress,
                    OnHold,
                    Completed,
                    Failed,
                    Cancelled,
                    EnteredInError,
                ],
            ),
            (
                InProgress,
                &[OnHold, Completed, Failed, Cancelled, EnteredInError],
            ),
            (
                OnHold,
                &[InProgress, Completed, Failed, Cancelled, EnteredInError],
            ),
            (Rejected, &[EnteredInError]),
            (Failed, &[EnteredInError]),
            (Completed, &[EnteredInError]),
            (Cancelled, &[EnteredInError]),
            (EnteredInError, &[]),
        ],
    }
};

/// The two ends of a referral. Outbound, the sender is the organization (staff in scope, or
/// the participant for their own) and the receiver the resource's linked integration client,
/// or staff recording its answers by hand when no client is linked. Inbound, the sender is the
/// client that made it and the receiver the organization's staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Sender,
    Receiver,
}

/// Which side makes the move to each status: the sender sends, cancels and withdraws a
/// mistake; the receiver answers and reports.
pub const REFERRAL_MOVERS: &[(ReferralStatus, Side)] = {
    use ReferralStatus::*;
    use Side::*;
    &[
        (Draft, Sender),
        (Requested, Sender),
        (Cancelled, Sender),
        (EnteredInError, Sender),
        (Accepted, Receiver),
        (Rejected, Receiver),
        (InProgress, Receiver),
        (OnHold, Receiver),
        (Failed, Receiver),
        (Completed, Receiver),
    ]
};

/// The side that may move a referral to `to`.
pub fn referral_mover(to: ReferralStatus) -> Side {
    REFERRAL_MOVERS
        .iter()
        .find(|(status, _)| *status == to)
        .map_or(Side::Sender, |(_, side)| *side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_entry_is_documented_with_the_fields_it_sends() {
        let entry = GoalHistoryEntry {
            from: None,
            to: GoalStatus::Active,
            reason: None,
            actor_id: None,
            at: Utc::now(),
        };
        let sent = serde_json::to_value(&entry).unwrap();
        assert_eq!(sent["from"], serde_json::Value::Null);
        assert_eq!(sent["to"], "active");
        let schema = serde_json::to_value(GoalHistoryEntry::schema()).unwrap();
        let mut documented: Vec<&String> =
            schema["properties"].as_object().unwrap().keys().collect();
        let mut sent: Vec<&String> = sent.as_object().unwrap().keys().collect();
        documented.sort();
        sent.sort();
        assert_eq!(documented, sent);
        assert_eq!(schema["properties"]["from"]["oneOf"][0]["type"], "null");
        assert_eq!(
            schema["properties"]["to"]["$ref"],
            "#/components/schemas/GoalStatus"
        );
        assert_eq!(GoalHistoryEntry::name(), "HistoryEntry_GoalStatus");
    }
}
