"""Medians of the rounds, the targets, the printed tables and the JSON document."""

import statistics

from .endpoints import MIXED, SINGLE

TARGETS = {
    "ratio_any": 0.5, "ratio_lists": 0.7, "p99_read_ms": 10.0, "p99_write_ms": 25.0,
    "rss_mib": 64.0, "notes_growth": 1.3, "healthz_p99_ms": 5.0,
}


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _picker(rounds):
    """pick(path): the median over the rounds of the figure at `path` (keys into each round's
    figures), None where no round has it."""
    def pick(path):
        values = []
        for figures in rounds:
            value = figures
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(value)
        return median(values)
    return pick


def endpoint_row(endpoint, rounds):
    pick = _picker(rounds)

    row = {
        "endpoint": endpoint.title,
        "key": endpoint.key,
        "rounds": len(rounds),
        "api_rps_c8": pick(["wrk_c8", "rps"]),
        "api_rps_c32": pick(["wrk_c32", "rps"]),
        "pgbench_tps_c8": pick(["pgbench_c8", "rps"]),
        "pgbench_tps_c32": pick(["pgbench_c32", "rps"]),
        "api_errors": sum(f["wrk_c8"]["errors"] + f["wrk_c32"]["errors"] +
                          f["fixed_rate"]["errors"] for f in rounds),
        "pgbench_failures": sum(f["pgbench_c8"]["errors"] + f["pgbench_c32"]["errors"]
                                for f in rounds),
        "wrk_c32_p99_ms": pick(["wrk_c32", "p99_ms"]),
        "fixed_rate_rps": pick(["fixed_rate", "rps"]),
        "p50_ms": pick(["fixed_rate", "p50_ms"]),
        "p99_ms": pick(["fixed_rate", "p99_ms"]),
        "p999_ms": pick(["fixed_rate", "p999_ms"]),
        "round_trips_api": pick(["round_trips"]),
        "server_cpu_us": pick(["cpu", "server_us"]),
        "postgres_cpu_us": pick(["cpu", "postgres_us"]),
        "pgbench_postgres_cpu_us": pick(["pgbench_c32", "cpu", "postgres_us"]),
        "peak_rss_mib": max(f["peak_rss_mib"] or 0 for f in rounds),
    }
    if any("baseline" in f for f in rounds):
        row["baseline"] = _baseline_row(row, [f["baseline"] for f in rounds if "baseline" in f])
    for connections in (8, 32):
        api, base = row[f"api_rps_c{connections}"], row[f"pgbench_tps_c{connections}"]
        row[f"ratio_c{connections}"] = api / base if api and base else None
    best = max(row["pgbench_tps_c8"] or 0, row["pgbench_tps_c32"] or 0)
    row["ratio_c32_to_best_pgbench"] = row["api_rps_c32"] / best if best else None
    floor = TARGETS["ratio_lists"] if endpoint.list_like else TARGETS["ratio_any"]
    ceiling = TARGETS["p99_write_ms"] if endpoint.kind == "write" else TARGETS["p99_read_ms"]
    row["targets"] = {
        f"ratio_c32 >= {floor}": _met(row["ratio_c32"], lambda v: v >= floor),
        f"p99 <= {ceiling} ms at 50% of max": _met(row["p99_ms"], lambda v: v <= ceiling),
        f"server RSS <= {TARGETS['rss_mib']:.0f} MiB":
            _met(row["peak_rss_mib"], lambda v: v <= TARGETS["rss_mib"]),
    }
    return row


def _baseline_row(row, rounds):
    """The baseline's figures, and the current binary's throughput over the baseline's."""
    pick = _picker(rounds)
    baseline = {
        "api_rps_c8": pick(["wrk_c8", "rps"]),
        "api_rps_c32": pick(["wrk_c32", "rps"]),
        "api_errors": sum(f["wrk_c8"]["errors"] + f["wrk_c32"]["errors"] +
                          f["fixed_rate"]["errors"] for f in rounds),
        "fixed_rate_rps": pick(["fixed_rate", "rps"]),
        "p50_ms": pick(["fixed_rate", "p50_ms"]),
        "p99_ms": pick(["fixed_rate", "p99_ms"]),
        "p999_ms": pick(["fixed_rate", "p999_ms"]),
        "round_trips_api": pick(["round_trips"]),
        "server_cpu_us": pick(["cpu", "server_us"]),
        "postgres_cpu_us": pick(["cpu", "postgres_us"]),
        "peak_rss_mib": max(f["peak_rss_mib"] or 0 for f in rounds),
    }
    for connections in (8, 32):
        current, before = row[f"api_rps_c{connections}"], baseline[f"api_rps_c{connections}"]
        baseline[f"ratio_c{connections}"] = current / before if current and before else None
    return baseline


def _met(value, test):
    return None if value is None else bool(test(value))


def _f(value, digits=1):
    return "-" if value is None else f"{value:,.{digits}f}"


