"""The participants each run measures, signed in as their coaches, with what their requests
need: page 2's cursor, a resource to refer them to and their consent to it; and the
organization's integration client whose FHIR poll is measured beside them."""

import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

from . import dataset as datasets
from .endpoints import API, FHIR_POLL_COUNT, FHIR_TASK_POLL, Target

COACH_PASSWORD = "demo-coach-password"
# `tandem seed-demo`'s passwords, one per role.
PASSWORDS = {"admin": "demo-admin-password", "supervisor": "demo-supervisor-password",
             "coach": COACH_PASSWORD, "participant": "demo-participant-password"}


def choose(cluster, data, coaches, per_coach):
    chosen = []
    for organization, coach, email, participants in datasets.caseloads(cluster, data, coaches):
        for participant in participants[:per_coach]:
            chosen.append(Target(organization, coach, email, participant, len(chosen)))
    if not chosen:
        raise SystemExit(f"bench: {data.name} has no coach with participants")
    supervisors = {}
    for target in chosen:
        if target.organization not in supervisors:
            found = cluster.psql(data.name, f"""
                SELECT email FROM users
                WHERE organization_id = '{target.organization}' AND role = 'supervisor'
                  AND active
                ORDER BY email LIMIT 1""")
            if not found:
                raise SystemExit(f"bench: organization {target.organization} has no supervisor")
            supervisors[target.organization] = found[0][0]
        target.supervisor_email = supervisors[target.organization]
    return chosen


# The integration client the FHIR poll signs in as, one per measured organization.
CLIENT_NAME = "Benchmark clinic EHR"
CLIENT_SCOPES = ["referrals:read", "referrals:write", "directory:read"]


def sign_in(server, targets):
    """Tokens for the coaches, their organizations' supervisors and, where the targets have
    one, the integration client (all last 15 minutes)."""
    tokens = {}
    for target in targets:
        if target.email not in tokens:
            tokens[target.email] = server.login(target.email, COACH_PASSWORD)
        target.token = tokens[target.email]
        if target.supervisor_email not in tokens:
            tokens[target.supervisor_email] = server.login(target.supervisor_email,
                                                           PASSWORDS["supervisor"])
        target.supervisor_token = tokens[target.supervisor_email]
        if target.client_id:
            if target.client_id not in tokens:
                tokens[target.client_id] = client_token(server, target)
            target.client_token = tokens[target.client_id]


def client_token(server, target):
    """A token of the client as a SMART backend service asks for one to read Tasks."""
    status, answer = server.call("POST", API + "/auth/token", body={
        "grant_type": "client_credentials", "client_id": target.client_id,
        "client_secret": target.client_secret, "scope": "system/Task.rs"})
    if status != 200:
        raise SystemExit(f"bench: the token of client {target.client_id}: {status} {answer}")
    return answer["access_token"]


def find_cursors(cluster, data, server, targets):
    """Page 1 through the API gives the cursor; PostgreSQL gives the last note of page 1."""
    for target in targets:
        status, page = server.call(
            "GET", f"{API}/participants/{target.participant}/session-notes?limit=20",
            target.token)
        if status != 200 or not page.get("next_cursor"):
            raise SystemExit(f"bench: page 1 of {target.participant}'s notes: {status} {page}")
        target.cursor = urllib.parse.quote(page["next_cursor"], safe="")
        last = page["items"][-1]["id"]
        target.cursor_id = last
        target.cursor_at = cluster.psql(
            data.name, f"SELECT occurred_at FROM session_notes WHERE id = '{last}'")[0][0]


def choose_resources(cluster, data, targets):
    """For each organization, the first active resource of its directory that takes referrals
    and has no integration client linked (a referral to it writes no webhook event)."""
    organizations = ", ".join(sorted({f"'{t.organization}'" for t in targets}))
    rows = cluster.psql(data.name, f"""
        SELECT DISTINCT ON (r.organization_id) r.organization_id, r.id FROM resources r
        WHERE r.organization_id IN ({organizations}) AND r.accepts_referrals
          AND r.status = 'active'
          AND NOT EXISTS (SELECT 1 FROM integration_client_resources c
                          WHERE c.resource_id = r.id)
        ORDER BY r.organization_id, r.name, r.id""")
    resources = dict(rows)
    for target in targets:
        if target.organization not in resources:
            raise SystemExit(f"bench: organization {target.organization} has no resource "
                             "that takes referrals")
        target.resource = resources[target.organization]


def ensure_consents(cluster, data, server, targets):
    """Each participant's active consent to disclose referral details to their target's
    resource: one that exists and runs for a month more, else one their coach records now."""
    for target in targets:
        rows = cluster.psql(data.name, f"""
            SELECT id FROM consents
            WHERE participant_id = '{target.participant}'
              AND recipient_resource_id = '{target.resource}'
              AND revoked_at IS NULL AND expires_at > now() + interval '30 days'
              AND 'referral_details' = ANY (information_categories)
            ORDER BY signed_at DESC, id DESC LIMIT 1""")
        target.consent = rows[0][0] if rows else _record_consent(server, target)


