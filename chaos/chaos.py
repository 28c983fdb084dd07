#!/usr/bin/env python3
"""The chaos suite of integrations-core (see chaos/README.md). Python 3 standard library only.

    python3 chaos/chaos.py --bin target/release/integrations-core [--full] [--cases 1,3] [--backends sqlite]

Also the entry point of two helper processes it starts itself:

    python3 chaos/chaos.py receiver            the local webhook receiver (asyncio; control port apart)
    python3 chaos/chaos.py flood PORT COUNT SECS   slow and idle connections against 127.0.0.1:PORT

Every address used is 127.0.0.1. Every loop is bounded in time; every case has a hard timeout.
"""

import argparse
import asyncio
import base64
import collections
import errno
import http.client
import json
import os
import queue
import random
import resource
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

HOST = "127.0.0.1"
API = "/v2/integrations"
HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------------------------
# Helper process 1: the webhook receiver.
# ---------------------------------------------------------------------------------------------


class Receiver:
    """Answers webhooks on one port (mode ok: 200 and the event counts as received; mode fail: 500;
    mode down: the port is closed and open connections are cut). A second port takes control
    requests: /mode?m=ok|fail|down, /stats, /dump."""

    def __init__(self):
        self.mode = "ok"
        self.receipts = collections.Counter()  # CallSid -> 200 answers
        self.answered_500 = 0
        self.requests = 0
        self.bad = 0
        self.server = None
        self.port = None
        self.conns = set()

    async def read_request(self, reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = (lines[0].split(" ", 2) + ["", ""])[:3]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await reader.readexactly(int(headers.get("content-length") or 0))
        return method, target, headers, body

    @staticmethod
    def answer(writer, status, body, close=False):
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(status, "X")
        extra = "Connection: close\r\n" if close else ""
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode()
            + body
        )

    async def hook_conn(self, reader, writer):
        self.conns.add(writer)
        try:
            while True:
                try:
                    _method, _target, headers, body = await self.read_request(reader)
                except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.LimitOverrunError):
                    return
                self.requests += 1
                close = headers.get("connection", "").lower() == "close"
                if self.mode == "down":
                    return
                if self.mode == "fail":
                    self.answered_500 += 1
                    self.answer(writer, 500, b'{"error":"chaos"}', close)
                else:
                    try:
                        sid = json.loads(body).get("CallSid") or ""
                    except ValueError:
                        sid = ""
                    if sid:
                        self.receipts[sid] += 1
                    else:
                        self.bad += 1
                    self.answer(writer, 200, b"{}", close)
                await writer.drain()
                if close:
                    return
        finally:
            self.conns.discard(writer)
            writer.close()

    async def open(self):
        self.server = await asyncio.start_server(self.hook_conn, HOST, self.port, reuse_address=True, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]

    async def set_mode(self, mode):
        if mode == "down" and self.server is not None:
            self.server.close()
            for w in list(self.conns):
                w.transport.abort()
            await self.server.wait_closed()
            self.server = None
        elif mode != "down" and self.server is None:
            for _ in range(50):
                try:
                    await self.open()
                    break
                except OSError:
                    await asyncio.sleep(0.1)
        self.mode = mode

    async def control_conn(self, reader, writer):
        try:
            _method, target, _headers, _body = await self.read_request(reader)
            url = urllib.parse.urlsplit(target)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/mode":
                await self.set_mode(q["m"])
                out = {"mode": self.mode}
            elif url.path == "/stats":
                out = self.stats()
            elif url.path == "/dump":
                out = dict(self.receipts)
            else:
                self.answer(writer, 404, b"{}", True)
                return
            self.answer(writer, 200, json.dumps(out).encode(), True)
            await writer.drain()
        except Exception as e:  # noqa: BLE001 - report to the caller, keep serving
            self.answer(writer, 500, json.dumps({"error": repr(e)}).encode(), True)
        finally:
            writer.close()

    def stats(self):
        return {
            "mode": self.mode,
            "requests": self.requests,
            "distinct": len(self.receipts),
            "receipts": sum(self.receipts.values()),
            "answered_500": self.answered_500,
            "bad": self.bad,
        }

    async def main(self):
        self.port = 0
        await self.open()
        control = await asyncio.start_server(self.control_conn, HOST, 0)
        print(json.dumps({"hook_port": self.port, "control_port": control.sockets[0].getsockname()[1]}), flush=True)
        # Bounded: the orchestrator kills it; this is only a backstop.
        await asyncio.sleep(3600)


# ---------------------------------------------------------------------------------------------
# Helper process 2: the flood of slow and idle connections.
# ---------------------------------------------------------------------------------------------

FLOOD_KINDS = ("half", "trickle", "idle", "silent")


