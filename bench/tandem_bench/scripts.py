"""pgbench scripts for each endpoint, from the SQL it was seen to send."""

import uuid

from . import capture
from .dataset import APP_ROLE
from .endpoints import SINGLE


def for_endpoints(cluster, server, targets, keep_in):
    """{endpoint key: (statements captured, [script per target])}. The first target's script
    of each endpoint is kept in `keep_in`, to read."""
    keep_in.mkdir(parents=True, exist_ok=True)
    first = targets[0]
    captured_values = first.swap_values()
    scripts = {}
    for endpoint in SINGLE:
        method, path, token, body = endpoint.request(first)
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
        per_target = []
        for target in targets:
            values = target.swap_values()
            swap = {captured_values[name]: values[name] for name in values
                    if captured_values[name] and captured_values[name] != values[name]}
            per_target.append(capture.script(
                statements, swap, keep=set(captured_values.values()), fresh_key=key))
        scripts[endpoint.key] = (statements, per_target)
        (keep_in / f"{endpoint.key}.sql").write_text(per_target[0])
    return scripts
