#!/usr/bin/env python3
"""The soak run (issue 13): mixed API traffic from several clients at once against a server on a
PostgreSQL store, while the run (1) stops the store's PostgreSQL and starts it again, (2) kills the
server with SIGKILL and starts it again, and (3) sends it SIGTERM with tests in flight. Then it
checks, and prints:

  - every write that got a 2xx is there afterwards and decrypts (creates, PATCHes with sharing,
    deletes; a write whose answer was lost to a kill may have happened or not);
  - during the store outage, no answer but 503 (tests of unsaved credentials, which need nothing
    from the store, may go on) and outside the outage and the restarts, no 5xx at all;
  - after the outage, open descriptors and probes in flight (`connector_probes_in_flight`) back
    to their baseline, and RSS flat;
  - SIGTERM: the listener refuses new connections while the tests in flight still run, those are
    answered 503 `shutting_down` when `--shutdown-grace` ends, the server exits 0 and the webhook
    outbox keeps its undelivered notifications;
  - p50 and p99 per route.

The traffic: creates, lists, retrieves, PATCHes that change the metadata and share with a member,
deletes, tests of a stored connector, batch checks (`health_checks/`) and `test_connectors/`
against the local PostgreSQL.

`make soak` runs it for minutes; `make test` runs `--short` (about 40 s). Needs the services
(`eval "$(scripts/services.sh env)"`) and root (PostgreSQL is stopped and started as its own user,
as scripts/services.sh does).

  python3 scripts/soak.py [--binary .build/release/connector-engine] [--short] [--clients N]
"""

import argparse
import http.client
import json
import os
import pathlib
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_health import TYPES, free_port, need  # noqa: E402

PG = TYPES["postgresql"]
ORG_BASE = "/api/v1/unstract/default"


def log(message):
    print(f"soak: {message}", file=sys.stderr, flush=True)


# ---- the store's PostgreSQL (the services' plain server) ----

AS_PG = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", "env", "HOME=/tmp"]


def pg_ctl(action, quiet=False):
    data = pathlib.Path(need("CE_SERVICES_DIR")) / "pg" / "plain"
    pg_bin = pathlib.Path(os.environ.get("CE_PG_BIN", "/usr/lib/postgresql/15/bin"))
    command = AS_PG + [str(pg_bin / "pg_ctl"), "-D", str(data), "-w", "-t", "60"]
    command += ["-m", "fast", "stop"] if action == "stop" else ["-l", str(data.parent / "plain.log"), "start"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL if quiet else None, cwd="/tmp")


def store_sql(database_url, sql):
    import psycopg2

    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall() if cursor.description else []
        connection.commit()
        return rows
    finally:
        connection.close()


# ---- the server ----

class Server:
    """`connector-engine serve` on a port of its own, its output in a log file."""

    def __init__(self, binary, port, data_dir, database_url, grace):
        self.binary, self.port, self.data_dir, self.database_url, self.grace = binary, port, data_dir, database_url, grace
        self.process = None
        self.log_path = pathlib.Path(data_dir) / "server.log"
        self.blackhole_webhook = f"http://127.0.0.1:{free_port()}/hook"

    def start(self):
        environment = dict(os.environ, DATABASE_URL=self.database_url)
        output = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), "--data-dir", self.data_dir, "--store-timeout", "2",
             "--shutdown-grace", str(self.grace), "--notification-webhook", self.blackhole_webhook,
             "--tests-per-user", "1000", "--tests-per-org", "1000", "--read-cache-seconds", "0"],
            env=environment, stdout=output, stderr=subprocess.STDOUT)
        output.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"soak: the server exited with {self.process.returncode}; see {self.log_path}")
            if request_once(self.port, "GET", "/readyz")[0] == 200:
                return
            time.sleep(0.1)
        sys.exit(f"soak: the server was not ready within 120 s; see {self.log_path}")

    @property
    def pid(self):
        return self.process.pid

    def descriptors(self, store_port):
        """(descriptors other than TCP connections, connections to the store, connections of API clients)."""
        peers = {}
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in pathlib.Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = int(fields[1].rsplit(":", 1)[1], 16), int(fields[2].rsplit(":", 1)[1], 16), fields[9]
                peers[inode] = (local, remote)
        other = store = clients = 0
        for fd in os.listdir(f"/proc/{self.pid}/fd"):
            try:
                target = os.readlink(f"/proc/{self.pid}/fd/{fd}")
            except OSError:
                continue
            local, remote = peers.get(target[8:-1], (None, None)) if target.startswith("socket:[") else (None, None)
            if remote == store_port:
                store += 1
            elif local == self.port and remote != 0:
                clients += 1
            else:
                other += 1
        return other, store, clients

    def rss_mib(self):
        for line in pathlib.Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def probes_in_flight(self):
        status, text, _ = request_once(self.port, "GET", "/metrics", raw=True)
        if status != 200:
            return None
        for line in text.splitlines():
            if line.startswith("connector_probes_in_flight"):
                return float(line.split()[-1])
        return None

    def first_token(self):
        for line in self.log_path.read_text().splitlines():
            if line.strip().startswith("ce_"):
                return line.strip()
        sys.exit("soak: the server printed no first token")


