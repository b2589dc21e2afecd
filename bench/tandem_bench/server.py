"""`tandem serve` as its own process, connected as a login that owns nothing, with a fixed
pool; and the few HTTP calls the benchmark makes itself (sign-in, page 1 of a list)."""

import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

API = "/api/v1"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def new_keys():
    """The JWT secret and audit key of a run: servers started with the same keys accept each
    other's tokens and extend the same audit chain."""
    return {"TANDEM_JWT_SECRET": secrets.token_urlsafe(48),
            "TANDEM_AUDIT_KEY": secrets.token_urlsafe(48)}


class Server:
    def __init__(self, binary, database_url, pool_size, workers=None, keys=None, extra_env=None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="tandem-bench-serve-", suffix=".log",
                                               delete=False)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TANDEM_") and k not in ("DATABASE_URL", "RUST_LOG")}
        env.update({
            "DATABASE_URL": database_url,
            "TANDEM_ENV": "production",
            "TANDEM_BIND": f"127.0.0.1:{self.port}",
            "TANDEM_DB_POOL_SIZE": str(pool_size),
            "TANDEM_SIGNIN_ADDRESS_LIMIT": "1000000",
            "TANDEM_WEBHOOK_WORKER": "off",
            "RUST_LOG": "warn",
        })
        env.update(keys or new_keys())
        if workers:
            env["TANDEM_WORKERS"] = str(workers)
        env.update(extra_env or {})
        self.process = subprocess.Popen([binary, "serve"], env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_ready()
        self._peak = 0.0
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()

    def _sample(self):
        """Resident memory every 50 ms; the largest since the last `take_peak`."""
        while self.process.poll() is None:
            rss = self.rss_mib()
            if rss is not None:
                self._peak = max(self._peak, rss)
            time.sleep(0.05)

    def take_peak(self):
        """The largest resident set seen since the last call (MiB)."""
        peak, self._peak = self._peak, self.rss_mib() or 0.0
        return peak

    def _wait_ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"bench: tandem serve exited; its log:\n{self._log_text()}")
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise SystemExit(f"bench: tandem serve not ready after 60 s; its log:\n{self._log_text()}")

    def _log_text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as file:
            return file.read()[-4000:]

    def peak_rss_mib(self):
        """Peak resident set size of the server process so far (VmHWM)."""
        with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return None

    def rss_mib(self):
        try:
            with open(f"/proc/{self.process.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        os.unlink(self.log.name)

    # HTTP

    def call(self, method, path, token=None, body=None, headers=None):
        request = urllib.request.Request(self.base + path, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, data=data, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def login(self, email, password):
        status, body = self.call("POST", API + "/auth/login",
                                 body={"email": email, "password": password})
        if status != 200:
            raise SystemExit(f"bench: sign-in of {email} answered {status}: {body}")
        return body["access_token"]
