#!/usr/bin/env python3
"""Batch health-check benchmark (`make bench`, after the probe benchmarks): 10,000 stored
connectors checked in one job, each family alone, a Python thread pool doing the same checks,
and two replicas sharing one scheduled round on a PostgreSQL store.

    eval "$(scripts/services.sh env)"; python3 scripts/bench_health.py [options]

Needs the services of scripts/services.sh (their CE_* variables), the release build
(.build/release/connector-engine) and, for the Python baseline, psycopg2, PyMySQL, boto3, PyJWT
and requests (scripts/deps.sh installs them).

The store (10,000 connectors, created through the API of a `serve` on a fresh SQLite data dir):
  2,000 PostgreSQL   half valid, half a wrong password
  4,000 MariaDB      half valid, half a wrong password
  2,000 S3           1 in 20 valid, 9 in 20 a missing bucket (NoSuchBucket), half a wrong secret
  1,000 GCS          valid, over the fake Google's bench service accounts, with and without bucket
  1,000 black hole   PostgreSQL metadata aimed at the listener that drops every SYN

The engine never checks the same credentials twice at once, so where the services allow it every
connector has credentials of its own: the script creates one PostgreSQL role per valid/wrong pair
(bench_pg_N, through the superuser socket of scripts/services.sh) and one MariaDB user
(bench_my_N, root over the socket); wrong passwords and secrets are distinct per connector. The
S3 server has a single valid access key, so the valid S3 connectors share it (they run one at a
time: hence only 1 in 20 valid), and GCS has 10 bench service accounts (20 distinct credentials
with the bucket-less variant). Without the sockets (services not started by services.sh) the
shared probe accounts are used and the script says so.

Measured (each store is made once, through the API; every run also reports the client's CPU
seconds, the whole machine's CPU seconds from /proc/stat, and "false timeouts": timeouts of
connectors that are not black holes, i.e. checks the machine was too busy to finish in time):
  engine, mixed    `connector-engine health` over the whole store in one job (--concurrency 512
                   --per-host 128 --timeout 2 by default), run twice, before and after the
                   families: wall time, checks/s, counts by code, peak RSS (VmHWM sampled while
                   it runs, and the kernel's maxrss at exit)
  engine, family   the same on a store holding only that family's connectors
  engine, API job  `POST health_checks/` on `serve` over the whole store, at the in-process job's
                   limits (serve --health-concurrency/--health-per-host, and --tests-per-user so
                   the job's creator may run that many), its NDJSON stream read to the end, and
                   the server's VmHWM
  Python           the same 10,000 checks with psycopg2 (connect + SELECT 1, connect_timeout 2),
                   PyMySQL (connect + SELECT 1, connect_timeout 2, no TLS like the connectors),
                   boto3 (a client per connector from one shared session, list_objects_v2
                   MaxKeys=1 / list_buckets, 2 s timeouts, no retry) and requests + PyJWT for GCS
                   (the RS256 assertion exchanged once per service account, like the engine's
                   token cache, then GET storage/v1/b/BUCKET), in a ThreadPoolExecutor at each
                   --python-workers count (64, 256, 512); in a child process
  replicas         a PostgreSQL store (a database created with CE_STORE_PG_URL, dropped at the
                   end) holding the same 10,000 connectors; one `serve --health-interval 1m
                   --default-timeout 2` at the same limits as the API job, then two started
                   together (each with those limits), on a cleared schedule and
                   history; the round ends when every connector has a `schedule` entry in
                   health_checks. Two scheduled checks of one connector less than half an
                   interval apart count as checked twice in the round (a connector's next check
                   is due an interval, give or take a tenth, after the pass that checked it)

--skip engine,families,api,python,replicas leaves parts out; --scale 0.1 is a quick run.
Prints a summary table at the end (and --json FILE writes the numbers).
"""

import argparse
import base64
import collections
import concurrent.futures
import http.client
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
TYPES = {
    "postgresql": "postgresql|6db35f45-be11-4fd5-80c5-85c48183afbb",
    "mariadb": "mariadb|146b0124-b9fc-466f-8e68-098ff60703e8",
    "s3": "minio|c799f6e3-2b57-434e-aaac-b5daa415da19",
    "gcs": "google_cloud_storage|109bbe7b-8861-45eb-8841-7244e833d97b",
}
TYPES["blackhole"] = TYPES["postgresql"]
FAMILIES = ["postgresql", "mariadb", "s3", "gcs", "blackhole"]
ORG = "default"


def log(message):
    print(f"bench_health: {message}", file=sys.stderr, flush=True)


def need(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"bench_health: {name} is not set; run: eval \"$(scripts/services.sh env)\"")
    return value


