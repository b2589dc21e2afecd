//! The community-resource directory: services participants can be referred to, searched by
//! words, category, language, postal code and whether they take referrals. Also served in
//! Open Referral's HSDS 3.0 shape (see [`hsds`]).
//!
//! The directory is the organization's, not any participant's: reads are not audited
//! (`unaudited`), creates and updates are.

pub mod hsds;
mod hsds_page;
mod types;

use actix_web::{get, patch, post, web, HttpResponse};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::audit::{Action, Operation, ResourceType, Target};
use crate::auth::{Caller, Supervisor};
use crate::db::models::resources::{
    self, After, Ranked, Resource, ResourceCategory, ResourceFilter, Start,
};
use crate::db::pagination::{Cursor, Page, PageRequest};
use crate::db::scope::Scope;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::{Json, Query};
use crate::http::idempotency::IdempotencyKey;
use crate::http::limits;
use crate::http::validation;
use crate::http::{self, Created, IfMatch};
use crate::routes::responses::{
    Authenticated, BadRequest, Forbidden, JsonBody, NotFound, PreconditionFailed,
};

pub use types::{
    canonical_language, CreateResourceRequest, ListResourcesQuery, ResourceResponse,
    UpdateResourceRequest,
};
use types::{new_resource, validate_create, validate_update};

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create_resource)
        .service(list_resources)
        .service(get_resource)
        .service(update_resource);
    hsds::configure(cfg);
}

fn location(id: Uuid) -> String {
    format!("/api/v1/resources/{id}")
}

/// Add a resource to the organization's directory.
///
/// Roles: admin, supervisor; 403 for everyone else. Honours `Idempotency-Key`.
#[utoipa::path(
    tag = "resources",
    request_body = CreateResourceRequest,
    params(IdempotencyKey),
    responses(
        (status = 201, description = "Created; `Location` names the resource", body = ResourceResponse),
        Authenticated, JsonBody, Forbidden,
    ),
    security(("bearer" = []))
)]
#[post(
    "/resources",
    wrap = "Operation(Action::Create, ResourceType::Resource)"
)]
pub async fn create_resource(
    Supervisor(user): Supervisor,
    key: IdempotencyKey,
    Json(body): Json<CreateResourceRequest>,
) -> AppResult<HttpResponse> {
    validate_create(&body)?;
    let make = async |conn: &mut AsyncPgConnection, scope: Scope, _: &mut Target| {
        let resource = resources::insert(conn, &new_resource(scope, &body)).await?;
        Ok(Created {
            id: resource.id,
            location: location(resource.id),
            body: resource.into(),
        })
    };
    let target = user.target();
    user.create(target, &key, &body, make, created).await
}

/// The created (or replayed) resource, read back from the caller's organization.
async fn created(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
    _: &mut Target,
) -> AppResult<Created<ResourceResponse>> {
    let resource = resources::find(conn, scope.organization_id, id).await?;
    Ok(Created {
        id,
        location: location(id),
        body: resource.into(),
    })
}

/// Search the organization's directory.
///
/// Roles: admin, supervisor, coach, participant; integration clients with the
/// `directory:read` scope (403 without it). Without `q`, resources come in the order
/// they were added; with `q`, best match first. Each filter that is malformed is a 400
/// naming it.
#[utoipa::path(
    tag = "resources",
    params(ListResourcesQuery),
    responses(
        (status = 200, description = "A page of resources", body = Page<ResourceResponse>),
        Authenticated, BadRequest, Forbidden,
    ),
    security(("bearer" = []))
)]
#[get("/resources", wrap = "Operation(Action::List, ResourceType::Resource)")]
pub async fn list_resources(
    caller: Caller,
    Query(query): Query<ListResourcesQuery>,
) -> AppResult<HttpResponse> {
    let (filter, page, after) = list_request(query)?;
    let target = caller.target();
    let rows = caller
        .read_directory(target, async |conn, organization_id| {
            let limit = page.fetch_limit();
            Ok(resources::list(conn, organization_id, &filter, Start::After(after), limit).await?)
        })
        .await?;
    let page = page.finish(rows, cursor_of, |(row, _)| ResourceResponse::from(row));
    Ok(HttpResponse::Ok().json(page))
}

/// Where the next page starts after `row`: its id, and with a search its rank too.
fn cursor_of((row, rank): &Ranked) -> Cursor {
    Cursor::AfterKey(rank.to_string(), row.id)
}

