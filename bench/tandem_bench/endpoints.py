"""The measured endpoints: what request each sends for a participant, and the values of a
participant that a pgbench script reads per transaction (see `capture.script`)."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

API = "/api/v1"
SEARCH_TERMS = ["recovery", "housing", "food", "legal", "employment", "support"]


@dataclass
class Target:
    """One measured participant, with the coach who reads them and what page 2 starts at."""
    organization: str
    coach: str
    email: str
    participant: str
    index: int
    token: str = ""
    cursor: str = ""  # the API's next_cursor after page 1 of notes
    cursor_at: str = ""  # the last note of page 1, as PostgreSQL prints it
    cursor_id: str = ""
    resource: str = ""  # a resource of the directory that takes referrals
    consent: str = ""  # the participant's consent to refer them to `resource`
    # The organization's integration client that polls FHIR Tasks (the same for every
    # participant; see `targets.ensure_client`): its row id, its credentials, a token, and
    # the instant its poll asks for the changes after.
    client: str = ""
    # A supervisor of the organization, whose follow-up work list is measured.
    supervisor_email: str = ""
    supervisor_token: str = ""
    client_id: str = ""
    client_secret: str = ""
    client_token: str = ""
    since: str = ""

    @property
    def term(self):
        return SEARCH_TERMS[self.index % len(SEARCH_TERMS)]

    def values(self):
        """The values a request for this participant may send, by name."""
        return {"organization": self.organization, "coach": self.coach,
                "participant": self.participant, "cursor_at": self.cursor_at,
                "cursor_id": self.cursor_id, "term": self.term, "resource": self.resource,
                "consent": self.consent, "client": self.client}


# The bodies below hold none of SEARCH_TERMS: a captured search term is read per target
# wherever it occurs in the captured SQL.

def note_body(_target):
    occurred = (datetime.now(timezone.utc) - timedelta(days=1)).replace(microsecond=0)
    return {
        "session_type": "individual",
        "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_minutes": 45,
        "summary": "Weekly check-in",
        "body": "Talked through the week: two meetings attended, sleep better, "
                "planning for a family visit on Sunday.",
    }


def goal_body(_target):
    return {
        "title": "Go to two meetings a week",
        "description": "Pick the meetings with the coach and note each one attended.",
        "domain": "substance_use",
        "target_date": (datetime.now(timezone.utc).date() + timedelta(days=90)).isoformat(),
    }


def referral_body(target):
    """Sent at once (`requested`), under the participant's consent to this resource."""
    return {
        "participant_id": target.participant,
        "resource_id": target.resource,
        "reason": "Asked for help with a place to stay after discharge",
        "urgency": "routine",
        "consent_id": target.consent,
        "status": "requested",
    }


@dataclass
class Endpoint:
    key: str
    title: str
    kind: str  # "read" or "write": which p99 target applies
    method: str
    path: object  # Target -> path
    body: object = None  # Target -> JSON body, for writes
    list_like: bool = False  # the ≥ 0.7× target applies
    weights: dict = field(default_factory=dict)  # for the mixed workload: key -> weight
    token: object = None  # Target -> the bearer token, when not the coach's
    # The ids its answer names are rows it read, which pgbench reads as captured (see
    # `scripts.for_endpoints`); otherwise an id that is no participant's value is one the
    # request generated.
    reads_rows: bool = False

    def request(self, target):
        token = self.token(target) if self.token else target.token
        return (self.method, self.path(target), token, self.body(target) if self.body else None)


PARTICIPANT = Endpoint(
    "participant", "GET /participants/{id}", "read", "GET",
    lambda t: f"{API}/participants/{t.participant}")
GOALS = Endpoint(
    "goals", "GET /participants/{id}/goals?limit=20", "read", "GET",
    lambda t: f"{API}/participants/{t.participant}/goals?limit=20", list_like=True)
NOTES_PAGE_2 = Endpoint(
    "notes_page_2", "GET /participants/{id}/session-notes?limit=20 (page 2)", "read", "GET",
    lambda t: f"{API}/participants/{t.participant}/session-notes?limit=20&cursor={t.cursor}",
    list_like=True)
NOTE_CREATE = Endpoint(
    "note_create", "POST /participants/{id}/session-notes", "write", "POST",
    lambda t: f"{API}/participants/{t.participant}/session-notes", body=note_body,
    list_like=True)
GOAL_CREATE = Endpoint(
    "goal_create", "POST /participants/{id}/goals", "write", "POST",
    lambda t: f"{API}/participants/{t.participant}/goals", body=goal_body, list_like=True)
REFERRAL_CREATE = Endpoint(
    "referral_create", "POST /referrals (requested, under a consent)", "write", "POST",
    lambda t: f"{API}/referrals", body=referral_body, list_like=True)
RESOURCES = Endpoint(
    "resources_search", "GET /resources?q=…", "read", "GET",
    lambda t: f"{API}/resources?q={t.term}", list_like=True)
# A clinic's poll of the referrals sent to it, as its integration client: a full page of the
# Tasks that changed after `since`, with thousands more after it.
FHIR_POLL_COUNT = 50
FHIR_TASK_POLL = Endpoint(
    "fhir_task_poll", f"GET /fhir/r4/Task?_lastUpdated=gt…&_count={FHIR_POLL_COUNT}", "read",
    "GET", lambda t: f"/fhir/r4/Task?_lastUpdated=gt{t.since}&_count={FHIR_POLL_COUNT}",
    list_like=True, token=lambda t: t.client_token, reads_rows=True)
# A supervisor's follow-up work list: every episode of the organization's participants
# (5,000 in the benchmark's data) scheduled, the open and overdue points first.
FOLLOW_UPS = Endpoint(
    "follow_ups", "GET /follow-ups?limit=50 (a supervisor's work list)", "read", "GET",
    lambda t: f"{API}/follow-ups?limit=50", list_like=True,
    token=lambda t: t.supervisor_token, reads_rows=True)
SINGLE = [PARTICIPANT, GOALS, NOTES_PAGE_2, NOTE_CREATE, GOAL_CREATE, REFERRAL_CREATE,
          RESOURCES, FHIR_TASK_POLL, FOLLOW_UPS]
MIXED = Endpoint(
    "mixed", "mixed coach workload (70% lists, 20% reads, 10% note creates)", "write", "MIX",
    None, weights={"goals": 35, "notes_page_2": 35, "participant": 20, "note_create": 10})
BY_KEY = {endpoint.key: endpoint for endpoint in SINGLE}
