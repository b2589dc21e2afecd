"""The benchmark: `bench/run [--quick]`. See the README's "Benchmarks" section."""

import argparse
import concurrent.futures
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from . import baseline as baselining, load, report, scripts as scripting, targets as targeting
from .cluster import Cluster
from .dataset import (APP_ROLE, Dataset, note_count, prepare, remove_created_since,
                      top_up_notes, top_up_referrals)
from .endpoints import (API, BY_KEY, FHIR_POLL_COUNT, FHIR_TASK_POLL, MIXED, NOTES_PAGE_2,
                        SINGLE)
from .measure import Bench, Contender
from .server import Server, free_port, new_keys

ROOT = Path(__file__).resolve().parents[2]
# client_referrals: how many referrals the FHIR poll's integration client sees.
FULL = {
    "seconds": 10, "rounds": 3, "coaches": 2, "per_coach": 16, "client_referrals": 10_000,
    "main": Dataset("bench", ["--scale", "bench", "--seed", "1"]),
    "small": Dataset("bench_10k", ["--scale", "bench", "--organizations", "1", "--coaches",
                                   "10", "--participants", "468", "--seed", "1"]),
}
QUICK = {
    "seconds": 1, "rounds": 1, "coaches": 2, "per_coach": 4, "client_referrals": 200,
    "main": Dataset("bench_quick", ["--scale", "small", "--notes-per-participant", "20",
                                    "--seed", "1"]),
    "small": Dataset("bench_quick_small", ["--scale", "small", "--participants", "12",
                                           "--notes-per-participant", "20", "--seed", "1"]),
}


def server_env(args):
    """`--server-env NAME=VALUE` settings as a dict."""
    settings = {}
    for item in args.server_env:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("TANDEM_"):
            raise SystemExit(f"bench: --server-env takes TANDEM_NAME=VALUE, not {item!r}")
        settings[name] = value
    return settings


def arguments():
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="tiny data, one round of 1 s windows, debug build (for CI)")
    parser.add_argument("--seconds", type=int, help="length of each measured window")
    parser.add_argument("--rounds", type=int, help="rounds per endpoint (medians are reported)")
    parser.add_argument("--pool", type=int, default=16, help="the server's database pool")
    parser.add_argument("--workers", type=int,
                        help="the server's HTTP workers (default: its own, one per core)")
    parser.add_argument("--endpoints", help="comma-separated subset of: " +
                        ", ".join(e.key for e in SINGLE + [MIXED]))
    parser.add_argument("--binary", help="the tandem binary (default: built by cargo)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for every server of the run, e.g. "
                        "TANDEM_AUDIT_BATCHING=off (repeatable)")
    parser.add_argument("--baseline", metavar="GIT_REF",
                        help="also measure the tandem binary of this commit (built in a git "
                        "worktree, kept under target/bench/baseline-<sha>/), by turns with the "
                        "current one in every round")
    parser.add_argument("--output", help="where the JSON goes (default bench/results/<date>.json; "
                        "with --quick, target/bench/<date>-quick.json)")
    return parser.parse_args()


def build(quick):
    # Quick mode uses the debug binary exactly as `cargo test` builds it, so that CI, which
    # runs the tests first, compiles nothing again (a plain `cargo build` would build a second
    # copy of the dependencies whose features the dev-dependencies change).
    command = ["cargo", "test", "--no-run", "-q"] if quick else \
        ["cargo", "build", "-q", "--release", "--bin", "tandem"]
    subprocess.run(command, cwd=ROOT, check=True)
    return str(ROOT / "target" / ("debug" if quick else "release") / "tandem")


def prepare_targets(cluster, config, data, server, referrals=False):
    chosen = targeting.choose(cluster, data, config["coaches"], config["per_coach"])
    top_up_notes(cluster, data, [t.participant for t in chosen])
    targeting.sign_in(server, chosen)
    targeting.find_cursors(cluster, data, server, chosen)
    if referrals:
        targeting.choose_resources(cluster, data, chosen)
        targeting.ensure_consents(cluster, data, server, chosen)
    return chosen