def machine_cpu():
    """CPU seconds the whole machine has spent (every core, all but idle and iowait)."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def family_of(name):
    return name.split("-", 1)[0]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Accounts: one PostgreSQL role and one MariaDB user per valid/wrong pair of connectors.

def pg_superuser_sql(sql):
    """Runs SQL as postgres over the services' socket; False when that socket is not there."""
    sock = pathlib.Path(need("CE_SERVICES_DIR")) / "pg" / "sock"
    psql = pathlib.Path(os.environ.get("CE_PG_BIN", "/usr/lib/postgresql/15/bin")) / "psql"
    if os.geteuid() != 0 or not psql.exists():
        return False
    command = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--",
               "env", "HOME=/tmp", str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1",
               "-h", str(sock), "-p", need("CE_PG_PORT"), "-U", "postgres", "-d", "postgres"]
    return run_sql_client("psql as postgres", command, sql, cwd="/tmp")


def mariadb_root_sql(sql):
    """Runs SQL as MariaDB's root over the services' socket; False when that socket is not there."""
    sock = pathlib.Path(need("CE_SERVICES_DIR")) / "mariadb" / "tls.sock"
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not client or not sock.exists():
        return False
    command = [client, "--no-defaults", "--protocol=socket", f"--socket={sock}", "-uroot", "--batch"]
    return run_sql_client("mariadb as root", command, sql)


def run_sql_client(what, command, sql, cwd=None):
    """Feeds SQL to a database client; False (and why, in the log) when it fails."""
    try:
        done = subprocess.run(command, input=sql, text=True, capture_output=True, timeout=300, cwd=cwd)
    except (OSError, subprocess.TimeoutExpired) as error:
        log(f"{what} failed: {error}")
        return False
    if done.returncode != 0:
        log(f"{what} failed: {done.stderr.strip()[:300]}")
        return False
    return True


def own_accounts(what, accounts, statements, run, shared, note):
    """Creates `accounts` with `statements` through `run`; without it, every one is `shared`.
    Returns (accounts, note or None)."""
    started = time.monotonic()
    if run("\n".join(statements) + "\n"):
        log(f"{len(accounts)} {what} in {time.monotonic() - started:.1f} s")
        return accounts, None
    return [shared] * len(accounts), note


def make_accounts(count_pg, count_my):
    """[(user, password)] for PostgreSQL and for MariaDB, own accounts if they could be made."""
    pg = [(f"bench_pg_{i}", secrets.token_hex(12)) for i in range(count_pg)]
    sql = ["DO $$ BEGIN CREATE ROLE bench_pg_group NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
           f"GRANT CONNECT ON DATABASE {need('CE_PG_DATABASE')} TO bench_pg_group;"]
    sql += [f"DROP ROLE IF EXISTS {user}; CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE bench_pg_group;"
            for user, password in pg]
    pg, pg_note = own_accounts(
        "PostgreSQL roles", pg, sql, pg_superuser_sql, (need("CE_PG_USER"), need("CE_PG_PASSWORD")),
        "PostgreSQL: no superuser socket, every valid connector shares the probe role")
    my = [(f"bench_my_{i}", secrets.token_hex(12)) for i in range(count_my)]
    database = need("CE_MARIADB_DATABASE")
    sql = [f"CREATE OR REPLACE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT SELECT ON `{database}`.* TO '{user}'@'%';"
           for user, password in my]
    my, my_note = own_accounts(
        "MariaDB users", my, sql, mariadb_root_sql, (need("CE_MARIADB_USER"), need("CE_MARIADB_PASSWORD")),
        "MariaDB: no root socket, every valid connector shares the probe user")
    return pg, my, [note for note in (pg_note, my_note) if note]


# ---------------------------------------------------------------------------------------------
# The connectors.

