#!/usr/bin/env python3
"""PostgreSQL probes at the crypto floor (issue 12), measured side by side in one run.

Three clients test the same credentials against the TLS PostgreSQL 15 of scripts/services.sh:
the engine's native protocol path, the engine on libpq (--postgres-driver libpq) and
psycopg2-binary (its wheel bundles its own libpq and OpenSSL), each in its own process, so that
its CPU time is its own. Workloads:

  - TLS (sslmode=prefer) + SCRAM, first contact, at concurrency 1 and 64: every probe a
    credential never seen before (one role per pair of probes; the second of each pair has a
    wrong password of its own);
  - the same, one credential repeated (what scheduled health checks do);
  - no TLS (sslmode=disable) + SCRAM, first contact, concurrency 1;
  - trust (no password asked), no TLS, concurrency 1;
  - 1,000 black-holed probes with a 2 s deadline (engine only: p99 against the deadline, RSS);
  - SCRAM's PBKDF2 from OpenSSL and from BoringSSL (connector-engine bench-crypto).

With --floor (scripts/pg_tls_loop.c built with Drivers/CTLS, as scripts/bench.sh does), a fourth
client joins the repeated-credential rounds: the same login in plain blocking C on the same
OpenSSL context settings and SCRAM code: about the least CPU a client of this OpenSSL can spend.

For each: client CPU per probe, probes/s, the outcomes, and the CPU the server (the postmaster
and the backends it reaped) used. Prints a Markdown table at the end. Needs the services up
(`eval "$(scripts/services.sh env)"`), root (the roles are made over the superuser socket, as
scripts/bench_health.py does) and psycopg2 (scripts/deps.sh installs psycopg2-binary).

  python3 scripts/bench_postgres.py [--binary .build/release/connector-engine] [-n 1000]
"""

import argparse
import concurrent.futures
import json
import os
import pathlib
import resource
import secrets
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_health import TYPES, log, need, pg_superuser_sql  # noqa: E402

PG = TYPES["postgresql"]


def server_cpu():
    """CPU seconds of the TLS server's postmaster and of the backends it has reaped."""
    pid_file = pathlib.Path(need("CE_SERVICES_DIR")) / "pg" / "tls" / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0])
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")


def make_roles(count):
    """`count` roles with passwords of their own; [(user, password)]."""
    roles = [(f"bench_native_{i}", secrets.token_hex(12)) for i in range(count)]
    # Made once, new passwords each run (a role with a grant cannot simply be dropped).
    sql = [f"DO $$ BEGIN CREATE ROLE {user} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$; "
           f"ALTER ROLE {user} PASSWORD '{password}';" for user, password in roles]
    sql.append(f"GRANT CONNECT ON DATABASE {need('CE_PG_DATABASE')} TO {', '.join(user for user, _ in roles)};")
    started = time.monotonic()
    if not pg_superuser_sql("\n".join(sql) + "\n"):
        sys.exit("bench_postgres: cannot make the benchmark's roles (run as root with the services up)")
    log(f"{count} PostgreSQL roles in {time.monotonic() - started:.1f} s")
    return roles


