//! Referrals in the order they last changed, as a clinic polls them, and what a FHIR Task
//! names beside the referral: the latest status reason, the resource, the clinic.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::{visible, Referral, ReferralStatus};
use crate::db::models::resources::ResourceCategory;
use crate::db::schema::{integration_clients, organizations, referrals, resources, status_changes};
use crate::db::scope::Viewer;

/// How a bound on `updated_at` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    After(DateTime<Utc>),
    AtOrAfter(DateTime<Utc>),
    Before(DateTime<Utc>),
}

/// Which changed referrals to list, oldest change first.
#[derive(Debug, Default)]
pub struct ChangeFilter {
    pub bounds: Vec<Bound>,
    /// Any of these statuses (all when empty).
    pub statuses: Vec<ReferralStatus>,
    /// Only referrals to this resource.
    pub resource_id: Option<Uuid>,
    /// The last referral of the page before: `(updated_at, id)`.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// A page of the referrals `viewer` may see that match `filter`, by `(updated_at, id)`, with one
/// more than `filter.limit` when there is a next page.
pub async fn changed(
    conn: &mut AsyncPgConnection,
    viewer: Viewer,
    filter: &ChangeFilter,
) -> QueryResult<Vec<Referral>> {
    let mut query = visible(viewer)
        .select(Referral::as_select())
        .order((referrals::updated_at.asc(), referrals::id.asc()))
        .limit(filter.limit + 1);
    for bound in &filter.bounds {
        query = match *bound {
            Bound::After(at) => query.filter(referrals::updated_at.gt(at)),
            Bound::AtOrAfter(at) => query.filter(referrals::updated_at.ge(at)),
            Bound::Before(at) => query.filter(referrals::updated_at.lt(at)),
        };
    }
    if !filter.statuses.is_empty() {
        query = query.filter(referrals::status.eq_any(filter.statuses.clone()));
    }
    if let Some(resource_id) = filter.resource_id {
        query = query.filter(referrals::resource_id.eq(resource_id));
    }
    if let Some((at, id)) = filter.after {
        query = query.filter(
            referrals::updated_at
                .gt(at)
                .or(referrals::updated_at.eq(at).and(referrals::id.gt(id))),
        );
    }
    query.load(conn).await
}

/// The reason given with each referral's latest status change, when one was given.
pub async fn latest_reasons(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, Option<String>)> = status_changes::table
        .filter(status_changes::subject_type.eq("referral"))
        .filter(status_changes::subject_id.eq_any(ids))
        .distinct_on(status_changes::subject_id)
        .order((status_changes::subject_id, status_changes::at.desc()))
        .select((status_changes::subject_id, status_changes::reason))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, reason)| Some((id, reason?)))
        .collect())
}

/// A directory resource as a referral's Task and ServiceRequest name it.
#[derive(Debug, Clone, Queryable)]
pub struct NamedResource {
    pub id: Uuid,
    pub name: String,
    pub organization_name: String,
    pub categories: Vec<ResourceCategory>,
}

/// The resources `ids`, by id.
pub async fn resource_names(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, NamedResource>> {
    let rows: Vec<NamedResource> = resources::table
        .filter(resources::id.eq_any(ids))
        .select((
            resources::id,
            resources::name,
            resources::organization_name,
            resources::categories,
        ))
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// Integration clients as a Task names them: `(client_id, name)` by row id.
pub async fn client_names(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, (String, String)>> {
    let rows: Vec<(Uuid, String, String)> = integration_clients::table
        .filter(integration_clients::id.eq_any(ids))
        .select((
            integration_clients::id,
            integration_clients::client_id,
            integration_clients::name,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, client_id, name)| (id, (client_id, name)))
        .collect())
}

pub async fn organization_name(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
) -> QueryResult<String> {
    organizations::table
        .find(organization_id)
        .select(organizations::name)
        .first(conn)
        .await
}