async def flood_main(port, count, secs):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, count * 2 + 256)) if hard != resource.RLIM_INFINITY else max(soft, count * 2 + 256)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    deadline = time.monotonic() + secs
    st = {"open": 0, "max_open": 0, "connects": 0, "connect_failures": 0, "closed_by_server": 0,
          "answered": 0, "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
    by_kind_closed = collections.Counter()
    ready = asyncio.Event()

    def remaining():
        return deadline - time.monotonic()

    async def wait_eof(reader, timeout):
        """True when the server closed (EOF/reset) within timeout; counts any answer bytes."""
        end = time.monotonic() + timeout
        while True:
            left = min(end, deadline) - time.monotonic()
            if left <= 0:
                return False
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except asyncio.TimeoutError:
                return False
            except (ConnectionError, OSError):
                return True
            if not data:
                return True
            st["answered"] += 1

    async def slot(i):
        kind = FLOOD_KINDS[i % len(FLOOD_KINDS)]
        await asyncio.sleep((i % 100) * 0.01 + (i // 100) * 0.05)  # staggered start: ~1,100 in ~1 s
        while remaining() > 0:
            try:
                reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), min(5, max(remaining(), 0.01)))
            except (asyncio.TimeoutError, OSError):
                st["connect_failures"] += 1
                await asyncio.sleep(1 + random.random())
                continue
            st["connects"] += 1
            st["open"] += 1
            st["max_open"] = max(st["max_open"], st["open"])
            if st["open"] >= count:
                ready.set()
            closed = False
            try:
                if kind == "half":
                    writer.write(b"POST " + API.encode() + b"/call/inbound_call/x?type=popup HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                    closed = await wait_eof(reader, remaining())
                elif kind == "trickle":
                    writer.write(b"GET /healthz HTTP/1.1\r\n")
                    n = 0
                    while remaining() > 0 and not closed:
                        closed = await wait_eof(reader, 3)
                        if not closed and remaining() > 0:
                            n += 1
                            writer.write(b"X-Trickle-%d: a\r\n" % n)
                            await writer.drain()
                elif kind == "idle":
                    writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                    await writer.drain()
                    closed = await wait_eof(reader, remaining())
                else:  # silent
                    closed = await wait_eof(reader, remaining())
            except (ConnectionError, OSError):
                closed = True
            finally:
                st["open"] -= 1
                writer.transport.abort()
            if closed:
                st["closed_by_server"] += 1
                by_kind_closed[kind] += 1
                await asyncio.sleep(1 + random.random())  # a slow flood, not a connect storm

    async def announce():
        try:
            await asyncio.wait_for(ready.wait(), 10)
        except asyncio.TimeoutError:
            pass
        print(json.dumps({"ready": True, "open": st["open"]}), flush=True)

    def on_term():
        st["closed_by_server_by_kind"] = dict(by_kind_closed)
        print(json.dumps(st), flush=True)
        os._exit(0)

    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_term)
    tasks = [asyncio.ensure_future(slot(i)) for i in range(count)]
    await announce()
    await asyncio.gather(*tasks, return_exceptions=True)
    st["closed_by_server_by_kind"] = dict(by_kind_closed)
    print(json.dumps(st), flush=True)


# ---------------------------------------------------------------------------------------------
# The orchestrator.
# ---------------------------------------------------------------------------------------------

SHORT = {
    "rate": 150,  # events/s of the normal load
    "workers": 24,  # threads, one keep-alive connection each: requests stuck in an outage pile up
    "load_secs": 12,
    "kills": [4],  # case 1: SIGKILL at these seconds into the load
    "restart_after": 1.0,
    "pg_down": [(4, 3)],  # case 2: (at, seconds down)
    "outage": (3, 3, 3),  # case 3: at, seconds down, seconds answering 500
    "servers": 2,  # case 4
    "kill_one_at": 4,
    "flood": 1100,
    "flood_secs": 12,  # normal client's measured window
    "flood_rate": 50,
    "disk": (3, 5, 5),  # case 6: load before the fill, seconds full, seconds after freeing
    "drain_secs": 60,
    "case_timeout": 150,
}
FULL = {
    "rate": 300,
    "workers": 32,
    "load_secs": 45,
    "kills": [8, 20, 32],
    "restart_after": 2.0,
    "pg_down": [(8, 5), (25, 2)],
    "outage": (8, 10, 10),
    "servers": 3,
    "kill_one_at": 10,
    "flood": 2000,
    "flood_secs": 40,
    "flood_rate": 80,
    "disk": (8, 12, 12),
    "drain_secs": 90,
    "case_timeout": 300,
}

# Retries land within the drain wait; ~75 s in all before a delivery would be dead.
RETRY_SCHEDULE = ",".join(["1s", "1s", "2s", "2s"] + ["3s"] * 23)
WEBHOOK_TIMEOUT_SECS = 2
LEASE_SECS = WEBHOOK_TIMEOUT_SECS * 2 + 10  # a delivery leased to a killed process is free again after this
REQUEST_TIMEOUT_SECS = 10
CLIENT_TIMEOUT = 15


class CaseFailed(Exception):
    pass


class CaseTimeout(BaseException):
    pass


class Skipped(Exception):
    pass


def log(msg):
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(port, method, path, body=None, headers=None, timeout=10):
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        hdrs = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        return resp.status, parsed
    finally:
        conn.close()


class Registry:
    """Everything to undo, undone in reverse order even on failure."""

    def __init__(self):
        self.undo = []

    def add(self, desc, fn):
        self.undo.append((desc, fn))

    def run(self):
        while self.undo:
            desc, fn = self.undo.pop()
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - cleanup goes on
                log(f"  cleanup {desc}: {e!r}")


def stop_process(proc, timeout=10):
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class ReceiverProc:
    def __init__(self, reg, workdir):
        self.log_path = os.path.join(workdir, "receiver.log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "receiver"],
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "w"),
            text=True,
        )
        reg.add("receiver", lambda: stop_process(self.proc))
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the receiver did not start: " + open(self.log_path).read())
        ports = json.loads(line)
        self.hook_port = ports["hook_port"]
        self.control_port = ports["control_port"]

    def url(self, app_index, kind):
        return f"http://{HOST}:{self.hook_port}/hook/{app_index}/{kind}"

    def control(self, path):
        status, data = call(self.control_port, "GET", path, timeout=30)
        if status != 200:
            raise RuntimeError(f"receiver control {path}: {status} {data}")
        return data

    def mode(self, m):
        self.control(f"/mode?m={m}")

    def stats(self):
        return self.control("/stats")

    def dump(self):
        return self.control("/dump")


