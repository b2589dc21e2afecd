"""One round of one endpoint: pgbench and wrk at 8 and 32 connections, interleaved, then wrk at
a fixed rate of half the maximum the API reached. With a baseline binary, the same wrk runs go
to it too, one server at a time on the same database, the two binaries taking turns at going
first. CPU per request is read from /proc over the c=32 windows."""

from . import cpu, load, stats
from .dataset import APP_ROLE
from .endpoints import BY_KEY, MIXED

# A server just started opens its pool's connections and prepares its statements on its
# first requests: this long a run of the endpoint's requests comes before its windows.
WARM_UP_SECONDS = 1


class Contender:
    """A tandem binary and, while it runs, its server on the measured database."""

    def __init__(self, label, binary, start_server):
        self.label = label
        self.binary = binary
        self._start_server = start_server
        self.server = None

    def start(self):
        if self.server is None:
            self.server = self._start_server(self.binary)
        return self.server

    def stop(self):
        if self.server is not None:
            self.server.stop()
            self.server = None


class Bench:
    """`current` is measured beside pgbench; `baseline`, when given, through HTTP only.
    `cleanup()` removes what a write endpoint created."""

    def __init__(self, cluster, data, targets, scripts, seconds, current, baseline=None,
                 cleanup=None):
        self.cluster = cluster
        self.data = data
        self.targets = targets
        self.scripts = scripts
        self.seconds = seconds
        self.current = current
        self.baseline = baseline
        self.cleanup = cleanup or (lambda: None)
        self.postmaster = cluster.postmaster_pid()

    def running(self):
        """The server that runs now (there is one at a time)."""
        for contender in (self.current, self.baseline):
            if contender and contender.server:
                return contender.server
        return self.current.start()

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

    def once(self, endpoint, number=1):
        """Round `number` of `endpoint`: the figures of the current binary, with the
        baseline's under "baseline". The baseline goes first in even rounds."""
        requests = load.write_requests(self.requests(endpoint))
        order = [self.current] + ([self.baseline] if self.baseline else [])
        if number % 2 == 0:
            order.reverse()
        figures = {}
        for contender in order:
            server = self._switch_to(contender, requests) if self.baseline else \
                contender.start()
            if contender is self.current:
                figures.update(self._with_pgbench(endpoint, server, requests))
            else:
                figures["baseline"] = self._through_http(server, requests)
            if endpoint.kind == "write":
                self.cleanup()
        return figures

    def _switch_to(self, contender, requests):
        """Stops the other binary's server, starts this one's and warms it up."""
        for other in (self.current, self.baseline):
            if other is not contender:
                other.stop()
        server = contender.start()
        load.wrk(server.base, requests, 32, WARM_UP_SECONDS)
        return server

    def _with_pgbench(self, endpoint, server, requests):
        """pgbench and wrk by turns at 8 and 32 connections, then wrk at a fixed rate."""
        scripts = self.pgbench_scripts(endpoint)
        figures = {}
        server.take_peak()
        for connections in (8, 32):
            figures[f"pgbench_c{connections}"] = self._pgbench(scripts, connections)
            figures.update(self._wrk(server, requests, connections))
        figures.update(self._at_half_rate(server, requests, figures["wrk_c32"]["rps"]))
        return figures

    def _through_http(self, server, requests):
        """wrk at 8 and 32 connections, then at a fixed rate."""
        figures = {}
        server.take_peak()
        for connections in (8, 32):
            figures.update(self._wrk(server, requests, connections))
        figures.update(self._at_half_rate(server, requests, figures["wrk_c32"]["rps"]))
        return figures

    def _pgbench(self, scripts, connections):
        window = cpu.Window(None, self.postmaster).start()
        figures = load.pgbench(self.cluster, self.data.name, APP_ROLE, scripts, connections,
                               self.seconds)
        window.stop()
        figures["cpu"] = window.per_request_us(figures["transactions"] or 0)
        return figures

    def _wrk(self, server, requests, connections):
        """wrk's figures under "wrk_c<connections>"; at 32 connections also the statements
        the service sent and the CPU it and PostgreSQL spent, per request."""
        if connections != 32:
            return {f"wrk_c{connections}": load.wrk(server.base, requests, connections,
                                                    self.seconds)}
        stats.reset(self.cluster)
        window = cpu.Window(server.pid, self.postmaster).start()
        figures = load.wrk(server.base, requests, connections, self.seconds)
        window.stop()
        answered = max(1, figures["requests"])
        return {
            "wrk_c32": figures,
            "round_trips": stats.service_statements(self.cluster, self.data.name) / answered,
            "cpu": window.per_request_us(answered),
        }

    def _at_half_rate(self, server, requests, most):
        rate = 0.5 * most
        return {
            "rate": rate,
            "fixed_rate": load.wrk(server.base, requests, 32, self.seconds, rate=rate),
            "peak_rss_mib": server.take_peak(),
        }
