//! The community-resource directory: services, in the shape of an Open Referral HSDS 3.0
//! service, that belong to one organization.
//!
//! Not participant data: every query filters on the caller's organization and nothing else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::resources;

crate::text_enum! {
    /// Whether the service is running (HSDS 3.0 service status).
    pub enum ResourceStatus {
        Active => "active",
        Inactive => "inactive",
        Defunct => "defunct",
        TemporarilyClosed => "temporarily closed",
    }
}

/// A postal address on one line, from the parts that are known.
pub fn one_line(parts: [&Option<String>; 6]) -> Option<String> {
    let parts: Vec<&str> = parts
        .into_iter()
        .filter_map(|part| part.as_deref().filter(|p| !p.trim().is_empty()))
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

crate::text_enum! {
    /// What a resource offers.
    pub enum ResourceCategory {
        MutualAid => "mutual_aid",
        RecoveryCommunityCenter => "recovery_community_center",
        Moud => "moud",
        HarmReduction => "harm_reduction",
        HivHcvTesting => "hiv_hcv_testing",
        MentalHealth => "mental_health",
        Housing => "housing",
        Employment => "employment",
        Legal => "legal",
        Food => "food",
        Transportation => "transportation",
        Other => "other",
    }
}

impl ResourceCategory {
    /// The category's name for people, as the HSDS taxonomy term names it.
    pub fn label(self) -> &'static str {
        match self {
            Self::MutualAid => "Mutual aid",
            Self::RecoveryCommunityCenter => "Recovery community center",
            Self::Moud => "Medications for opioid use disorder",
            Self::HarmReduction => "Harm reduction",
            Self::HivHcvTesting => "HIV and hepatitis C testing",
            Self::MentalHealth => "Mental health",
            Self::Housing => "Housing",
            Self::Employment => "Employment",
            Self::Legal => "Legal help",
            Self::Food => "Food",
            Self::Transportation => "Transportation",
            Self::Other => "Other",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = resources)]
pub struct Resource {
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
    pub languages: Vec<String>,
    pub eligibility_description: Option<String>,
    pub schedule_description: Option<String>,
    pub accepts_referrals: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = resources)]
pub struct NewResource {
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
    pub languages: Vec<String>,
    pub eligibility_description: Option<String>,
    pub schedule_description: Option<String>,
    pub accepts_referrals: bool,
    pub verified_at: Option<DateTime<Utc>>,
    pub created_by: Option<Uuid>,
}

/// Changes to a resource; `Some(None)` clears an optional field.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = resources)]
pub struct ResourceChanges {
    pub name: Option<String>,
    pub organization_name: Option<String>,
    pub description: Option<String>,
    pub status: Option<ResourceStatus>,
    pub categories: Option<Vec<ResourceCategory>>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub url: Option<Option<String>>,
    pub address_1: Option<Option<String>>,
    pub address_2: Option<Option<String>>,
    pub city: Option<Option<String>>,
    pub state_province: Option<Option<String>>,
    pub postal_code: Option<Option<String>>,
    pub country: Option<Option<String>>,
    pub languages: Option<Vec<String>>,
    pub eligibility_description: Option<Option<String>>,
    pub schedule_description: Option<Option<String>>,
    pub accepts_referrals: Option<bool>,
    pub verified_at: Option<Option<DateTime<Utc>>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// What a directory list keeps. `q` is the search as typed; the database splits it into words.
#[derive(Debug, Default, Clone)]
pub struct ResourceFilter {
    pub q: Option<String>,
    pub category: Option<ResourceCategory>,
    /// A canonical language tag (see `validation::canonical_language`).
    pub language: Option<String>,
    pub postal_code: Option<String>,
    pub accepts_referrals: Option<bool>,
}

/// Where the previous page ended: after an id (lists in id order) or after a rank and id
/// (searches, best first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum After {
    Id(Uuid),
    Rank(f32, Uuid),
}

/// A resource with its search rank (0 when the list is not a search).
pub type Ranked = (Resource, f32);

diesel::define_sql_function! {
    /// The searchable words of a resource (see the directory search migration).
    #[sql_name = "tandem_resource_document"]
    fn resource_document(name: Text, organization_name: Text, description: Text) -> TsVector;
}

diesel::define_sql_function! {
    /// A client's search as a prefix query over its words; NULL when it has none.
    #[sql_name = "tandem_resource_query"]
    fn resource_query(q: Text) -> diesel::sql_types::Nullable<TsQuery>;
}

diesel::define_sql_function! {
    fn ts_rank(document: TsVector, query: diesel::sql_types::Nullable<TsQuery>) -> Float4;
}

