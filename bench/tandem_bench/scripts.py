"""pgbench scripts for each endpoint, from the SQL it was seen to send: one script per
endpoint, which draws the measured participant per transaction and reads that participant's
values (ids, cursor, search term...) from settings of the database (see `capture`)."""

import json
import uuid

from . import capture
from .dataset import APP_ROLE
from .endpoints import SINGLE


def for_endpoints(cluster, data, server, targets, keep_in):
    """{endpoint key: (statements captured, script)}. Each script is also written to
    `keep_in`, to read, beside `targets.tsv` (the values of participant n on line n + 1)."""
    keep_in.mkdir(parents=True, exist_ok=True)
    names = store_targets(cluster, data, targets)
    (keep_in / "targets.tsv").write_text(_table_text(names, targets))
    first = targets[0]
    lookups = {value: name for name, value in first.values().items() if value}
    scripts = {}
    for endpoint in SINGLE:
        statements, key, answer = _capture(cluster, server, endpoint, first)
        types = capture.parameter_types(cluster, data.name, statements)
        # A read that lists rows by more than the participant's values (the Tasks a client
        # polls) sends their ids on, in later statements: the ids its answer names are those.
        kept = set(capture.UUID.findall(json.dumps(answer))) if endpoint.reads_rows else set()
        text = capture.script(statements, types, lookups, len(targets), fresh_key=key,
                              kept=kept)
        scripts[endpoint.key] = (statements, text)
        (keep_in / f"{endpoint.key}.sql").write_text(text)
    return scripts


def store_targets(cluster, data, targets):
    """Sets `bench.<name>_<n>` to the value `name` of targets[n - 1] (n from 1) for the
    sessions the service's login opens in the dataset's database from now on, pgbench's
    among them; the settings of an earlier run are reset first. Returns the names."""
    names = list(targets[0].values())
    scope = f"ALTER ROLE {APP_ROLE} IN DATABASE {data.name}"
    statements = [f"{scope} RESET ALL"] + [
        f"{scope} SET {capture.SETTINGS_PREFIX}.{name}_{number} = {_quote(value)}"
        for number, target in enumerate(targets, start=1)
        for name, value in target.values().items()]
    cluster.psql("postgres", ";\n".join(statements))
    return names


def _capture(cluster, server, endpoint, target):
    """The statements of one request, checked to have succeeded, its idempotency key and its
    answer."""
    method, path, token, body = endpoint.request(target)
    key = f"capture-{uuid.uuid4().hex[:16]}"
    headers = {"Idempotency-Key": key} if method == "POST" else {}
    answers = []

    def send():
        answers.append(server.call(method, path, token, body, headers))

    statements = capture.capture(cluster, APP_ROLE, send)
    status, answer = answers[0]
    if status not in (200, 201):
        raise SystemExit(f"bench: {method} {path} answered {status}: {answer}")
    if not statements:
        raise SystemExit(f"bench: no statements were logged for {endpoint.title}")
    return statements, key, answer


def _table_text(names, targets):
    lines = ["\t".join(["n"] + names)]
    for number, target in enumerate(targets, start=1):
        lines.append("\t".join([str(number)] + [target.values()[name] for name in names]))
    return "\n".join(lines) + "\n"


def _quote(text):
    return "'" + text.replace("'", "''") + "'"
