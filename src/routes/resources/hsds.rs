//! The directory as Open Referral HSDS 3.0 services, so tools that speak HSDS can read it.
//!
//! Each resource is one fully nested `service`: its `organization`, `phones`, `schedules`,
//! `service_at_locations` → `location` → `addresses`, `languages`, and `attributes` whose
//! `taxonomy_term`s are Tandem's categories. Nested objects have no table of their own; their
//! ids are derived from the resource's id (or, for the organization, the organization's
//! name; for taxonomy terms, the category), so they are the same on every read.
//!
//! Absent values are left out, never sent as `null`: HSDS types them as strings. The list is
//! paged the HSDS way, by number ([`super::hsds_page`]).

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use super::hsds_page::{HsdsPage, HsdsServicesQuery, Numbered};
use super::{directory_filter, read_one, DirectoryFilter};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::Caller;
use crate::db::models::resources::{self, Resource, ResourceCategory, ResourceStatus, Start};
use crate::http;
use crate::http::error::AppResult;
use crate::http::extract::Query;
use crate::routes::responses::{Authenticated, BadRequest, Forbidden, NotFound};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_hsds_services).service(get_hsds_service);
}

/// The taxonomy Tandem's categories belong to.
pub const TAXONOMY_NAME: &str = "Tandem recovery resource categories";

/// An HSDS 3.0 `service`, fully nested.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsService {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub email: Option<String>,
    /// `active`, `inactive`, `defunct` or `temporarily closed`.
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub eligibility_description: Option<String>,
    /// When the details were last checked (the date of `verified_at`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub assured_date: Option<NaiveDate>,
    pub last_modified: DateTime<Utc>,
    pub organization: HsdsOrganization,
    pub phones: Vec<HsdsPhone>,
    pub schedules: Vec<HsdsSchedule>,
    pub service_at_locations: Vec<HsdsServiceAtLocation>,
    pub languages: Vec<HsdsLanguage>,
    pub attributes: Vec<HsdsAttribute>,
}

/// The organization that runs the service. Its id is derived from the name, so services of
/// one organization share it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsOrganization {
    pub id: Uuid,
    pub name: String,
    /// Always empty: Tandem keeps no description of the organization.
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsPhone {
    pub id: Uuid,
    pub number: String,
}

