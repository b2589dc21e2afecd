"""The load generators: pgbench for the database alone, wrk through HTTP, for throughput and,
at a fixed rate, for latency. Each returns a dict of figures."""

import json
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
    count = re.search(r"number of transactions actually processed: (\d+)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    return {"rps": float(tps.group(1)), "errors": int(failed.group(1)) if failed else 0,
            "transactions": int(count.group(1)) if count else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None}


def write_requests(requests):
    """requests: [(method, path, token, body or None)] -> a file for requests.lua."""
    file = tempfile.NamedTemporaryFile("w", prefix="tandem-wrk-", suffix=".tsv", delete=False)
    with file:
        for method, path, token, body in requests:
            text = "" if body is None else json.dumps(body, separators=(",", ":"))
            file.write(f"{method}\t{path}\t{token}\t{text}\n")
    return file.name


def wrk(base, requests_file, connections, seconds, rate=None):
    """As many requests as `connections` get answered; or, with `rate`, that many requests per
    second in all, each connection on its own schedule, latency counted from when a request
    was due (see requests.lua)."""
    threads = min(2, connections)
    extra = []
    if rate:
        threads = connections  # one connection per thread: requests.lua pairs the answers
        extra = [str(connections * 1_000_000 / max(rate, 1))]
    done = subprocess.run(
        [tool("wrk", "apt-get install wrk"), "-t", str(threads), "-c", str(connections), "-d",
         f"{seconds}s", "--timeout", "5s", "-s", str(LUA), base, "--", requests_file,
         uuid.uuid4().hex[:12], *extra],
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
