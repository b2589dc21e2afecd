//! Referrals as each caller may see them. Users in scope see the participant; an integration
//! client sees the participant's minimal demographics only while an active consent naming it
//! (or the referral's resource) covers `demographics`, and every such showing is recorded as
//! a disclosure and answered with the redisclosure notice and the consent id.

use std::collections::HashMap;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::HttpResponse;
use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::Acting;
use crate::db::models::consents::{self, Consent, InformationCategory, Recipient};
use crate::db::models::disclosures::{self, NewDisclosure};
use crate::db::models::referrals::{
    self, Demographics, Direction, Referral, ReferralOutcome, ReferralStatus, Urgency,
};
use crate::db::scope::Viewer;
use crate::domain::lifecycle::{self, HistoryEntry};
use crate::domain::part2::REDISCLOSURE_NOTICE;
use crate::http::error::AppResult;

/// The participant's minimal demographics.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantDetails {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<String>,
    pub preferred_language: Option<String>,
}

impl From<Demographics> for ParticipantDetails {
    fn from(d: Demographics) -> Self {
        Self {
            first_name: d.first_name,
            last_name: d.last_name,
            date_of_birth: d.date_of_birth,
            phone: d.phone,
            preferred_language: d.preferred_language,
        }
    }
}

/// A referral as listed (without its history).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralSummary {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    /// The resource referred to; `null` for an inbound referral.
    pub resource_id: Option<Uuid>,
    pub direction: Direction,
    /// The integration client that made an inbound referral.
    pub source_client_id: Option<Uuid>,
    /// The referring system's own id of an inbound referral.
    pub external_id: Option<String>,
    pub referring_provider: Option<String>,
    pub reason: String,
    pub urgency: Urgency,
    pub status: ReferralStatus,
    /// How it ended, once `completed` or `failed`.
    pub outcome: Option<ReferralOutcome>,
    /// The consent it was sent under.
    pub consent_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it first became `requested`.
    pub sent_at: Option<DateTime<Utc>>,
    /// The participant's minimal demographics; `null` to an integration client without an
    /// active consent covering them.
    pub participant: Option<ParticipantDetails>,
    /// `true` when `participant` is withheld for want of an active consent.
    pub participant_redacted: bool,
}

/// Who made a change.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActorType {
    User,
    Client,
}

/// One status change of a referral.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralHistoryEntry {
    /// The status before; `null` for the first entry.
    pub from: Option<ReferralStatus>,
    pub to: ReferralStatus,
    pub reason: Option<String>,
    /// A user's id, or an integration client's id (`actor_type` says which).
    pub actor_id: Option<Uuid>,
    pub actor_type: ActorType,
    pub at: DateTime<Utc>,
}

/// A referral with its status history, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralResponse {
    #[serde(flatten)]
    pub referral: ReferralSummary,
    pub history: Vec<ReferralHistoryEntry>,
}

/// What a response shows: the referrals, and the consents under which participant data went
/// to a client (empty for users).
pub struct Shown<T> {
    pub body: T,
    pub consent_ids: Vec<Uuid>,
}

impl<T: Serialize> Shown<T> {
    /// 200 with `ETag`, and the redisclosure headers when data went to a client.
    pub fn ok(&self) -> HttpResponse {
        let mut response = crate::http::ok(&self.body);
        disclosure_headers(&mut response, &self.consent_ids);
        response
    }
}

/// `X-Redisclosure-Notice` and `X-Consent-Id` (comma-separated) when `consent_ids` is not empty.
pub fn disclosure_headers(response: &mut HttpResponse, consent_ids: &[Uuid]) {
    if consent_ids.is_empty() {
        return;
    }
    let ids: Vec<String> = consent_ids.iter().map(Uuid::to_string).collect();
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-redisclosure-notice"),
        HeaderValue::from_static(REDISCLOSURE_NOTICE),
    );
    if let Ok(value) = HeaderValue::from_str(&ids.join(", ")) {
        headers.insert(HeaderName::from_static("x-consent-id"), value);
    }
}

