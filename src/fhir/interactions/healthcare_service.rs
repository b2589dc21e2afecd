//! The directory as HealthcareServices: `GET /fhir/r4/HealthcareService/{id}` (what a Task's
//! `owner` names) and `GET /fhir/r4/HealthcareService?name=&service-category=&_count=`.
//! Integration clients with `directory:read`, in their organization's directory; like the REST
//! directory, reading it is not audited (it holds no participant data).

use actix_web::{get, web, HttpRequest, HttpResponse};

use super::{base_url, resource_id, respond};
use crate::audit::{Action, Operation, ResourceType};
use crate::auth::AuthClient;
use crate::db::models::resources::{self, After, ResourceCategory, ResourceFilter, Start};
use crate::db::pagination::Cursor;
use crate::fhir::bundle;
use crate::fhir::healthcare_service::healthcare_service;
use crate::fhir::task::search::{bad, count, format, DEFAULT_COUNT};
use crate::http::error::AppResult;
use crate::http::{limits, validation};

#[get(
    "/HealthcareService/{id}",
    wrap = "Operation(Action::Read, ResourceType::Resource)"
)]
pub async fn read_healthcare_service(
    client: AuthClient,
    id: web::Path<String>,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let id = resource_id(&id)?;
    let target = client.target().id(id);
    let resource = client
        .read_directory(target, async |conn, organization_id| {
            Ok(resources::find(conn, organization_id, id).await?)
        })
        .await?;
    Ok(respond(
        &healthcare_service(&base_url(&req), &resource),
        None,
        &[],
    ))
}

/// `name` searches the directory's words (best match first), `service-category` takes one of
/// the directory's category codes; `_count` (1-200, default 50) and `next` links page.
#[get(
    "/HealthcareService",
    wrap = "Operation(Action::List, ResourceType::Resource)"
)]
pub async fn search_healthcare_services(
    client: AuthClient,
    req: HttpRequest,
) -> AppResult<HttpResponse> {
    let search = parse(req.query_string())?;
    let target = client.target();
    let limit = search.limit;
    let mut rows = client
        .read_directory(target, async |conn, organization_id| {
            let start = Start::After(search.after);
            Ok(resources::list(conn, organization_id, &search.filter, start, limit + 1).await?)
        })
        .await?;
    let next = (rows.len() as i64 > limit).then(|| {
        rows.truncate(limit as usize);
        rows.last()
            .map(|(row, rank)| Cursor::AfterKey(rank.to_string(), row.id).encode())
    });
    let base = base_url(&req);
    let services: Vec<_> = rows
        .iter()
        .map(|(row, _)| healthcare_service(&base, row))
        .collect();
    let page = bundle::searchset(
        &base,
        "HealthcareService",
        &search.kept,
        next.flatten(),
        &services,
    );
    Ok(respond(&page, None, &[]))
}

struct Search {
    filter: ResourceFilter,
    after: Option<After>,
    limit: i64,
    kept: Vec<(String, String)>,
}

fn parse(query: &str) -> AppResult<Search> {
    let mut search = Search {
        filter: ResourceFilter::default(),
        after: None,
        limit: DEFAULT_COUNT,
        kept: Vec::new(),
    };
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let (name, value) = (name.into_owned(), value.into_owned());
        match name.as_str() {
            "name" => {
                validation::query_text("name", Some(&value), limits::SEARCH)?;
                search.filter.q = Some(value.trim().to_owned()).filter(|q| !q.is_empty());
            }
            "service-category" => {
                let category = ResourceCategory::parse(&value)
                    .ok_or_else(|| bad("service-category", "is not a category of the directory"))?;
                search.filter.category = Some(category);
            }
            "_count" => search.limit = count(&value)?,
            "_format" => format(&value)?,
            "_cursor" => {
                search.after = Some(after(&value)?);
                continue;
            }
            _ => {
                return Err(bad(
                    &name,
                    "is not a search parameter of HealthcareService here",
                ))
            }
        }
        search.kept.push((name, value));
    }
    Ok(search)
}

fn after(value: &str) -> AppResult<After> {
    match Cursor::decode(value) {
        Some(Cursor::AfterKey(rank, id)) => rank
            .parse()
            .map(|rank| After::Rank(rank, id))
            .map_err(|_| bad("_cursor", "is not a cursor this server gave")),
        _ => Err(bad("_cursor", "is not a cursor this server gave")),
    }
}