/// Reads a list's query: the filter, the page and where it starts (400 for anything
/// malformed, naming the parameter).
pub(crate) fn list_request(
    query: ListResourcesQuery,
) -> AppResult<(ResourceFilter, PageRequest, Option<After>)> {
    let page = PageRequest::new(query.limit, query.cursor.as_deref())?;
    let after = match &page.cursor {
        None => None,
        Some(Cursor::AfterKey(rank, id)) => {
            Some(After::Rank(rank.parse().map_err(|_| bad_cursor())?, *id))
        }
        Some(Cursor::After(_)) => return Err(bad_cursor()),
    };
    let filter = directory_filter(DirectoryFilter {
        q: query.q,
        category: query.category,
        language: query.language,
        postal_code: query.postal_code,
        accepts_referrals: query.accepts_referrals,
    })?;
    Ok((filter, page, after))
}

/// The directory's filters as a query gives them.
pub(crate) struct DirectoryFilter {
    pub q: Option<String>,
    pub category: Option<ResourceCategory>,
    pub language: Option<String>,
    pub postal_code: Option<String>,
    pub accepts_referrals: Option<bool>,
}

/// Checks the filters (400 naming a malformed one) and puts them in the form the database
/// compares: trimmed, and the language tag in its canonical case.
pub(crate) fn directory_filter(given: DirectoryFilter) -> AppResult<ResourceFilter> {
    validation::query_text("q", given.q.as_deref(), limits::SEARCH)?;
    let postal_code = given.postal_code.as_deref().map(str::trim);
    validation::query_text("postal_code", postal_code, limits::POSTAL_CODE)?;
    validation::query_language(given.language.as_deref())?;
    Ok(ResourceFilter {
        q: given
            .q
            .map(|q| q.trim().to_owned())
            .filter(|q| !q.is_empty()),
        category: given.category,
        language: given.language.as_deref().map(canonical_language),
        postal_code: postal_code.map(ToOwned::to_owned),
        accepts_referrals: given.accepts_referrals,
    })
}

fn bad_cursor() -> AppError {
    AppError::BadRequest("Query parameter `cursor` is not a cursor this API issued.".into())
}

/// Get one resource of the organization's directory.
///
/// Roles: admin, supervisor, coach, participant; integration clients with the
/// `directory:read` scope (403 without it). Another organization's resource is 404.
#[utoipa::path(
    tag = "resources",
    params(("id" = Uuid, Path, description = "Resource id")),
    responses(
        (status = 200, description = "The resource; `ETag` identifies this version", body = ResourceResponse),
        Authenticated, BadRequest, Forbidden, NotFound,
    ),
    security(("bearer" = []))
)]
#[get(
    "/resources/{id}",
    wrap = "Operation(Action::Read, ResourceType::Resource)"
)]
pub async fn get_resource(caller: Caller, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let resource = read_one(caller, id.into_inner()).await?;
    Ok(http::ok(&ResourceResponse::from(resource)))
}

/// One resource of the caller's organization (404 otherwise).
pub(crate) async fn read_one(caller: Caller, id: Uuid) -> AppResult<Resource> {
    let target = caller.target().id(id);
    caller
        .read_directory(target, async |conn, organization_id| {
            Ok(resources::find(conn, organization_id, id).await?)
        })
        .await
}

/// Update a resource.
///
/// Roles: admin, supervisor; 403 for everyone else, 404 for another organization's resource.
/// Send `If-Match` with the `ETag` you read to get 412 instead of overwriting a change.
#[utoipa::path(
    tag = "resources",
    params(("id" = Uuid, Path, description = "Resource id"), IfMatch),
    request_body = UpdateResourceRequest,
    responses(
        (status = 200, description = "The updated resource", body = ResourceResponse),
        Authenticated, JsonBody, Forbidden, NotFound, PreconditionFailed,
    ),
    security(("bearer" = []))
)]
#[patch(
    "/resources/{id}",
    wrap = "Operation(Action::Update, ResourceType::Resource)"
)]
pub async fn update_resource(
    Supervisor(user): Supervisor,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    Json(body): Json<UpdateResourceRequest>,
) -> AppResult<HttpResponse> {
    let changes = validate_update(body)?;
    let id = id.into_inner();
    let target = user.target().id(id);
    let updated = user
        .write(target, async |conn, scope, _| {
            let current = resources::lock(conn, scope.organization_id, id).await?;
            if_match.check(&ResourceResponse::from(current))?;
            Ok(resources::update(conn, id, &changes).await?)
        })
        .await?;
    Ok(http::ok(&ResourceResponse::from(updated)))
}