def request_once(port, method, path, body=None, token=None, timeout=30, raw=False):
    """(status, parsed JSON or text, Retry-After); status 0 when the connection failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        retry_after = response.getheader("Retry-After")
        if raw:
            return response.status, text, retry_after
        try:
            return response.status, json.loads(text) if text else None, retry_after
        except ValueError:
            return response.status, text, retry_after
    except (OSError, http.client.HTTPException):
        return 0, None, None
    finally:
        connection.close()


# ---- traffic ----

class Ledger:
    """What the store must hold afterwards: per connector, the values a 2xx confirmed. A write
    whose answer was lost may or may not have happened: both values are accepted then."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connectors = {}  # id -> {"database": {values}, "shared": {tuples}, "deleted": {bools}}

    def created(self, connector_id, database):
        with self.lock:
            self.connectors[connector_id] = {"database": {database}, "shared": {()}, "deleted": {False}}

    def patched(self, connector_id, database, shared, confirmed):
        with self.lock:
            entry = self.connectors[connector_id]
            if confirmed:
                entry["database"], entry["shared"] = {database}, {tuple(shared)}
            else:
                entry["database"].add(database)
                entry["shared"].add(tuple(shared))

    def deleted(self, connector_id, confirmed):
        with self.lock:
            self.connectors[connector_id]["deleted"] = {True} if confirmed else {True, False}


