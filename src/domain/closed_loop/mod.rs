//! The closed loop of a referral: who may move it, what sending it needs (a consent when a
//! client receives it), and what every move leaves behind besides its history (disclosures,
//! webhook events). Responses as each caller may see them are in [`view`].

pub mod view;

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db::models::consents::{self, Consent, InformationCategory, Recipient};
use crate::db::models::disclosures::{self, NewDisclosure};
use crate::db::models::referrals::{
    self, Direction, Referral, ReferralOutcome, ReferralResource, ReferralStatus,
};
use crate::db::models::resources::ResourceStatus;
use crate::db::models::users::Role;
use crate::db::models::webhook_events::{self, EventType};
use crate::db::scope::Viewer;
use crate::domain::lifecycle::{self, Change, Side, REFERRAL};
use crate::http::error::{AppError, AppResult, ProblemType};

/// A requested move: the new status, why, and how it ended.
pub struct Move<'a> {
    pub to: ReferralStatus,
    pub reason: Option<&'a str>,
    pub outcome: Option<ReferralOutcome>,
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

/// The consent a referral to `resource` is sent under. Every client linked to the resource
/// must be named by an active consent covering referral details (the given one, or else the
/// most recent such consent): 409 `consent-required` otherwise. For a resource with no
/// client, the given consent, or else any active one naming the resource, or none.
pub async fn sending_consent(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    resource_id: Uuid,
    linked: &[Uuid],
    given: Option<Uuid>,
) -> AppResult<Option<Consent>> {
    let given = match given {
        Some(id) => Some(active_consent(conn, participant_id, id).await?),
        None => None,
    };
    let category = InformationCategory::ReferralDetails;
    if linked.is_empty() {
        if given.is_some() {
            return Ok(given);
        }
        let recipient = Recipient {
            client_id: None,
            resource_id: Some(resource_id),
        };
        return Ok(consents::find_active(conn, participant_id, recipient, category).await?);
    }
    let mut used = None;
    for &client_id in linked {
        let recipient = Recipient {
            client_id: Some(client_id),
            resource_id: Some(resource_id),
        };
        let found = match &given {
            Some(consent) => names(consent, recipient)
                .then(|| consent.clone())
                .filter(|c| c.covers(category)),
            None => consents::find_active(conn, participant_id, recipient, category).await?,
        };
        let found = found.ok_or_else(|| {
            AppError::conflict(
                ProblemType::ConsentRequired,
                "Sending this referral needs an active consent of the participant that \
                     names the receiving clinic or the resource and covers referral details.",
            )
        })?;
        used.get_or_insert(found);
    }
    Ok(used)
}

fn names(consent: &Consent, recipient: Recipient) -> bool {
    (recipient.client_id.is_some() && consent.recipient_client_id == recipient.client_id)
        || (recipient.resource_id.is_some()
            && consent.recipient_resource_id == recipient.resource_id)
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

/// What sending a referral leaves behind: a disclosure per receiver (or one to the resource
/// when no client is linked and a consent was used) and `referral.created` to the receivers.
pub async fn announce_sent(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    referral: &Referral,
    resource: &ReferralResource,
    linked: &[Uuid],
    consent: Option<&Consent>,
) -> AppResult<()> {
    if let Some(consent) = consent {
        let mut categories = vec![InformationCategory::ReferralDetails.as_str().to_owned()];
        if consent.covers(InformationCategory::Demographics) {
            categories.push(InformationCategory::Demographics.as_str().to_owned());
        }
        let recipients: Vec<Option<Uuid>> = if linked.is_empty() {
            vec![None]
        } else {
            linked.iter().copied().map(Some).collect()
        };
        for client_id in recipients {
            let new = NewDisclosure {
                organization_id: referral.organization_id,
                participant_id: referral.participant_id,
                recipient_client_id: client_id,
                recipient_resource_id: Some(resource.id),
                recipient_name: format!("{} ({})", resource.name, resource.organization_name),
                recipient_address: resource.address(),
                information_categories: categories.clone(),
                description: format!(
                    "Referral sent: the participant's name with the reason and urgency ({})",
                    referral.urgency
                ),
                purpose: consent.purpose.clone(),
                consent_id: Some(consent.id),
                referral_id: Some(referral.id),
                request_id: Some(acting.request_id.to_owned()),
            };
            disclosures::record(conn, new).await?;
        }
    }
    let data = json!({"referral_id": referral.id, "status": referral.status});
    webhook_events::publish(
        conn,
        referral.organization_id,
        linked,
        EventType::ReferralCreated,
        &data,
    )
    .await?;
    Ok(())
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
    let consent = if change.to == ReferralStatus::Requested {
        // Only drafts are sent, and only outbound referrals start as drafts; those always name
        // a resource (the table's CHECK), so a missing one is a broken row, not a bad request.
        let resource_id = current.resource_id.ok_or_else(|| {
            AppError::Internal(format!(
                "referral {} is sent but names no resource",
                current.id
            ))
        })?;
        let resource = open_resource(conn, current.organization_id, resource_id).await?;
        let consent = sending_consent(
            conn,
            current.participant_id,
            resource.id,
            &linked,
            current.consent_id,
        )
        .await?;
        Some((resource, consent))
    } else {
        None
    };
    record_move(conn, acting, &current, change).await?;
    let consent_id = consent.as_ref().and_then(|(_, c)| c.as_ref().map(|c| c.id));
    let updated =
        referrals::set_status(conn, &current, change.to, change.outcome, consent_id).await?;
    match &consent {
        Some((resource, consent)) => {
            announce_sent(conn, acting, &updated, resource, &linked, consent.as_ref()).await?
        }
        None => announce_change(conn, acting, &updated, &linked).await?,
    }
    Ok(updated)
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
    let data = json!({"referral_id": referral.id, "status": referral.status});
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
