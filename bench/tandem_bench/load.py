"""The load generators: pgbench for the database alone, wrk for throughput through HTTP, oha
at a fixed rate for latency. Each returns a dict of figures."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

LUA = Path(__file__).with_name("requests.lua")


def tool(name, hint):
    path = shutil.which(name)
    if not path:
        raise SystemExit(f"bench: {name} not found ({hint})")
    return path


def pgbench(cluster, database, user, scripts, clients, seconds):
    """scripts: [(text, weight)]. Transactions per second and failures."""
    directory = Path(tempfile.mkdtemp(prefix="tandem-pgbench-"))
    args = [tool("pgbench", "PostgreSQL's client tools"), "-h", "127.0.0.1", "-p",
            str(cluster.port), "-U", user, "-n", "-M", "prepared", "-c", str(clients),
            "-j", "2", "-T", str(seconds)]
    for index, (text, weight) in enumerate(scripts):
        path = directory / f"script{index}.sql"
        path.write_text(text)
        args += ["-f", f"{path}@{weight}"]
    args.append(database)
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    shutil.rmtree(directory, ignore_errors=True)
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or not tps:
        raise SystemExit(f"bench: pgbench failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    return {"rps": float(tps.group(1)), "errors": int(failed.group(1)) if failed else 0,
            "latency_avg_ms": float(latency.group(1)) if latency else None}


def write_requests(requests):
    """requests: [(method, path, token, body or None)] -> a file for requests.lua."""
    file = tempfile.NamedTemporaryFile("w", prefix="tandem-wrk-", suffix=".tsv", delete=False)
    with file:
        for method, path, token, body in requests:
            text = "" if body is None else json.dumps(body, separators=(",", ":"))
            file.write(f"{method}\t{path}\t{token}\t{text}\n")
    return file.name


def wrk(base, requests_file, connections, seconds):
    threads = min(2, connections)
    done = subprocess.run(
        [tool("wrk", "apt-get install wrk"), "-t", str(threads), "-c", str(connections), "-d",
         f"{seconds}s", "--timeout", "5s", "-s", str(LUA), base, "--", requests_file,
         uuid.uuid4().hex[:12]],
        capture_output=True, text=True, check=False)
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if done.returncode != 0 or not line:
        raise SystemExit(f"bench: wrk failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    figures = json.loads(line[len("WRKJSON "):])
    return {
        "requests": figures["requests"],
        "rps": figures["requests"] / (figures["duration_us"] / 1e6),
        "errors": figures["errors"],
        "non_2xx": figures["status_errors"],
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "p999_ms": figures["p999_us"] / 1000,
    }


def oha(urls, token, rate, seconds, connections, method="GET", body=None):
    """A fixed request rate (open loop, with latency correction) over `urls`."""
    file = tempfile.NamedTemporaryFile("w", prefix="tandem-oha-", suffix=".txt", delete=False)
    with file:
        file.write("\n".join(urls) + "\n")
    args = [tool("oha", "cargo install oha --locked, or run bench/run, which installs it"),
            "--no-tui", "--output-format", "json", "--latency-correction",
            "--wait-ongoing-requests-after-deadline", "-z", f"{seconds}s",
            "-c", str(connections), "-q", str(max(1, int(rate))), "-m", method,
            "-H", f"Authorization: Bearer {token}", "--urls-from-file"]
    if body is not None:
        args += ["-T", "application/json", "-d", json.dumps(body)]
    args.append(file.name)
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    os.unlink(file.name)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"bench: oha failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return _oha_figures(report)


def _oha_figures(report):
    statuses = {int(code): count for code, count in
                (report.get("statusCodeDistribution") or {}).items()}
    ok = sum(count for code, count in statuses.items() if 200 <= code < 300)
    failed = sum(count for code, count in statuses.items() if not 200 <= code < 300)
    failed += sum((report.get("errorDistribution") or {}).values())
    percentiles = {key: value * 1000 for key, value in
                   (report.get("latencyPercentiles") or {}).items() if value is not None}
    return {
        "requests": ok + failed,
        "rps": report["summary"]["requestsPerSec"],
        "errors": failed,
        "p50_ms": percentiles.get("p50"),
        "p99_ms": percentiles.get("p99"),
        "p999_ms": percentiles.get("p99.9"),
        "percentiles_ms": percentiles,
        "statuses": statuses,
        "failures": report.get("errorDistribution") or {},
    }


def mix_percentiles(parts, quantile):
    """The `quantile` (0-100) of several latency distributions run side by side, weighted by
    their request counts: the distributions' CDFs, interpolated between their percentiles,
    are added and inverted by bisection."""
    total = sum(part["requests"] for part in parts)
    curves = []
    for part in parts:
        points = sorted((float(key[1:]), value) for key, value in
                        part["percentiles_ms"].items() if key.startswith("p"))
        curves.append((part["requests"] / total, [(0.0, 0.0)] + points))

    def cdf(curve, x):
        previous = curve[0]
        for point in curve[1:]:
            if x <= point[1]:
                span = point[1] - previous[1]
                fraction = 1.0 if span <= 0 else (x - previous[1]) / span
                return previous[0] + fraction * (point[0] - previous[0])
            previous = point
        return 100.0

    low, high = 0.0, max(curve[-1][1] for _, curve in curves)
    for _ in range(60):
        middle = (low + high) / 2
        if sum(weight * cdf(curve, middle) for weight, curve in curves) < quantile:
            low = middle
        else:
            high = middle
    return high
