"""The SQL an endpoint issues, captured from PostgreSQL's statement log while the endpoint
answers one request, and turned into a pgbench script that sends the same statements, in the
same transactions, for a measured participant drawn at random per transaction.

Parameters become literals, except where they hold one of the captured request's values (its
caller, participant, organization, cursor, search term, resource...): those are read from the
settings `bench.<name>_<n>` that hold participant n's values (see `scripts.store_targets`), as
`current_setting('bench.participant_' || :t)`, `:t` being the participant pgbench drew. That
costs PostgreSQL less than a scalar subquery on a table of the participants (an InitPlan for
every value a statement reads), and sends no statement the service does not send, as reading
the values into pgbench variables (`\\gset`) would. Ids the endpoint generated fresh (a
note's id, an audit event's id) become a time-ordered expression of pgbench's random `:n`, so
every transaction inserts new rows as the endpoint does; the idempotency key becomes one per
transaction. Ids of rows a read found (the referrals of a page of FHIR Tasks and what they
name), given as `kept`, are sent as captured, even one that is also a participant's value.
What replaces a parameter is cast to the type PostgreSQL infers for it (from `PREPARE`), so
it means what the literal meant."""

import re
import time

from .cluster import PsqlError

# The cluster's log_line_prefix: backend, user and virtual transaction id.
PREFIX = re.compile(r"^@@(\d+)\|([^|@]*)\|([^@]*)@@ "
                    r"(LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|CONTEXT):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
PLACEHOLDER = re.compile(r"\$(\d+)")
VARIABLE_LIKE = re.compile(r":(?=[A-Za-z_\u0080-\U0010ffff])")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# (The webhook worker's own statements, not a request's that queues an event.)
BACKGROUND = ("audit_chain", "audit_seal_gaps", "7405232817263611", "SKIP LOCKED",
              'UPDATE "webhook_events"', "webhook_deliveries", "pg_stat_statements")
# The custom settings that hold the measured participants' values: bench.<name>_<n>.
SETTINGS_PREFIX = "bench"
# Fresh ids are `:n * FRESH_PER_REQUEST + index`, the index numbering a request's new ids.
FRESH_PER_REQUEST = 256
FRESH_LIMIT = 2 ** 55


def capture(cluster, user, send):
    """Calls `send()` with every statement logged; returns the statements `user` ran meanwhile,
    as (sql, params) with params a dict of number -> literal text or None."""
    cluster.psql("postgres", "ALTER SYSTEM SET log_statement = 'all'")
    cluster.psql("postgres", "SELECT pg_reload_conf()")
    time.sleep(0.5)
    offset = cluster.log_size()
    try:
        send()
        time.sleep(0.3)
    finally:
        cluster.psql("postgres", "ALTER SYSTEM RESET log_statement")
        cluster.psql("postgres", "SELECT pg_reload_conf()")
    return _statements(cluster.log_since(offset), user)


def _entries(text):
    """[pid, user, virtual transaction id, level, message] per log entry."""
    entry = None
    for line in text.splitlines():
        match = PREFIX.match(line)
        if match:
            if entry:
                yield entry
            entry = list(match.groups())
        elif entry:
            entry[4] += "\n" + line
    if entry:
        yield entry


def _statements(text, user):
    """The statements `user` ran, grouped by transaction (backend and virtual transaction id)
    in the order each began. Transactions the log holds only part of (begun before the window
    or ended after it) and those of the server's background work are left out."""
    transactions = {}
    last = {}  # backend -> its latest statement, which a DETAIL line belongs to
    for pid, who, vxid, level, message in _entries(text):
        if who != user:
            continue
        if level == "LOG" and message.startswith(("statement: ", "execute ")):
            statement = (message.split(": ", 1)[1].strip(), {})
            transactions.setdefault((pid, vxid), []).append(statement)
            last[pid] = statement
        elif level == "DETAIL" and message.startswith("parameters: ") and pid in last:
            last[pid][1].update({
                int(number): (None if value == "NULL" else value[1:-1].replace("''", "'"))
                for number, value in PARAM.findall(message)
            })
    return [statement for unit in transactions.values()
            if _whole(unit) and not _background(unit) for statement in unit]


def _keyword(sql):
    return sql.split(None, 1)[0].upper().rstrip(";") if sql else ""


def _whole(unit):
    """An explicit transaction from its BEGIN to its end, or statements outside any."""
    opened = _keyword(unit[0][0]) in ("BEGIN", "START")
    closed = _keyword(unit[-1][0]) in ("COMMIT", "END", "ROLLBACK")
    return opened == closed


def _background(unit):
    return any(marker in sql for sql, _ in unit for marker in BACKGROUND)


def parameter_types(cluster, database, statements):
    """The type PostgreSQL infers for each parameter of each statement, as the statement names
    them (`uuid`, `text[]`, ...): [{number: type}], {} where a statement has no parameters or
    cannot be prepared on its own."""
    types = []
    for sql, params in statements:
        types.append(_prepared_types(cluster, database, sql) if params else {})
    return types


def _prepared_types(cluster, database, sql):
    try:
        rows = cluster.psql(database, f"""
            PREPARE bench_probe AS {sql};
            SELECT i, t::text FROM pg_prepared_statements,
              unnest(parameter_types) WITH ORDINALITY AS u(t, i)
            WHERE name = 'bench_probe' ORDER BY i""")
    except PsqlError:
        return {}
    return {int(number): name for number, name in rows}


def script(statements, types, lookups, targets, fresh_key=None, kept=()):
    """A pgbench script that sends `statements` (as captured, with the parameters they were
    sent with) for a target drawn at random.

    `lookups` maps a captured value to the name of the value for every target: it becomes
    `current_setting('bench.<name>_' || :t)`, with `:t` drawn per transaction from 1 to
    `targets`, unless it is a UUID in `kept`: those stay as sent. Other UUIDs are ids the
    request generated and become fresh ones; `fresh_key` (the idempotency key sent) becomes
    one per transaction. `types` (from `parameter_types`) casts what replaces a parameter to
    the type PostgreSQL gave it."""
    lines = [rf"\set t random(1, {targets})", rf"\set n random(1, {FRESH_LIMIT})"]
    fresh = {}
    for (sql, params), kinds in zip(statements, types):
        def parameter(match):
            number = int(match.group(1))
            value = params.get(number)
            if value is None:
                return "NULL"
            return _parameter(value, kinds.get(number), lookups, fresh, fresh_key, kept)
        text = PLACEHOLDER.sub(parameter, sql) if params else sql
        lines.append(" ".join(text.split()) + ";")
    return "\n".join(lines) + "\n"


def _parameter(value, kind, lookups, fresh, fresh_key, kept):
    """A captured parameter: the literal as sent, or, where it holds a target's value, a
    fresh id or the idempotency key, an expression that replaces each of those in it."""
    kind = kind or ("uuid" if UUID.fullmatch(value) else "text")
    replacements = {token: _replacement(token, lookups, fresh, fresh_key)
                    for token in _tokens(value, lookups, fresh_key, kept)}
    if not replacements:
        literal = _quote(value)
        return literal if literal.startswith("'") else f"{literal}::{kind}"
    if value in replacements:
        expression, its_kind = replacements[value]
        return expression if its_kind == kind else f"{expression}::{kind}"
    expression = _quote(value)
    for token, (replacement, its_kind) in replacements.items():
        text = replacement if its_kind == "text" else f"{replacement}::text"
        expression = f"replace({expression}, {_quote(token)}, {text})"
    return f"{expression}::{kind}"


def _replacement(token, lookups, fresh, fresh_key):
    """(expression, its type) standing for `token` in every transaction."""
    if token in lookups:
        return f"current_setting('{SETTINGS_PREFIX}.{lookups[token]}_' || :t)", "text"
    if token == fresh_key:
        return "('bench-' || :n::text)", "text"
    index = fresh.setdefault(token, len(fresh) + 1)
    if index >= FRESH_PER_REQUEST:
        raise SystemExit(f"bench: a request generated more than {FRESH_PER_REQUEST - 1} ids")
    return _fresh_uuid(index), "uuid"


def _tokens(value, lookups, fresh_key, kept=()):
    """The target values, UUIDs (but those `kept`) and idempotency key in `value`, each once,
    longest first."""
    words = sorted((v for v in lookups if v and not UUID.fullmatch(v)), key=len, reverse=True)
    if fresh_key:
        words.insert(0, fresh_key)
    pattern = "|".join([re.escape(word) for word in words] + [UUID.pattern])
    found = []
    for match in re.finditer(pattern, value):
        if match.group(0) in kept:
            continue
        if match.group(0) not in found:
            found.append(match.group(0))
    return found


def _fresh_uuid(index):
    """Time-ordered like the service's UUIDv7 ids: milliseconds of the transaction's start,
    then the transaction's random number and which id of the request this is."""
    return ("(lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || "
            f"lpad(to_hex(:n::bigint * {FRESH_PER_REQUEST} + {index}), 20, '0'))::uuid")


def _quote(text):
    """A string literal of `text`. pgbench takes `:name` as a variable even inside a literal,
    so the literal is split after such a colon: 'a:b' is ('a:' || 'b'), of type text."""
    pieces = VARIABLE_LIKE.split(text)
    quoted = ["'" + piece.replace("'", "''") + "'" for piece in
              [piece + ":" for piece in pieces[:-1]] + pieces[-1:]]
    return quoted[0] if len(quoted) == 1 else "(" + " || ".join(quoted) + ")"