def prepare_poll(cluster, config, data, server, chosen, since):
    """The FHIR poll's integration client, the referrals it sees (any added, changed before
    `since`) and the instant it polls after; checked with one poll. Returns what the run's
    document says of them."""
    targeting.ensure_client(cluster, data, server, chosen)
    _, added = top_up_referrals(cluster, data, chosen[0].client, chosen[0].organization,
                                config["client_referrals"], since)
    seen, after = targeting.choose_since(cluster, data, chosen)
    targeting.sign_in(server, chosen)
    named = targeting.check_poll(server, chosen[0])
    print(f"the FHIR poll's client ({chosen[0].client_id}) sees {seen:,} referrals "
          f"({added:,} added now), {after:,} of them changed after {chosen[0].since}; "
          f"{named} of a page's {FHIR_POLL_COUNT} Tasks name their patient", flush=True)
    return {"client_id": chosen[0].client_id, "client_referrals": seen,
            "referrals_added": added, "since": chosen[0].since, "changed_after_since": after,
            "count": FHIR_POLL_COUNT, "tasks_naming_patient": named,
            "request": FHIR_TASK_POLL.path(chosen[0])}


def endpoints(bench, rounds, chosen):
    figures = {endpoint.key: [] for endpoint in chosen}
    for number in range(1, rounds + 1):
        targeting.sign_in(bench.running(), bench.targets)  # access tokens last 15 minutes
        for endpoint in chosen:
            started = time.monotonic()
            figures[endpoint.key].append(bench.once(endpoint, number))
            print(f"  round {number}/{rounds} {endpoint.key}: "
                  f"{time.monotonic() - started:.0f} s", flush=True)
    return figures


def start_baseline(baseline, start_server):
    """A function that starts the baseline's server, or says clearly why it cannot."""
    def start(binary):
        try:
            return start_server(binary)
        except SystemExit as error:
            why = baselining.explain_schema(baseline)
            raise SystemExit(
                f"bench: the baseline {baseline.ref} ({baseline.sha[:12]}) does not start on "
                f"the database the current binary migrated{'; ' + why if why else ''}.\n"
                f"{error}") from None
    return start


def check_baseline(bench, measured, target):
    """One request of each measured endpoint to the baseline, which must succeed: an endpoint
    it lacks or a schema it cannot use ends the run here rather than in its figures."""
    keys = {key for e in measured for key in (e.weights if e is MIXED else [e.key])}
    bench.current.stop()
    server = bench.baseline.start()
    try:
        for key in sorted(keys):
            method, path, token, body = BY_KEY[key].request(target)
            headers = {"Idempotency-Key": f"check-{time.time_ns()}"} if method == "POST" else {}
            status, answer = server.call(method, path, token, body, headers)
            if status not in (200, 201):
                raise SystemExit(
                    f"bench: the baseline {bench.baseline.label} answered {method} {path} with "
                    f"{status}: {answer}\n(leave that endpoint out with --endpoints)")
    finally:
        bench.baseline.stop()
        bench.current.start()


def notes_scaling(cluster, config, tandem, pool, large, extra_env):
    small_data = config["small"]
    server = Server(tandem, cluster.url(small_data.name, APP_ROLE), pool, extra_env=extra_env)
    try:
        small = prepare_targets(cluster, config, small_data, server)
        runs = {"small": [], "large": []}
        for _ in range(config["rounds"]):
            for label, (srv, chosen) in (("small", (server, small)), ("large", large)):
                targeting.sign_in(srv, chosen)
                requests = load.write_requests([NOTES_PAGE_2.request(t) for t in chosen])
                runs[label].append(load.wrk(srv.base, requests, 8, config["seconds"]))
    finally:
        server.stop()
    result = {
        "small_notes": note_count(cluster, small_data),
        "large_notes": note_count(cluster, config["main"]),
    }
    for label in ("small", "large"):
        for figure in ("rps", "p50_ms", "p99_ms"):
            result[f"{label}_{figure}"] = report.median([r[figure] for r in runs[label]])
    result["p50_growth"] = result["large_p50_ms"] / result["small_p50_ms"]
    result["rps_ratio"] = result["large_rps"] / result["small_rps"]
    return result