/// The referrals of `rows` as `acting` may see them.
pub async fn summaries(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    rows: Vec<Referral>,
) -> AppResult<Shown<Vec<ReferralSummary>>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.participant_id).collect();
    let people: HashMap<Uuid, Demographics> = referrals::demographics(conn, &ids)
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    let mut consent_ids = Vec::new();
    let mut disclosed = Vec::new();
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let consent = match acting.viewer {
            Viewer::User(_) => None,
            Viewer::Client(client) => {
                Some(demographics_consent(conn, client.client_id, &row).await?)
            }
        };
        let shown = match &consent {
            None => people.get(&row.participant_id).cloned(),
            Some(None) => None,
            Some(Some(consent)) => {
                if !disclosed.contains(&row.participant_id) {
                    disclose(conn, acting, &row, consent).await?;
                    disclosed.push(row.participant_id);
                }
                if !consent_ids.contains(&consent.id) {
                    consent_ids.push(consent.id);
                }
                people.get(&row.participant_id).cloned()
            }
        };
        items.push(summary(row, shown.map(ParticipantDetails::from)));
    }
    Ok(Shown {
        body: items,
        consent_ids,
    })
}

/// One referral, with its history, as `acting` may see it.
pub async fn full(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    referral: Referral,
) -> AppResult<Shown<ReferralResponse>> {
    let id = referral.id;
    let shown = summaries(conn, acting, vec![referral]).await?;
    let history = history(conn, id).await?;
    let referral = shown.body.into_iter().next();
    Ok(Shown {
        body: ReferralResponse {
            referral: referral.ok_or(crate::http::error::AppError::NotFound)?,
            history,
        },
        consent_ids: shown.consent_ids,
    })
}

async fn history(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Vec<ReferralHistoryEntry>> {
    let entries = lifecycle::history::<ReferralStatus>(conn, id).await?;
    let actors: Vec<Uuid> = entries.iter().filter_map(|e| e.actor_id).collect();
    let clients = referrals::clients_among(conn, &actors).await?;
    Ok(entries
        .into_iter()
        .map(|e| ReferralHistoryEntry {
            actor_type: match e.actor_id {
                Some(actor) if clients.contains(&actor) => ActorType::Client,
                _ => ActorType::User,
            },
            from: e.from,
            to: e.to,
            reason: e.reason,
            actor_id: e.actor_id,
            at: e.at,
        })
        .collect())
}

/// The active consent under which `client_id` may see the participant of `referral`.
async fn demographics_consent(
    conn: &mut AsyncPgConnection,
    client_id: Uuid,
    referral: &Referral,
) -> AppResult<Option<Consent>> {
    let recipient = Recipient {
        client_id: Some(client_id),
        resource_id: referral.resource_id,
    };
    let category = InformationCategory::Demographics;
    Ok(consents::find_active(conn, referral.participant_id, recipient, category).await?)
}

async fn disclose(
    conn: &mut AsyncPgConnection,
    acting: Acting<'_>,
    referral: &Referral,
    consent: &Consent,
) -> AppResult<()> {
    let client_id = acting.actor_id();
    let new = NewDisclosure {
        organization_id: referral.organization_id,
        participant_id: referral.participant_id,
        recipient_client_id: Some(client_id),
        recipient_resource_id: referral.resource_id,
        recipient_name: referrals::client_name(conn, client_id).await?,
        recipient_address: None,
        information_categories: vec![InformationCategory::Demographics.as_str().to_owned()],
        description: "Participant's name, date of birth, phone and preferred language, \
                      read with a referral"
            .into(),
        purpose: consent.purpose.clone(),
        consent_id: Some(consent.id),
        referral_id: Some(referral.id),
        request_id: Some(acting.request_id.to_owned()),
    };
    disclosures::record(conn, new).await?;
    Ok(())
}

/// A referral a user just made, as [`full`] would read it: the participant's details (a user
/// in scope sees them), and its one status so far.
pub fn made_by_user(
    referral: Referral,
    participant: Demographics,
    first: HistoryEntry<ReferralStatus>,
) -> ReferralResponse {
    ReferralResponse {
        referral: summary(referral, Some(participant.into())),
        history: vec![ReferralHistoryEntry {
            actor_type: ActorType::User,
            from: first.from,
            to: first.to,
            reason: first.reason,
            actor_id: first.actor_id,
            at: first.at,
        }],
    }
}

fn summary(r: Referral, participant: Option<ParticipantDetails>) -> ReferralSummary {
    ReferralSummary {
        participant_redacted: participant.is_none(),
        participant,
        id: r.id,
        organization_id: r.organization_id,
        participant_id: r.participant_id,
        resource_id: r.resource_id,
        direction: r.direction,
        source_client_id: r.source_client_id,
        external_id: r.external_id,
        referring_provider: r.referring_provider,
        reason: r.reason,
        urgency: r.urgency,
        status: r.status,
        outcome: r.outcome,
        consent_id: r.consent_id,
        created_by: r.created_by,
        created_at: r.created_at,
        updated_at: r.updated_at,
        sent_at: r.sent_at,
    }
}
