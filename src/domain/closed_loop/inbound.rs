//! Inbound referrals: a clinic refers a patient to the organization. The patient becomes an
//! unassigned participant (so supervisors find them in their queue) with a referral in
//! `requested`; the clinic's own id of the referral (`external_id`) makes a repeat, even a
//! concurrent one, create nothing new. Both `POST /inbound-referrals` and a FHIR transaction
//! bundle come here.

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::models::participant_identifiers::{self, ClientIdentifier};
use crate::db::models::participants::{self, NewParticipant};
use crate::db::models::referrals::{self, Direction, NewReferral, ReferralStatus, Urgency};
use crate::db::scope::ClientScope;
use crate::domain::lifecycle::{Change, REFERRAL};
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::Checks;

/// The patient referred, as the referring system knows them (trimmed).
pub struct Patient<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub date_of_birth: Option<NaiveDate>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub preferred_language: Option<&'a str>,
    /// The clinic's own identifiers of the patient: `(type code, system, value)`.
    pub identifiers: Vec<(Option<&'a str>, Option<&'a str>, &'a str)>,
}

/// A referral of a patient to the organization.
pub struct Inbound<'a> {
    pub external_id: &'a str,
    pub patient: Patient<'a>,
    pub reason: &'a str,
    pub referring_provider: &'a str,
    pub urgency: Urgency,
}

/// What each part of an [`Inbound`] is called in the request it came in, for error messages.
pub struct FieldNames {
    pub external_id: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub date_of_birth: &'static str,
    pub phone: &'static str,
    pub email: &'static str,
    pub preferred_language: &'static str,
    pub identifier: &'static str,
    pub reason: &'static str,
    pub referring_provider: &'static str,
}

impl Inbound<'_> {
    /// 422 naming every part that breaks a limit.
    pub fn check(&self, names: &FieldNames) -> AppResult<()> {
        let mut checks = Checks::new();
        checks.text(names.external_id, self.external_id, limits::EXTERNAL_ID);
        let patient = &self.patient;
        checks.text(names.first_name, patient.first_name, limits::PERSON_NAME);
        checks.text(names.last_name, patient.last_name, limits::PERSON_NAME);
        if let Some(date) = patient.date_of_birth {
            checks.past_date(names.date_of_birth, date);
        }
        if let Some(phone) = patient.phone {
            checks.phone(names.phone, phone);
        }
        if let Some(email) = patient.email {
            checks.email(names.email, email);
        }
        if let Some(language) = patient.preferred_language {
            checks.language(names.preferred_language, language);
        }
        for (kind, system, value) in &patient.identifiers {
            checks.text(names.identifier, value, limits::EXTERNAL_ID);
            if let Some(system) = system {
                checks.text(names.identifier, system, limits::IDENTIFIER_SYSTEM);
            }
            if let Some(kind) = kind {
                checks.text(names.identifier, kind, limits::IDENTIFIER_TYPE);
            }
        }
        checks.text(names.reason, self.reason, limits::REFERRAL_REASON);
        let provider = self.referring_provider;
        checks.text(
            names.referring_provider,
            provider,
            limits::REFERRING_PROVIDER,
        );
        checks.finish()
    }
}

/// The referral an inbound referral made: new, or made the first time its `external_id` came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    New(Uuid),
    Repeated(Uuid),
}

impl Received {
    pub fn id(self) -> Uuid {
        match self {
            Self::New(id) | Self::Repeated(id) => id,
        }
    }
}

/// Makes the referral, or finds the one its `external_id` made before: concurrent sends of one
/// id wait for each other, so only one makes it.
pub async fn receive(
    conn: &mut AsyncPgConnection,
    client: ClientScope,
    inbound: &Inbound<'_>,
) -> AppResult<Received> {
    referrals::lock_external_id(conn, client.client_id, inbound.external_id).await?;
    match referrals::find_external(conn, client.client_id, inbound.external_id).await? {
        Some(earlier) => Ok(Received::Repeated(earlier.id)),
        None => make(conn, client, inbound).await.map(Received::New),
    }
}

/// The unassigned participant, the identifiers the clinic gave, and the referral, `requested`.
async fn make(
    conn: &mut AsyncPgConnection,
    client: ClientScope,
    inbound: &Inbound<'_>,
) -> AppResult<Uuid> {
    let patient = &inbound.patient;
    let owned = |value: Option<&str>| value.map(str::to_owned);
    let participant = participants::insert(
        conn,
        &NewParticipant {
            id: Uuid::now_v7(),
            organization_id: client.organization_id,
            first_name: patient.first_name.to_owned(),
            last_name: patient.last_name.to_owned(),
            preferred_name: None,
            pronouns: None,
            date_of_birth: patient.date_of_birth,
            email: owned(patient.email),
            phone: owned(patient.phone),
            preferred_language: owned(patient.preferred_language),
            recovery_pathways: Vec::new(),
            needs: Vec::new(),
            intake_date: None,
            created_by: None,
        },
    )
    .await?;
    let identifiers: Vec<ClientIdentifier> = patient
        .identifiers
        .iter()
        .map(|(kind, system, value)| ClientIdentifier {
            id: Uuid::now_v7(),
            organization_id: client.organization_id,
            participant_id: participant.id,
            client_id: client.client_id,
            type_code: owned(*kind),
            system: owned(*system),
            value: (*value).to_owned(),
        })
        .collect();
    participant_identifiers::insert(conn, &identifiers).await?;
    let referral = referrals::insert(
        conn,
        &NewReferral {
            id: Uuid::now_v7(),
            organization_id: client.organization_id,
            participant_id: participant.id,
            resource_id: None,
            direction: Direction::Inbound,
            source_client_id: Some(client.client_id),
            external_id: Some(inbound.external_id.to_owned()),
            referring_provider: Some(inbound.referring_provider.to_owned()),
            reason: inbound.reason.to_owned(),
            urgency: inbound.urgency,
            status: ReferralStatus::Requested,
            consent_id: None,
            created_by: None,
            sent_at: Some(chrono::Utc::now()),
        },
    )
    .await?;
    let first = Change {
        subject_id: referral.id,
        from: None,
        to: ReferralStatus::Requested,
        reason: None,
        actor_id: client.client_id,
    };
    REFERRAL.record(conn, first).await?;
    Ok(referral.id)
}