def login_storm(server, target, bodies, seconds):
    requests = load.write_requests([("POST", API + "/auth/login", "", body) for body in bodies])
    health = load.write_requests([("GET", "/healthz", target.token, None)])
    idle = load.wrk(server.base, health, 4, seconds, rate=100)
    server.take_peak()
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        storm = pool.submit(load.wrk, server.base, requests, 32, seconds)
        during = pool.submit(load.wrk, server.base, health, 4, seconds, rate=100)
        storm, during = storm.result(), during.result()
    return {
        "logins_per_second": storm["rps"], "login_errors": storm["errors"],
        "login_non_2xx": storm["non_2xx"], "accounts": len(bodies),
        "login_p99_ms": storm["p99_ms"],
        "healthz_idle_p99_ms": idle["p99_ms"],
        "healthz_storm_p50_ms": during["p50_ms"], "healthz_storm_p99_ms": during["p99_ms"],
        "healthz_errors": idle["errors"] + during["errors"],
        "peak_rss_mib": server.take_peak(),
    }


def measured_endpoints(args):
    everything = SINGLE + [MIXED]
    wanted = set((args.endpoints or ",".join(e.key for e in everything)).split(","))
    if unknown := wanted - {e.key for e in everything}:
        raise SystemExit(f"bench: unknown endpoints: {', '.join(sorted(unknown))}")
    return [e for e in everything if e.key in wanted]


def run(args, config):
    measured = measured_endpoints(args)
    # The baseline first: cargo's <profile>/tandem is then the current binary again.
    baseline = baselining.prepare(ROOT, args.baseline, args.quick) if args.baseline else None
    tandem = args.binary or build(args.quick)
    if baseline and (why := baselining.explain_schema(baseline)):
        print(f"note: {why}", flush=True)
    cluster = Cluster(ROOT / "target" / "bench" / "cluster", free_port())
    cluster.ensure()
    cluster.start()
    try:
        seeding = {d.name: prepare(cluster, tandem, d) for d in (config["main"], config["small"])}
        return measure(args, config, cluster, measured, tandem, baseline, seeding)
    finally:
        cluster.stop()


