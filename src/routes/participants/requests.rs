//! What clients send to the participant operations, and the rules it must meet.

use chrono::{NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::participants::{NewParticipant, ParticipantChanges, ParticipantStatus};
use crate::db::scope::Scope;
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::{normalize_email, nullable, Checks};

/// A new participant. When a coach creates one, they are paired with that coach at once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateParticipantRequest {
    #[schema(value_type = limits::PersonName)]
    pub first_name: String,
    #[schema(value_type = limits::PersonName)]
    pub last_name: String,
    /// The name they go by, when it is not their first name.
    #[schema(value_type = Option<limits::PersonName>)]
    pub preferred_name: Option<String>,
    #[schema(value_type = Option<limits::Pronouns>)]
    pub pronouns: Option<String>,
    /// Not in the future.
    pub date_of_birth: Option<NaiveDate>,
    #[schema(value_type = Option<limits::Email>)]
    pub email: Option<String>,
    #[schema(value_type = Option<limits::Phone>)]
    pub phone: Option<String>,
    #[schema(value_type = Option<limits::LanguageTag>)]
    pub preferred_language: Option<String>,
    /// e.g. `twelve_step`, `smart_recovery`, `moud`, `faith_based`, `harm_reduction`,
    /// `natural`.
    #[serde(default)]
    #[schema(value_type = limits::Tags)]
    pub recovery_pathways: Vec<String>,
    /// e.g. `opioids`, `alcohol`, `homelessness`, `incarceration`, `parenting`, `housing`.
    #[serde(default)]
    #[schema(value_type = limits::Tags)]
    pub needs: Vec<String>,
    /// Not in the future.
    pub intake_date: Option<NaiveDate>,
}

/// Changes to a participant; omitted fields stay, `null` clears an optional field.
/// Status changes go through `POST /participants/{id}/status`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateParticipantRequest {
    #[schema(value_type = Option<limits::PersonName>)]
    pub first_name: Option<String>,
    #[schema(value_type = Option<limits::PersonName>)]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::PersonName>)]
    pub preferred_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Pronouns>)]
    pub pronouns: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub date_of_birth: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Email>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Phone>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::LanguageTag>)]
    pub preferred_language: Option<Option<String>>,
    #[schema(value_type = Option<limits::Tags>)]
    pub recovery_pathways: Option<Vec<String>>,
    #[schema(value_type = Option<limits::Tags>)]
    pub needs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<NaiveDate>)]
    pub intake_date: Option<Option<NaiveDate>>,
}

/// A status change with its reason.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantStatusRequest {
    /// `active`, `inactive` or `discharged`.
    pub status: ParticipantStatus,
    /// Why.
    #[schema(value_type = limits::Reason)]
    pub reason: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParticipantsQuery {
    /// Matches first, last or preferred name, ignoring case and accents.
    #[param(value_type = Option<limits::Search>, inline)]
    pub q: Option<String>,
    pub status: Option<ParticipantStatus>,
    /// `true`: only participants with no current pairing (the supervisors' queue).
    pub unassigned: Option<bool>,
    /// Only participants currently paired with this coach.
    pub coach_id: Option<Uuid>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

fn check_details(
    checks: &mut Checks,
    preferred_name: Option<&str>,
    pronouns: Option<&str>,
    email: Option<&str>,
    phone: Option<&str>,
    language: Option<&str>,
) {
    checks.optional_text("preferred_name", preferred_name, limits::PERSON_NAME);
    checks.optional_text("pronouns", pronouns, limits::PRONOUNS);
    if let Some(email) = email {
        checks.email("email", email);
    }
    if let Some(phone) = phone {
        checks.phone("phone", phone);
    }
    if let Some(language) = language {
        checks.language("preferred_language", language);
    }
}

fn check_dates(checks: &mut Checks, birth: Option<NaiveDate>, intake: Option<NaiveDate>) {
    if let Some(date) = birth {
        checks.past_date("date_of_birth", date);
    }
    if let Some(date) = intake {
        checks.past_date("intake_date", date);
    }
}

pub(super) fn validate_create(body: &CreateParticipantRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("first_name", &body.first_name, limits::PERSON_NAME);
    checks.text("last_name", &body.last_name, limits::PERSON_NAME);
    check_details(
        &mut checks,
        body.preferred_name.as_deref(),
        body.pronouns.as_deref(),
        body.email.as_deref(),
        body.phone.as_deref(),
        body.preferred_language.as_deref(),
    );
    check_dates(&mut checks, body.date_of_birth, body.intake_date);
    checks.tags("recovery_pathways", &body.recovery_pathways);
    checks.tags("needs", &body.needs);
    checks.finish()
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_owned())
}

pub(super) fn new_participant(scope: Scope, body: &CreateParticipantRequest) -> NewParticipant {
    NewParticipant {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        first_name: body.first_name.trim().to_owned(),
        last_name: body.last_name.trim().to_owned(),
        preferred_name: trimmed(&body.preferred_name),
        pronouns: trimmed(&body.pronouns),
        date_of_birth: body.date_of_birth,
        email: body.email.as_deref().map(normalize_email),
        phone: trimmed(&body.phone),
        preferred_language: trimmed(&body.preferred_language),
        recovery_pathways: body.recovery_pathways.clone(),
        needs: body.needs.clone(),
        intake_date: body.intake_date,
        created_by: Some(scope.user_id),
    }
}

pub(super) fn validate_update(body: UpdateParticipantRequest) -> AppResult<ParticipantChanges> {
    let mut checks = Checks::new();
    checks.optional_text(
        "first_name",
        body.first_name.as_deref(),
        limits::PERSON_NAME,
    );
    checks.optional_text("last_name", body.last_name.as_deref(), limits::PERSON_NAME);
    check_details(
        &mut checks,
        body.preferred_name.as_ref().and_then(|v| v.as_deref()),
        body.pronouns.as_ref().and_then(|v| v.as_deref()),
        body.email.as_ref().and_then(|v| v.as_deref()),
        body.phone.as_ref().and_then(|v| v.as_deref()),
        body.preferred_language.as_ref().and_then(|v| v.as_deref()),
    );
    check_dates(
        &mut checks,
        body.date_of_birth.flatten(),
        body.intake_date.flatten(),
    );
    if let Some(tags) = &body.recovery_pathways {
        checks.tags("recovery_pathways", tags);
    }
    if let Some(tags) = &body.needs {
        checks.tags("needs", tags);
    }
    checks.finish()?;
    let clean = |value: Option<Option<String>>| value.map(|inner| trimmed(&inner));
    Ok(ParticipantChanges {
        first_name: body.first_name.map(|v| v.trim().to_owned()),
        last_name: body.last_name.map(|v| v.trim().to_owned()),
        preferred_name: clean(body.preferred_name),
        pronouns: clean(body.pronouns),
        date_of_birth: body.date_of_birth,
        email: body
            .email
            .map(|inner| inner.as_deref().map(normalize_email)),
        phone: clean(body.phone),
        preferred_language: clean(body.preferred_language),
        recovery_pathways: body.recovery_pathways,
        needs: body.needs,
        intake_date: body.intake_date,
        updated_at: Some(Utc::now()),
        ..ParticipantChanges::default()
    })
}
