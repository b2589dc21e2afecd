"""The SQL an endpoint issues, captured from PostgreSQL's statement log while the endpoint
answers one request, and turned into a pgbench script that sends the same statements, in the
same transactions, for another participant.

Parameters become literals. Values that identify the request's caller, participant, cursor or
search term are swapped for another request's; ids the endpoint generated fresh (a note's id,
an audit event's id) become a time-ordered expression of pgbench's random `:n`, so every
transaction inserts new rows as the endpoint does; the idempotency key becomes one per
transaction."""

import re
import time

PREFIX = re.compile(r"^@@(\d+)\|([^@]*)@@ (LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|CONTEXT):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
PLACEHOLDER = re.compile(r"\$(\d+)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BACKGROUND = ("audit_chain", "audit_seal_gaps", "7405232817263611", "webhook_events",
              "pg_stat_statements")
CONTROL = ("BEGIN", "START", "COMMIT", "END", "ROLLBACK")


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
    entry = None
    for line in text.splitlines():
        match = PREFIX.match(line)
        if match:
            if entry:
                yield entry
            entry = [match.group(1), match.group(2), match.group(3), match.group(4)]
        elif entry:
            entry[3] += "\n" + line
    if entry:
        yield entry


def _statements(text, user):
    by_backend = {}
    order = []
    for pid, who, level, message in _entries(text):
        if who != user:
            continue
        if level == "LOG" and (message.startswith("statement: ") or
                               message.startswith("execute ")):
            sql = message.split(": ", 1)[1] if message.startswith("statement: ") else \
                message.split(": ", 1)[1]
            statement = [sql.strip(), {}]
            by_backend.setdefault(pid, []).append(statement)
            order.append((pid, statement))
        elif level == "DETAIL" and message.startswith("parameters: ") and by_backend.get(pid):
            by_backend[pid][-1][1] = {
                int(number): (None if value == "NULL" else value[1:-1].replace("''", "'"))
                for number, value in PARAM.findall(message)
            }
    units = []
    for pid in by_backend:
        unit = []
        for sql, params in by_backend[pid]:
            unit.append((sql, params))
            first = sql.split(None, 1)[0].upper().rstrip(";") if sql else ""
            opened = unit and unit[0][0].split(None, 1)[0].upper() in ("BEGIN", "START")
            if not opened or first in ("COMMIT", "END", "ROLLBACK"):
                units.append((pid, unit))
                unit = []
        if unit:
            units.append((pid, unit))
    position = {id(statement): index for index, (_, statement) in enumerate(order)}
    kept = [unit for _, unit in units
            if not any(marker in sql for sql, _ in unit for marker in BACKGROUND)]
    kept.sort(key=lambda unit: min(position.get(id(s), 0) for s in unit) if unit else 0)
    return [statement for unit in kept for statement in unit]


def script(statements, swap, keep=(), fresh_key=None):
    """A pgbench script: `swap` maps captured values to this script's values, `keep` holds the
    captured values that name existing rows (never fresh ids), `fresh_key` is the idempotency
    key the captured request sent."""
    known = set(swap) | set(keep)
    lines = [r"\set n random(1, 1152921504606846975)"]
    fresh = {}
    for sql, params in statements:
        def literal(match):
            value = params.get(int(match.group(1)))
            return "NULL" if value is None else _literal(value, swap, known, fresh, fresh_key)
        text = PLACEHOLDER.sub(literal, sql) if params else sql
        lines.append(" ".join(text.split()) + ";")
    return "\n".join(lines) + "\n"


def _literal(value, swap, known, fresh, fresh_key):
    for old, new in swap.items():
        value = value.replace(old, new)
    parts = []
    position = 0
    pattern = UUID.pattern + (("|" + re.escape(fresh_key)) if fresh_key else "")
    for match in re.finditer(pattern, value):
        token = match.group(0)
        if token in known or token in swap.values():
            continue
        parts.append(_quote(value[position:match.start()]))
        if token == fresh_key:
            parts.append("('bench-' || :n::text)")
        else:
            index = fresh.setdefault(token, len(fresh) + 1)
            parts.append(_fresh_uuid(index) + "::text")
        position = match.end()
    if not parts:
        return _quote(value)
    parts.append(_quote(value[position:]))
    expression = " || ".join(part for part in parts if part != "''")
    if UUID.fullmatch(value):
        return f"({expression})::uuid"
    return f"({expression})"


def _fresh_uuid(index):
    """Time-ordered like the service's UUIDv7 ids: milliseconds of the transaction's start,
    then the transaction's random number and which id of the request this is."""
    return ("(lpad(to_hex((extract(epoch FROM now()) * 1000)::bigint), 12, '0') || "
            f"lpad(to_hex(:n::bigint * 8 + {index}), 20, '0'))::uuid")


def _quote(text):
    return "'" + text.replace("'", "''") + "'"
