//! What clients send to the directory operations and what they get back, and the rules the
//! bodies must meet.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::resources::{
    NewResource, Resource, ResourceCategory, ResourceChanges, ResourceStatus,
};
use crate::db::scope::Scope;
use crate::http::error::AppResult;
use crate::http::limits;
use crate::http::validation::{normalize_email, nullable, Checks};

/// A new resource in the directory (fields follow Open Referral HSDS 3.0's service).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateResourceRequest {
    /// The service's public name.
    #[schema(value_type = limits::ResourceName)]
    pub name: String,
    /// The organization that runs the service.
    #[schema(value_type = limits::ResourceName)]
    pub organization_name: String,
    /// What the service offers. Defaults to empty.
    #[schema(value_type = Option<limits::ResourceDescription>)]
    pub description: Option<String>,
    /// Defaults to `active`.
    pub status: Option<ResourceStatus>,
    /// What the service offers, by category; each at most once.
    #[serde(default)]
    #[schema(value_type = limits::Categories)]
    pub categories: Vec<ResourceCategory>,
    #[schema(value_type = Option<limits::Email>)]
    pub email: Option<String>,
    #[schema(value_type = Option<limits::Phone>)]
    pub phone: Option<String>,
    #[schema(value_type = Option<limits::Url>)]
    pub url: Option<String>,
    #[schema(value_type = Option<limits::AddressLine>)]
    pub address_1: Option<String>,
    #[schema(value_type = Option<limits::AddressLine>)]
    pub address_2: Option<String>,
    #[schema(value_type = Option<limits::PlaceName>)]
    pub city: Option<String>,
    #[schema(value_type = Option<limits::PlaceName>)]
    pub state_province: Option<String>,
    #[schema(value_type = Option<limits::PostalCode>)]
    pub postal_code: Option<String>,
    #[schema(value_type = Option<limits::Country>)]
    pub country: Option<String>,
    /// Languages the service is offered in (BCP 47 tags such as `en`, `es`).
    #[serde(default)]
    #[schema(value_type = limits::Languages)]
    pub languages: Vec<String>,
    /// Who the service is for.
    #[schema(value_type = Option<limits::ResourceNote>)]
    pub eligibility_description: Option<String>,
    /// When it is open, in words.
    #[schema(value_type = Option<limits::ResourceNote>)]
    pub schedule_description: Option<String>,
    /// Whether it takes referrals. Defaults to `true`.
    pub accepts_referrals: Option<bool>,
    /// When someone last checked these details (not in the future).
    pub verified_at: Option<DateTime<Utc>>,
}

/// Changes to a resource; omitted fields stay, `null` clears an optional field. Lists
/// (`categories`, `languages`) are replaced whole.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateResourceRequest {
    #[schema(value_type = Option<limits::ResourceName>)]
    pub name: Option<String>,
    #[schema(value_type = Option<limits::ResourceName>)]
    pub organization_name: Option<String>,
    #[schema(value_type = Option<limits::ResourceDescription>)]
    pub description: Option<String>,
    pub status: Option<ResourceStatus>,
    #[schema(value_type = Option<limits::Categories>)]
    pub categories: Option<Vec<ResourceCategory>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Email>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Phone>)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Url>)]
    pub url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::AddressLine>)]
    pub address_1: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::AddressLine>)]
    pub address_2: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::PlaceName>)]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::PlaceName>)]
    pub state_province: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::PostalCode>)]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::Country>)]
    pub country: Option<Option<String>>,
    #[schema(value_type = Option<limits::Languages>)]
    pub languages: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::ResourceNote>)]
    pub eligibility_description: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<limits::ResourceNote>)]
    pub schedule_description: Option<Option<String>>,
    pub accepts_referrals: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub verified_at: Option<Option<DateTime<Utc>>>,
}

