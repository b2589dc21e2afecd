//! The accounting of disclosures: every time participant data left the organization, to
//! whom, what, why and under which consent. Rows are only ever added.

use chrono::{DateTime, Utc};
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Timestamptz};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::pagination::Cursor;
use crate::db::schema::{disclosures, resources};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = disclosures)]
pub struct Disclosure {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub disclosed_at: DateTime<Utc>,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_name: String,
    pub recipient_address: Option<String>,
    pub information_categories: Vec<String>,
    pub description: String,
    pub purpose: String,
    pub consent_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// One disclosure to record. `id` and `disclosed_at` are set by [`record`].
#[derive(Debug, Clone)]
pub struct NewDisclosure {
    pub organization_id: Uuid,
    pub participant_id: Uuid,
    pub recipient_client_id: Option<Uuid>,
    pub recipient_resource_id: Option<Uuid>,
    pub recipient_name: String,
    pub recipient_address: Option<String>,
    pub information_categories: Vec<String>,
    pub description: String,
    pub purpose: String,
    pub consent_id: Option<Uuid>,
    pub referral_id: Option<Uuid>,
    pub request_id: Option<String>,
}

/// Records a disclosure, in the transaction (or unit of work) that makes it.
pub async fn record(conn: &mut AsyncPgConnection, new: NewDisclosure) -> QueryResult<Disclosure> {
    diesel::insert_into(disclosures::table)
        .values((
            disclosures::id.eq(Uuid::now_v7()),
            disclosures::organization_id.eq(new.organization_id),
            disclosures::participant_id.eq(new.participant_id),
            disclosures::disclosed_at.eq(Utc::now()),
            disclosures::recipient_client_id.eq(new.recipient_client_id),
            disclosures::recipient_resource_id.eq(new.recipient_resource_id),
            disclosures::recipient_name.eq(new.recipient_name),
            disclosures::recipient_address.eq(new.recipient_address),
            disclosures::information_categories.eq(new.information_categories),
            disclosures::description.eq(new.description),
            disclosures::purpose.eq(new.purpose),
            disclosures::consent_id.eq(new.consent_id),
            disclosures::referral_id.eq(new.referral_id),
            disclosures::request_id.eq(new.request_id),
        ))
        .returning(Disclosure::as_returning())
        .get_result(conn)
        .await
}

/// Which disclosures of a participant a page shows: inclusive `from`/`to` on `disclosed_at`,
/// and where the previous page ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct DisclosureFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

/// A page of one participant's disclosures, newest first. The caller has already found the
/// participant in its scope.
pub async fn list(
    conn: &mut AsyncPgConnection,
    participant_id: Uuid,
    filter: DisclosureFilter,
    limit: i64,
) -> QueryResult<Vec<Disclosure>> {
    let mut query = disclosures::table
        .filter(disclosures::participant_id.eq(participant_id))
        .select(Disclosure::as_select())
        .order((disclosures::disclosed_at.desc(), disclosures::id.desc()))
        .limit(limit)
        .into_boxed();
    if let Some(from) = filter.from {
        query = query.filter(disclosures::disclosed_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(disclosures::disclosed_at.le(to));
    }
    if let Some((at, id)) = filter.before {
        // A row comparison, so the index on (participant_id, disclosed_at, id) is read from there.
        query = query.filter(
            sql::<Bool>("(disclosures.disclosed_at, disclosures.id) < (")
                .bind::<Timestamptz, _>(at)
                .sql(", ")
                .bind::<diesel::sql_types::Uuid, _>(id)
                .sql(")"),
        );
    }
    query.load(conn).await
}

/// The keyset cursor of a listed disclosure.
pub fn cursor_of(disclosure: &Disclosure) -> Cursor {
    Cursor::AfterKey(disclosure.disclosed_at.to_rfc3339(), disclosure.id)
}

/// Where a page after `cursor` starts, `None` when the cursor is not one of [`cursor_of`].
pub fn keyset(cursor: &Cursor) -> Option<(DateTime<Utc>, Uuid)> {
    match cursor {
        Cursor::AfterKey(key, id) => DateTime::parse_from_rfc3339(key)
            .ok()
            .map(|at| (at.with_timezone(&Utc), *id)),
        Cursor::After(_) => None,
    }
}

/// The postal address of each of `resource_ids`, one line, for disclosures that recorded
/// none of their own.
pub async fn resource_addresses(
    conn: &mut AsyncPgConnection,
    resource_ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    if resource_ids.is_empty() {
        return Ok(Vec::new());
    }
    type Parts = (
        Uuid,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Parts> = resources::table
        .filter(resources::id.eq_any(resource_ids))
        .select((
            resources::id,
            resources::address_1,
            resources::address_2,
            resources::city,
            resources::state_province,
            resources::postal_code,
            resources::country,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, a1, a2, city, state, postal, country)| {
            let parts: Vec<String> = [a1, a2, city, state, postal, country]
                .into_iter()
                .flatten()
                .map(|part| part.trim().to_owned())
                .filter(|part| !part.is_empty())
                .collect();
            (!parts.is_empty()).then(|| (id, parts.join(", ")))
        })
        .collect())
}

/// Every integration client that received data under `consent_id`, with the referrals it
/// received it for (empty when none was about a referral).
pub async fn recipients_of_consent(
    conn: &mut AsyncPgConnection,
    consent_id: Uuid,
) -> QueryResult<Vec<(Uuid, Vec<Uuid>)>> {
    let rows: Vec<(Option<Uuid>, Option<Uuid>)> = disclosures::table
        .filter(disclosures::consent_id.eq(consent_id))
        .filter(disclosures::recipient_client_id.is_not_null())
        .select((disclosures::recipient_client_id, disclosures::referral_id))
        .distinct()
        .order((disclosures::recipient_client_id, disclosures::referral_id))
        .load(conn)
        .await?;
    let mut recipients: Vec<(Uuid, Vec<Uuid>)> = Vec::new();
    for (client, referral) in rows {
        let Some(client) = client else { continue };
        match recipients.last_mut() {
            Some((last, referrals)) if *last == client => referrals.extend(referral),
            _ => recipients.push((client, referral.into_iter().collect())),
        }
    }
    Ok(recipients)
}
