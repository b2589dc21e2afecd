//! Caseload rules: pairing a participant with a coach within the coach's capacity, moving a
//! pairing through its states, and moving a caseload to another coach. Route handlers call
//! these inside their unit of work; the database backs every rule under concurrency.

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::coach_profiles;
use crate::db::models::pairings::{self, Pairing, PairingStatus};
use crate::db::scope::Scope;
use crate::domain::lifecycle::{Change, PAIRING};
use crate::http::error::{AppError, AppResult, ProblemType};
use diesel_async::AsyncPgConnection;

fn caseload_full(max: i32) -> AppError {
    AppError::conflict(
        ProblemType::CaseloadFull,
        format!("The coach's caseload is full ({max} of {max} places taken)."),
    )
}

fn already_paired() -> AppError {
    AppError::conflict(
        ProblemType::AlreadyPaired,
        "The participant already has a current pairing; end or reassign it first.",
    )
}

/// Pairs a participant with a coach: locks the coach (so capacity checks serialise per
/// coach), checks capacity and the one-current-pairing rule, inserts and records history.
/// The partial unique index backs the one-current rule if two coaches race for one participant.
pub async fn pair(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    coach_id: Uuid,
    status: PairingStatus,
    reason: Option<&str>,
) -> AppResult<Pairing> {
    let coach = match coach_profiles::lock(conn, scope.organization_id, coach_id).await? {
        Some((coach, true)) => coach,
        _ => {
            return Err(AppError::invalid(
                "coach_id",
                "is not an active coach of this organization",
            ))
        }
    };
    if coach_profiles::count_current(conn, coach_id).await? >= i64::from(coach.max_caseload) {
        return Err(caseload_full(coach.max_caseload));
    }
    if pairings::lock_current_for_participant(conn, participant_id)
        .await?
        .is_some()
    {
        return Err(already_paired());
    }
    let pairing = pairings::insert(
        conn,
        scope.organization_id,
        participant_id,
        coach_id,
        status,
        scope.user_id,
    )
    .await
    .map_err(|error| match AppError::from(error) {
        AppError::Conflict { .. } => already_paired(),
        other => other,
    })?;
    let change = Change {
        subject_id: pairing.id,
        from: None,
        to: status,
        reason,
        actor_id: scope.user_id,
    };
    PAIRING.record(conn, change).await?;
    Ok(pairing)
}

/// Moves a pairing to `next` (409 when the state machine forbids it) and records the change.
pub async fn move_pairing(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    pairing: &Pairing,
    next: PairingStatus,
    reason: Option<&str>,
) -> AppResult<Pairing> {
    let change = Change {
        subject_id: pairing.id,
        from: Some(pairing.status),
        to: next,
        reason,
        actor_id: scope.user_id,
    };
    PAIRING.record(conn, change).await?;
    Ok(pairings::set_status(conn, pairing, next).await?)
}

/// Ends the participant's current pairing, if there is one.
pub async fn end_current_pairing(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    participant_id: Uuid,
    reason: &str,
) -> AppResult<()> {
    if let Some(pairing) = pairings::lock_current_for_participant(conn, participant_id).await? {
        move_pairing(conn, scope, &pairing, PairingStatus::Ended, Some(reason)).await?;
    }
    Ok(())
}

/// A participant moved to the new coach.
#[derive(Debug, Serialize, ToSchema)]
pub struct MovedParticipant {
    pub participant_id: Uuid,
    /// The ended pairing with the previous coach.
    pub from_pairing_id: Uuid,
    /// The new pairing, with the same status the old one had.
    pub to_pairing_id: Uuid,
}

/// A participant left where they were, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SkippedParticipant {
    pub participant_id: Uuid,
    /// `target at capacity` or `not current` (no current pairing with `from_coach_id`).
    pub why: String,
}

/// What a reassignment did.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ReassignResponse {
    pub moved: Vec<MovedParticipant>,
    pub skipped: Vec<SkippedParticipant>,
}

impl ReassignResponse {
    /// Every participant the response names, moved or skipped.
    pub fn participant_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        let moved = self.moved.iter().map(|m| m.participant_id);
        moved.chain(self.skipped.iter().map(|s| s.participant_id))
    }
}

/// A caseload move: from whom, to whom, whom (everyone when `None`) and why.
pub struct Reassignment<'a> {
    pub from_coach_id: Uuid,
    pub to_coach_id: Uuid,
    pub participant_ids: Option<&'a [Uuid]>,
    pub reason: &'a str,
}

/// Moves the current pairings of one coach (or those of the listed participants) to another
/// while the target has places: each old pairing is ended and a new one with the same status
/// is created. 404 when either coach is not of the organization or the target is inactive.
pub async fn reassign(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    request: &Reassignment<'_>,
) -> AppResult<ReassignResponse> {
    let target = lock_coaches(conn, scope, request.from_coach_id, request.to_coach_id).await?;
    let current =
        pairings::lock_current_for_coach(conn, request.from_coach_id, request.participant_ids)
            .await?;
    let taken = coach_profiles::count_current(conn, request.to_coach_id).await?;
    let mut places = (i64::from(target.max_caseload) - taken).max(0);
    let mut outcome = ReassignResponse::default();
    for id in request.participant_ids.unwrap_or_default() {
        let listed = outcome.skipped.iter().any(|s| s.participant_id == *id);
        if !listed && !current.iter().any(|p| p.participant_id == *id) {
            outcome.skipped.push(SkippedParticipant {
                participant_id: *id,
                why: "not current".into(),
            });
        }
    }
    for pairing in current {
        if places == 0 {
            outcome.skipped.push(SkippedParticipant {
                participant_id: pairing.participant_id,
                why: "target at capacity".into(),
            });
            continue;
        }
        let moved = move_one(conn, scope, &pairing, request).await?;
        outcome.moved.push(moved);
        places -= 1;
    }
    Ok(outcome)
}

/// Locks both coaches in id order, so opposite reassignments cannot deadlock, and returns the
/// target's profile.
async fn lock_coaches(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    from: Uuid,
    to: Uuid,
) -> AppResult<coach_profiles::CoachProfile> {
    let mut target = None;
    for coach in [from.min(to), from.max(to)] {
        let (profile, active) = coach_profiles::lock(conn, scope.organization_id, coach)
            .await?
            .ok_or(AppError::NotFound)?;
        // The previous coach may have left; the new one must be able to take people on.
        if coach == to {
            target = active.then_some(profile);
        }
    }
    target.ok_or(AppError::NotFound)
}

async fn move_one(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    pairing: &Pairing,
    request: &Reassignment<'_>,
) -> AppResult<MovedParticipant> {
    let reason = Some(request.reason);
    move_pairing(conn, scope, pairing, PairingStatus::Ended, reason).await?;
    let new = pairings::insert(
        conn,
        scope.organization_id,
        pairing.participant_id,
        request.to_coach_id,
        pairing.status,
        scope.user_id,
    )
    .await?;
    let change = Change {
        subject_id: new.id,
        from: None,
        to: pairing.status,
        reason,
        actor_id: scope.user_id,
    };
    PAIRING.record(conn, change).await?;
    Ok(MovedParticipant {
        participant_id: pairing.participant_id,
        from_pairing_id: pairing.id,
        to_pairing_id: new.id,
    })
}