def measure(args, config, cluster, measured, tandem, baseline, seeding):
    data = config["main"]
    since = cluster.psql(data.name, "SELECT now()")[0][0]
    keys = new_keys()

    def start_server(binary):
        return Server(binary, cluster.url(data.name, APP_ROLE), args.pool, args.workers, keys,
                      server_env(args))

    current = Contender("current", tandem, start_server)
    other = Contender(f"{baseline.ref} ({baseline.sha[:12]})", baseline.binary,
                      start_baseline(baseline, start_server)) if baseline else None
    try:
        server = current.start()
        chosen = prepare_targets(cluster, config, data, server, referrals=True)
        poll = prepare_poll(cluster, config, data, server, chosen, since)
        kept = ROOT / "target" / "bench" / "sql"
        scripts = scripting.for_endpoints(cluster, data, server, chosen, kept)
        print(f"the SQL each endpoint sent, as pgbench runs it: {kept}/", flush=True)
        participants = [t.participant for t in chosen]
        bench = Bench(cluster, data, chosen, scripts, config["seconds"], current, other,
                      cleanup=lambda: remove_created_since(cluster, data, since, participants))
        bench.cleanup()  # what the capture created
        if other:
            check_baseline(bench, measured, chosen[0])
            bench.cleanup()
        print(f"measuring {len(chosen)} participants of {len({t.email for t in chosen})} "
              f"coaches, {config['rounds']} rounds of {config['seconds']} s windows"
              + (f", by turns with the baseline {other.label}" if other else ""), flush=True)
        figures = endpoints(bench, config["rounds"], measured)
        if other:
            other.stop()
        server = current.start()
        trips = {e.key: bench.round_trips_pgbench(e) for e in measured}
        scaling = notes_scaling(cluster, config, tandem, args.pool, (server, chosen),
                                server_env(args))
        bodies = targeting.sign_ins(cluster, data)
        login = login_storm(server, chosen[0], bodies, config["seconds"])
        rss = server.peak_rss_mib()  # VmHWM of this server process, sign-in storm included
    finally:
        current.stop()
        if other:
            other.stop()
    rows = [report.endpoint_row(e, figures[e.key]) for e in measured]
    document = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "settings": {"seconds": config["seconds"], "rounds": config["rounds"],
                     "pool": args.pool, "workers": args.workers, "binary": tandem,
                     "dataset": data.marker,
                     "baseline": baseline.describe() if baseline else None},
        "seeding_seconds": seeding,
        "endpoints": rows,
        "rounds": figures,
        "round_trips_pgbench": trips,
        "fhir_task_poll": poll,
        "notes_scaling": scaling,
        "login_storm": login,
        "server_peak_rss_mib": rss,
    }
    document["targets"] = report.collect_targets(rows, scaling, login)
    return document


def main():
    args = arguments()
    config = dict(QUICK if args.quick else FULL)
    if args.seconds:
        config["seconds"] = args.seconds
    if args.rounds:
        config["rounds"] = args.rounds
    document = run(args, config)
    report.print_endpoints(document["endpoints"], document["round_trips_pgbench"])
    if document["settings"]["baseline"]:
        report.print_baseline(document["endpoints"], document["settings"]["baseline"])
    report.print_poll(document)
    scaling, login = document["notes_scaling"], document["login_storm"]
    print(f"\nNotes page 2 (wrk, 8 connections): {scaling['small_notes']:,} notes: "
          f"{scaling['small_rps']:,.0f} rps, p50 {scaling['small_p50_ms']:.2f} ms, "
          f"p99 {scaling['small_p99_ms']:.2f} ms; {scaling['large_notes']:,} notes: "
          f"{scaling['large_rps']:,.0f} rps, p50 {scaling['large_p50_ms']:.2f} ms, "
          f"p99 {scaling['large_p99_ms']:.2f} ms; p50 ratio {scaling['p50_growth']:.2f}")
    print(f"Login storm (wrk, 32 connections): {login['logins_per_second']:,.1f} sign-ins/s, "
          f"{login['login_errors']} errors; /healthz at 100/s: p99 {login['healthz_idle_p99_ms']:.2f}"
          f" ms idle, p50 {login['healthz_storm_p50_ms']:.2f} ms and p99 "
          f"{login['healthz_storm_p99_ms']:.2f} ms during the storm")
    whole = "of the last server process" if args.baseline else "of the whole run"
    print(f"Server RSS: at most {max(r['peak_rss_mib'] for r in document['endpoints']):.1f} MiB "
          f"under the endpoints' load, {login['peak_rss_mib']:.1f} MiB during the sign-in "
          f"storm; peak {whole} (VmHWM) {document['server_peak_rss_mib']:.1f} MiB")
    if args.quick:
        print("\n(--quick: tiny data, 1 s windows and the debug build; these figures only show "
              "that the benchmark runs, and say nothing about the targets)")
    report.print_targets(document)
    name = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    folder = ROOT / "target" / "bench" if args.quick else ROOT / "bench" / "results"
    output = Path(args.output) if args.output else folder / f"{name}{'-quick' if args.quick else ''}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
