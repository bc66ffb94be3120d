#!/usr/bin/env python3
"""The SQLite store on real file systems that refuse writes (issue 13); the server runs in a mount
namespace of its own (unshare, as root).

Full disk: its data folder is a 4 MiB tmpfs, which the script fills through /proc/PID/root; then

  - a write gets 507 `store_full` with Retry-After, and nothing of it is kept;
  - reads go on (the list answers, with exactly the connectors whose create got a 201);
  - once there is room again, writes work again without a restart.

Read-only: a store written before is mounted read-only (a read-only bind mount); the server
starts on it, answers reads, and refuses writes with 503 `store_read_only`.

  python3 scripts/store_faults.py [--binary .build/debug/connector-engine]
"""

import argparse
import errno
import os
import pathlib
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_health import free_port  # noqa: E402
from soak import PG, ORG_BASE as BASE, request_once  # noqa: E402


def call(port, method, path, token=None, body=None):
    return request_once(port, method, path, body, token)


def start(command, log_path):
    """The server in a mount namespace of its own; `command` is (shell text run first, with $0 the
    data folder; the data folder; the binary). Returns (process, port) once it is ready."""
    prepare, data, binary = command
    port = free_port()
    with open(log_path, "a") as output:
        server = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", prepare + ' && exec "$@"',
             data, binary, "serve", "--port", str(port), "--data-dir", data, "--read-cache-seconds", "0"],
            stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while call(port, "GET", "/readyz")[0] != 200:
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server)
            sys.exit(f"store_faults: the server did not start; see {log_path}")
        time.sleep(0.1)
    return server, port


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/debug/connector-engine")
    args = parser.parse_args()
    if os.geteuid() != 0 or not shutil.which("unshare"):
        sys.exit("store_faults: needs root and unshare (util-linux) for a mount namespace of its own")
    binary = str(pathlib.Path(args.binary).resolve())
    data = tempfile.mkdtemp(prefix="store-faults-data-")
    logs = tempfile.mkdtemp(prefix="store-faults-log-")
    log_path = pathlib.Path(logs) / "server.log"
    failures = []

    def check(condition, what):
        print(("store_faults: ok: " if condition else "store_faults: FAILED: ") + what, file=sys.stderr, flush=True)
        if not condition:
            failures.append(what)

    readonly = None
    server, port = start(('mount -t tmpfs -o size=4m tmpfs "$0"', data, binary), log_path)
    try:
        token = next(line.strip() for line in log_path.read_text().splitlines() if line.strip().startswith("ce_"))

        def create():
            body = {"connector_id": PG, "connector_name": f"full-{secrets.token_hex(4)}",
                    "connector_metadata": {"host": "db.example.com", "port": "5432", "database": "d", "user": "u",
                                           "password": secrets.token_hex(8)}}
            return call(port, "POST", f"{BASE}/connector/", token, body)

        created = sum(1 for _ in range(3) if create()[0] == 201)
        check(created == 3, f"{created} of 3 connectors created before the disk filled")

        # Fill the server's file system (its mount namespace, seen through /proc/PID/root).
        filler = pathlib.Path(f"/proc/{server.pid}/root{data}/filler")
        chunk = b"\0" * 65536
        with open(filler, "wb", buffering=0) as stream:
            try:
                while True:
                    stream.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
        # SQLite may still fit a few writes into pages it already has; the first refusal counts.
        refusal = None
        for _ in range(200):
            status, answer, retry_after = create()
            if status == 201:
                created += 1
                continue
            refusal = (status, answer, retry_after)
            break
        code = refusal[1]["errors"][0]["code"] if refusal and isinstance(refusal[1], dict) else None
        check(refusal is not None and refusal[0] == 507 and code == "store_full" and refusal[2] is not None,
              f"a write on the full disk: {refusal}")
        status, listed, _ = call(port, "GET", f"{BASE}/connector/", token)
        check(status == 200 and isinstance(listed, list) and len(listed) == created,
              f"reads go on: the list answered {status} with {len(listed) if isinstance(listed, list) else listed} connectors "
              f"({created} got a 201)")

        filler.unlink()
        status, _, _ = create()
        check(status == 201, f"a write once there is room again, without a restart: {status}")
        stop(server)

        # A store written on a normal folder, then started on a read-only bind mount of it.
        readonly = tempfile.mkdtemp(prefix="store-faults-ro-")
        server, port = start(('true', readonly, binary), log_path)
        token = [line.strip() for line in log_path.read_text().splitlines() if line.strip().startswith("ce_")][-1]
        made = sum(1 for _ in range(2) if create()[0] == 201)
        stop(server)
        server, port = start(('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"', readonly, binary), log_path)
        status, listed, _ = call(port, "GET", f"{BASE}/connector/", token)
        check(status == 200 and isinstance(listed, list) and len(listed) == made == 2,
              f"a read-only store starts and serves reads: {status}, {len(listed) if isinstance(listed, list) else listed} connectors")
        status, answer, retry_after = create()
        code = answer["errors"][0]["code"] if isinstance(answer, dict) else None
        check(status == 503 and code == "store_read_only" and retry_after is not None, f"a write on the read-only store: {status} {answer}")
    finally:
        stop(server)
        shutil.rmtree(data, ignore_errors=True)
        if readonly:
            shutil.rmtree(readonly, ignore_errors=True)
        if not failures:
            shutil.rmtree(logs, ignore_errors=True)
    if failures:
        sys.exit(f"store_faults: {len(failures)} check(s) failed; server log in {log_path}")
    print("store_faults: all checks passed", file=sys.stderr)


if __name__ == "__main__":
    main()
