"""One round of one endpoint: pgbench and wrk at 8 and 32 connections, interleaved, then wrk at
a fixed rate of half the maximum the API reached. CPU per request is read from /proc over the
c=32 windows."""

from . import cpu, load, stats
from .dataset import APP_ROLE
from .endpoints import BY_KEY, MIXED

class Bench:
    """`cleanup()` removes what a write endpoint created."""

    def __init__(self, cluster, data, server, targets, scripts, seconds, cleanup=None):
        self.cluster = cluster
        self.data = data
        self.server = server
        self.targets = targets
        self.scripts = scripts
        self.seconds = seconds
        self.cleanup = cleanup or (lambda: None)
        self.postmaster = cluster.postmaster_pid()

    def round_trips_pgbench(self, endpoint):
        if endpoint is MIXED:
            weights = endpoint.weights
            total = sum(weights.values())
            return sum(len(self.scripts[key][0]) * weight for key, weight in weights.items()) \
                / total
        return float(len(self.scripts[endpoint.key][0]))

    def pgbench_scripts(self, endpoint):
        if endpoint is MIXED:
            return [(self.scripts[key][1], weight) for key, weight in endpoint.weights.items()]
        return [(self.scripts[endpoint.key][1], 1)]

    def requests(self, endpoint):
        if endpoint is MIXED:
            return [BY_KEY[key].request(target) for target in self.targets
                    for key, weight in endpoint.weights.items() for _ in range(weight)]
        return [endpoint.request(target) for target in self.targets]

    def once(self, endpoint):
        scripts = self.pgbench_scripts(endpoint)
        requests = load.write_requests(self.requests(endpoint))
        figures = {}
        self.server.take_peak()
        for connections in (8, 32):
            figures[f"pgbench_c{connections}"] = self._pgbench(scripts, connections)
            figures.update(self._wrk(requests, connections))
        figures["rate"] = 0.5 * figures["wrk_c32"]["rps"]
        figures["fixed_rate"] = load.wrk(self.server.base, requests, 32, self.seconds,
                                         rate=figures["rate"])
        figures["peak_rss_mib"] = self.server.take_peak()
        if endpoint.kind == "write":
            self.cleanup()
        return figures

    def _pgbench(self, scripts, connections):
        window = cpu.Window(None, self.postmaster).start()
        figures = load.pgbench(self.cluster, self.data.name, APP_ROLE, scripts, connections,
                               self.seconds)
        window.stop()
        figures["cpu"] = window.per_request_us(figures["transactions"] or 0)
        return figures

    def _wrk(self, requests, connections):
        """wrk's figures under "wrk_c<connections>"; at 32 connections also the statements
        the service sent and the CPU it and PostgreSQL spent, per request."""
        if connections != 32:
            return {f"wrk_c{connections}": load.wrk(self.server.base, requests, connections,
                                                    self.seconds)}
        stats.reset(self.cluster)
        window = cpu.Window(self.server.pid, self.postmaster).start()
        figures = load.wrk(self.server.base, requests, connections, self.seconds)
        window.stop()
        answered = max(1, figures["requests"])
        return {
            "wrk_c32": figures,
            "round_trips": stats.service_statements(self.cluster, self.data.name) / answered,
            "cpu": window.per_request_us(answered),
        }
