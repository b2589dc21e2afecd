//! The community-resource directory of each organization (the entries of
//! [`crate::ops::directory_seed::RESOURCES`], with seeded ids) and, for some participants, a
//! signed consent and a referral to a resource, with its status history and, once sent, the
//! disclosure it made.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Array, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::ids::{epoch, Stream};
use super::people::{People, BATCH};
use super::{Options, Progress};
use crate::ops::directory_seed::{SeedResource, RESOURCES};

/// A resource that takes referrals, per organization.
pub struct Directory {
    pub open: Vec<Vec<(Uuid, &'static SeedResource)>>,
}

pub async fn insert_directory(
    conn: &mut AsyncPgConnection,
    options: &Options,
    people: &People,
    progress: &mut Progress,
) -> diesel::QueryResult<Directory> {
    let mut stream = Stream::new(options.seed, 6);
    let mut open = Vec::new();
    let (mut ids, mut orgs, mut index, mut at) = (vec![], vec![], vec![], vec![]);
    for org in &people.orgs {
        let mut takes = Vec::new();
        for (n, resource) in RESOURCES.iter().enumerate() {
            let created = org.created_at + Duration::days(1) + Duration::minutes(n as i64);
            let id = stream.id(created);
            if resource.accepts_referrals {
                takes.push((id, resource));
            }
            ids.push(id);
            orgs.push(org.id);
            index.push(i32::try_from(n).unwrap_or(0));
            at.push(created);
        }
        open.push(takes);
    }
    let field = |f: fn(&SeedResource) -> String| -> Vec<String> {
        people
            .orgs
            .iter()
            .flat_map(|_| RESOURCES.iter().map(f))
            .collect()
    };
    let accepts: Vec<bool> = people
        .orgs
        .iter()
        .flat_map(|_| RESOURCES.iter().map(|r| r.accepts_referrals))
        .collect();
    diesel::sql_query(
        "INSERT INTO resources (id, organization_id, name, organization_name, description, status, \
         categories, phone, address_1, city, state_province, postal_code, country, languages, \
         eligibility_description, schedule_description, accepts_referrals, created_at, updated_at) \
         SELECT id, o, n, orgn, d, 'active', string_to_array(c, ','), ph, a, 'Port Alder', 'ME', \
         pc, 'US', string_to_array(l, ','), e, s, acc, at, at FROM unnest($1::uuid[], $2::uuid[], \
         $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], \
         $10::text[], $11::text[], $12::text[], $13::bool[], $14::timestamptz[]) \
         AS x(id, o, n, orgn, d, c, ph, a, pc, l, e, s, acc, at)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<SqlUuid>, _>(&orgs)
    .bind::<Array<Text>, _>(field(|r| r.name.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.organization_name.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.description.to_owned()))
    .bind::<Array<Text>, _>(field(|r| {
        r.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")
    }))
    .bind::<Array<Text>, _>(field(|r| r.phone.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.address_1.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.postal_code.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.languages.join(",")))
    .bind::<Array<Text>, _>(field(|r| r.eligibility_description.to_owned()))
    .bind::<Array<Text>, _>(field(|r| r.schedule_description.to_owned()))
    .bind::<Array<Bool>, _>(&accepts)
    .bind::<Array<Timestamptz>, _>(&at)
    .execute(conn)
    .await?;
    progress.done("resources", ids.len());
    Ok(Directory { open })
}

/// A referral's status change: id, referral, from, to, actor, when.
type Change = (
    Uuid,
    Uuid,
    Option<&'static str>,
    &'static str,
    Uuid,
    DateTime<Utc>,
);

#[derive(Default)]
struct Rows {
    consent: Vec<Uuid>,
    referral: Vec<Uuid>,
    org: Vec<Uuid>,
    org_name: Vec<String>,
    participant: Vec<Uuid>,
    name: Vec<String>,
    resource: Vec<Uuid>,
    resource_name: Vec<String>,
    provider: Vec<String>,
    coach: Vec<Uuid>,
    signed: Vec<DateTime<Utc>>,
    status: Vec<String>,
    sent: Vec<Option<DateTime<Utc>>>,
    urgency: Vec<String>,
    changes: Vec<Change>,
    disclosure: Vec<Uuid>,
}

pub async fn insert_referrals(
    conn: &mut AsyncPgConnection,
    options: &Options,
    people: &People,
    directory: &Directory,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    if options.referral_every == 0 {
        return Ok(());
    }
    let every = options.referral_every as usize;
    let mut stream = Stream::new(options.seed, 7);
    let mut rows = Rows::default();
    let chosen = people
        .members
        .iter()
        .enumerate()
        .filter(|(index, _)| (index / people.orgs.len()) % every == every / 2);
    for (_, member) in chosen {
        let org = &people.orgs[member.org];
        let open = &directory.open[member.org];
        if open.is_empty() {
            continue;
        }
        let &(resource, seed) = stream.pick(open);
        let signed = stream
            .minutes_after(member.since, 60 * 24, 60 * 24 * 60)
            .min(epoch());
        let referral = stream.id(signed + Duration::minutes(5));
        let (status, sent) = match stream.range(0, 2) {
            0 => ("draft", None),
            1 => ("requested", Some(signed + Duration::minutes(6))),
            _ => ("accepted", Some(signed + Duration::minutes(6))),
        };
        let first = if status == "draft" {
            "draft"
        } else {
            "requested"
        };
        let created = signed + Duration::minutes(5);
        rows.changes.push((
            stream.id(created),
            referral,
            None,
            first,
            member.coach,
            created,
        ));
        if status == "accepted" {
            let at = created + Duration::days(2);
            rows.changes.push((
                stream.id(at),
                referral,
                Some("requested"),
                "accepted",
                member.coach,
                at,
            ));
        }
        rows.disclosure.push(stream.id(created));
        rows.consent.push(stream.id(signed));
        rows.referral.push(referral);
        rows.org.push(org.id);
        rows.org_name.push(org.name.clone());
        rows.participant.push(member.id);
        rows.name.push(member.full_name.clone());
        rows.resource.push(resource);
        rows.resource_name.push(seed.name.to_owned());
        rows.provider.push(seed.organization_name.to_owned());
        rows.coach.push(member.coach);
        rows.signed.push(signed);
        rows.status.push(status.to_owned());
        rows.sent.push(sent);
        rows.urgency.push(
            if stream.percent(20) {
                "urgent"
            } else {
                "routine"
            }
            .to_owned(),
        );
        if rows.consent.len() >= BATCH {
            flush(conn, std::mem::take(&mut rows), progress).await?;
        }
    }
    flush(conn, rows, progress).await
}

async fn flush(
    conn: &mut AsyncPgConnection,
    rows: Rows,
    progress: &mut Progress,
) -> diesel::QueryResult<()> {
    if rows.consent.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "INSERT INTO consents (id, organization_id, participant_id, discloser_name, \
         recipient_resource_id, recipient_name, purpose, information_categories, \
         information_description, expires_at, signed_by_name, signer_relationship, signed_at, \
         signature_method, created_by, created_at, updated_at) \
         SELECT id, o, p, orgn, r, rn, 'Referral for services and follow-up on it', \
         '{demographics,contact_information,referral_details}', \
         'Name, contact details and the reason for the referral', s + interval '365 days', \
         pn, 'self', s, 'electronic', c, s, s FROM unnest($1::uuid[], $2::uuid[], $3::text[], \
         $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::uuid[], $9::timestamptz[]) \
         AS x(id, o, orgn, p, r, rn, pn, c, s)",
    )
    .bind::<Array<SqlUuid>, _>(&rows.consent)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<Text>, _>(&rows.org_name)
    .bind::<Array<SqlUuid>, _>(&rows.participant)
    .bind::<Array<SqlUuid>, _>(&rows.resource)
    .bind::<Array<Text>, _>(&rows.provider)
    .bind::<Array<Text>, _>(&rows.name)
    .bind::<Array<SqlUuid>, _>(&rows.coach)
    .bind::<Array<Timestamptz>, _>(&rows.signed)
    .execute(conn)
    .await?;
    progress.done("consents", rows.consent.len());
    insert_referral_rows(conn, &rows).await?;
    progress.done("referrals", rows.referral.len());
    let sent = rows.sent.iter().filter(|s| s.is_some()).count();
    progress.done("disclosures", sent);
    let changes = &rows.changes;
    diesel::sql_query(
        "INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status, \
         actor_id, at) SELECT id, 'referral', s, f, t, a, at FROM unnest($1::uuid[], $2::uuid[], \
         $3::text[], $4::text[], $5::uuid[], $6::timestamptz[]) AS x(id, s, f, t, a, at)",
    )
    .bind::<Array<SqlUuid>, _>(changes.iter().map(|c| c.0).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(changes.iter().map(|c| c.1).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(changes.iter().map(|c| c.2).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(changes.iter().map(|c| c.3).collect::<Vec<_>>())
    .bind::<Array<SqlUuid>, _>(changes.iter().map(|c| c.4).collect::<Vec<_>>())
    .bind::<Array<Timestamptz>, _>(changes.iter().map(|c| c.5).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    progress.done("status_changes", changes.len());
    Ok(())
}

/// The referrals, and for each one sent the disclosure its consent allowed.
async fn insert_referral_rows(
    conn: &mut AsyncPgConnection,
    rows: &Rows,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "WITH src AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], \
         $5::uuid[], $6::text[], $7::text[], $8::timestamptz[], $9::uuid[], $10::timestamptz[], \
         $11::uuid[], $12::text[], $13::text[]) \
         AS x(id, o, p, r, con, st, u, sent, c, s, d, rn, orgn)), \
         refs AS (INSERT INTO referrals (id, organization_id, participant_id, resource_id, \
         direction, reason, urgency, status, consent_id, created_by, created_at, updated_at, \
         sent_at) SELECT id, o, p, r, 'outbound', 'Connect with services that fit current \
         needs', u, st, CASE WHEN sent IS NULL THEN NULL ELSE con END, c, \
         s + interval '5 minutes', coalesce(sent, s + interval '5 minutes'), sent FROM src) \
         INSERT INTO disclosures (id, organization_id, participant_id, disclosed_at, \
         recipient_resource_id, recipient_name, recipient_address, information_categories, \
         description, purpose, consent_id, referral_id) \
         SELECT d, o, p, sent, r, rn || ' (' || orgn || ')', NULL, \
         '{referral_details,demographics}', 'Referral sent: the participant''s name with the \
         reason and urgency (' || u || ')', 'Referral for services and follow-up on it', con, id \
         FROM src WHERE sent IS NOT NULL",
    )
    .bind::<Array<SqlUuid>, _>(&rows.referral)
    .bind::<Array<SqlUuid>, _>(&rows.org)
    .bind::<Array<SqlUuid>, _>(&rows.participant)
    .bind::<Array<SqlUuid>, _>(&rows.resource)
    .bind::<Array<SqlUuid>, _>(&rows.consent)
    .bind::<Array<Text>, _>(&rows.status)
    .bind::<Array<Text>, _>(&rows.urgency)
    .bind::<Array<Nullable<Timestamptz>>, _>(&rows.sent)
    .bind::<Array<SqlUuid>, _>(&rows.coach)
    .bind::<Array<Timestamptz>, _>(&rows.signed)
    .bind::<Array<SqlUuid>, _>(&rows.disclosure)
    .bind::<Array<Text>, _>(&rows.resource_name)
    .bind::<Array<Text>, _>(&rows.provider)
    .execute(conn)
    .await?;
    Ok(())
}
