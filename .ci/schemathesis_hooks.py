"""Hooks for `.ci/schemathesis` (loaded through `.ci/schemathesis.toml`)."""

import re
import uuid

import schemathesis

WELL_FORMED_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def map_headers(context, headers):
    # The same Idempotency-Key with another body is a 422 by contract, and the fuzzer draws keys
    # from a small space ("0", "00", ...), so two different requests often share one. A client
    # makes a fresh key for each new request: so does this. A malformed key stays as generated,
    # so its 400 is still checked.
    if headers and WELL_FORMED_KEY.fullmatch(str(headers.get("Idempotency-Key", ""))):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return headers