def build_connectors(counts):
    """[{family, name, type, metadata}], families interleaved (as connectors are made over time)."""
    pg_accounts, my_accounts, notes = make_accounts((counts["postgresql"] + 1) // 2, (counts["mariadb"] + 1) // 2)
    google_dir = pathlib.Path(need("CE_GOOGLE_BENCH_DIR"))
    key_files = sorted(google_dir.glob("bench-*.json"), key=lambda p: int(re.sub(r"\D", "", p.name) or 0))
    if not key_files:
        sys.exit(f"bench_health: no bench-*.json service accounts in {google_dir}")
    keys = [p.read_text() for p in key_files]
    host = "127.0.0.1"
    per_family = {family: [] for family in FAMILIES}
    for i in range(counts["postgresql"]):
        user, password = pg_accounts[i // 2]
        per_family["postgresql"].append({
            "host": host, "port": need("CE_PG_PORT"), "database": need("CE_PG_DATABASE"), "user": user,
            "password": password if i % 2 == 0 else f"wrong-{i}", "sslmode": "disable"})
    for i in range(counts["mariadb"]):
        user, password = my_accounts[i // 2]
        per_family["mariadb"].append({
            "host": host, "port": need("CE_MARIADB_PORT"), "database": need("CE_MARIADB_DATABASE"), "user": user,
            "password": password if i % 2 == 0 else f"wrong-{i}", "sslEnabled": False})
    for i in range(counts["s3"]):
        metadata = {"endpoint_url": f"http://{host}:{need('CE_S3_PORT')}", "region_name": need("CE_S3_REGION"),
                    "key": need("CE_S3_KEY"), "secret": need("CE_S3_SECRET"), "bucket": need("CE_S3_BUCKET")}
        if i % 2 == 1:
            metadata["secret"] = f"wrong-secret-{i}"
        elif i % 20 != 0:
            metadata["bucket"] = f"ce-bench-missing-{i}"
        per_family["s3"].append(metadata)
    for i in range(counts["gcs"]):
        metadata = {"json_credentials": keys[i % len(keys)], "project_id": need("CE_BQ_PROJECT")}
        if (i // len(keys)) % 2 == 0:
            metadata["bucket"] = need("CE_GCS_BUCKET")
        per_family["gcs"].append(metadata)
    for i in range(counts["blackhole"]):
        per_family["blackhole"].append({
            "host": host, "port": need("CE_BLACKHOLE_PORT"), "database": "bench", "user": f"bh_{i}",
            "password": f"bh-{i}", "sslmode": "disable"})
    connectors = []
    cursors = {family: 0 for family in FAMILIES}
    total = sum(counts.values())
    # Interleave by proportion: the k-th connector goes to the family furthest behind its share.
    for k in range(total):
        family = min((f for f in FAMILIES if cursors[f] < counts[f]),
                     key=lambda f: (cursors[f] + 1) / counts[f])
        index = cursors[family]
        cursors[family] += 1
        connectors.append({"family": family, "name": f"{family}-{index:05d}", "type": TYPES[family],
                           "metadata": per_family[family][index]})
    return connectors, notes


# ---------------------------------------------------------------------------------------------
# The engine: serve, the API, the health command.

class Memory:
    """Samples a process's VmHWM and VmRSS (kB) from /proc until stopped."""

    def __init__(self, pid, period=0.1):
        self.pid, self.period, self.hwm, self.rss = pid, period, 0, 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def sample(self):
        try:
            text = pathlib.Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        for line in text.splitlines():
            if line.startswith("VmHWM:"):
                self.hwm = max(self.hwm, int(line.split()[1]))
            elif line.startswith("VmRSS:"):
                self.rss = max(self.rss, int(line.split()[1]))

    def run(self):
        while not self.stopped.wait(self.period):
            self.sample()

    def stop(self):
        self.sample()
        self.stopped.set()
        self.thread.join()
        return max(self.hwm, self.rss)


class Server:
    """A `connector-engine serve` on a free loopback port."""

    def __init__(self, binary, data_dir, env, extra_args=(), name="serve"):
        self.port = free_port()
        data_dir.mkdir(parents=True, exist_ok=True)
        self.out_path, self.err_path = data_dir / f"{name}.out", data_dir / f"{name}.err"
        self.out, self.err = open(self.out_path, "w"), open(self.err_path, "w")
        args = [str(binary), "serve", "--port", str(self.port), "--data-dir", str(data_dir), *extra_args]
        self.process = subprocess.Popen(args, stdout=self.out, stderr=self.err, env=env, stdin=subprocess.DEVNULL)
        self.token = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = self.out_path.read_text()
            if "Connector Engine is listening" in text:
                lines = text.splitlines()
                for k, line in enumerate(lines):
                    if line.startswith("API token (shown only now") and k + 1 < len(lines):
                        self.token = lines[k + 1].strip()
                break
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        else:
            self.stop()
            sys.exit(f"bench_health: serve did not start: {self.err_path.read_text()[-2000:]}")
        if self.process.poll() is not None:
            sys.exit(f"bench_health: serve exited: {self.err_path.read_text()[-2000:]}")
        self.memory = Memory(self.process.pid)

    def cpu_seconds(self):
        """User and system CPU the process has used so far."""
        try:
            fields = pathlib.Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        """SIGTERM, then the peak RSS in MiB (sampled VmHWM)."""
        peak = self.memory.stop() if hasattr(self, "memory") else 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.out.close()
        self.err.close()
        return peak / 1024


class API:
    """One keep-alive connection per thread to a server's API."""

    def __init__(self, port, token):
        self.port, self.token = port, token
        self.local = threading.local()

    def request(self, method, path, body=None, timeout=60):
        for attempt in range(3):
            connection = getattr(self.local, "connection", None)
            if connection is None:
                connection = self.local.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                connection.request(method, f"/api/v1/unstract/{ORG}/{path}",
                                   None if body is None else json.dumps(body),
                                   {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
                response = connection.getresponse()
                return response.status, response.read()
            except (http.client.HTTPException, OSError):
                connection.close()
                self.local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def create_all(api, connectors, workers=32):
    """Creates the connectors through the API; returns (ids in order, seconds)."""
    def create(connector):
        status, data = api.request("POST", "connector/", {
            "connector_id": connector["type"], "connector_name": connector["name"],
            "connector_metadata": connector["metadata"]})
        if status != 201:
            raise RuntimeError(f"create {connector['name']}: HTTP {status}: {data[:300]!r}")
        return json.loads(data)["id"]

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        ids = list(pool.map(create, connectors))
    return ids, time.monotonic() - started


def engine_env(keys):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_URL")}
    env["CONNECTOR_ENGINE_KEYS"] = keys
    env.setdefault("LOG_LEVEL", "warning")
    return env


def google_args():
    return ["--google-token-url", need("CE_GOOGLE_TOKEN_URL"), "--google-storage-url", need("CE_GOOGLE_API_URL"),
            "--google-bigquery-url", need("CE_GOOGLE_API_URL")]


def make_store(binary, data_dir, env, connectors, workers):
    """A SQLite store holding `connectors`, made through the API; (ids, seconds)."""
    server = Server(binary, data_dir, env)
    try:
        return create_all(API(server.port, server.token), connectors, workers)
    finally:
        server.stop()


def run_health(binary, data_dir, env, concurrency, per_host, timeout):
    """`connector-engine health` over a store: {seconds, total, counts, peak_mib}."""
    out_path = data_dir / f"health-{time.monotonic_ns()}.json"
    args = [str(binary), "health", "--org", ORG, "--concurrency", str(concurrency), "--per-host", str(per_host),
            "--timeout", str(timeout), "--json", "--data-dir", str(data_dir), *google_args()]
    with open(out_path, "w") as out, open(data_dir / "health.err", "a") as err:
        started, cpu = time.monotonic(), machine_cpu()
        process = subprocess.Popen(args, stdout=out, stderr=err, env=env, stdin=subprocess.DEVNULL)
        memory = Memory(process.pid, period=0.05)
        _, status, usage = os.wait4(process.pid, 0)
        seconds, cpu = time.monotonic() - started, machine_cpu() - cpu
        process.returncode = os.waitstatus_to_exitcode(status)
    sampled = memory.stop()
    if process.returncode not in (0, 1):
        sys.exit(f"bench_health: health exited {process.returncode}: {(data_dir / 'health.err').read_text()[-2000:]}")
    results = json.loads(out_path.read_text())
    counts = collections.Counter(r.get("code", "?") for r in results)
    false_timeouts = sum(1 for r in results if r.get("code") == "timeout" and family_of(r["connector_name"]) != "blackhole")
    out_path.unlink()
    return {"seconds": seconds, "total": len(results), "counts": dict(counts), "false_timeouts": false_timeouts,
            "peak_mib": max(sampled, usage.ru_maxrss) / 1024, "sampled_mib": sampled / 1024,
            "client_cpu": usage.ru_utime + usage.ru_stime, "machine_cpu": cpu}


def run_api_job(api, ids, concurrency, timeout):
    """A health job through the API, its stream read to the end: {seconds, total, counts}."""
    started, cpu = time.monotonic(), machine_cpu()
    status, data = api.request("POST", "health_checks/", {"connector_ids": ids, "concurrency": concurrency, "timeout": timeout})
    if status != 202:
        sys.exit(f"bench_health: POST health_checks/: HTTP {status}: {data[:300]!r}")
    job = json.loads(data)
    connection = http.client.HTTPConnection("127.0.0.1", api.port, timeout=3600)
    connection.request("GET", f"/api/v1/unstract/{ORG}/health_checks/{job['job_id']}/stream",
                       headers={"Authorization": f"Bearer {api.token}"})
    response = connection.getresponse()
    if response.status != 200:
        sys.exit(f"bench_health: job stream: HTTP {response.status}")
    counts = collections.Counter()
    total = false_timeouts = 0
    for line in response:
        line = line.strip()
        if line:
            result = json.loads(line)
            counts[result.get("code", "?")] += 1
            total += 1
            false_timeouts += result.get("code") == "timeout" and family_of(result["connector_name"]) != "blackhole"
    connection.close()
    return {"seconds": time.monotonic() - started, "total": total, "counts": dict(counts), "expected": job["total"],
            "false_timeouts": false_timeouts, "machine_cpu": machine_cpu() - cpu}


# ---------------------------------------------------------------------------------------------
# The Python baseline (run in a child process: `bench_health.py --python-baseline SPEC`).

def python_baseline(spec_path):
    import resource
    import boto3
    import botocore.config
    import botocore.exceptions
    import jwt
    import psycopg2
    import pymysql
    import requests

    spec = json.loads(pathlib.Path(spec_path).read_text())
    workers, timeout, connectors = spec["workers"], spec["timeout"], spec["connectors"]
    token_url, api_url = spec["google_token_url"], spec["google_api_url"]
    s3_config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=timeout, read_timeout=timeout,
                                       s3={"addressing_style": "path"})
    local = threading.local()
    tokens, tokens_lock = {}, threading.Lock()
    account_locks = collections.defaultdict(threading.Lock)
    # One boto3 session, its models loaded once, shared by every thread; creating clients from it
    # is not thread-safe, hence the lock (a session per thread costs ~200 ms of CPU and ~15 MiB
    # each; the client's own calls run unlocked).
    boto_session, boto_lock = boto3.session.Session(), threading.Lock()

    def http():
        if getattr(local, "http", None) is None:
            local.http = requests.Session()
        return local.http

    def pg(m):
        connection = psycopg2.connect(host=m["host"], port=int(m["port"]), dbname=m["database"], user=m["user"],
                                      password=m["password"], connect_timeout=timeout, sslmode=m.get("sslmode", "prefer"))
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()

    def mariadb(m):
        connection = pymysql.connect(host=m["host"], port=int(m["port"]), user=m["user"], password=m["password"],
                                     database=m["database"], connect_timeout=timeout, read_timeout=timeout,
                                     ssl_disabled=not m.get("sslEnabled", False))  # PyMySQL would do TLS unasked
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
        finally:
            connection.close()

    def s3(m):
        with boto_lock:
            client = boto_session.client("s3", endpoint_url=m["endpoint_url"], region_name=m["region_name"],
                                         aws_access_key_id=m["key"], aws_secret_access_key=m["secret"], config=s3_config)
        if m.get("bucket"):
            client.list_objects_v2(Bucket=m["bucket"], MaxKeys=1)
        else:
            client.list_buckets()

    def google_token(info):
        account = info["client_email"]
        with account_locks[account]:  # one fetch per account, as the engine's token cache does
            with tokens_lock:
                cached = tokens.get(account)
            if cached and cached[1] > time.time() + 60:
                return cached[0]
            now = int(time.time())
            assertion = jwt.encode({"iss": account, "scope": "https://www.googleapis.com/auth/devstorage.read_only",
                                    "aud": token_url, "iat": now, "exp": now + 3600},
                                   info["private_key"], algorithm="RS256", headers={"kid": info["private_key_id"]})
            response = http().post(token_url, data={
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}, timeout=timeout)
            response.raise_for_status()
            answer = response.json()
            with tokens_lock:
                tokens[account] = (answer["access_token"], now + int(answer.get("expires_in", 3600)))
            return answer["access_token"]

    def gcs(m):
        token = google_token(json.loads(m["json_credentials"]))
        headers = {"Authorization": f"Bearer {token}"}
        if m.get("bucket"):
            response = http().get(f"{api_url}/storage/v1/b/{m['bucket']}", headers=headers, timeout=timeout)
        else:
            response = http().get(f"{api_url}/storage/v1/b", params={"project": m["project_id"], "maxResults": 1},
                                          headers=headers, timeout=timeout)
        response.raise_for_status()

    checks = {"postgresql": pg, "blackhole": pg, "mariadb": mariadb, "s3": s3, "gcs": gcs}

    def check(connector):
        started = time.monotonic()
        try:
            checks[connector["family"]](connector["metadata"])
            outcome = "ok"
        except botocore.exceptions.ClientError as error:
            outcome = error.response.get("Error", {}).get("Code", "error")
        except requests.HTTPError as error:
            outcome = f"http_{error.response.status_code}"
        except (psycopg2.Error, pymysql.err.MySQLError, botocore.exceptions.BotoCoreError, requests.RequestException,
                OSError) as error:
            text = f"{type(error).__name__} {error}".lower()
            if "timeout" in text or "timed out" in text:
                outcome = "timeout"
            elif isinstance(error, (psycopg2.Error, pymysql.err.MySQLError)) and (
                    "password" in text or "access denied" in text or "authentication" in text):
                outcome = "auth_failed"
            else:
                outcome = type(error).__name__
        return connector["family"], outcome, time.monotonic() - started

    started, cpu = time.monotonic(), machine_cpu()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(check, connectors))
    seconds, cpu = time.monotonic() - started, machine_cpu() - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    counts = collections.Counter(outcome for _, outcome, _ in results)
    by_family = collections.Counter(f"{family}:{outcome}" for family, outcome, _ in results)
    false_timeouts = sum(1 for family, outcome, _ in results if outcome == "timeout" and family != "blackhole")
    print(json.dumps({"workers": workers, "seconds": seconds, "total": len(results), "counts": dict(counts),
                      "by_family": dict(by_family), "false_timeouts": false_timeouts, "peak_mib": usage.ru_maxrss / 1024,
                      "client_cpu": usage.ru_utime + usage.ru_stime, "machine_cpu": cpu}))


def run_python(connectors, workers, timeout, work):
    spec = work / f"python-{workers}.json"
    spec.write_text(json.dumps({"workers": workers, "timeout": timeout, "connectors": connectors,
                                "google_token_url": need("CE_GOOGLE_TOKEN_URL"),
                                "google_api_url": need("CE_GOOGLE_API_URL")}))
    done = subprocess.run([sys.executable, __file__, "--python-baseline", str(spec)], capture_output=True, text=True)
    spec.unlink()
    if done.returncode != 0:
        sys.exit(f"bench_health: Python baseline ({workers} threads) failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Two replicas on PostgreSQL sharing a scheduled round.

def pg_connect(url):
    import psycopg2
    return psycopg2.connect(url.replace("postgres://", "postgresql://", 1))


def database_url(base, name):
    """`base` (a postgres:// URL) naming the database `name` instead."""
    return re.sub(r"^([a-z]+://[^/]*)/[^?]*", lambda m: f"{m.group(1)}/{name}", base, count=1)


def serve_limits(args):
    """serve's options for batch checks at the in-process job's limits."""
    return ["--health-concurrency", str(args.concurrency), "--health-per-host", str(args.per_host),
            "--tests-per-user", str(args.concurrency), "--tests-per-org", str(args.concurrency)]


def scheduled_round(binary, work, env, store_url, total, replicas, interval_seconds, timeout, limits):
    """Starts `replicas` servers with the scheduler on the PostgreSQL store (no schedule yet) and
    waits until every connector has a scheduled check: {seconds, first, double, repeats}."""
    connection = pg_connect(store_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM health_checks")
        cursor.execute("DELETE FROM health_schedule")
    servers = []
    started = time.monotonic()
    try:
        for k in range(replicas):
            servers.append(Server(binary, work / f"replica-{replicas}-{k}", env, [
                "--health-interval", f"{interval_seconds}s", "--default-timeout", str(timeout), *limits, *google_args()],
                name="replica"))
        ready = time.monotonic()
        first = None
        limit = started + interval_seconds * 4 + 120
        done = 0
        while time.monotonic() < limit:
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(DISTINCT connector_id), count(*) FROM health_checks WHERE triggered_via = 'schedule'")
                done, rows = cursor.fetchone()
            if rows and first is None:
                first = time.monotonic() - started
            if done >= total:
                break
            time.sleep(0.25)
        seconds = time.monotonic() - started
        with connection.cursor() as cursor:
            # The time between two scheduled checks of one connector. The next check is due an
            # interval (give or take a tenth) after the start of the pass that made the check, so
            # a legitimate second check comes at least 0.9 interval minus one pass later; two
            # replicas checking one connector in one round would be seconds apart.
            cursor.execute("""
                SELECT gap FROM (
                  SELECT checked_at - lag(checked_at) OVER (PARTITION BY connector_id ORDER BY checked_at) AS gap
                  FROM health_checks WHERE triggered_via = 'schedule') t
                WHERE gap IS NOT NULL ORDER BY gap""")
            gaps = [row[0] / 1_000_000 for row in cursor.fetchall()]
            double = sum(1 for gap in gaps if gap < interval_seconds / 2)
            cursor.execute("""
                SELECT count(*) FROM (SELECT connector_id FROM health_checks WHERE triggered_via = 'schedule'
                                      GROUP BY 1 HAVING count(*) > 1) t""")
            repeats = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM health_checks WHERE triggered_via = 'schedule'")
            entries = cursor.fetchone()[0]
    finally:
        cpus = [server.cpu_seconds() for server in servers]
        peaks = [server.stop() for server in servers]
        connection.close()
    return {"replicas": replicas, "seconds": seconds, "startup": ready - started, "first": first or 0,
            "checked": done, "entries": entries, "double": double, "repeats": repeats, "peak_mib": max(peaks, default=0),
            "min_gap": gaps[0] if gaps else None, "cpu": cpus, "complete": done >= total}


# ---------------------------------------------------------------------------------------------

def summarize(results, args):
    lines = []
    add = lines.append
    runs = results.get("mixed_runs", [])
    mixed = min(runs, key=lambda r: r["seconds"]) if runs else None
    add("")
    add(f"== Batch health checks: {results['created']:,} stored connectors, timeout {args.timeout:g} s, "
        f"{os.cpu_count()} cores (services on the same machine)")
    if "create_seconds" in results:
        add(f"   store made through the API: {results['created']:,} connectors in {results['create_seconds']:.1f} s "
            f"({results['created'] / results['create_seconds']:.0f}/s, {args.create_workers} client threads)")
    if runs:
        add(f"   engine: connector-engine health --concurrency {args.concurrency} --per-host {args.per_host} "
            f"--timeout {args.timeout:g} (in process, SQLite store, history recorded)")
    add("")
    add(f"   {'run':<32} {'checks':>7} {'wall s':>7} {'checks/s':>8} {'peak RSS':>9} {'CPU s':>6} {'box CPU s':>9} "
        f"{'false t/o':>9}   outcomes")

    def row(label, r):
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(r["counts"].items(), key=lambda kv: -kv[1]))
        memory = f"{r['peak_mib']:.0f} MiB" if r.get("peak_mib") else "-"
        client = f"{r['client_cpu']:.1f}" if r.get("client_cpu") is not None else "-"
        add(f"   {label:<32} {r['total']:>7,} {r['seconds']:>7.2f} {r['total'] / r['seconds']:>8.0f} {memory:>9} "
            f"{client:>6} {r['machine_cpu']:>9.1f} {r['false_timeouts']:>9}   {outcomes}")

    for k, r in enumerate(runs):
        row(f"engine, mixed, one job (run {k + 1})", r)
    for family in FAMILIES:
        if family in results["families"]:
            row(f"engine, {family} alone", results["families"][family])
    if "api" in results:
        row("API job (serve)", results["api"])
    for r in results.get("python", []):
        row(f"Python, {r['workers']} threads", r)
    add("")
    if runs:
        add(f"   peak RSS of the mixed job: {max(r['peak_mib'] for r in runs):.0f} MiB (target <= 256 MiB: "
            f"{'met' if max(r['peak_mib'] for r in runs) <= 256 else 'MISSED'})")
    if results["families"] and mixed:
        slowest_family, slowest = max(results["families"].items(), key=lambda kv: kv[1]["seconds"])
        target = 1.3 * slowest["seconds"] + args.timeout
        add(f"   mixed (best of {len(runs)}) / slowest family alone ({slowest_family}, {slowest['seconds']:.2f} s): "
            f"{mixed['seconds'] / slowest['seconds']:.2f}x; target <= 1.3 x {slowest['seconds']:.2f} + {args.timeout:g} "
            f"= {target:.2f} s: {'met' if mixed['seconds'] <= target else 'MISSED'}; sum of the families alone "
            f"{sum(r['seconds'] for r in results['families'].values()):.2f} s")
    if results.get("python") and mixed:
        best = min(results["python"], key=lambda r: r["seconds"])
        add(f"   best Python ({best['workers']} threads) / engine mixed (best of {len(runs)}): "
            f"{best['seconds'] / mixed['seconds']:.2f}x ({best['seconds']:.2f} s vs {mixed['seconds']:.2f} s)")
    for r in results.get("replicas", []):
        gap = "" if r["min_gap"] is None else f" (shortest gap {r['min_gap']:.1f} s)"
        add(f"   scheduled round, {r['replicas']} replica{'s' if r['replicas'] > 1 else ''} on PostgreSQL "
            f"(--health-interval {args.interval}s): {r['checked']:,}/{results['replica_total']:,} connectors checked "
            f"in {r['seconds']:.1f} s{'' if r['complete'] else ' (INCOMPLETE)'}; first check at {r['first']:.1f} s; "
            f"checked twice in the round (two checks < interval/2 apart): {r['double']}; connectors already in their "
            f"next round by then: {r['repeats']}{gap}; peak RSS {r['peak_mib']:.0f} MiB; "
            f"CPU s per replica: {', '.join(f'{c:.1f}' for c in r['cpu'])}")
    if len(results.get("replicas", [])) == 2:
        one, two = results["replicas"]
        add(f"   round time, {two['replicas']} replicas / {one['replicas']}: {two['seconds'] / one['seconds']:.2f}")
    for note in results["notes"]:
        add(f"   note: {note}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--python-baseline", help=argparse.SUPPRESS)
    parser.add_argument("--binary", default=str(ROOT / ".build/release/connector-engine"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 10,000 connectors (for a quick run)")
    parser.add_argument("--concurrency", type=int, default=512, help="checks at once in the engine's job")
    parser.add_argument("--per-host", type=int, default=128, help="checks at once per destination in the engine's job")
    parser.add_argument("--timeout", type=float, default=2)
    parser.add_argument("--create-workers", type=int, default=32)
    parser.add_argument("--python-workers", default="64,256,512", help="thread counts for the Python baseline ('' skips it)")
    parser.add_argument("--skip", default="", help="parts to leave out, comma-separated: engine (the mixed job), "
                        "families, api, python, replicas")
    parser.add_argument("--replicas", default="1,2", help="replica counts for the scheduled round ('' skips it)")
    parser.add_argument("--replica-scale", type=float, default=1.0, help="fraction of the store the replicas share")
    parser.add_argument("--interval", type=int, default=60, help="--health-interval of the replicas, seconds (>= 60)")
    parser.add_argument("--json", help="write the numbers to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    unknown = skip - {"engine", "families", "api", "python", "replicas"}
    if unknown:
        parser.error(f"--skip: unknown part(s) {', '.join(sorted(unknown))}")
    if "python" in skip:
        args.python_workers = ""
    if "replicas" in skip:
        args.replicas = ""
    if "engine" in skip:
        skip.add("families")
    if args.python_baseline:
        python_baseline(args.python_baseline)
        return
    binary = pathlib.Path(args.binary)
    if not binary.exists():
        sys.exit(f"bench_health: {binary} is missing; build it: swift build -c release --product connector-engine")
    base = {"postgresql": 2000, "mariadb": 4000, "s3": 2000, "gcs": 1000, "blackhole": 1000}
    counts = {family: max(2, int(round(n * args.scale))) for family, n in base.items()}
    work = pathlib.Path(tempfile.mkdtemp(prefix="ce-bench-health.", dir=os.environ.get("TMPDIR", "/tmp")))
    keys = "bench:" + base64.b64encode(secrets.token_bytes(32)).decode()
    env = engine_env(keys)
    (work / "engine.keys").write_text(keys + "\n")  # the stores' key ring (work is 0700), for --keep
    results = {"notes": [], "families": {}, "counts": counts}
    database = None
    try:
        connectors, notes = build_connectors(counts)
        results["notes"] += notes
        results["created"] = len(connectors)

        mixed_dir = work / "mixed"
        if not {"engine", "api"} <= skip:
            log(f"creating {len(connectors):,} connectors through the API")
            server = Server(binary, mixed_dir, env, [*google_args(), *serve_limits(args)])
            api = API(server.port, server.token)
            ids, seconds = create_all(api, connectors, args.create_workers)
            results["create_seconds"] = seconds
            log(f"created in {seconds:.1f} s ({len(ids) / seconds:.0f}/s)")
        if "api" not in skip:
            log(f"API job over {len(ids):,} connectors ({' '.join(serve_limits(args))})")
            before = server.memory.hwm
            results["api"] = run_api_job(api, ids, args.concurrency, args.timeout)
            results["api"]["peak_mib"] = max(server.memory.hwm, before) / 1024
        if not {"engine", "api"} <= skip:
            server.stop()

        if "engine" not in skip:
            log(f"engine, mixed: health --concurrency {args.concurrency} --per-host {args.per_host}")
            results["mixed_runs"] = [run_health(binary, mixed_dir, env, args.concurrency, args.per_host, args.timeout)]
            log(f"  {results['mixed_runs'][0]['seconds']:.2f} s, {results['mixed_runs'][0]['counts']}")
        if "families" not in skip:
            for family in FAMILIES:
                family_dir = work / f"family-{family}"
                subset = [c for c in connectors if c["family"] == family]
                make_store(binary, family_dir, env, subset, args.create_workers)
                r = results["families"][family] = run_health(
                    binary, family_dir, env, args.concurrency, args.per_host, args.timeout)
                log(f"engine, {family} alone: {r['seconds']:.2f} s, {r['counts']}")
                shutil.rmtree(family_dir, ignore_errors=True)
            # The mixed job once more, after the families alone.
            results["mixed_runs"].append(run_health(binary, mixed_dir, env, args.concurrency, args.per_host, args.timeout))
            log(f"engine, mixed again: {results['mixed_runs'][1]['seconds']:.2f} s")

        if args.python_workers:
            results["python"] = []
            for workers in [int(w) for w in args.python_workers.split(",") if w]:
                log(f"Python baseline, {workers} threads")
                r = run_python(connectors, workers, args.timeout, work)
                log(f"  {r['seconds']:.2f} s")
                results["python"].append(r)

        replica_counts = [int(r) for r in args.replicas.split(",") if r]
        if replica_counts:
            store_url = need("CE_STORE_PG_URL")
            database = f"bench_health_{secrets.token_hex(4)}"
            admin = pg_connect(store_url)
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {database}")
            admin.close()
            url = database_url(store_url, database)
            pg_env = dict(env, DATABASE_URL=url)
            shared = connectors[:max(1, int(len(connectors) * args.replica_scale))]
            results["replica_total"] = len(shared)
            log(f"PostgreSQL store: {len(shared):,} connectors through the API")
            make_store(binary, work / "pg-store", pg_env, shared, args.create_workers)
            results["replicas"] = []
            for replicas in replica_counts:
                log(f"scheduled round, {replicas} replica(s), --health-interval {args.interval}s")
                r = scheduled_round(
                    binary, work, pg_env, url, len(shared), replicas, args.interval, args.timeout, serve_limits(args))
                log(f"  {r}")
                results["replicas"].append(r)
    finally:
        if database:
            try:
                admin = pg_connect(need("CE_STORE_PG_URL"))
                admin.autocommit = True
                with admin.cursor() as cursor:
                    cursor.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
                admin.close()
            except Exception as error:  # noqa: BLE001 (cleanup)
                log(f"could not drop {database}: {error}")
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(summarize(results, args), flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