/// The filters of a directory list; every one is optional and they combine with AND.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListResourcesQuery {
    /// Words to find in the name, the organization's name and the description, ignoring
    /// case and accents; each word matches the start of a word. Results come best match
    /// first (name before organization before description).
    #[param(value_type = Option<limits::Search>, inline)]
    pub q: Option<String>,
    /// Only resources offering this category.
    pub category: Option<ResourceCategory>,
    /// Only resources offered in this language (a tag such as `es`).
    #[param(value_type = Option<limits::LanguageTag>, inline)]
    pub language: Option<String>,
    /// Only resources at this postal code.
    #[param(value_type = Option<limits::PostalCode>, inline)]
    pub postal_code: Option<String>,
    /// Only resources that do (`true`) or do not (`false`) take referrals.
    pub accepts_referrals: Option<bool>,
    /// Page size.
    #[param(value_type = Option<limits::PageSize>, inline)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A resource in the directory.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResourceResponse {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub organization_name: String,
    pub description: String,
    pub status: ResourceStatus,
    pub categories: Vec<ResourceCategory>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub url: Option<String>,
    pub address_1: Option<String>,
    pub address_2: Option<String>,
    pub city: Option<String>,
    pub state_province: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    /// Language tags such as `en` or `es`.
    pub languages: Vec<String>,
    pub eligibility_description: Option<String>,
    pub schedule_description: Option<String>,
    pub accepts_referrals: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Resource> for ResourceResponse {
    fn from(r: Resource) -> Self {
        Self {
            id: r.id,
            organization_id: r.organization_id,
            name: r.name,
            organization_name: r.organization_name,
            description: r.description,
            status: r.status,
            categories: r.categories,
            email: r.email,
            phone: r.phone,
            url: r.url,
            address_1: r.address_1,
            address_2: r.address_2,
            city: r.city,
            state_province: r.state_province,
            postal_code: r.postal_code,
            country: r.country,
            languages: r.languages,
            eligibility_description: r.eligibility_description,
            schedule_description: r.schedule_description,
            accepts_referrals: r.accepts_referrals,
            verified_at: r.verified_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// The optional text fields of a resource, as sent (`None`: absent or `null`).
struct Details<'a> {
    email: Option<&'a str>,
    phone: Option<&'a str>,
    url: Option<&'a str>,
    address_1: Option<&'a str>,
    address_2: Option<&'a str>,
    city: Option<&'a str>,
    state_province: Option<&'a str>,
    postal_code: Option<&'a str>,
    country: Option<&'a str>,
    eligibility_description: Option<&'a str>,
    schedule_description: Option<&'a str>,
}

fn check_details(checks: &mut Checks, d: &Details) {
    if let Some(email) = d.email {
        checks.email("email", email);
    }
    if let Some(phone) = d.phone {
        checks.phone("phone", phone.trim());
    }
    if let Some(url) = d.url {
        if let Err(message) = check_url(url.trim()) {
            checks.add("url", message);
        }
    }
    checks.optional_text("address_1", d.address_1, limits::ADDRESS_LINE);
    checks.optional_text("address_2", d.address_2, limits::ADDRESS_LINE);
    checks.optional_text("city", d.city, limits::PLACE_NAME);
    checks.optional_text("state_province", d.state_province, limits::PLACE_NAME);
    checks.optional_text("postal_code", d.postal_code, limits::POSTAL_CODE);
    if let Some(country) = d.country {
        let country = country.trim();
        if !(country.len() == 2 && country.chars().all(|c| c.is_ascii_alphabetic())) {
            checks.add("country", "must be an ISO 3166-1 alpha-2 code such as `US`");
        }
    }
    let note = limits::RESOURCE_NOTE;
    checks.optional_text("eligibility_description", d.eligibility_description, note);
    checks.optional_text("schedule_description", d.schedule_description, note);
}

/// An absolute `http` or `https` URL with a host, within [`limits::URL`].
fn check_url(url: &str) -> Result<(), String> {
    limits::URL.check(url)?;
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    let plausible = host.is_some_and(|host| !host.is_empty() && !host.starts_with('.'))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if plausible {
        Ok(())
    } else {
        Err("must be an http or https URL".into())
    }
}

fn check_lists(
    checks: &mut Checks,
    categories: Option<&[ResourceCategory]>,
    languages: Option<&[String]>,
) {
    if let Some(categories) = categories {
        checks.count("categories", categories.len(), limits::CATEGORIES);
    }
    if let Some(languages) = languages {
        checks.languages("languages", languages);
    }
}

fn check_verified_at(checks: &mut Checks, verified_at: Option<DateTime<Utc>>) {
    if verified_at.is_some_and(|at| at > Utc::now() + Duration::minutes(5)) {
        checks.add("verified_at", "must not be in the future");
    }
}

/// `en`, `es-MX`, `zh-Hant`: a language tag in its canonical case (BCP 47 section 2.1.1).
pub fn canonical_language(tag: &str) -> String {
    tag.trim()
        .split('-')
        .enumerate()
        .map(|(index, part)| match (index, part.len()) {
            (0, _) => part.to_ascii_lowercase(),
            (_, 2) => part.to_ascii_uppercase(),
            (_, 4) => {
                let lower = part.to_ascii_lowercase();
                lower[..1].to_ascii_uppercase() + &lower[1..]
            }
            _ => part.to_ascii_lowercase(),
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// Each entry once, in the order first given.
fn distinct<T: PartialEq + Clone>(values: &[T]) -> Vec<T> {
    let mut seen = Vec::new();
    for value in values {
        if !seen.contains(value) {
            seen.push(value.clone());
        }
    }
    seen
}

fn languages(values: &[String]) -> Vec<String> {
    distinct(
        &values
            .iter()
            .map(|l| canonical_language(l))
            .collect::<Vec<_>>(),
    )
}

/// The text of a PATCH field that may be absent, `null` or a value.
fn inner(value: &Option<Option<String>>) -> Option<&str> {
    value.as_ref().and_then(|v| v.as_deref())
}

fn trimmed(value: Option<&str>) -> Option<String> {
    value.map(|v| v.trim().to_owned())
}

pub(super) fn validate_create(body: &CreateResourceRequest) -> AppResult<()> {
    let mut checks = Checks::new();
    checks.text("name", &body.name, limits::RESOURCE_NAME);
    checks.text(
        "organization_name",
        &body.organization_name,
        limits::RESOURCE_NAME,
    );
    let description = body.description.as_deref();
    checks.optional_text("description", description, limits::RESOURCE_DESCRIPTION);
    check_details(&mut checks, &create_details(body));
    check_lists(&mut checks, Some(&body.categories), Some(&body.languages));
    check_verified_at(&mut checks, body.verified_at);
    checks.finish()
}

fn create_details(body: &CreateResourceRequest) -> Details<'_> {
    Details {
        email: body.email.as_deref(),
        phone: body.phone.as_deref(),
        url: body.url.as_deref(),
        address_1: body.address_1.as_deref(),
        address_2: body.address_2.as_deref(),
        city: body.city.as_deref(),
        state_province: body.state_province.as_deref(),
        postal_code: body.postal_code.as_deref(),
        country: body.country.as_deref(),
        eligibility_description: body.eligibility_description.as_deref(),
        schedule_description: body.schedule_description.as_deref(),
    }
}

pub(super) fn new_resource(scope: Scope, body: &CreateResourceRequest) -> NewResource {
    let text = |value: &Option<String>| trimmed(value.as_deref());
    NewResource {
        id: Uuid::now_v7(),
        organization_id: scope.organization_id,
        name: body.name.trim().to_owned(),
        organization_name: body.organization_name.trim().to_owned(),
        description: text(&body.description).unwrap_or_default(),
        status: body.status.unwrap_or(ResourceStatus::Active),
        categories: distinct(&body.categories),
        email: body.email.as_deref().map(normalize_email),
        phone: text(&body.phone),
        url: text(&body.url),
        address_1: text(&body.address_1),
        address_2: text(&body.address_2),
        city: text(&body.city),
        state_province: text(&body.state_province),
        postal_code: text(&body.postal_code),
        country: text(&body.country).map(|c| c.to_ascii_uppercase()),
        languages: languages(&body.languages),
        eligibility_description: text(&body.eligibility_description),
        schedule_description: text(&body.schedule_description),
        accepts_referrals: body.accepts_referrals.unwrap_or(true),
        verified_at: body.verified_at,
        created_by: Some(scope.user_id),
    }
}

pub(super) fn validate_update(body: UpdateResourceRequest) -> AppResult<ResourceChanges> {
    let mut checks = Checks::new();
    let name = body.name.as_deref();
    checks.optional_text("name", name, limits::RESOURCE_NAME);
    let organization_name = body.organization_name.as_deref();
    checks.optional_text(
        "organization_name",
        organization_name,
        limits::RESOURCE_NAME,
    );
    let description = body.description.as_deref();
    checks.optional_text("description", description, limits::RESOURCE_DESCRIPTION);
    let details = Details {
        email: inner(&body.email),
        phone: inner(&body.phone),
        url: inner(&body.url),
        address_1: inner(&body.address_1),
        address_2: inner(&body.address_2),
        city: inner(&body.city),
        state_province: inner(&body.state_province),
        postal_code: inner(&body.postal_code),
        country: inner(&body.country),
        eligibility_description: inner(&body.eligibility_description),
        schedule_description: inner(&body.schedule_description),
    };
    check_details(&mut checks, &details);
    check_lists(
        &mut checks,
        body.categories.as_deref(),
        body.languages.as_deref(),
    );
    check_verified_at(&mut checks, body.verified_at.flatten());
    checks.finish()?;
    Ok(changes(body))
}

fn changes(body: UpdateResourceRequest) -> ResourceChanges {
    let clean = |value: Option<Option<String>>| value.map(|inner| trimmed(inner.as_deref()));
    ResourceChanges {
        name: trimmed(body.name.as_deref()),
        organization_name: trimmed(body.organization_name.as_deref()),
        description: trimmed(body.description.as_deref()),
        status: body.status,
        categories: body.categories.as_deref().map(distinct),
        email: body
            .email
            .map(|inner| inner.as_deref().map(normalize_email)),
        phone: clean(body.phone),
        url: clean(body.url),
        address_1: clean(body.address_1),
        address_2: clean(body.address_2),
        city: clean(body.city),
        state_province: clean(body.state_province),
        postal_code: clean(body.postal_code),
        country: clean(body.country).map(|c| c.map(|c| c.to_ascii_uppercase())),
        languages: body.languages.as_deref().map(languages),
        eligibility_description: clean(body.eligibility_description),
        schedule_description: clean(body.schedule_description),
        accepts_referrals: body.accepts_referrals,
        verified_at: body.verified_at,
        updated_at: Some(Utc::now()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_take_their_canonical_case() {
        assert_eq!(canonical_language("EN"), "en");
        assert_eq!(canonical_language("es-mx"), "es-MX");
        assert_eq!(canonical_language("ZH-hant-tw"), "zh-Hant-TW");
    }

    #[test]
    fn urls_must_be_web_addresses() {
        assert!(check_url("https://example.org/help").is_ok());
        assert!(check_url("HTTP://example.org").is_ok());
        assert!(check_url("ftp://example.org").is_err());
        assert!(check_url("https://").is_err());
        assert!(check_url("https://exa mple.org").is_err());
        assert!(check_url("javascript:alert(1)").is_err());
    }
}
