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

# The cluster's log_line_prefix: backend, user and virtual transaction id.
PREFIX = re.compile(r"^@@(\d+)\|([^|@]*)\|([^@]*)@@ "
                    r"(LOG|DETAIL|ERROR|STATEMENT|WARNING|HINT|CONTEXT):  (.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
PLACEHOLDER = re.compile(r"\$(\d+)")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
BACKGROUND = ("audit_chain", "audit_seal_gaps", "7405232817263611", "webhook_events",
              "pg_stat_statements")


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
