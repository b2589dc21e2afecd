//! The closed loop of a referral: who may move it, what sending it needs (a consent when a
//! client receives it), and what every move leaves behind besides its history (disclosures,
//! webhook events). Responses as each caller may see them are in [`view`].

pub mod inbound;
pub mod view;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db::models::consents::{self, Consent};
use crate::db::models::referrals::send::Sending;
use crate::db::models::referrals::{
    self, Direction, Referral, ReferralOutcome, ReferralResource, ReferralStatus,
};
use crate::db::models::resources::ResourceStatus;
use crate::db::models::users::Role;
use crate::db::models::webhook_events::{self, EventType};
use crate::db::scope::{visible_participant, Scope, Viewer};
use crate::domain::lifecycle::{self, Change, Side, REFERRAL};
use crate::http::error::{AppError, AppResult, ProblemType};
use crate::http::validation::Checks;

/// A requested move: the new status, why, and how it ended.
pub struct Move<'a> {
    pub to: ReferralStatus,
    pub reason: Option<&'a str>,
    pub outcome: Option<ReferralOutcome>,
}

/// The moves that need a `reason` (also stated in the document).
pub const REASON_REQUIRED: &[ReferralStatus] = &[
    ReferralStatus::Rejected,
    ReferralStatus::Cancelled,
    ReferralStatus::OnHold,
    ReferralStatus::Failed,
];
/// The moves that need an `outcome`; every other move refuses one.
pub const OUTCOME_REQUIRED: &[ReferralStatus] =
    &[ReferralStatus::Completed, ReferralStatus::Failed];

impl Move<'_> {
    /// 422 for a missing reason or outcome, or an outcome on a status that has none, naming
    /// the request's fields for them.
    pub fn check(&self, reason_field: &str, outcome_field: &str) -> AppResult<()> {
        let mut checks = Checks::new();
        let needs_reason = REASON_REQUIRED.contains(&self.to);
        checks.reason(reason_field, self.reason, needs_reason);
        let needs_outcome = OUTCOME_REQUIRED.contains(&self.to);
        match self.outcome {
            None if needs_outcome => checks.add(outcome_field, "is required for this status"),
            Some(_) if !needs_outcome => {
                checks.add(outcome_field, "is only given with `completed` or `failed`")
            }
            _ => {}
        }
        checks.finish()
    }
}

/// Who acts and for which request: the actor's id (a user's or a client's row id) and the
/// request id that disclosures record.
#[derive(Clone, Copy)]
pub struct Acting<'a> {
    pub viewer: Viewer,
    pub request_id: &'a str,
}

impl Acting<'_> {
    pub fn actor_id(&self) -> Uuid {
        match self.viewer {
            Viewer::User(scope) => scope.user_id,
            Viewer::Client(client) => client.client_id,
        }
    }

    fn client_id(&self) -> Option<Uuid> {
        match self.viewer {
            Viewer::Client(client) => Some(client.client_id),
            Viewer::User(_) => None,
        }
    }
}

/// The sides of `referral` that `viewer` (who can see it) stands on; `linked` are the
/// clients linked to its resource.
pub fn sides(viewer: Viewer, referral: &Referral, linked: &[Uuid]) -> Vec<Side> {
    match (viewer, referral.direction) {
        (Viewer::User(scope), Direction::Outbound) => {
            let mut sides = vec![Side::Sender];
            if linked.is_empty() && scope.role != Role::Participant {
                sides.push(Side::Receiver);
            }
            sides
        }
        (Viewer::User(scope), Direction::Inbound) if scope.role != Role::Participant => {
            vec![Side::Receiver]
        }
        (Viewer::User(_), Direction::Inbound) => Vec::new(),
        (Viewer::Client(client), Direction::Outbound) if linked.contains(&client.client_id) => {
            vec![Side::Receiver]
        }
        (Viewer::Client(client), Direction::Inbound)
            if referral.source_client_id == Some(client.client_id) =>
        {
            vec![Side::Sender]
        }
        (Viewer::Client(_), _) => Vec::new(),
    }
}

/// The clients linked to the referral's resource (none for inbound referrals).
pub async fn receivers(conn: &mut AsyncPgConnection, referral: &Referral) -> AppResult<Vec<Uuid>> {
    match (referral.direction, referral.resource_id) {
        (Direction::Outbound, Some(resource_id)) => {
            Ok(referrals::linked_clients(conn, resource_id).await?)
        }
        _ => Ok(Vec::new()),
    }
}

/// The resource a referral goes to: 422 when it is not in the organization's directory, 409
/// when it does not take referrals now.
pub async fn open_resource(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    resource_id: Uuid,
) -> AppResult<ReferralResource> {
    let resource = referrals::find_resource(conn, organization_id, resource_id)
        .await?
        .ok_or_else(|| {
            AppError::invalid("resource_id", "is not a resource of this organization")
        })?;
    let out_of_service = matches!(
        resource.status,
        ResourceStatus::Inactive | ResourceStatus::Defunct
    );
    if !resource.accepts_referrals || out_of_service {
        return Err(AppError::conflict(
            ProblemType::ResourceNotAcceptingReferrals,
            format!(
                "The resource is `{}` and {} referrals.",
                resource.status,
                if resource.accepts_referrals {
                    "takes"
                } else {
                    "does not take"
                }
            ),
        ));
    }
    Ok(resource)
}