class Server:
    """One integrations-core process; can be SIGKILLed and started again on the same port."""

    count = 0

    def __init__(self, reg, binary, workdir, database_url, master_key, admin_token, nofile=None, name=None):
        Server.count += 1
        self.name = name or f"server{Server.count}"
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.nofile = nofile
        self.log_path = os.path.join(workdir, f"{self.name}.log")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "DATABASE_URL": database_url,
            "LISTEN_ADDR": f"{HOST}:{self.port}",
            "PUBLIC_BASE_URL": f"http://{HOST}:{self.port}",
            "MASTER_KEY": master_key,
            "ADMIN_TOKEN": admin_token,
            "WEBHOOK_ALLOW_PRIVATE": "true",
            "WEBHOOK_RETRY_SCHEDULE": RETRY_SCHEDULE,
            "WEBHOOK_TIMEOUT_SECS": str(WEBHOOK_TIMEOUT_SECS),
            "REQUEST_TIMEOUT_SECS": str(REQUEST_TIMEOUT_SECS),
            "EXOTEL_CCM_URL_MUMBAI": "http://127.0.0.1:9",
            "EXOTEL_CCM_URL_SINGAPORE": "http://127.0.0.1:9",
            "RUST_LOG": os.environ.get("CHAOS_RUST_LOG", "warn"),
        }
        self.proc = None
        self.starts = 0
        self.killed_at = 0.0
        reg.add(self.name, self.kill)

    def _limit(self):
        if self.nofile:
            _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(self.nofile, hard), hard))

    def start(self, timeout=30):
        self.starts += 1
        logf = open(self.log_path, "a")
        logf.write(f"\n===== chaos: start #{self.starts} at {time.strftime('%H:%M:%S')} =====\n")
        logf.flush()
        self.proc = subprocess.Popen(
            [self.binary, "serve"], cwd=self.workdir, env=self.env, stdout=logf, stderr=subprocess.STDOUT,
            preexec_fn=self._limit, start_new_session=True,
        )
        logf.close()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise CaseFailed(f"{self.name} exited with {self.proc.returncode} before it was ready")
            try:
                status, _ = call(self.port, "GET", "/readyz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise CaseFailed(f"{self.name} was not ready within {timeout} s")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.killed_at = time.monotonic()
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout=30):
        """SIGTERM; returns (clean, exit code)."""
        if not self.proc or self.proc.poll() is not None:
            return False, self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
            return code == 0, code
        except subprocess.TimeoutExpired:
            self.kill()
            return False, "killed after %d s" % timeout

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def tail(self, n=25):
        try:
            with open(self.log_path, errors="replace") as f:
                lines = f.readlines()
        except OSError:
            return "(no log)"
        return "".join(lines[-n:])


def seed(port, admin_token, receiver, apps=2):
    """A customer and `apps` sandbox apps whose missedCall and incomingCallHangup settings point at
    the receiver. Returns [(app_id, app_token)]."""

    def ok(status, data, what):
        if status != 200:
            raise CaseFailed(f"seeding {what}: HTTP {status} {data}")
        return data["Data"]

    cust = ok(*call(port, "POST", f"{API}/customer", {"CustomerName": "Chaos", "Email": "ops@chaos.example"},
                    {"Authorization": admin_token}), "customer")
    ctoken = ok(*call(port, "POST", f"{API}/token",
                      {"Id": cust["CustomerID"], "Secret": cust["CustomerSecret"], "Entity": "customer"}), "customer token")
    out = []
    for a in range(apps):
        app = ok(*call(port, "POST", f"{API}/app",
                       {"AppName": f"Chaos {a}", "ExotelAccountSid": f"chaos{a}", "ExotelApiKey": "key",
                        "ExotelApiToken": "token", "ExotelDomain": "sandbox", "IsActive": True},
                       {"Authorization": ctoken}), "app")
        atoken = ok(*call(port, "POST", f"{API}/token",
                          {"Id": app["AppID"], "Secret": app["AppSecret"], "Entity": "app"}), "app token")
        for key, kind in (("missedCall", "missedcall"), ("incomingCallHangup", "incomingcallhungup")):
            ok(*call(port, "POST", f"{API}/app_setting", {"Key": key, "Value": receiver.url(a, kind)},
                     {"Authorization": atoken}), f"setting {key}")
        out.append((app["AppID"], atoken))
    return out