/// When the service is open, in words.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsSchedule {
    pub id: Uuid,
    pub service_id: Uuid,
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsServiceAtLocation {
    pub id: Uuid,
    pub service_id: Uuid,
    pub location: HsdsLocation,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsLocation {
    pub id: Uuid,
    /// Always `physical`.
    pub location_type: &'static str,
    pub addresses: Vec<HsdsAddress>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsAddress {
    pub id: Uuid,
    pub location_id: Uuid,
    pub address_1: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub address_2: Option<String>,
    pub city: String,
    pub state_province: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// Always `physical`.
    pub address_type: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsLanguage {
    pub id: Uuid,
    pub service_id: Uuid,
    /// The language's English name (ISO 639), for every language a BCP 47 tag can name by
    /// its primary subtag.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub name: Option<&'static str>,
    /// A BCP 47 tag such as `en` or `es`.
    pub code: String,
}

/// One of the service's categories, as a taxonomy term.
#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsAttribute {
    pub id: Uuid,
    pub link_id: Uuid,
    /// Always `service`.
    pub link_entity: &'static str,
    pub taxonomy_term_id: Uuid,
    pub taxonomy_term: HsdsTaxonomyTerm,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsTaxonomyTerm {
    pub id: Uuid,
    /// The category's code, e.g. `moud`.
    pub code: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub taxonomy: &'static str,
    pub taxonomy_id: Uuid,
    pub taxonomy_detail: HsdsTaxonomy,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HsdsTaxonomy {
    pub id: Uuid,
    pub name: &'static str,
    pub description: &'static str,
}

/// A stable id for `what` (a version 8 UUID from a SHA-256 digest).
fn derived_id(parts: &[&[u8]]) -> Uuid {
    let mut digest = Sha256::new();
    for part in parts {
        digest.update((part.len() as u64).to_be_bytes());
        digest.update(part);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.finalize()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

fn part_id(resource: Uuid, what: &str) -> Uuid {
    derived_id(&[b"resource", resource.as_bytes(), what.as_bytes()])
}

fn taxonomy() -> HsdsTaxonomy {
    HsdsTaxonomy {
        id: derived_id(&[b"taxonomy", TAXONOMY_NAME.as_bytes()]),
        name: TAXONOMY_NAME,
        description: "What a community resource offers people in recovery.",
    }
}

fn attribute(service: Uuid, category: ResourceCategory) -> HsdsAttribute {
    let detail = taxonomy();
    let term_id = derived_id(&[b"taxonomy_term", category.as_str().as_bytes()]);
    HsdsAttribute {
        id: part_id(service, &format!("attribute:{category}")),
        link_id: service,
        link_entity: "service",
        taxonomy_term_id: term_id,
        taxonomy_term: HsdsTaxonomyTerm {
            id: term_id,
            code: category.as_str(),
            name: category.label(),
            description: category.label(),
            taxonomy: TAXONOMY_NAME,
            taxonomy_id: detail.id,
            taxonomy_detail: detail,
        },
    }
}

/// The service's one location, when its address is complete enough for HSDS (which requires
/// `address_1`, `city`, `state_province`, `postal_code` and `country`).
fn location(r: &Resource) -> Option<HsdsServiceAtLocation> {
    let location_id = part_id(r.id, "location");
    let address = HsdsAddress {
        id: part_id(r.id, "address"),
        location_id,
        address_1: r.address_1.clone()?,
        address_2: r.address_2.clone(),
        city: r.city.clone()?,
        state_province: r.state_province.clone()?,
        postal_code: r.postal_code.clone()?,
        country: r.country.clone()?,
        address_type: "physical",
    };
    Some(HsdsServiceAtLocation {
        id: part_id(r.id, "service_at_location"),
        service_id: r.id,
        location: HsdsLocation {
            id: location_id,
            location_type: "physical",
            addresses: vec![address],
        },
    })
}

/// The English name of the language of BCP 47 tag `code`, from its primary subtag (ISO 639-1
/// or 639-3); `None` for a private-use or unknown subtag.
fn language_name(code: &str) -> Option<&'static str> {
    let primary = code
        .split('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let language = match primary.len() {
        2 => isolang::Language::from_639_1(&primary),
        3 => isolang::Language::from_639_3(&primary),
        _ => None,
    };
    language.map(|language| language.to_name())
}

impl From<Resource> for HsdsService {
    fn from(r: Resource) -> Self {
        let id = r.id;
        let organization = HsdsOrganization {
            id: derived_id(&[
                b"organization",
                r.organization_id.as_bytes(),
                r.organization_name.as_bytes(),
            ]),
            name: r.organization_name.clone(),
            description: String::new(),
        };
        let phones = r.phone.iter().map(|number| HsdsPhone {
            id: part_id(id, "phone"),
            number: number.clone(),
        });
        let schedules = r.schedule_description.iter().map(|text| HsdsSchedule {
            id: part_id(id, "schedule"),
            service_id: id,
            description: text.clone(),
        });
        let languages = r.languages.iter().map(|code| HsdsLanguage {
            id: part_id(id, &format!("language:{code}")),
            service_id: id,
            name: language_name(code),
            code: code.clone(),
        });
        Self {
            id,
            organization_id: organization.id,
            phones: phones.collect(),
            schedules: schedules.collect(),
            service_at_locations: location(&r).into_iter().collect(),
            languages: languages.collect(),
            attributes: r.categories.iter().map(|c| attribute(id, *c)).collect(),
            organization,
            name: r.name,
            description: r.description,
            url: r.url,
            email: r.email,
            status: r.status,
            eligibility_description: r.eligibility_description,
            assured_date: r.verified_at.map(|at| at.date_naive()),
            last_modified: r.updated_at,
        }
    }
}

/// The directory as HSDS 3.0 services, in the HSDS API reference's numbered pages.
///
/// Roles: admin, supervisor, coach, participant; integration clients with the
/// `directory:read` scope (403 without it). The same filters and order as `GET /resources`
/// (without `q`, in the order resources were added; with `q`, best match first); each item
/// is a fully nested HSDS 3.0 service. This is the one list paged by number (`page`,
/// `per_page`) rather than by cursor, in HSDS's `Page` envelope, because that is what
/// Open Referral tools send and read. A page past the last is empty; a `page` or `per_page`
/// out of range is 400.
#[utoipa::path(
    tag = "resources",
    params(HsdsServicesQuery),
    responses(
        (status = 200, description = "A page of HSDS services", body = HsdsPage<HsdsService>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get(
    "/hsds/services",
    wrap = "Operation(Action::List, ResourceType::Resource)"
)]
pub async fn list_hsds_services(
    caller: Caller,
    Query(query): Query<HsdsServicesQuery>,
) -> AppResult<HttpResponse> {
    let page = Numbered::new(query.page, query.per_page)?;
    let filter = directory_filter(DirectoryFilter {
        q: query.q,
        category: query.category,
        language: query.language,
        postal_code: query.postal_code,
        accepts_referrals: query.accepts_referrals,
    })?;
    let target = caller.target();
    let (total, rows) = caller
        .read_directory(target, async |conn, organization_id| {
            let total = resources::count(conn, organization_id, &filter).await?;
            let rows = match page.skip() < total {
                true => {
                    let start = Start::Skip(page.skip());
                    resources::list(conn, organization_id, &filter, start, page.size).await?
                }
                false => Vec::new(),
            };
            Ok((total, rows))
        })
        .await?;
    let contents = rows
        .into_iter()
        .map(|(row, _)| HsdsService::from(row))
        .collect();
    Ok(HttpResponse::Ok().json(page.envelope(total, contents)))
}

/// One resource as a fully nested HSDS 3.0 service.
///
/// Roles: admin, supervisor, coach, participant; integration clients with the
/// `directory:read` scope (403 without it). Another organization's resource is 404.
#[utoipa::path(
    tag = "resources",
    params(("id" = Uuid, Path, description = "Resource id")),
    responses(
        (status = 200, description = "The service; `ETag` identifies this version", body = HsdsService),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/hsds/services/{id}",
    wrap = "Operation(Action::Read, ResourceType::Resource)"
)]
pub async fn get_hsds_service(caller: Caller, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let resource = read_one(caller, id.into_inner()).await?;
    Ok(http::ok(&HsdsService::from(resource)))
}
