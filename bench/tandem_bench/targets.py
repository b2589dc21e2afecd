"""The participants each run measures, signed in as their coaches."""

import urllib.parse

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


def sign_ins(cluster, data, limit=1000):
    """Sign-in bodies for many demo accounts: a storm of sign-ins to one account would only
    meet its guess limit (attempts are counted before they are checked)."""
    rows = cluster.psql(data.name, f"""
        SELECT email, role FROM users WHERE active ORDER BY email LIMIT {int(limit)}""")
    return [{"email": email, "password": PASSWORDS[role]} for email, role in rows
            if role in PASSWORDS]