def print_endpoints(rows, round_trips_pgbench):
    print("\nEndpoints (medians of the rounds; API through HTTP, baseline pgbench -M prepared "
          "running the same statements)")
    header = (f"{'endpoint':<16} {'api c8':>8} {'pg c8':>8} {'ratio':>6} {'api c32':>8} "
              f"{'pg c32':>8} {'ratio':>6} {'rate':>7} {'p50':>6} {'p99':>6} {'p99.9':>7} "
              f"{'err':>4} {'trips':>11} {'api µs':>6} {'pg µs':>6} {'pgb µs':>6} "
              f"{'RSS MiB':>8} {'vs best':>7}")
    print(header)
    print("-" * len(header))
    for row in rows:
        trips = f"{_f(row['round_trips_api'])}/{_f(round_trips_pgbench[row['key']])}"
        print(f"{row['key']:<16} {_f(row['api_rps_c8'], 0):>8} {_f(row['pgbench_tps_c8'], 0):>8} "
              f"{_f(row['ratio_c8'], 2):>6} {_f(row['api_rps_c32'], 0):>8} "
              f"{_f(row['pgbench_tps_c32'], 0):>8} {_f(row['ratio_c32'], 2):>6} "
              f"{_f(row['fixed_rate_rps'], 0):>7} {_f(row['p50_ms'], 2):>6} "
              f"{_f(row['p99_ms'], 2):>6} {_f(row['p999_ms'], 2):>7} "
              f"{row['api_errors'] + row['pgbench_failures']:>4} {trips:>11} "
              f"{_f(row['server_cpu_us'], 0):>6} {_f(row['postgres_cpu_us'], 0):>6} "
              f"{_f(row['pgbench_postgres_cpu_us'], 0):>6} "
              f"{_f(row['peak_rss_mib']):>8} {_f(row['ratio_c32_to_best_pgbench'], 2):>7}")
    print("rps and tps per second; rate = wrk's fixed rate (50% of api c32), p50/p99/p99.9 in ms "
          "at that rate, counted from when each request was due; trips = statements per "
          "request, API (pg_stat_statements) / pgbench script; api µs and pg µs = CPU time per "
          "request of the server and of PostgreSQL (all its processes) over the api c32 window, "
          "pgb µs = PostgreSQL's per pgbench transaction at c32; RSS = the server's largest "
          "resident memory during the endpoint's load; vs best = api c32 over the better of "
          "pgbench c8 and c32")


def print_baseline(rows, baseline):
    print(f"\nAgainst the baseline {baseline['ref']} ({baseline['sha'][:12]}), measured by turns "
          "with the current binary in every round (now = current, base = baseline)")
    header = (f"{'endpoint':<16} {'now c8':>8} {'base c8':>8} {'ratio':>6} {'now c32':>8} "
              f"{'base c32':>8} {'ratio':>6} {'p99 now/base':>13} {'trips now/base':>15} "
              f"{'api µs now/base':>16} {'pg µs now/base':>15} {'err':>4}")
    print(header)
    print("-" * len(header))
    for row in rows:
        base = row.get("baseline")
        if not base:
            continue
        print(f"{row['key']:<16} {_f(row['api_rps_c8'], 0):>8} {_f(base['api_rps_c8'], 0):>8} "
              f"{_f(base['ratio_c8'], 2):>6} {_f(row['api_rps_c32'], 0):>8} "
              f"{_f(base['api_rps_c32'], 0):>8} {_f(base['ratio_c32'], 2):>6} "
              f"{_pair(row['p99_ms'], base['p99_ms'], 2):>13} "
              f"{_pair(row['round_trips_api'], base['round_trips_api'], 1):>15} "
              f"{_pair(row['server_cpu_us'], base['server_cpu_us'], 0):>16} "
              f"{_pair(row['postgres_cpu_us'], base['postgres_cpu_us'], 0):>15} "
              f"{base['api_errors']:>4}")
    print("ratio = current over baseline (above 1: the current binary answers more); p99 in ms "
          "at 50% of each binary's own c32 rate; trips and µs per request over each binary's "
          "c32 window; err = the baseline's errors")


def print_poll(document):
    """The FHIR poll's figures beside how many referrals its client sees."""
    row = next((r for r in document["endpoints"] if r["key"] == "fhir_task_poll"), None)
    poll = document.get("fhir_task_poll")
    if not row or not poll:
        return
    print(f"\nFHIR Task poll, {poll['request']}, by a client that sees "
          f"{poll['client_referrals']:,} referrals ({poll['changed_after_since']:,} changed "
          f"after the instant it polls after; {poll['tasks_naming_patient']} of a page's "
          f"{poll['count']} Tasks name their patient): p50 {_f(row['p50_ms'], 2)} ms, "
          f"p99 {_f(row['p99_ms'], 2)} ms, p99.9 {_f(row['p999_ms'], 2)} ms at "
          f"{_f(row['fixed_rate_rps'], 0)} requests/s (32 connections at 50% of the most "
          f"they got); the most: {_f(row['api_rps_c32'], 0)} requests/s at 32 connections, "
          f"{_f(row['api_rps_c8'], 0)} at 8")


def _pair(now, before, digits):
    return f"{_f(now, digits)}/{_f(before, digits)}"


def print_targets(document):
    print("\nTargets")
    for name, met in document["targets"].items():
        mark = {True: "met", False: "MISSED", None: "not measured"}[met]
        print(f"  {mark:<13} {name}")


def collect_targets(rows, scaling, login):
    targets = {}
    for row in rows:
        for name, met in row["targets"].items():
            targets[f"{row['key']}: {name}"] = met
    growth = scaling.get("p50_growth")
    targets[f"notes page 2 p50 at {scaling['large_notes']:,} notes <= "
            f"{TARGETS['notes_growth']}x at {scaling['small_notes']:,}"] = \
        _met(growth, lambda v: v <= TARGETS["notes_growth"])
    targets[f"/healthz p99 <= {TARGETS['healthz_p99_ms']} ms during a login storm"] = \
        _met(login.get("healthz_storm_p99_ms"), lambda v: v <= TARGETS["healthz_p99_ms"])
    return targets


ORDER = [endpoint.key for endpoint in SINGLE] + [MIXED.key]