def _record_consent(server, target):
    now = datetime.now(timezone.utc).replace(microsecond=0)
    body = {
        "recipient_resource_id": target.resource,
        "purpose": "Referral for services and follow-up on it",
        "information_categories": ["demographics", "referral_details"],
        "information_description": "Name and the reason for the referral",
        "expires_at": (now + timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signed_by_name": "Participant",
        "signer_relationship": "self",
        "signed_at": (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "signature_method": "electronic",
    }
    status, answer = server.call("POST", f"{API}/participants/{target.participant}/consents",
                                 target.token, body)
    if status != 201:
        raise SystemExit(f"bench: consent of {target.participant}: {status} {answer}")
    return answer["id"]


def ensure_client(cluster, data, server, targets):
    """The targets' organization's integration client (all targets are of one organization):
    made once by its admin through the API, linked to every active resource of the directory
    that takes referrals but the targets' own (a referral the coaches create then writes no
    webhook event); on later runs its secret is rotated, as only a create or a rotation shows
    it. Sets each target's client."""
    organization = targets[0].organization
    admin = cluster.psql(data.name, f"""
        SELECT email FROM users
        WHERE organization_id = '{organization}' AND role = 'admin' AND active
        ORDER BY email LIMIT 1""")
    if not admin:
        raise SystemExit(f"bench: organization {organization} has no admin")
    token = server.login(admin[0][0], PASSWORDS["admin"])
    found = cluster.psql(data.name, f"""
        SELECT id FROM integration_clients
        WHERE organization_id = '{organization}' AND name = '{CLIENT_NAME}' AND active
        ORDER BY created_at, id LIMIT 1""")
    if found:
        status, answer = server.call(
            "POST", f"{API}/integration-clients/{found[0][0]}/rotate-secret", token, {})
    else:
        own = ", ".join(sorted({f"'{t.resource}'" for t in targets}))
        resources = [row[0] for row in cluster.psql(data.name, f"""
            SELECT id FROM resources
            WHERE organization_id = '{organization}' AND accepts_referrals
              AND status = 'active' AND id NOT IN ({own})
            ORDER BY name, id""")]
        if not resources:
            raise SystemExit(f"bench: organization {organization} has no resource to link "
                             "the FHIR poll's client to")
        body = {"name": CLIENT_NAME, "resource_ids": resources, "scopes": CLIENT_SCOPES}
        status, answer = server.call("POST", f"{API}/integration-clients", token, body,
                                     {"Idempotency-Key": f"bench-client-{uuid.uuid4().hex}"})
    if status not in (200, 201) or not answer.get("client_secret"):
        raise SystemExit(f"bench: the integration client of {organization}: {status} {answer}")
    for target in targets:
        target.client = answer["id"]
        target.client_id = answer["client_id"]
        target.client_secret = answer["client_secret"]


def choose_since(cluster, data, targets):
    """The instant the FHIR poll asks for the changes after: when the referral the client
    sees a third of the way through them, oldest first, last changed (to the second), so that
    each poll answers a full page and thousands more follow it. Returns (the referrals the
    client sees, how many changed after that instant)."""
    client, organization = targets[0].client, targets[0].organization
    seen = datasets.referrals_seen(cluster, data, client, organization)
    rows = cluster.psql(data.name, f"""
        SELECT to_char(date_trunc('second', s.updated_at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        FROM ({datasets.seen_by(client, organization)}) s
        ORDER BY s.updated_at, s.id OFFSET {seen // 3} LIMIT 1""")
    if not rows:
        raise SystemExit(f"bench: the FHIR poll's client of {organization} sees no referral")
    since = rows[0][0]
    for target in targets:
        target.since = since
    return seen, datasets.referrals_seen(cluster, data, client, organization, after=since)


def check_poll(server, target):
    """One poll, which must answer a full page with a next one after it. Returns how many of
    its Tasks name their patient (each such showing also records a disclosure)."""
    method, path, token, _ = FHIR_TASK_POLL.request(target)
    status, page = server.call(method, path, token)
    if status != 200 or not isinstance(page, dict):
        raise SystemExit(f"bench: {path} answered {status}: {page}")
    entries = page.get("entry") or []
    more = any(link.get("relation") == "next" for link in page.get("link") or [])
    if len(entries) != FHIR_POLL_COUNT or not more:
        raise SystemExit(f"bench: {path} answered {len(entries)} Tasks "
                         f"{'with' if more else 'without'} a next page, not a full page")
    return sum(1 for e in entries if (e.get("resource") or {}).get("for", {}).get("display"))


def sign_ins(cluster, data, limit=1000):
    """Sign-in bodies for many demo accounts: a storm of sign-ins to one account would only
    meet its guess limit (attempts are counted before they are checked)."""
    rows = cluster.psql(data.name, f"""
        SELECT email, role FROM users WHERE active ORDER BY email LIMIT {int(limit)}""")
    return [{"email": email, "password": PASSWORDS[role]} for email, role in rows
            if role in PASSWORDS]
