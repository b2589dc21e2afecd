"""The participants each run measures, signed in as their coaches, with what their requests
need: page 2's cursor, a resource to refer them to and their consent to it."""

import urllib.parse
from datetime import datetime, timedelta, timezone

from . import dataset as datasets
from .endpoints import API, Target

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
    return chosen


def sign_in(server, targets):
    tokens = {}
    for target in targets:
        if target.email not in tokens:
            tokens[target.email] = server.login(target.email, COACH_PASSWORD)
        target.token = tokens[target.email]


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


def sign_ins(cluster, data, limit=1000):
    """Sign-in bodies for many demo accounts: a storm of sign-ins to one account would only
    meet its guess limit (attempts are counted before they are checked)."""
    rows = cluster.psql(data.name, f"""
        SELECT email, role FROM users WHERE active ORDER BY email LIMIT {int(limit)}""")
    return [{"email": email, "password": PASSWORDS[role]} for email, role in rows
            if role in PASSWORDS]
