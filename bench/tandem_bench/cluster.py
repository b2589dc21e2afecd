"""The benchmark's own PostgreSQL cluster: created once, kept between runs so the seeded data
is reused, started and stopped around each run. `pg_stat_statements` is preloaded (round trips
per request) and every statement can be logged for a moment (to capture an endpoint's SQL).

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` system user
and lives in a directory that user owns."""

import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

BIN_CANDIDATES = ["/usr/lib/postgresql/{v}/bin".format(v=v) for v in (17, 16, 15, 14)]
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",
    "shared_buffers": "'512MB'",
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "'all'",
    "pg_stat_statements.max": "10000",
    "timezone": "'UTC'",
    "log_timezone": "'UTC'",
    "log_line_prefix": "'@@%p|%u|%v@@ '",  # backend, user, virtual transaction id
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def pg_bin(name):
    found = shutil.which(name)
    for directory in BIN_CANDIDATES:
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    if found:
        return found
    raise SystemExit(f"bench: {name} not found (install PostgreSQL's server binaries)")


def as_root():
    return os.geteuid() == 0


class Cluster:
    def __init__(self, directory, port):
        self.port = port
        self.directory = Path(directory)
        if as_root() and not _postgres_can_enter(self.directory.parent):
            digest = hashlib.sha256(str(self.directory).encode()).hexdigest()[:12]
            self.directory = Path("/var/tmp") / f"tandem-bench-{digest}"
        self.data = self.directory / "pgdata"
        self.log = self.directory / "postgres.log"

    def _run(self, args, **kwargs):
        if as_root():
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, check=True, **kwargs)

    def ensure(self):
        if (self.data / "PG_VERSION").exists():
            return False
        self.directory.mkdir(parents=True, exist_ok=True)
        if as_root():
            entry = pwd.getpwnam("postgres")
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._run(
            [pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
             "--encoding=UTF8", "--locale=C"],
            stdout=subprocess.DEVNULL,
        )
        return True

    def start(self):
        self._run(
            [pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120",
             "-o", " ".join([f"-p {self.port} -k {self.directory}"] +
                            [f"-c {key}={value}" for key, value in SETTINGS.items()]),
             "start"],
            stdout=subprocess.DEVNULL,
        )
        self.psql("postgres", "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")

    def stop(self):
        self._run([pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def postmaster_pid(self):
        """The postmaster's process id, from the first line of postmaster.pid."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def url(self, database, user="postgres"):
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def psql(self, database, sql):
        """Runs `sql` as the superuser; returns the rows as lists of strings."""
        done = subprocess.run(
            [pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d",
             database, "-AtqX", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=False, capture_output=True, text=True,
            env={**os.environ, "PGTZ": "UTC", "PGOPTIONS": "-c timezone=UTC"},
        )
        if done.returncode != 0:
            raise PsqlError(f"psql on {database}: {done.stderr.strip()}\n  {sql.strip()[:300]}")
        return [line.split("\t") for line in done.stdout.splitlines() if line]

    def log_size(self):
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset):
        with open(self.log, "rb") as file:
            file.seek(offset)
            return file.read().decode("utf-8", "replace")


class PsqlError(RuntimeError):
    pass


def _postgres_can_enter(path):
    """Whether the `postgres` user can reach `path` (search permission on every ancestor)."""
    path = Path(path)
    while not path.exists():
        path = path.parent
    probe = ["runuser", "-u", "postgres", "--", "test", "-x", str(path)]
    return subprocess.run(probe, check=False).returncode == 0
