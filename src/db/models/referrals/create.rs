//! A user's referral in one statement: the scope check, the resource check, the consent (when
//! it is sent), the referral, its first status, and (when sent) its disclosures and events.
//!
//! ```text
//! WITH person AS (<the participant, when the caller may see them>),
//!      resource AS (…), [linked, recipients, chosen AS (…),]   -- see send.rs
//!      made AS (INSERT INTO referrals … SELECT … FROM person, resource WHERE <consented>
//!               RETURNING …),
//!      history AS (INSERT INTO status_changes … SELECT … FROM made),
//!      [disclosed, announced AS (…)]
//! SELECT made.*, <the participant's details> FROM made, person
//! ```
//!
//! No row means nothing was written; the caller then finds out why.

use diesel::dsl::SqlTypeOf;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::send::{push_resource, Sending};
use super::{Demographics, NewReferral, Referral};
use crate::db::models::status_changes::NewStatusChange;
use crate::db::schema::participants;
use crate::db::scope::{self, Scope};

/// Inserts `new` for a participant `scope` may see, to a resource that takes referrals. With
/// `sending`, only when every recipient has a consent (see [`Sending`]), writing its
/// disclosures and events; without, and with a `consent_id`, only while that consent is the
/// participant's and active. `None` when nothing was written.
pub async fn insert_visible(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    new: &NewReferral,
    resource_id: Uuid,
    first: &NewStatusChange<'_>,
    sending: Option<&Sending<'_>>,
) -> QueryResult<Option<(Referral, Demographics)>> {
    let person = scope::participants(scope)
        .filter(participants::id.eq(new.participant_id))
        .select((
            participants::id,
            participants::organization_id,
            participants::first_name,
            participants::last_name,
            participants::date_of_birth,
            participants::phone,
            participants::preferred_language,
        ));
    let statement = Statement {
        person,
        new,
        resource_id,
        first,
        history_id: Uuid::now_v7(),
        sending,
    };
    statement.get_result(conn).await.optional()
}

type Person<'a> = participants::BoxedQuery<
    'a,
    Pg,
    (
        SqlUuid,
        SqlUuid,
        Text,
        Text,
        Nullable<diesel::sql_types::Date>,
        Nullable<Text>,
        Nullable<Text>,
    ),
>;

struct Statement<'a> {
    person: Person<'a>,
    new: &'a NewReferral,
    resource_id: Uuid,
    first: &'a NewStatusChange<'a>,
    history_id: Uuid,
    sending: Option<&'a Sending<'a>>,
}

impl Query for Statement<'_> {
    type SqlType = (
        SqlTypeOf<diesel::dsl::AsSelect<Referral, Pg>>,
        SqlTypeOf<diesel::dsl::AsSelect<Demographics, Pg>>,
    );
}

// The text differs with the caller's role, sending and the consent, so statements are cached
// by their SQL.
impl QueryId for Statement<'_> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Statement<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let new = self.new;
        out.push_sql("WITH person AS (");
        QueryFragment::<Pg>::walk_ast(&self.person, out.reborrow())?;
        out.push_sql("), ");
        push_resource(&mut out, &new.organization_id, &self.resource_id)?;
        match (self.sending, &new.consent_id) {
            (Some(sending), _) => sending.push_consents(&mut out)?,
            (None, Some(consent_id)) => {
                out.push_sql(", given AS (SELECT k.id FROM consents k WHERE k.id = ");
                out.push_bind_param::<SqlUuid, _>(consent_id)?;
                out.push_sql(" AND k.participant_id = ");
                out.push_bind_param::<SqlUuid, _>(&new.participant_id)?;
                out.push_sql(
                    " AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now()))",
                );
            }
            (None, None) => {}
        }
        out.push_sql(
            ", made AS (INSERT INTO referrals (id, organization_id, participant_id, resource_id, \
             direction, reason, urgency, status, consent_id, created_by, sent_at) SELECT ",
        );
        out.push_bind_param::<SqlUuid, _>(&new.id)?;
        out.push_sql(", person.organization_id, person.id, resource.id, ");
        out.push_bind_param::<Text, _>(new.direction.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&new.reason)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(new.urgency.as_str())?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(new.status.as_str())?;
        out.push_sql(", ");
        match self.sending {
            Some(_) => Sending::push_referral_consent(&mut out),
            None => out.push_bind_param::<Nullable<SqlUuid>, _>(&new.consent_id)?,
        }
        out.push_sql(", ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&new.created_by)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Timestamptz>, _>(&new.sent_at)?;
        out.push_sql(" FROM person, resource WHERE ");
        match (self.sending, &new.consent_id) {
            (Some(_), _) => Sending::push_consented(&mut out),
            (None, Some(_)) => out.push_sql("EXISTS (SELECT FROM given)"),
            (None, None) => out.push_sql("true"),
        }
        out.push_sql(
            " RETURNING id, organization_id, participant_id, resource_id, direction, \
             source_client_id, external_id, referring_provider, reason, urgency, status, \
             outcome, consent_id, created_by, created_at, updated_at, sent_at), \
             history AS (INSERT INTO status_changes (id, subject_type, subject_id, \
             from_status, to_status, reason, actor_id, at) SELECT ",
        );
        let first = self.first;
        out.push_bind_param::<SqlUuid, _>(&self.history_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(first.subject_type)?;
        out.push_sql(", made.id, NULL, ");
        out.push_bind_param::<Text, _>(first.to_status)?;
        out.push_sql(", NULL, ");
        out.push_bind_param::<Nullable<SqlUuid>, _>(&first.actor_id)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamptz, _>(&first.at)?;
        out.push_sql(" FROM made RETURNING 1)");
        if let Some(sending) = self.sending {
            sending.push_effects(&mut out)?;
        }
        out.push_sql(
            " SELECT made.*, person.id, person.first_name, person.last_name, \
             person.date_of_birth, person.phone, person.preferred_language FROM made, person",
        );
        Ok(())
    }
}
