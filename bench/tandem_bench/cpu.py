"""CPU time from /proc: the server's process, and the PostgreSQL cluster's processes (the
postmaster and its children), read before and after a measured window.

A process's utime + stime covers its threads, exited ones included. A child of the postmaster
that exits during the window is counted through the postmaster's cutime + cstime, which take
in a child's whole CPU time when it is reaped: so the cluster's total at a moment is the
postmaster's own time, its reaped children's, and that of the children alive."""

import os
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid):
    """The fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def process_seconds(pid):
    """utime + stime of one process, in seconds."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def cluster_seconds(postmaster):
    """The CPU time of the postmaster, its reaped children and its live children, in seconds."""
    fields = _stat_fields(postmaster)
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    for pid in _children(postmaster):
        try:
            child = _stat_fields(pid)
        except OSError:  # exited (and reaped) since listed: counted in cutime at the next read
            continue
        ticks += int(child[11]) + int(child[12])
    return ticks / TICKS_PER_SECOND


def _children(pid):
    """The live children of `pid`: from /proc/<pid>/task/*/children where the kernel has it,
    else by the parent field of every process."""
    if not Path(f"/proc/{pid}/task/{pid}/children").exists():
        return [entry.name for entry in Path("/proc").iterdir()
                if entry.name.isdigit() and _parent(entry.name) == str(pid)]
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            children += (task / "children").read_text().split()
        except OSError:
            continue
    return children


def _parent(pid):
    try:
        return _stat_fields(pid)[1]
    except OSError:
        return None


class Window:
    """CPU seconds of the server and of PostgreSQL between `start()` and `stop()`."""

    def __init__(self, server_pid, postmaster):
        self.server_pid = server_pid
        self.postmaster = postmaster
        self.before = None
        self.server = self.postgres = None

    def _read(self):
        server = process_seconds(self.server_pid) if self.server_pid else 0.0
        return server, cluster_seconds(self.postmaster)

    def start(self):
        self.before = self._read()
        return self

    def stop(self):
        after = self._read()
        self.server = after[0] - self.before[0]
        self.postgres = after[1] - self.before[1]
        return self

    def per_request_us(self, requests):
        """{"server_us", "postgres_us"}: CPU microseconds per request answered."""
        count = max(1, requests)
        return {"server_us": self.server * 1e6 / count if self.server_pid else None,
                "postgres_us": self.postgres * 1e6 / count}