class Traffic:
    """Client threads sending a mix of requests; every answer is recorded with the phase it fell in."""

    def __init__(self, port, token, member_id, valid_pg, stored_id, clients):
        self.port, self.token, self.member_id, self.valid_pg, self.stored_id = port, token, member_id, valid_pg, stored_id
        self.clients = clients
        self.phase = "steady"
        self.records = []  # (phase, route, status, ms, code)
        self.lock = threading.Lock()
        self.ledger = Ledger()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.idle = [threading.Event() for _ in range(clients)]
        self.threads = []

    def start(self):
        for index in range(self.clients):
            thread = threading.Thread(target=self.worker, args=(index,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def pause(self, server=None):
        """Returns once every client is between requests and stays there (and, given the server,
        once the probes of batch checks that outlive their requests are done)."""
        self.paused.set()
        for event in self.idle:
            event.wait(60)
        deadline = time.monotonic() + 60
        while server and server.probes_in_flight() != 0 and time.monotonic() < deadline:
            time.sleep(0.05)

    def resume(self):
        for event in self.idle:
            event.clear()
        self.paused.clear()

    def record(self, route, status, started, body, phase):
        # A request that spans a change of phase belongs to the disturbed one of the two.
        if phase != self.phase and phase == "steady":
            phase = self.phase
        code = None
        if isinstance(body, dict):
            errors = body.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                code = errors[0].get("code")
        with self.lock:
            self.records.append((phase, route, status, (time.monotonic() - started) * 1000, code))

    def call(self, route, method, path, body=None):
        started, phase = time.monotonic(), self.phase
        status, answer, _ = request_once(self.port, method, path, body, self.token, timeout=30)
        self.record(route, status, started, answer, phase)
        return status, answer

    def worker(self, index):
        rng = random.Random(index)
        mine = []
        while not self.stop.is_set():
            if self.paused.is_set():
                self.idle[index].set()
                time.sleep(0.05)
                continue
            choice = rng.random()
            if choice < 0.25 or not mine:
                database = f"db_{secrets.token_hex(6)}"
                metadata = dict(self.valid_pg, database=database)
                status, answer = self.call("create", "POST", f"{ORG_BASE}/connector/",
                                           {"connector_id": PG, "connector_name": f"soak-{secrets.token_hex(6)}",
                                            "connector_metadata": metadata})
                if status == 201 and isinstance(answer, dict):
                    self.ledger.created(answer["id"], database)
                    mine.append(answer["id"])
            elif choice < 0.40:
                self.call("list", "GET", f"{ORG_BASE}/connector/")
            elif choice < 0.58:
                self.call("retrieve", "GET", f"{ORG_BASE}/connector/{rng.choice(mine)}/")
            elif choice < 0.73:
                connector = rng.choice(mine)
                database = f"db_{secrets.token_hex(6)}"
                shared = [self.member_id] if rng.random() < 0.5 else []
                status, _ = self.call("patch", "PATCH", f"{ORG_BASE}/connector/{connector}/",
                                      {"connector_metadata": dict(self.valid_pg, database=database), "shared_users": shared})
                if status == 200 or status == 0 or status >= 500:
                    self.ledger.patched(connector, database, shared, confirmed=status == 200)
            elif choice < 0.81:
                connector = mine.pop(rng.randrange(len(mine)))
                status, _ = self.call("delete", "DELETE", f"{ORG_BASE}/connector/{connector}/")
                if status == 204 or status == 0 or status >= 500:
                    self.ledger.deleted(connector, confirmed=status == 204)
                if status not in (204, 404):
                    mine.append(connector)
            elif choice < 0.88:
                self.call("test stored", "POST", f"{ORG_BASE}/connector/{self.stored_id}/test/")
            elif choice < 0.90:
                # A batch check of the stored connector and a few of this client's; the job runs
                # on and records its results in the health history.
                ids = [self.stored_id] + rng.sample(mine, min(3, len(mine)))
                self.call("batch check", "POST", f"{ORG_BASE}/health_checks/", {"connector_ids": ids})
            else:
                self.call("test_connectors", "POST", f"{ORG_BASE}/test_connectors/",
                          {"connector_id": PG, "connector_metadata": self.valid_pg})


def percentile(values, p):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * p + 0.999999) - 1))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/connector-engine")
    parser.add_argument("--short", action="store_true", help="the short version run by make test")
    parser.add_argument("--clients", type=int, default=0)
    args = parser.parse_args()
    steady = 6 if args.short else 60
    outage = 4 if args.short else 15
    clients = args.clients or (4 if args.short else 8)
    grace = 3
    failures = []

    def check(condition, what):
        log(("ok: " if condition else "FAILED: ") + what)
        if not condition:
            failures.append(what)

    # A fresh database on the services' plain PostgreSQL, the store's server.
    admin_url = need("CE_STORE_PG_URL")
    name = f"soak_{secrets.token_hex(4)}"
    import psycopg2

    connection = psycopg2.connect(admin_url)
    connection.autocommit = True
    connection.cursor().execute(f"CREATE DATABASE {name}")
    connection.close()
    database_url = admin_url.replace("/postgres?", f"/{name}?")
    data_dir = tempfile.mkdtemp(prefix="soak-")
    server = Server(args.binary, free_port(), data_dir, database_url, grace)
    try:
        server.start()
        token = server.first_token()
        run = lambda *a: subprocess.run([args.binary, "admin", *a, "--data-dir", data_dir], env=dict(os.environ, DATABASE_URL=database_url),
                                        capture_output=True, text=True, check=True).stdout
        member_id = int(run("user", "create", "member@soak.test").split()[2])
        run("member", "add", "--org", "default", "--email", "member@soak.test")
        valid_pg = {"host": "127.0.0.1", "port": need("CE_PG_PORT"), "database": need("CE_PG_DATABASE"),
                    "user": need("CE_PG_USER"), "password": need("CE_PG_PASSWORD"), "sslmode": "prefer"}
        status, stored, _ = request_once(server.port, "POST", f"{ORG_BASE}/connector/",
                                      {"connector_id": PG, "connector_name": "soak-stored", "connector_metadata": valid_pg}, token)
        if status != 201:
            sys.exit(f"soak: cannot create the stored connector: {status} {stored}")
        traffic = Traffic(server.port, token, member_id, valid_pg, stored["id"], clients)
        rss = []
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                try:
                    rss.append((traffic.phase, server.pid, server.rss_mib()))
                except OSError:
                    pass
                time.sleep(0.5)

        threading.Thread(target=sample, daemon=True).start()
        traffic.start()

        # Warm-up, then the baseline of a quiet server.
        log(f"{clients} clients, {steady} s per steady phase, store outage {outage} s, grace {grace} s")
        time.sleep(steady)
        traffic.pause()
        store_port = int(database_url.split("@", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])
        baseline_fds, baseline_rss, baseline_probes = server.descriptors(store_port), server.rss_mib(), server.probes_in_flight()
        traffic.resume()

        # (1) The store's PostgreSQL stops, then starts again.
        traffic.phase = "outage"
        pg_ctl("stop")
        log("the store's PostgreSQL is stopped")
        time.sleep(outage)
        readiness_down = request_once(server.port, "GET", "/readyz")
        pg_ctl("start")
        log("the store's PostgreSQL is started again")
        started = time.monotonic()
        first_ok = None
        while time.monotonic() - started < 30:
            status, _, _ = request_once(server.port, "GET", f"{ORG_BASE}/connector/", token=token)
            if status == 200:
                first_ok = time.monotonic() - started
                break
            time.sleep(0.05)
        traffic.phase = "steady"
        check(readiness_down[0] == 503, f"/readyz during the outage: {readiness_down[0]} {readiness_down[1]}")
        check(first_ok is not None, f"a request succeeded {first_ok if first_ok is None else round(first_ok * 1000)} ms after the store was back")
        time.sleep(steady)
        traffic.pause(server)
        after_fds, after_rss, after_probes = server.descriptors(store_port), server.rss_mib(), server.probes_in_flight()
        check(after_fds[0] <= baseline_fds[0] + 2,
              f"descriptors after the outage, other than TCP connections: {after_fds[0]} (baseline {baseline_fds[0]}); "
              f"connections to the store {after_fds[1]} (baseline {baseline_fds[1]})")
        check(after_probes == baseline_probes == 0, f"probes in flight after the outage: {after_probes} (baseline {baseline_probes})")
        check(after_rss <= baseline_rss * 1.5 + 16, f"RSS after the outage: {after_rss:.0f} MiB (baseline {baseline_rss:.0f} MiB)")
        traffic.resume()

        # (2) SIGKILL in the middle of the traffic, then a new server on the same store.
        time.sleep(2)
        traffic.phase = "restart"
        server.process.kill()
        server.process.wait()
        log("the server was killed (SIGKILL)")
        server.start()
        traffic.phase = "steady"
        time.sleep(steady)

        # (3) SIGTERM with tests in flight: tests of a black-holed address, which only the grace ends.
        blackhole = dict(valid_pg, port=need("CE_BLACKHOLE_PORT"))
        in_flight = []

        def slow_test():
            began = time.monotonic()
            status, answer, _ = request_once(server.port, "POST", f"{ORG_BASE}/test_connectors/?timeout=60",
                                          {"connector_id": PG, "connector_metadata": blackhole}, token, timeout=90)
            code = answer.get("errors", [{}])[0].get("code") if isinstance(answer, dict) else None
            in_flight.append((status, code, time.monotonic() - began))

        # The four tests start on a quiet server, so that the four probes in flight are theirs;
        # then the traffic goes on around them.
        traffic.pause(server)
        slow = [threading.Thread(target=slow_test) for _ in range(4)]
        for thread in slow:
            thread.start()
        deadline = time.monotonic() + 30
        while (server.probes_in_flight() or 0) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        traffic.resume()
        time.sleep(1)
        outbox_before = store_sql(database_url, "SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL")[0][0]
        traffic.phase = "shutdown"
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        refused_while_running = False
        while server.process.poll() is None and time.monotonic() - signalled < grace + 30:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            except OSError:
                refused_while_running = len(in_flight) < len(slow)
                break
            time.sleep(0.02)
        exit_code = server.process.wait(grace + 60)
        stopped_after = time.monotonic() - signalled
        for thread in slow:
            thread.join(30)
        outbox_after = store_sql(database_url, "SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL")[0][0]
        check(refused_while_running, "after SIGTERM new connections were refused while tests were still in flight")
        check(len(in_flight) == 4 and all(s == 503 and c == "shutting_down" and grace - 0.5 <= t <= grace + 10 for s, c, t in in_flight),
              f"tests in flight at SIGTERM: {[(s, c, round(t, 1)) for s, c, t in in_flight]} (grace {grace} s)")
        check(exit_code == 0, f"the server exited {exit_code}, {stopped_after:.1f} s after SIGTERM")
        check(outbox_after >= outbox_before > 0, f"undelivered webhook notifications: {outbox_before} before SIGTERM, {outbox_after} after")
        traffic.finish()
        sampling.set()

        # Everything a 2xx confirmed is there, and decrypts (the metadata is sealed).
        server.start()
        token_ok = True
        missing, wrong = [], []
        for connector_id, expected in traffic.ledger.connectors.items():
            status, answer, _ = request_once(server.port, "GET", f"{ORG_BASE}/connector/{connector_id}/", token=token)
            if status == 404:
                if True not in expected["deleted"]:
                    missing.append(connector_id)
                continue
            if status != 200:
                token_ok = False
                wrong.append((connector_id, status))
                continue
            if False not in expected["deleted"]:
                wrong.append((connector_id, "deleted with a 204 but still there"))
                continue
            database = answer["connector_metadata"].get("database")
            shared = tuple(answer.get("shared_users") or [])
            if database not in expected["database"] or shared not in expected["shared"]:
                wrong.append((connector_id, database, shared))
        check(token_ok and not missing and not wrong,
              f"{len(traffic.ledger.connectors)} connectors written with a 2xx: {len(missing)} missing, {len(wrong)} wrong {wrong[:3]}")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(60)

        # The answers, by phase.
        # A request may also succeed during the outage (the store came back while it waited, or
        # it needs nothing from the store); what must not happen is any other failure.
        outage_bad = [r for r in traffic.records if r[0] == "outage" and not (r[2] == 503 or 200 <= r[2] < 500)]
        steady_bad = [r for r in traffic.records if r[0] == "steady" and (r[2] >= 500 or r[2] == 0)]
        outage_503 = sum(1 for r in traffic.records if r[0] == "outage" and r[2] == 503)
        check(not outage_bad, f"during the outage: {outage_503} answers 503, {len(outage_bad)} other failures {outage_bad[:3]}")
        check(not steady_bad, f"outside the outage and the restarts: {sum(1 for r in traffic.records if r[0] == 'steady')} answers, "
                              f"{len(steady_bad)} 5xx or dropped {steady_bad[:3]}")
        routes = sorted({r[1] for r in traffic.records})
        print(f"\nSoak run: {clients} clients, {steady} s steady phases, {outage} s store outage, "
              f"{len(traffic.records)} requests, {len(traffic.ledger.connectors)} connectors created.\n")
        print("| Route | requests (steady) | p50 | p99 | during the outage |")
        print("|---|---:|---:|---:|---|")
        for route in routes:
            times = [r[3] for r in traffic.records if r[1] == route and r[0] == "steady" and 200 <= r[2] < 500]
            during = {}
            for r in traffic.records:
                if r[1] == route and r[0] == "outage":
                    during[r[2]] = during.get(r[2], 0) + 1
            print(f"| {route} | {len(times)} | {percentile(times, 0.5):.1f} ms | {percentile(times, 0.99):.1f} ms | "
                  f"{', '.join(f'{k}: {v}' for k, v in sorted(during.items())) or '-'} |")
        first = [m for p, pid, m in rss if pid == rss[0][1]] if rss else []
        print(f"\nRSS of the first server: {min(first):.0f} to {max(first):.0f} MiB; baseline {baseline_rss:.0f} MiB, "
              f"after the outage {after_rss:.0f} MiB. Descriptors other than TCP connections: {baseline_fds[0]} at the baseline, "
              f"{after_fds[0]} after the outage; connections to the store {baseline_fds[1]} and {after_fds[1]}. "
              f"First request after the store was back: {first_ok * 1000 if first_ok else -1:.0f} ms.")
    finally:
        if server.process and server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        try:
            pg_ctl("start", quiet=True)
        except subprocess.CalledProcessError:
            pass  # already running
        try:
            connection = psycopg2.connect(admin_url)
            connection.autocommit = True
            connection.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            connection.close()
        except psycopg2.Error as error:
            log(f"could not drop {name}: {error}")
    if failures:
        sys.exit(f"soak: {len(failures)} check(s) failed")
    log("all checks passed")


if __name__ == "__main__":
    main()