class Load:
    """Paced passthru events (missedcall / incomingcallhungup, a unique CallSid each) from worker
    threads over keep-alive connections (or a fresh connection per request: `fresh`)."""

    KINDS = ("missedcall", "incomingcallhungup")

    def __init__(self, servers, apps, rate, workers, prefix, fresh=False, timeout=CLIENT_TIMEOUT):
        self.servers = servers
        self.apps = apps
        self.rate = rate
        self.workers = workers
        self.prefix = prefix
        self.fresh = fresh
        self.timeout = timeout
        self.lock = threading.Lock()
        self.stop_evt = threading.Event()
        self.threads = []
        self.accepted = {}  # CallSid -> app index
        self.statuses = collections.Counter()  # "200", "503", "refused", "broken", "timeout", ...
        self.latencies = []  # seconds, every 200 answer
        self.waits = []  # seconds, every request whatever its outcome (flood case)
        self.slow = []  # (t into the run, seconds, outcome) of requests waiting > 1 s
        self.per_sec = collections.defaultdict(collections.Counter)  # second of sending -> outcomes
        self.t0 = None
        self.sent = 0

    def start(self):
        self.t0 = time.monotonic()
        for w in range(self.workers):
            t = threading.Thread(target=self.worker, args=(w,), daemon=True)
            t.start()
            self.threads.append(t)

    def stop(self):
        self.stop_evt.set()
        for t in self.threads:
            t.join(self.timeout + 5)

    def worker(self, w):
        conns = {}
        i = w
        while not self.stop_evt.is_set():
            due = self.t0 + i / self.rate
            delay = due - time.monotonic()
            if delay > 0 and self.stop_evt.wait(delay):
                break
            self.one(i, conns)
            i += self.workers
        for c in conns.values():
            c.close()

    def one(self, i, conns):
        app_index = i % len(self.apps)
        app_id = self.apps[app_index][0]
        sid = f"{self.prefix}-{i}"
        kind = self.KINDS[i % len(self.KINDS)]
        q = urllib.parse.urlencode({
            "type": kind, "CallSid": sid, "CallFrom": "09876543210", "CallTo": "08047112345",
            "Status": "free", "EventType": "Terminal", "StartTime": "2024-05-01 10:00:00",
        })
        path = f"{API}/call/inbound_call/{app_id}?{q}"
        order = list(range(len(self.servers)))
        first = i % len(order)
        order = order[first:] + order[:first]
        started = time.monotonic()
        outcome = None
        for attempt, s in enumerate(order):
            server = self.servers[s]
            conn = conns.get(s)
            sent = False
            try:
                if conn is not None and conn.sock is not None and select.select([conn.sock], [], [], 0)[0]:
                    # An idle keep-alive connection that is readable was closed (or reset) by the
                    # server: open a new one rather than send into it (what an HTTP client pool does).
                    conn.close()
                    conn = None
                if conn is None or self.fresh:
                    conn = http.client.HTTPConnection(HOST, server.port, timeout=self.timeout)
                    conn.connect()
                    conns[s] = conn
                sent = True
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                outcome = str(resp.status)
                if self.fresh or resp.getheader("connection", "").lower() == "close":
                    conn.close()
                    conns.pop(s, None)
            except socket.timeout:
                outcome = "timeout"
            except ConnectionRefusedError:
                outcome = "refused" if not sent else "broken"
            except (OSError, http.client.HTTPException):
                outcome = "broken" if sent else "connect_error"
            if outcome in ("timeout", "refused", "broken", "connect_error") and s in conns:
                conns.pop(s).close()
            # Nothing was sent: the same event may go to the next server (a load balancer would).
            if outcome in ("refused", "connect_error") and attempt + 1 < len(order):
                continue
            break
        elapsed = time.monotonic() - started
        with self.lock:
            self.sent += 1
            self.statuses[outcome] += 1
            self.per_sec[int(started - self.t0)][outcome] += 1
            self.waits.append(elapsed)
            if outcome == "200":
                self.accepted[sid] = app_index
                self.latencies.append(elapsed)
            if elapsed > 1.0:
                self.slow.append((round(started - self.t0, 2), round(elapsed, 3), outcome))


def percentile(values, p):
    if not values:
        return float("nan")
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * len(v) + 0.5)) - 1))
    return v[k]


class Case:
    def __init__(self, number, name, backend, fn):
        self.number = number
        self.name = name
        self.backend = backend
        self.fn = fn
        self.result = "?"
        self.accepted = self.delivered = self.lost = self.dups = 0
        self.s500 = self.s503 = 0
        self.other = collections.Counter()
        self.notes = []
        self.failures = []
        self.secs = 0.0
        self.logs = []  # servers whose logs to tail on failure

    @property
    def label(self):
        return f"{self.number}. {self.name} ({self.backend})"