def credentials(kind, n, roles):
    """[(user, password)] for n probes: first contact, one repeated, or the trust user."""
    if kind == "first":
        return [(roles[i // 2][0], roles[i // 2][1] if i % 2 == 0 else f"wrong-{i}-{secrets.token_hex(4)}") for i in range(n)]
    if kind == "repeated":
        return [roles[0]] * n
    return [(need("CE_PG_TRUST_USER"), "unused")] * n


def run_engine(binary, path, sslmode, creds, concurrency, timeout=30, port=None):
    base = {"host": "127.0.0.1", "port": port or need("CE_PG_PORT"), "database": need("CE_PG_DATABASE"),
            "user": "x", "password": "x", "sslmode": sslmode}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as variants:
        json.dump([{"user": user, "password": password} for user, password in creds], variants)
    try:
        before = server_cpu()
        done = subprocess.run(
            [binary, "bench", "--connector", PG, "--metadata", json.dumps(base), "--variants", variants.name,
             "-n", str(len(creds)), "-c", str(concurrency), "--timeout", str(timeout), "--max-in-flight", "4096",
             "--postgres-driver", path, "--json"],
            capture_output=True, text=True, check=True)
        result = json.loads(done.stdout[done.stdout.index("{"):])
        result["server_cpu_s"] = server_cpu() - before
        return result
    finally:
        os.unlink(variants.name)


def run_floor(floor, creds):
    """The C floor: one credential, logged into len(creds) times."""
    (user, password), n = creds[0], len(creds)
    before = server_cpu()
    started = time.monotonic()
    done = subprocess.run([floor, need("CE_PG_PORT"), str(n), need("CE_PG_DATABASE"), user, password],
                          capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    return {"client_cpu_ms_per_probe": float(done.stdout.split()[0]), "probes_per_s": n / wall,
            "codes": {"ok": n}, "server_cpu_s": server_cpu() - before}


def run_psycopg2(sslmode, creds, concurrency):
    """psycopg2 in a child process of its own (this script, --psycopg2 mode)."""
    spec = {"sslmode": sslmode, "creds": creds, "concurrency": concurrency}
    before = server_cpu()
    done = subprocess.run([sys.executable, __file__, "--psycopg2"], input=json.dumps(spec), capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout)
    result["server_cpu_s"] = server_cpu() - before
    return result


def psycopg2_child():
    """Connects, runs SELECT 1 and closes for every credential; prints CPU and throughput."""
    import psycopg2

    spec = json.load(sys.stdin)
    codes = {}

    def probe(cred):
        user, password = cred
        try:
            connection = psycopg2.connect(
                host="127.0.0.1", port=need("CE_PG_PORT"), dbname=need("CE_PG_DATABASE"), user=user, password=password,
                sslmode=spec["sslmode"], connect_timeout=30, application_name="bench")
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                cursor.fetchone()
            connection.close()
            return "ok"
        except psycopg2.Error as error:
            return error.pgcode or "error"

    started = time.monotonic()
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    creds = [tuple(c) for c in spec["creds"]]
    if spec["concurrency"] == 1:
        outcomes = [probe(c) for c in creds]
    else:
        with concurrent.futures.ThreadPoolExecutor(spec["concurrency"]) as pool:
            outcomes = list(pool.map(probe, creds))
    after = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - started
    for outcome in outcomes:
        codes[outcome] = codes.get(outcome, 0) + 1
    used = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    print(json.dumps({"client_cpu_ms_per_probe": used * 1000 / len(creds), "probes_per_s": len(creds) / wall,
                      "codes": codes, "libpq": psycopg2.__libpq_version__}))


ROUNDS = 5


def combine(runs, sizes):
    """One result of several rounds: CPU and wall time summed, outcomes counted together."""
    probes = sum(sizes)
    cpu = sum(run["client_cpu_ms_per_probe"] * size for run, size in zip(runs, sizes))
    wall = sum(size / run["probes_per_s"] for run, size in zip(runs, sizes))
    codes = {}
    for run in runs:
        for code, count in run["codes"].items():
            codes[code] = codes.get(code, 0) + count
    return {"client_cpu_ms_per_probe": cpu / probes, "probes_per_s": probes / wall,
            "server_cpu_s": sum(run["server_cpu_s"] for run in runs), "codes": codes, "libpq": runs[0].get("libpq")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", default=".build/release/connector-engine")
    parser.add_argument("-n", type=int, default=int(os.environ.get("BENCH_N", "1000")))
    parser.add_argument("--floor", help="scripts/pg_tls_loop.c, built: the C floor for the repeated credential")
    parser.add_argument("--psycopg2", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.psycopg2:
        psycopg2_child()
        return
    n = args.n
    roles = make_roles(n // 2 + 1)
    workloads = [
        ("TLS + SCRAM, first contact, c=1", "prefer", "first", 1),
        ("TLS + SCRAM, first contact, c=64", "prefer", "first", 64),
        ("TLS + SCRAM, one credential repeated, c=1", "prefer", "repeated", 1),
        ("no TLS + SCRAM, first contact, c=1", "disable", "first", 1),
        ("trust, no TLS, c=1", "disable", "trust", 1),
    ]
    rows = []
    for name, sslmode, kind, concurrency in workloads:
        creds = credentials(kind, n, roles)
        # In rounds, the three clients in turn within each: the speed of this machine drifts by
        # a factor of two over minutes, and a drift shared by all three cancels in the ratios.
        rounds = [creds[i::ROUNDS] for i in range(ROUNDS)]
        parts = {"native": [], "libpq": [], "psycopg2": []}
        with_floor = args.floor is not None and kind == "repeated"
        if with_floor:
            parts["floor"] = []
        for chunk in rounds:
            parts["native"].append(run_engine(args.binary, "automatic", sslmode, chunk, concurrency))
            parts["libpq"].append(run_engine(args.binary, "libpq", sslmode, chunk, concurrency))
            parts["psycopg2"].append(run_psycopg2(sslmode, chunk, concurrency))
            if with_floor:
                parts["floor"].append(run_floor(args.floor, chunk))
        results = {client: combine(runs, [len(chunk) for chunk in rounds]) for client, runs in parts.items()}
        for client, result in results.items():
            log(f"{name}: {client}: {result['client_cpu_ms_per_probe']:.3f} ms CPU/probe, "
                f"{result['probes_per_s']:.1f} probes/s, server {result['server_cpu_s']:.1f} s CPU, {result['codes']}")
        rows.append((name, results))

    blackhole = {}
    for path in ("automatic", "libpq"):
        creds = [("u", "p")] * 1000
        blackhole[path] = run_engine(args.binary, path, "prefer", creds, 1000, timeout=2, port=need("CE_BLACKHOLE_PORT"))
        log(f"black hole, {path}: p50 {blackhole[path]['p50_ms']} ms, p99 {blackhole[path]['p99_ms']} ms, "
            f"peak RSS {blackhole[path]['peak_rss_mib']} MiB, {blackhole[path]['codes']}")
    crypto = subprocess.run([args.binary, "bench-crypto"], capture_output=True, text=True, check=True).stdout.strip()

    print(f"\n{n} probes each (first contact: half with a wrong password), in {ROUNDS} rounds of the three clients in turn, "
          "2 cores shared with the server.\n")
    print("| Workload | native: CPU/probe, probes/s | libpq: CPU/probe, probes/s | psycopg2-binary: CPU/probe, probes/s "
          "| native / psycopg2 CPU | native / psycopg2 probes/s | server CPU per probe (native) |")
    print("|---|---|---|---|---:|---:|---:|")
    for name, r in rows:
        native, libpq, py = r["native"], r["libpq"], r["psycopg2"]
        print(f"| {name} | {native['client_cpu_ms_per_probe']:.2f} ms, {native['probes_per_s']:.0f} "
              f"| {libpq['client_cpu_ms_per_probe']:.2f} ms, {libpq['probes_per_s']:.0f} "
              f"| {py['client_cpu_ms_per_probe']:.2f} ms, {py['probes_per_s']:.0f} "
              f"| {native['client_cpu_ms_per_probe'] / py['client_cpu_ms_per_probe']:.2f}× "
              f"| {native['probes_per_s'] / py['probes_per_s']:.2f}× "
              f"| {native['server_cpu_s'] * 1000 / n:.2f} ms |")
    for name, r in rows:
        if "floor" in r:
            floor, native, py = r["floor"]["client_cpu_ms_per_probe"], r["native"]["client_cpu_ms_per_probe"], r["psycopg2"]["client_cpu_ms_per_probe"]
            print(f"\nC floor ({name}): {floor:.2f} ms CPU/probe, {floor / py:.2f}× psycopg2-binary; "
                  f"the native path is {native / floor:.2f}× the floor.")
    print("\n| 1,000 black-holed probes, 2 s deadline | p50 | p99 | peak RSS |")
    print("|---|---:|---:|---:|")
    for path, label in (("automatic", "native"), ("libpq", "libpq")):
        b = blackhole[path]
        print(f"| {label} | {b['p50_ms']:.1f} ms | {b['p99_ms']:.1f} ms | {b['peak_rss_mib']:.0f} MiB |")
    print("\nPBKDF2 (SCRAM's 4,096 iterations):\n" + "\n".join("- " + line for line in crypto.splitlines()))
    print(f"\npsycopg2-binary's libpq: {rows[0][1]['psycopg2'].get('libpq')}")


if __name__ == "__main__":
    main()