/// Why a referral `sending` describes was not written: 404 when `scope` cannot see the
/// participant, 422 or 409 for the resource (see [`open_resource`]), 422 or 409 for a given
/// consent (see [`active_consent`]), and otherwise, when it was sent, 409 `consent-required`.
pub async fn why_not_made(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    sending: &Sending<'_>,
    sent: bool,
) -> AppError {
    let found = async {
        visible_participant(conn, scope, sending.participant_id).await?;
        open_resource(conn, sending.organization_id, sending.resource_id).await?;
        if let Some(id) = sending.given_consent {
            active_consent(conn, sending.participant_id, id).await?;
        }
        AppResult::Ok(())
    };
    match found.await {
        Err(error) => error,
        Ok(()) if sent => consent_required(),
        Ok(()) => AppError::Internal("a referral passed every check and was not written".into()),
    }
}

/// 409 `consent-required`: no consent that sending needs.
fn consent_required() -> AppError {
    AppError::conflict(
        ProblemType::ConsentRequired,
        "Sending this referral needs an active consent of the participant that names its \
         recipient (the receiving clinic, or the resource when the clinic was linked to it \
         before the consent was signed) and covers referral details.",
    )
}

/// The participant's consent `id`: 422 when it is not theirs, 409 `consent-required` when it
/// is revoked or expired (the contract gives a send under it the same type as a send under
/// none).
pub async fn active_consent(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    id: Uuid,
) -> AppResult<Consent> {
    let consent = referrals::participant_consent(conn, participant_id, id)
        .await?
        .ok_or_else(|| AppError::invalid("consent_id", "is not a consent of this participant"))?;
    match consent.state_at(Utc::now()) {
        consents::ConsentState::Active => Ok(consent),
        state => Err(AppError::conflict(
            ProblemType::ConsentRequired,
            format!("The consent is {state}; a referral cannot be sent under it."),
        )),
    }
}

/// Moves a referral `acting.viewer` can see (404 otherwise): 409 when the machine does not
/// allow the move (naming the allowed next statuses), 403 when the caller's side may not make
/// it. Sending checks the consent and records the disclosure; every later change is announced
/// to the clients that hear about the referral, except the one making it.
pub async fn change_status(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    id: Uuid,
    change: &Move<'_>,
) -> AppResult<Referral> {
    let current = referrals::lock_visible(conn, acting.viewer, id).await?;
    let linked = receivers(conn, &current).await?;
    REFERRAL.check(current.status, change.to)?;
    if !sides(acting.viewer, &current, &linked).contains(&lifecycle::referral_mover(change.to)) {
        return Err(AppError::Forbidden);
    }
    let consent_id = match change.to {
        ReferralStatus::Requested => Some(send_draft(conn, acting, &current).await?),
        _ => None,
    };
    record_move(conn, acting, &current, change).await?;
    let updated = referrals::set_status(
        conn,
        &current,
        change.to,
        change.outcome,
        consent_id.flatten(),
    )
    .await?;
    if consent_id.is_none() {
        announce_change(conn, acting, &updated, &linked).await?;
    }
    Ok(updated)
}

/// Sends draft `current`: checks its resource and consent, writes its disclosures and
/// `referral.created` to its receivers, and answers the consent it went under.
async fn send_draft(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    current: &Referral,
) -> AppResult<Option<Uuid>> {
    // Only drafts are sent, and only outbound referrals start as drafts; those always name a
    // resource (the table's CHECK), so a missing one is a broken row, not a bad request.
    let resource_id = current.resource_id.ok_or_else(|| {
        AppError::Internal(format!(
            "referral {} is sent but names no resource",
            current.id
        ))
    })?;
    open_resource(conn, current.organization_id, resource_id).await?;
    if let Some(id) = current.consent_id {
        active_consent(conn, current.participant_id, id).await?;
    }
    let sending = Sending {
        organization_id: current.organization_id,
        participant_id: current.participant_id,
        resource_id,
        given_consent: current.consent_id,
        urgency: current.urgency.as_str(),
        request_id: acting.request_id,
        at: Utc::now(),
    };
    let (consented, consent_id) = referrals::send_draft(conn, current.id, &sending).await?;
    match consented {
        true => Ok(consent_id),
        false => Err(consent_required()),
    }
}

async fn record_move(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    current: &Referral,
    change: &Move<'_>,
) -> AppResult<()> {
    let record = Change {
        subject_id: current.id,
        from: Some(current.status),
        to: change.to,
        reason: change.reason,
        actor_id: acting.actor_id(),
    };
    REFERRAL.record(conn, record).await
}

/// `referral.status_changed` to the receivers of a sent referral and to an inbound one's
/// source, leaving out the client that made the change.
async fn announce_change(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    referral: &Referral,
    linked: &[Uuid],
) -> AppResult<()> {
    let mut clients: Vec<Uuid> = if referral.sent_at.is_some() {
        linked.to_vec()
    } else {
        Vec::new()
    };
    clients.extend(referral.source_client_id);
    clients.retain(|client| Some(*client) != acting.client_id());
    clients.dedup();
    let data = json!({"referral_id": referral.id});
    webhook_events::publish(
        conn,
        referral.organization_id,
        &clients,
        EventType::ReferralStatusChanged,
        &data,
    )
    .await?;
    Ok(())
}