class Ctx:
    """Per-case resources."""

    def __init__(self, suite, case):
        self.suite = suite
        self.case = case
        self.reg = Registry()
        self.workdir = tempfile.mkdtemp(prefix=f"chaos-{case.number}-{case.backend}-")
        self.reg.add("workdir", self.cleanup_workdir)
        self.master_key = base64.b64encode(os.urandom(32)).decode()
        self.admin_token = "admin-" + secrets.token_hex(16)
        self.p = suite.p

    def cleanup_workdir(self):
        if self.case.result == "FAIL" and self.suite.keep_failed:
            log(f"  kept {self.workdir}")
            return
        shutil.rmtree(self.workdir, ignore_errors=True)

    def database(self, pg_port=5432, pg_host=HOST):
        if self.case.backend == "sqlite":
            return f"sqlite://{self.workdir}/integrations.db"
        name = f"chaos_{self.case.number}_{os.getpid()}_{int(time.time())}"
        psql(pg_port, f"CREATE DATABASE {name}")
        self.reg.add(f"database {name}", lambda: psql(pg_port, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        return f"postgres://postgres@{pg_host}:{pg_port}/{name}"

    def seeded_server(self, database_url, nofile=None):
        """A receiver, one started server on `database_url`, and the apps seeded on it."""
        rec = self.receiver()
        srv = self.server(database_url, nofile=nofile)
        srv.start()
        return rec, srv, seed(srv.port, self.admin_token, rec)

    def server(self, database_url, nofile=None, name=None):
        s = Server(self.reg, self.suite.binary, self.workdir, database_url, self.master_key, self.admin_token, nofile, name)
        self.case.logs.append(s)
        return s

    def receiver(self):
        return ReceiverProc(self.reg, self.workdir)


def psql(port, sql):
    out = subprocess.run(
        ["psql", "-h", HOST, "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        capture_output=True, text=True, timeout=60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"psql {sql!r}: {out.stderr.strip()}")


def run_timeline(load, secs, actions):
    """Starts the load, runs each (at, description, fn) at its time, stops the load at `secs`."""
    load.start()
    try:
        for at, desc, fn in sorted(actions, key=lambda a: a[0]):
            delay = load.t0 + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            log(f"  t={time.monotonic() - load.t0:5.1f}s {desc}")
            fn()
        delay = load.t0 + secs - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    finally:
        load.stop()
    log(f"  load stopped after {time.monotonic() - load.t0:.1f} s: {dict(load.statuses)}")
    log("  per second sent: " + " ".join(
        f"{sec}:" + ",".join(f"{k}={v}" for k, v in sorted(c.items())) for sec, c in sorted(load.per_sec.items())))


def drain(case, load, receiver, secs, not_before=0.0):
    """Waits until every accepted event is received (and 1 s of quiet, and the monotonic time
    `not_before`: past the leases of a killed process, so that its re-sends count as duplicates),
    at most `secs`; then scores."""
    start = time.monotonic()
    accepted = set(load.accepted)
    last_count, last_change = -1, time.monotonic()
    missing = accepted
    while True:
        st = receiver.stats()
        if st["receipts"] != last_count:
            last_count, last_change = st["receipts"], time.monotonic()
        if st["distinct"] >= len(accepted):
            missing = accepted - set(receiver.dump())
            if not missing and time.monotonic() - last_change >= 1.0 and time.monotonic() >= not_before:
                break
        if time.monotonic() - start > secs:
            missing = accepted - set(receiver.dump())
            break
        time.sleep(0.5)
    dump = receiver.dump()
    missing = accepted - set(dump)
    case.accepted = len(accepted)
    case.delivered = len(set(dump))
    case.lost = len(missing)
    case.dups = sum(n - 1 for n in dump.values() if n > 1)
    case.s500 = load.statuses.get("500", 0)
    case.s503 = load.statuses.get("503", 0)
    for k, v in load.statuses.items():
        if k not in ("200", "503"):
            case.other[k] += v
    if load.waits and case.number != 5:
        worst = max(load.waits)
        case.notes.append(f"slowest answer {worst:.1f} s" if worst >= 0.1 else f"slowest answer {worst * 1000:.0f} ms")
    unacked = len(set(dump) - accepted)
    if unacked:
        case.notes.append(f"{unacked} delivered without a 200 answer (the answer lost to a kill, or a 503 whose write went through)")
    log(f"  drained in {time.monotonic() - start:.1f} s: accepted {case.accepted}, delivered {case.delivered}, "
        f"lost {case.lost}, duplicates {case.dups}")
    if missing:
        case.failures.append(f"{len(missing)} accepted events never delivered (e.g. {sorted(missing)[:3]})")
    return missing


def judge_statuses(case, allow=("refused", "broken", "connect_error", "timeout")):
    """500s always fail; other 5xx and 4xx too; connection-level errors are allowed during outages."""
    for k, v in sorted(case.other.items()):
        if k == "500":
            case.failures.append(f"{v} HTTP 500 answers")
        elif k not in allow:
            case.failures.append(f"{v} unexpected answers {k}")


# ------------------------------------------------------------------------------- the cases


def case_kill(ctx):
    """1. SIGKILL the server under load, then restart it."""
    p, case = ctx.p, ctx.case
    rec, srv, apps = ctx.seeded_server(ctx.database())
    load = Load([srv], apps, p["rate"], p["workers"], f"k{case.backend[0]}{os.getpid()}")
    actions = []
    for at in p["kills"]:
        actions.append((at, "SIGKILL the server", srv.kill))
        actions.append((at + p["restart_after"], "restart it", lambda: srv.start()))
    run_timeline(load, p["load_secs"], actions)
    drain(case, load, rec, p["drain_secs"], not_before=srv.killed_at + LEASE_SECS + 2)
    judge_statuses(case)
    case.notes.append(f"{len(p['kills'])} kill(s)")


def case_pg_restart(ctx):
    """2. Postgres restart under load (a private throwaway cluster unless CHAOS_PG_RESTART=cluster)."""
    p, case = ctx.p, ctx.case
    pg = PrivateCluster(ctx) if ctx.suite.pg_restart != "cluster" else SharedCluster()
    case.notes.append(pg.describe)
    rec, srv, apps = ctx.seeded_server(ctx.database(pg_port=pg.port))
    load = Load([srv], apps, p["rate"], p["workers"], f"p{os.getpid()}")
    actions = []
    for at, down in p["pg_down"]:
        actions.append((at, "stop Postgres", pg.stop))
        actions.append((at + down, f"start Postgres ({down} s down)", pg.start))
    run_timeline(load, p["load_secs"], actions)
    if not srv.alive():
        case.failures.append(f"the server died (exit {srv.proc.returncode})")
    drain(case, load, rec, p["drain_secs"])
    judge_statuses(case)


class SharedCluster:
    """The machine's cluster on 5432, restarted with pg_ctlcluster (disturbs anyone else using it)."""

    port = 5432
    describe = "restarted the shared cluster (pg_ctlcluster)"

    def __init__(self):
        self.version = sorted(os.listdir("/etc/postgresql"))[-1]

    def _ctl(self, action):
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, "main", action],
                       check=True, timeout=60, capture_output=True)

    def stop(self):
        self._ctl("stop")

    def start(self):
        self._ctl("start")


class PrivateCluster:
    """A throwaway cluster (initdb as user postgres) on a free port, so that restarting it never
    disturbs other users of the machine's cluster. Same server binaries, default settings (fsync on)."""

    def __init__(self, ctx):
        bins = sorted(d for d in os.listdir("/usr/lib/postgresql") if os.path.isdir(f"/usr/lib/postgresql/{d}/bin"))
        if not bins or os.geteuid() != 0:
            raise RuntimeError("need root and /usr/lib/postgresql/*/bin for a private cluster; "
                               "or set CHAOS_PG_RESTART=cluster")
        self.bin = f"/usr/lib/postgresql/{bins[-1]}/bin"
        self.dir = tempfile.mkdtemp(prefix="chaos-pg-")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.describe = f"private cluster, Postgres {bins[-1]}, port {self.port}"
        ctx.reg.add("private cluster files", lambda: shutil.rmtree(self.dir, ignore_errors=True))
        self._as_pg([f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "--no-sync"], 120)
        ctx.reg.add("private cluster", lambda: self._as_pg(
            [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"], 60, check=False))
        self.start()

    def _as_pg(self, argv, timeout, check=True):
        out = subprocess.run(["runuser", "-u", "postgres", "--"] + argv, capture_output=True, text=True,
                             timeout=timeout, cwd=self.dir)
        if check and out.returncode != 0:
            raise RuntimeError(f"{argv[0]}: {out.stdout[-500:]} {out.stderr[-500:]}")

    def start(self):
        self._as_pg([f"{self.bin}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "pg.log"), "-w", "-t", "60",
                     "-o", f"-p {self.port} -k {self.dir} -c listen_addresses={HOST}", "start"], 90)

    def stop(self):
        self._as_pg([f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"], 90)


def case_receiver_outage(ctx):
    """3. The webhook receiver is down, then answers 500, then 200."""
    p, case = ctx.p, ctx.case
    rec, srv, apps = ctx.seeded_server(ctx.database())
    load = Load([srv], apps, p["rate"], p["workers"], f"r{case.backend[0]}{os.getpid()}")
    at, down, fail = p["outage"]
    actions = [
        (at, "receiver down (connection refused)", lambda: rec.mode("down")),
        (at + down, "receiver answers 500", lambda: rec.mode("fail")),
        (at + down + fail, "receiver answers 200", lambda: rec.mode("ok")),
    ]
    run_timeline(load, p["load_secs"], actions)
    st = rec.stats()
    case.notes.append(f"receiver answered {st['answered_500']} with 500")
    drain(case, load, rec, p["drain_secs"])
    judge_statuses(case, allow=())
    if not srv.alive():
        case.failures.append("the server died")


def case_two_servers(ctx):
    """4. Two (full: three) servers on one Postgres database; one is SIGKILLed under load."""
    p, case = ctx.p, ctx.case
    rec = ctx.receiver()
    url = ctx.database()
    servers = [ctx.server(url, name=f"server-{chr(ord('a') + k)}") for k in range(p["servers"])]
    for s in servers:
        s.start()
    apps = seed(servers[0].port, ctx.admin_token, rec)
    load = Load(servers, apps, p["rate"], p["workers"], f"t{os.getpid()}")
    actions = [(p["kill_one_at"], f"SIGKILL {servers[0].name} (not restarted)", servers[0].kill)]
    if len(servers) > 2:
        later = p["kill_one_at"] + (p["load_secs"] - p["kill_one_at"]) // 2
        actions.append((later, f"SIGKILL {servers[1].name}, restart it 1 s later", servers[1].kill))
        actions.append((later + 1, f"restart {servers[1].name}", lambda: servers[1].start()))
    run_timeline(load, p["load_secs"], actions)
    drain(case, load, rec, p["drain_secs"], not_before=max(s.killed_at for s in servers) + LEASE_SECS + 2)
    judge_statuses(case)
    case.notes.append(f"{len(servers)} processes")


def case_flood(ctx):
    """5. ~1,100 slow and idle connections while a normal client measures latency."""
    p, case = ctx.p, ctx.case
    nofile = os.environ.get("CHAOS_FLOOD_ULIMIT", "1024")  # "none": the server keeps this script's limit
    rec, srv, apps = ctx.seeded_server(ctx.database(), nofile=None if nofile == "none" else int(nofile))
    with open(f"/proc/{srv.proc.pid}/limits") as f:
        lim = [line for line in f if line.startswith("Max open files")]
    soft = lim[0].split()[3] if lim else "?"
    case.notes.append(f"server soft nofile {soft} (started under ulimit -n {nofile})")
    total = p["flood_secs"] + 40
    flood = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "flood", str(srv.port), str(p["flood"]), str(total)],
        stdout=subprocess.PIPE, stderr=open(os.path.join(ctx.workdir, "flood.log"), "w"), text=True,
    )
    ctx.reg.add("flood", lambda: stop_process(flood))
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in flood.stdout], daemon=True).start()
    try:
        ready = json.loads(lines.get(timeout=30))
    except queue.Empty:
        raise CaseFailed("the flood did not start within 30 s")
    log(f"  flood up: {ready['open']} of {p['flood']} connections open")
    load = Load([srv], apps, p["flood_rate"], 2, f"f{case.backend[0]}{os.getpid()}", fresh=True, timeout=5)
    run_timeline(load, p["flood_secs"], [])
    stop_process(flood)
    fl = {}
    for _ in range(10):
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            break
        d = json.loads(line)
        if "max_open" in d:
            fl = d
    p50 = percentile(load.waits, 50) * 1000
    p99 = percentile(load.waits, 99) * 1000
    worst = max(load.waits) * 1000 if load.waits else float("nan")
    log(f"  normal client: {len(load.waits)} requests, p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.0f} ms")
    case.notes.append(f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.0f} ms"
                      + (" (p99 target < 50 ms: missed)" if p99 >= 50 else ""))
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(fl.get("closed_by_server_by_kind", {}).items()))
    case.notes.append(f"flood: {ready['open']} open when measuring, max {fl.get('max_open', '?')}, "
                      f"closed by the server {fl.get('closed_by_server', '?')} ({kinds or 'none'})")
    if load.slow:
        case.failures.append(f"{len(load.slow)} requests waited > 1 s (first: t={load.slow[0][0]} s, "
                             f"{load.slow[0][1]} s, {load.slow[0][2]})")
    if not srv.alive():
        case.failures.append("the server died")
    drain(case, load, rec, p["drain_secs"])
    judge_statuses(case, allow=("timeout",))  # a timeout is already a wait > 1 s


def case_full_disk(ctx):
    """6. SQLite on a small tmpfs that fills up under load, then frees; every 200 must be stored."""
    p, case = ctx.p, ctx.case
    mnt = os.path.join(ctx.workdir, "tmpfs")
    os.mkdir(mnt)
    size_mb = 24
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", mnt], capture_output=True, text=True)
    if out.returncode != 0:
        raise Skipped(f"cannot mount tmpfs ({(out.stderr or out.stdout).strip() or 'exit %d' % out.returncode})")
    ctx.reg.add("tmpfs", lambda: subprocess.run(["umount", "-l", mnt], check=False, capture_output=True))
    rec, srv, apps = ctx.seeded_server(f"sqlite://{mnt}/integrations.db")
    filler = os.path.join(mnt, "filler")
    before, full_secs, after = p["disk"]
    window = {}

    def fill():
        window["start"] = dict(load.statuses)
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 1 << 12, 512):
                chunk = b"\1" * size
                try:
                    for _ in range(size_mb * (1 << 20) // size + 2):
                        os.write(fd, chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
        finally:
            os.close(fd)
        st = os.statvfs(mnt)
        log(f"  filesystem full: {st.f_bavail * st.f_frsize} bytes free")

    def free():
        window["full"] = dict(load.statuses)
        os.unlink(filler)

    load = Load([srv], apps, p["rate"], p["workers"], f"d{os.getpid()}")
    run_timeline(load, before + full_secs + after,
                 [(before, "fill the filesystem", fill), (before + full_secs, "delete the filler", free)])
    during = collections.Counter(window.get("full", {}))
    during.subtract(collections.Counter(window.get("start", {})))
    during = {k: v for k, v in during.items() if v}
    case.notes.append(f"while full: {during}")
    if set(during) <= {"200"}:
        case.notes.append("never hit ENOSPC in the full window (every answer was 200)")
    alive = srv.alive()
    if not alive:
        case.failures.append(f"the server died under ENOSPC (exit {srv.proc.returncode})")
    missing = drain(case, load, rec, p["drain_secs"])
    clean, code = srv.stop()
    log(f"  stopped: clean={clean} ({code})")
    if alive and not clean:
        case.failures.append(f"the server did not stop cleanly ({code})")
    srv.start()
    # Every accepted event must be in the restarted server's database.
    not_stored = []
    conn = http.client.HTTPConnection(HOST, srv.port, timeout=10)
    for sid, app_index in sorted(load.accepted.items()):
        conn.request("GET", f"{API}/call/{sid}", headers={"Authorization": apps[app_index][1]})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            not_stored.append((sid, resp.status))
    conn.close()
    log(f"  after restart: {len(load.accepted) - len(not_stored)} of {len(load.accepted)} accepted events stored")
    if not_stored:
        case.failures.append(f"{len(not_stored)} accepted events missing after restart (e.g. {not_stored[:3]})")
        case.notes.append(f"{len(not_stored)} not in the database after restart")
    if missing:
        # Deliveries of events written after the restart's recovery: one more chance after restart.
        drain(case, load, rec, 20)
        case.failures = [f for f in case.failures if "never delivered" not in f]
        if case.lost:
            case.failures.append(f"{case.lost} accepted events never delivered, even after the restart")
    judge_statuses(case)


CASES = [
    (1, "SIGKILL + restart", ("sqlite", "postgres"), case_kill),
    (2, "Postgres restart", ("postgres",), case_pg_restart),
    (3, "receiver outage", ("sqlite", "postgres"), case_receiver_outage),
    (4, "two servers, one killed", ("postgres",), case_two_servers),
    (5, "slow/idle flood", ("sqlite", "postgres"), case_flood),
    (6, "full disk", ("sqlite",), case_full_disk),
]


class Suite:
    def __init__(self, args):
        self.binary = os.path.abspath(args.bin)
        self.full = args.full
        self.p = dict(FULL if args.full else SHORT)
        self.keep_failed = bool(os.environ.get("CHAOS_KEEP"))
        self.pg_restart = os.environ.get("CHAOS_PG_RESTART", "private")
        wanted = {int(c) for c in args.cases.split(",")} if args.cases else None
        backends = set(args.backends.split(",")) if args.backends else {"sqlite", "postgres"}
        self.cases = [Case(n, name, b, fn) for n, name, bs, fn in CASES for b in bs
                      if (wanted is None or n in wanted) and b in backends]

    def run_case(self, case):
        log(f"=== {case.label}")
        started = time.monotonic()
        ctx = Ctx(self, case)

        def on_alarm(_sig, _frame):
            raise CaseTimeout()

        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(self.p["case_timeout"])
        try:
            case.fn(ctx)
            case.result = "FAIL" if case.failures else "pass"
        except Skipped as e:
            case.result = "SKIPPED"
            case.notes.append(str(e))
            log(f"  SKIPPED: {e}")
        except CaseTimeout:
            case.result = "FAIL"
            case.failures.append(f"hard timeout: the case took over {self.p['case_timeout']} s")
        except CaseFailed as e:
            case.result = "FAIL"
            case.failures.append(str(e))
        except Exception as e:  # noqa: BLE001 - a harness error fails the case, the suite goes on
            case.result = "FAIL"
            case.failures.append(f"harness error: {e!r}")
            traceback.print_exc()
        finally:
            signal.alarm(0)
            if case.result == "FAIL":
                for f in case.failures:
                    log(f"  FAIL: {f}")
                for s in case.logs:
                    log(f"  --- last lines of {s.name}'s log ({s.log_path}):")
                    print(s.tail(), flush=True)
            ctx.reg.run()
            case.secs = time.monotonic() - started
        log(f"  {case.result} in {case.secs:.0f} s; " + "; ".join(case.notes))

    def table(self):
        rows = ["| Case | Backend | Result | Accepted | Delivered | Lost | Dups | 500s | 503s | Other | Secs | Notes |",
                "|---|---|---|--:|--:|--:|--:|--:|--:|---|--:|---|"]
        for c in self.cases:
            other = ", ".join(f"{k} {v}" for k, v in sorted(c.other.items()) if k != "500") or ""
            notes = "; ".join(c.notes + [f"**{f}**" for f in c.failures])
            rows.append(f"| {c.number}. {c.name} | {c.backend} | {c.result} | {c.accepted} | {c.delivered} | {c.lost} | "
                        f"{c.dups} | {c.s500} | {c.s503} | {other} | {c.secs:.0f} | {notes.replace('|', '/')} |")
        return "\n".join(rows)

    def summary(self):
        n = sum(c.result == "pass" for c in self.cases)
        m = sum(c.result == "FAIL" for c in self.cases)
        k = sum(c.result == "SKIPPED" for c in self.cases)
        return f"chaos: {n} passed, {m} failed, {k} skipped", m


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def main_suite(args):
    suite = Suite(args)
    started = time.monotonic()
    # The commit the binary was (most likely) built from: read before the run, not after it.
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=HERE).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock", "migrations"],
                           capture_output=True, text=True, cwd=HERE).stdout.strip()
    log(f"chaos ({'full' if suite.full else 'short'} form): {len(suite.cases)} cases, binary {suite.binary}")

    def on_term(_sig, _frame):
        raise KeyboardInterrupt()

    signal.signal(signal.SIGTERM, on_term)
    try:
        for case in suite.cases:
            suite.run_case(case)
    except KeyboardInterrupt:
        log("interrupted; cleaned up")
        for c in suite.cases:
            if c.result == "?":
                c.result = "FAIL"
                c.failures.append("interrupted")
    total = time.monotonic() - started
    table = suite.table()
    line, failed = suite.summary()
    print()
    print(table)
    print()
    print(f"{'full' if suite.full else 'short'} form: {total:.0f} s")
    print(line, flush=True)
    if args.results:
        with open(args.results, "w") as f:
            f.write("# Chaos suite: latest full run\n\n")
            f.write(f"`chaos/run.sh{' --full' if suite.full else ''}` — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                    f"commit `{commit}`"
                    + (f" (binary given: `{os.environ['CHAOS_BIN']}`)" if os.environ.get("CHAOS_BIN")
                       else " (plus uncommitted changes under src/)" if dirty else "")
                    + ", "
                    f"{machine()}, {total:.0f} s (release build excluded).\n\n")
            f.write(table + "\n\n" + line + "\n")
        log(f"wrote {args.results}")
    return 1 if failed else 0


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "receiver":
        asyncio.run(Receiver().main())
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "flood":
        asyncio.run(flood_main(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])))
        return 0
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True, help="the integrations-core binary")
    ap.add_argument("--full", action="store_true", help="the longer form")
    ap.add_argument("--cases", help="comma-separated case numbers (default: all)")
    ap.add_argument("--backends", help="comma-separated: sqlite,postgres (default: both)")
    ap.add_argument("--results", help="write the table to this Markdown file")
    return main_suite(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