// `NULL` (a search with no words) matches nothing, as a WHERE condition.
diesel::infix_operator!(Matches, " @@ ", backend: diesel::pg::Pg);

/// PostgreSQL's `tsvector`, only ever computed and compared inside queries.
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "tsvector"))]
pub struct TsVector;

/// PostgreSQL's `tsquery`.
#[derive(Debug, Clone, Copy, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "tsquery"))]
pub struct TsQuery;

/// One resource of the organization.
pub async fn find(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Resource> {
    resources::table
        .filter(resources::id.eq(id))
        .filter(resources::organization_id.eq(organization_id))
        .select(Resource::as_select())
        .first(conn)
        .await
}

/// One resource of the organization, locked for an update in the current transaction.
pub async fn lock(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    id: Uuid,
) -> QueryResult<Resource> {
    resources::table
        .filter(resources::id.eq(id))
        .filter(resources::organization_id.eq(organization_id))
        .select(Resource::as_select())
        .for_update()
        .first(conn)
        .await
}

/// The organization's resources that pass `filter` (with `q`, only those matching it).
fn filtered(
    organization_id: Uuid,
    filter: &ResourceFilter,
) -> resources::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = resources::table
        .filter(resources::organization_id.eq(organization_id))
        .into_boxed();
    if let Some(category) = filter.category {
        query = query.filter(resources::categories.contains(vec![category]));
    }
    if let Some(language) = &filter.language {
        query = query.filter(resources::languages.contains(vec![language.clone()]));
    }
    if let Some(postal_code) = &filter.postal_code {
        query = query.filter(resources::postal_code.eq(postal_code.clone()));
    }
    if let Some(accepts) = filter.accepts_referrals {
        query = query.filter(resources::accepts_referrals.eq(accepts));
    }
    if let Some(q) = &filter.q {
        query = query.filter(Matches::new(document(), resource_query(q.clone())));
    }
    query
}

type Document =
    resource_document<resources::name, resources::organization_name, resources::description>;

fn document() -> Document {
    resource_document(
        resources::name,
        resources::organization_name,
        resources::description,
    )
}

/// Where a page starts: after a row (keyset), or after skipping a number of rows.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    After(Option<After>),
    Skip(i64),
}

/// A page of the organization's directory: in id order, or, with `q`, best match first (rank
/// descending, then id). Fetches `limit` rows (for keyset pages, pass one more than the page).
pub async fn list(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &ResourceFilter,
    start: Start,
    limit: i64,
) -> QueryResult<Vec<Ranked>> {
    let mut query = filtered(organization_id, filter).limit(limit);
    let (after, skip) = match start {
        Start::After(after) => (after, 0),
        Start::Skip(skip) => (None, skip),
    };
    if skip > 0 {
        query = query.offset(skip);
    }
    let Some(q) = &filter.q else {
        if let Some(After::Id(id) | After::Rank(_, id)) = after {
            query = query.filter(resources::id.gt(id));
        }
        let rows: Vec<Resource> = query
            .select(Resource::as_select())
            .order(resources::id.asc())
            .load(conn)
            .await?;
        return Ok(rows.into_iter().map(|row| (row, 0.0)).collect());
    };
    let rank = ts_rank(document(), resource_query(q.clone()));
    if let Some(After::Rank(last, id)) = after {
        query = query.filter(
            rank.clone()
                .lt(last)
                .or(rank.clone().eq(last).and(resources::id.gt(id))),
        );
    }
    query
        .select((Resource::as_select(), rank.clone()))
        .order((rank.desc(), resources::id.asc()))
        .load(conn)
        .await
}

/// How many of the organization's resources pass `filter`.
pub async fn count(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    filter: &ResourceFilter,
) -> QueryResult<i64> {
    filtered(organization_id, filter)
        .count()
        .get_result(conn)
        .await
}

pub async fn insert(conn: &mut AsyncPgConnection, new: &NewResource) -> QueryResult<Resource> {
    diesel::insert_into(resources::table)
        .values(new)
        .returning(Resource::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ResourceChanges,
) -> QueryResult<Resource> {
    diesel::update(resources::table.find(id))
        .set(changes)
        .returning(Resource::as_returning())
        .get_result(conn)
        .await
}

/// The names of the organization's resources among `names`.
pub async fn existing_names(
    conn: &mut AsyncPgConnection,
    organization_id: Uuid,
    names: &[&str],
) -> QueryResult<Vec<String>> {
    resources::table
        .filter(resources::organization_id.eq(organization_id))
        .filter(resources::name.eq_any(names))
        .select(resources::name)
        .load(conn)
        .await
}
