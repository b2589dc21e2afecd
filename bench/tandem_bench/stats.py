"""PostgreSQL's own count of the statements the service sent: round trips per request."""

from .dataset import APP_ROLE


def reset(cluster):
    cluster.psql("postgres", "SELECT pg_stat_statements_reset()")


def service_statements(cluster, database):
    """Top-level statements run by the service's login in `database` since the last reset
    (the background audit sealer's included)."""
    rows = cluster.psql("postgres", f"""
        SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s
        JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid
        WHERE d.datname = '{database}' AND r.rolname = '{APP_ROLE}' AND s.toplevel""")
    return int(rows[0][0])
