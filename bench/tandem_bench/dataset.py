"""The seeded databases: made once with `tandem seed-demo`, reused while their options and the
migrations still match, and topped up so the measured participants have a page 2 of notes and
the FHIR poll's client has its referrals."""

import os
import subprocess
import tempfile
import time

from .cluster import PsqlError

APP_ROLE = "tandem_bench_app"
# Measured participants get this many notes in all, so page 2 of 20 is full.
NOTES_FOR_PAGE_TWO = 40


class Dataset:
    def __init__(self, name, seed_args):
        self.name = name
        self.seed_args = seed_args

    @property
    def marker(self):
        return " ".join(self.seed_args)


def prepare(cluster, tandem, dataset):
    """Seeds `dataset` unless a database made with the same options exists; applies pending
    migrations either way. Returns the seconds spent seeding (0 when reused)."""
    cluster.psql("postgres", "SELECT 1")
    exists = cluster.psql(
        "postgres", f"SELECT 1 FROM pg_database WHERE datname = '{dataset.name}'")
    env = {**os.environ, "DATABASE_URL": cluster.url(dataset.name),
           "TANDEM_MIGRATION_DATABASE_URL": cluster.url(dataset.name),
           "TANDEM_DATA_DIR": tempfile.mkdtemp(prefix="tandem-bench-"), "RUST_LOG": "warn"}
    for key in ("TANDEM_ENV", "TANDEM_BIND"):
        env.pop(key, None)
    if exists and _marker(cluster, dataset) == dataset.marker:
        subprocess.run([tandem, "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        _grant(cluster, dataset)
        return 0.0
    print(f"seeding {dataset.name}: tandem seed-demo {dataset.marker}", flush=True)
    started = time.monotonic()
    cluster.psql("postgres", f"DROP DATABASE IF EXISTS {dataset.name} WITH (FORCE)")
    cluster.psql("postgres", f"CREATE DATABASE {dataset.name}")
    subprocess.run([tandem, "seed-demo", *dataset.seed_args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    _grant(cluster, dataset)
    cluster.psql(dataset.name, "VACUUM ANALYZE")
    cluster.psql(dataset.name, "CREATE TABLE bench_dataset (options text NOT NULL)")
    cluster.psql(dataset.name,
                 f"INSERT INTO bench_dataset VALUES ('{dataset.marker}')")
    seconds = time.monotonic() - started
    print(f"seeded {dataset.name} in {seconds:.0f} s", flush=True)
    return seconds


def _marker(cluster, dataset):
    try:
        rows = cluster.psql(dataset.name, "SELECT options FROM bench_dataset")
    except PsqlError:
        return None
    return rows[0][0] if rows else None


def _grant(cluster, dataset):
    cluster.psql("postgres", f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN IN ROLE tandem_runtime;
          END IF;
        END $$""")


def caseloads(cluster, dataset, coaches):
    """The first `coaches` coaches of the first organization with their participants:
    [(organization_id, coach_id, coach_email, [participant_id, ...])]."""
    rows = cluster.psql(dataset.name, f"""
        WITH org AS (SELECT id FROM organizations ORDER BY name, id LIMIT 1),
        chosen AS (
          SELECT u.id, u.email, u.organization_id FROM users u, org
          WHERE u.organization_id = org.id AND u.role = 'coach' AND u.active
            AND EXISTS (SELECT 1 FROM pairings p
                        WHERE p.coach_id = u.id AND p.status <> 'ended')
          ORDER BY u.email LIMIT {int(coaches)})
        SELECT c.organization_id, c.id, c.email, p.participant_id
        FROM chosen c JOIN pairings p ON p.coach_id = c.id AND p.status <> 'ended'
        ORDER BY c.email, p.participant_id""")
    grouped = {}
    for organization, coach, email, participant in rows:
        grouped.setdefault((organization, coach, email), []).append(participant)
    return [(o, c, e, ps) for (o, c, e), ps in grouped.items()]


def top_up_notes(cluster, dataset, participants):
    """Older copies of the participants' notes until each has NOTES_FOR_PAGE_TWO."""
    columns = [row[0] for row in cluster.psql(dataset.name, """
        SELECT column_name FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name = 'session_notes'
          AND column_name <> 'id' AND is_generated = 'NEVER'
        ORDER BY ordinal_position""")]
    copied = ", ".join(
        "n.occurred_at - interval '400 days' * g" if c == "occurred_at" else f"n.{c}"
        for c in columns)
    ids = ", ".join(f"'{p}'" for p in participants)
    cluster.psql(dataset.name, f"""
        WITH counts AS (
          SELECT participant_id, count(*) AS notes FROM session_notes
          WHERE participant_id IN ({ids}) GROUP BY participant_id),
        sources AS (
          SELECT DISTINCT ON (n.participant_id) n.* FROM session_notes n
          WHERE n.participant_id IN ({ids}) ORDER BY n.participant_id, n.occurred_at)
        INSERT INTO session_notes (id, {", ".join(columns)})
        SELECT gen_random_uuid(), {copied}
        FROM sources n JOIN counts c USING (participant_id),
             generate_series(1, greatest(0, {NOTES_FOR_PAGE_TWO} - c.notes)) g""")
    cluster.psql(dataset.name, "ANALYZE session_notes")


def _time_ordered_id(at):
    """SQL for a random UUIDv7 whose time is `at`, as the service's ids are."""
    return (f"(lpad(to_hex((extract(epoch FROM {at}) * 1000)::bigint), 12, '0') || '7' || "
            "substr(md5(random()::text), 1, 3) || to_hex(8 + floor(random() * 4)::int) || "
            "substr(md5(random()::text), 1, 15))::uuid")


def seen_by(client, organization):
    """SQL: the referrals of `organization` that the integration client `client` (its row id)
    may see, as the service decides: those sent to a resource linked to it, and those it
    sent."""
    return f"""
        SELECT r.* FROM referrals r
        WHERE r.organization_id = '{organization}'
          AND ((r.sent_at IS NOT NULL AND r.resource_id IN (
                  SELECT l.resource_id FROM integration_client_resources l
                  WHERE l.client_id = '{client}'))
               OR r.source_client_id = '{client}')"""


def referrals_seen(cluster, dataset, client, organization, after=None):
    """How many referrals the client sees (that changed after `after`, when given)."""
    changed = f" WHERE s.updated_at > '{after}'" if after else ""
    return int(cluster.psql(
        dataset.name,
        f"SELECT count(*) FROM ({seen_by(client, organization)}) s{changed}")[0][0])


def top_up_referrals(cluster, dataset, client, organization, wanted, before):
    """Referrals sent to the resources linked to the integration client `client` until it sees
    `wanted`: each by a participant of `organization` with a coach (the participants in turn,
    the resource at random), sent at once (`requested`) by that coach at a moment of the 30
    days before `before` (when the run began, so `remove_created_since` leaves them), with its
    first status change, as a referral created `requested` has. They name no consent, which
    the poll does not read: it decides on the participant's consents to the client, and the
    seeded ones predate its link. Returns (the referrals the client sees, how many were
    added)."""
    seen = f"({seen_by(client, organization)}) s"
    rows = cluster.psql(dataset.name, f"""
        WITH missing AS (SELECT greatest(0, {int(wanted)} - count(*)) AS n FROM {seen}),
        linked AS (
          SELECT array_agg(resource_id ORDER BY resource_id) AS ids
          FROM integration_client_resources WHERE client_id = '{client}'),
        people AS (
          SELECT array_agg(participant_id ORDER BY participant_id) AS ids,
                 array_agg(coach_id ORDER BY participant_id) AS coaches
          FROM (SELECT DISTINCT ON (participant_id) participant_id, coach_id FROM pairings
                WHERE organization_id = '{organization}' AND status <> 'ended'
                ORDER BY participant_id, started_at DESC) p),
        new AS (
          SELECT '{before}'::timestamptz - interval '1 second' - interval '30 days' * random()
                   AS at,
                 p.ids[1 + g % cardinality(p.ids)] AS participant_id,
                 p.coaches[1 + g % cardinality(p.ids)] AS coach_id,
                 l.ids[1 + floor(random() * cardinality(l.ids))::int] AS resource_id
          FROM missing, linked l, people p, generate_series(1, missing.n) g
          WHERE cardinality(l.ids) > 0 AND cardinality(p.ids) > 0),
        made AS (
          INSERT INTO referrals (id, organization_id, participant_id, resource_id, direction,
                                 reason, urgency, status, created_by, created_at, updated_at,
                                 sent_at)
          SELECT {_time_ordered_id("at")}, '{organization}', participant_id, resource_id,
                 'outbound', 'Connect with services that fit current needs',
                 CASE WHEN random() < 0.2 THEN 'urgent' ELSE 'routine' END, 'requested',
                 coach_id, at, at, at
          FROM new
          RETURNING id, created_by, created_at),
        history AS (
          INSERT INTO status_changes (id, subject_type, subject_id, from_status, to_status,
                                      reason, actor_id, at)
          SELECT {_time_ordered_id("created_at")}, 'referral', id, NULL, 'requested', NULL,
                 created_by, created_at
          FROM made)
        SELECT count(*) FROM made""")
    added = int(rows[0][0])
    if added:
        cluster.psql(dataset.name, "ANALYZE referrals")
        cluster.psql(dataset.name, "ANALYZE status_changes")
    return referrals_seen(cluster, dataset, client, organization), added


def note_count(cluster, dataset):
    return int(cluster.psql(dataset.name, "SELECT count(*) FROM session_notes")[0][0])


def remove_created_since(cluster, dataset, since, participants):
    """Deletes what the measured creates added since `since` (notes, goals and referrals of
    `participants`, with their status history and disclosures, and the idempotency keys), so
    every round and every run starts from the same data. Triggers that keep these rows from
    being deleted are bypassed for this; audit events stay (their chain is append-only).
    Returns the rows deleted per table."""
    ids = ", ".join(f"'{p}'" for p in participants)
    created = f"participant_id IN ({ids}) AND created_at >= '{since}'"
    deletes = [
        ("idempotency_keys", f"created_at >= '{since}'"),
        ("session_notes", created),
        ("disclosures", f"referral_id IN (SELECT id FROM referrals WHERE {created})"),
        ("status_changes", f"subject_id IN (SELECT id FROM goals WHERE {created} "
                           f"UNION ALL SELECT id FROM referrals WHERE {created})"),
        ("goals", created),
        ("referrals", created),
    ]
    deleted = {}
    for table, condition in deletes:
        deleted[table] = int(cluster.psql(dataset.name, f"""
            SET session_replication_role = replica;
            WITH gone AS (DELETE FROM {table} WHERE {condition} RETURNING 1)
            SELECT count(*) FROM gone""")[0][0])
    for table in (table for table, count in deleted.items() if count):
        cluster.psql(dataset.name, f"VACUUM ANALYZE {table}")
    return deleted
