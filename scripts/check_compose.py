#!/usr/bin/python3
"""Checks docker-compose.test.yml without Docker (none runs on the project's machines).

    scripts/check_compose.py [--compose FILE]   check; exit 0 only when everything holds
    scripts/check_compose.py --self-test         broken copies of the file must each be refused
    scripts/check_compose.py --print-env         random values for every ${VAR:?...} of the file,
                                                 as an env file for `docker compose --env-file`

The check:
  - the file against the Compose specification's JSON schema (Fixtures/compose-spec/, Draft 7 as
    the schema declares), each violation with its path;
  - compose's interpolation: `$$` for the container's shell, `${VAR}` forms for compose, nothing
    else (a bare `$@` or `$VAR` would be taken by compose, not by the shell);
  - no secret as a literal: environment variables named *PASSWORD, *SECRET, *TOKEN, *KEY(S),
    *AUTH, and passwords in URLs, are required interpolations (`${VAR:?...}`);
  - published ports bind 127.0.0.1 only, and no service on the host's network publishes any;
  - the services against `scripts/services.sh list` (each service services.sh starts, with the
    variables of its ports): every test service carries x-services-sh {name, ports: {CE_VAR:
    container port}} naming a services.sh service and mapping port variables to ports that it
    publishes or exposes, or x-compose-only with the reason it has none; every services.sh
    service and every port variable is mapped exactly once; the variables are ones that
    `services.sh env` prints. Services of the scale-out profile are not test services;
  - the Python image installs what scripts/deps.sh installs with pip.

Runs with /usr/bin/python3 and Debian's python3-yaml and python3-jsonschema (scripts/deps.sh).
"""

import argparse
import base64
import copy
import json
import os
import re
import secrets
import string
import subprocess
import sys
import tempfile

import jsonschema
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPOSE = os.path.join(ROOT, "docker-compose.test.yml")
SCHEMA = os.path.join(ROOT, "Fixtures", "compose-spec", "compose-spec.json")
SERVICES_SH = os.path.join(ROOT, "scripts", "services.sh")
DEPS_SH = os.path.join(ROOT, "scripts", "deps.sh")
SCALE_OUT = "scale-out"

NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|KEYS?|AUTH)$")
# The official images' switch for a password they generate themselves.
GENERATED = re.compile(r"_RANDOM_ROOT_PASSWORD$")
REQUIRED_VALUE = re.compile(r"\$\{(" + NAME + r"):?\?[^}]*\}")
URL_PASSWORD = re.compile(r"://[^/:@\s]*:(\$\{[^}]*\}|[^@\s]*)@")


def dotted(path):
    return ".".join(str(p) for p in path) or "(top)"


# ---- the schema

def schema_problems(doc, schema):
    assert "draft-07" in schema.get("$schema", ""), "the vendored schema is no longer Draft 7"
    validator = jsonschema.Draft7Validator(schema)
    out = []
    for err in sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]):
        msg = err.message
        if err.context:
            best = jsonschema.exceptions.best_match(err.context)
            msg += " [%s: %s]" % (dotted(list(err.absolute_path) + list(best.relative_path)),
                                  best.message)
        out.append("schema: %s: %s" % (dotted(err.absolute_path), msg))
    return out


# ---- interpolation and secrets

def strings(node, path=()):
    """(path, string) for every string value (mapping keys are not interpolated)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from strings(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from strings(v, path + (i,))
    elif isinstance(node, str):
        yield path, node


def interpolation_errors(text):
    """What compose would refuse, or take from the host where the shell was meant."""
    errors, i = [], 0
    while True:
        i = text.find("$", i)
        if i < 0:
            return errors
        rest = text[i + 1:]
        if rest.startswith("$"):
            i += 2
            continue
        if rest.startswith("{"):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"{": 1, "}": -1}.get(text[j], 0)
                j += 1
            body = text[i + 2:j - 1]
            if depth or not re.match(NAME + r"((:?[-?+]).*)?$", body, re.S):
                errors.append("invalid interpolation %r" % text[i:j])
            else:
                # the default or message may interpolate in turn
                errors += interpolation_errors(body[len(re.match(NAME, body).group(0)):])
            i = j
            continue
        m = re.match(NAME, rest)
        errors.append("compose would substitute $%s from the host; write $$%s for the container's "
                      "shell or ${%s} for compose" % ((m.group(0),) * 3) if m
                      else "a lone '$' at %r: write $$ for the container's shell" % text[i:i + 8])
        i += 1


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, None) for e in env)
    return env


def text_problems(doc):
    out = []
    for path, text in strings(doc):
        out += ["interpolation: %s: %s" % (dotted(path), e) for e in interpolation_errors(text)]
    for name, svc in (doc.get("services") or {}).items():
        for key, value in environment(svc).items():
            where = "services.%s.environment.%s" % (name, key)
            value = "" if value is None else str(value)
            if SECRET_NAME.search(key) and not GENERATED.search(key) \
                    and not REQUIRED_VALUE.fullmatch(value):
                out.append("secret: %s: must be a required variable ${VAR:?...}, not a literal or a "
                           "default" % where)
            for m in URL_PASSWORD.finditer(value):
                if not REQUIRED_VALUE.fullmatch(m.group(1)):
                    out.append("secret: %s: the URL's password must be a required variable "
                               "${VAR:?...}" % where)
    return out


# ---- ports

def port_numbers(spec):
    """Container ports of one expose entry or one short-syntax ports entry's target."""
    spec = str(spec).split("/")[0]
    lo, _, hi = spec.partition("-")
    return set(range(int(lo), int(hi or lo) + 1))


def published(svc):
    """[(host_ip, container ports)] of the service's ports entries."""
    out = []
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out.append((str(p.get("host_ip", "")), port_numbers(p["target"])))
            continue
        s = str(p)
        if s.startswith("["):  # [ipv6]:host:container
            host_ip, s = s[1:].split("]:", 1)
            out.append((host_ip, port_numbers(s.rsplit(":", 1)[-1])))
            continue
        parts = s.split(":")
        out.append((parts[0] if len(parts) == 3 else "", port_numbers(parts[-1])))
    return out


def exposed(svc):
    ports = set()
    for e in svc.get("expose") or []:
        ports |= port_numbers(e)
    return ports


def port_problems(doc):
    out = []
    for name, svc in (doc.get("services") or {}).items():
        pub = published(svc)
        if pub and svc.get("network_mode") == "host":
            out.append("ports: services.%s: publishes ports on the host's network (network_mode: "
                       "host); list them under expose" % name)
        for host_ip, ports in pub:
            if host_ip != "127.0.0.1":
                out.append("ports: services.%s: port %s is published on %s, not on 127.0.0.1 only"
                           % (name, ",".join(map(str, sorted(ports))), host_ip or "every address"))
    return out


# ---- services.sh

def services_sh_list():
    out = subprocess.run(["bash", SERVICES_SH, "list"], check=True, capture_output=True,
                         text=True).stdout
    listed = {}
    for line in out.splitlines():
        words = line.split()
        if words:
            listed[words[0]] = words[1:]
    return listed


def services_sh_problems(doc, listed, services_sh_text):
    """Problems, and (services checked, ports checked, compose-only, scale-out) on the way."""
    out = []
    env_printed = set(re.findall(r"\bemit (CE_[A-Z0-9_]+) ", services_sh_text))
    for sname, variables in listed.items():
        for var in variables:
            if var not in env_printed:
                out.append("services.sh: %s's %s is not printed by `services.sh env`" % (sname, var))
    mapped = {}  # (services.sh name, var) -> [compose services]
    counterparts = {s: [] for s in listed}
    compose_only, scale_out = [], []
    for name, svc in (doc.get("services") or {}).items():
        if SCALE_OUT in (svc.get("profiles") or []):
            scale_out.append(name)
            continue
        link, reason = svc.get("x-services-sh"), svc.get("x-compose-only")
        if link is None:
            if isinstance(reason, str) and reason.strip():
                compose_only.append(name)
            else:
                out.append("services: %s is a test service unknown to services.sh: give it "
                           "x-services-sh {name, ports}, or x-compose-only: <why>" % name)
            continue
        if reason is not None:
            out.append("services: %s has both x-services-sh and x-compose-only" % name)
        if not isinstance(link, dict) or not isinstance(link.get("ports"), dict) \
                or not link.get("ports"):
            out.append("services: %s: x-services-sh must be {name: ..., ports: {CE_VAR: port}}" % name)
            continue
        sname = link.get("name")
        if sname not in listed:
            out.append("services: %s: x-services-sh names %r, which services.sh does not start "
                       "(it starts %s)" % (name, sname, ", ".join(listed)))
            continue
        counterparts[sname].append(name)
        reachable = exposed(svc) | set().union(*[p for _, p in published(svc)])
        for var, port in link["ports"].items():
            if var not in listed[sname]:
                out.append("services: %s: %s is not a port of services.sh's %s (%s)"
                           % (name, var, sname, " ".join(listed[sname])))
                continue
            mapped.setdefault((sname, var), []).append(name)
            if not isinstance(port, int) or isinstance(port, bool):
                out.append("services: %s: %s must map to a container port number, not %r"
                           % (name, var, port))
            elif port not in reachable:
                out.append("services: %s: %s is container port %d, which the service neither "
                           "publishes nor exposes" % (name, var, port))
    for sname, variables in listed.items():
        if not counterparts[sname]:
            out.append("services: services.sh's %s has no compose service (no x-services-sh "
                       "names it)" % sname)
            continue
        for var in variables:
            owners = mapped.get((sname, var), [])
            if not owners:
                out.append("services: services.sh's %s port %s is missing: no compose service of "
                           "%s maps it" % (sname, var, ", ".join(counterparts[sname])))
            elif len(owners) > 1:
                out.append("services: services.sh's %s port %s is mapped by %s"
                           % (sname, var, " and ".join(owners)))
    stats = {
        "services": len(listed),
        "ports": sum(len(v) for v in listed.values()),
        "compose_services": sum(len(v) for v in counterparts.values()),
        "compose_only": compose_only,
        "scale_out": scale_out,
    }
    return out, stats


# ---- the Python image against scripts/deps.sh

def quoted_words(text):
    return [a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", text)]


def pip_problems(doc, deps_text):
    m = re.search(r"^PIP_REQUIREMENTS=\(([^)]*)\)", deps_text, re.M)
    if not m:
        return ["pip: no PIP_REQUIREMENTS=(...) in scripts/deps.sh"]
    wanted = sorted(quoted_words(m.group(1)))
    out = []
    for name, svc in (doc.get("services") or {}).items():
        build = svc.get("build")
        inline = build.get("dockerfile_inline", "") if isinstance(build, dict) else ""
        for line in re.findall(r"pip install[^\n]*", inline):
            got = sorted(quoted_words(line))
            if got != wanted:
                out.append("pip: services.%s installs %s; scripts/deps.sh installs %s"
                           % (name, " ".join(got), " ".join(wanted)))
    return out


# ---- all together

def check(doc, schema, listed, services_sh_text, deps_text):
    problems = schema_problems(doc, schema)
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        return problems or ["services: no services mapping"], None
    problems += text_problems(doc) + port_problems(doc) + pip_problems(doc, deps_text)
    more, stats = services_sh_problems(doc, listed, services_sh_text)
    return problems + more, stats


def read(path):
    with open(path) as f:
        return f.read()


def inputs(compose_path):
    with open(compose_path) as f:
        doc = yaml.safe_load(f)
    with open(SCHEMA) as f:
        schema = json.load(f)
    return doc, schema, services_sh_list(), read(SERVICES_SH), read(DEPS_SH)


def source_commit():
    try:
        m = re.search(r"\b([0-9a-f]{40})\b", read(os.path.join(os.path.dirname(SCHEMA), "SOURCE")))
        return m.group(1)[:7] if m else "?"
    except OSError:
        return "?"


def shown(path):
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def run_check(compose_path):
    doc, schema, listed, sh_text, deps_text = inputs(compose_path)
    problems, stats = check(doc, schema, listed, sh_text, deps_text)
    rel = shown(compose_path)
    for p in problems:
        print("check_compose: %s: %s" % (rel, p))
    if problems:
        print("check_compose: %s: FAILED, %d problem%s" % (rel, len(problems),
                                                           "" if len(problems) == 1 else "s"))
        return 1
    print("check_compose: %s: OK: schema valid (compose-spec %s); %d services.sh services and %d "
          "ports matched by %d compose services; compose-only: %s; scale-out profile: %s"
          % (rel, source_commit(), stats["services"], stats["ports"], stats["compose_services"],
             ", ".join(stats["compose_only"]) or "none", ", ".join(stats["scale_out"]) or "none"))
    return 0


# ---- self-test: broken copies must be refused

def first_service(doc, sname):
    return next(n for n, s in doc["services"].items()
                if (s.get("x-services-sh") or {}).get("name") == sname)


def mutations(doc):
    """(what, expected text in a problem, the broken copy or a (copy, listed) pair)."""
    def mutate(fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    svcs = lambda d: d["services"]  # noqa: E731
    pg = first_service(doc, "postgres")
    listener = first_service(doc, "listeners")
    s3 = first_service(doc, "s3")

    def drop_port(d):
        for s in svcs(d).values():
            (s.get("x-services-sh") or {}).get("ports", {}).pop("CE_PG_PLAIN_PORT", None)

    def drop_service(d):
        for n in [n for n, s in svcs(d).items()
                  if (s.get("x-services-sh") or {}).get("name") == "snowflake"]:
            del svcs(d)[n]

    def host_ports(d):
        svcs(d)[listener]["ports"] = ["127.0.0.1:15501:15501"]

    yield ("an unknown service key", "'restartt' does not match",
           mutate(lambda d: svcs(d)[pg].update(restartt="always")))
    yield ("a port variable missing", "CE_PG_PLAIN_PORT is missing", mutate(drop_port))
    yield ("a mapped port not exposed", "19443, which the service neither",
           mutate(lambda d: svcs(d)[s3].update(expose=[19000])))
    yield ("a test service unknown to services.sh", "memcached is a test service unknown",
           mutate(lambda d: svcs(d).update(memcached={"image": "memcached:1"})))
    yield ("a services.sh service without a compose service", "snowflake has no compose service",
           mutate(drop_service))
    yield ("a port variable services.sh does not have", "CE_BOGUS_PORT is not a port",
           mutate(lambda d: svcs(d)[listener]["x-services-sh"]["ports"].update(CE_BOGUS_PORT=15501)))
    yield ("a shell variable compose would take", "compose would substitute $HOME",
           mutate(lambda d: svcs(d)[listener].update(command=["sh", "-c", "cd $HOME"])))
    yield ("a literal password", "MYSQL_ROOT_PASSWORD: must be a required variable",
           mutate(lambda d: svcs(d)[pg].setdefault("environment", {}).update(
               MYSQL_ROOT_PASSWORD="hunter2hunter2")))
    yield ("a literal password in a URL", "the URL's password must be",
           mutate(lambda d: svcs(d)[pg].setdefault("environment", {}).update(
               DATABASE_URL="postgres://u:hunter2@db/x")))
    yield ("ports on the host's network", "publishes ports on the host's network",
           mutate(host_ports))
    yield ("a port published on every address", "not on 127.0.0.1 only",
           mutate(lambda d: svcs(d)[pg].update(ports=["15432:5432"])))
    yield ("another pip requirement", "scripts/deps.sh installs",
           mutate(lambda d: svcs(d)[s3]["build"].update(
               dockerfile_inline="FROM python:3.11-slim\nRUN pip install 'moto==4.*'\n")))
    yield ("a new service in services.sh", "memcached has no compose service", "NEW_SERVICE")


def self_test(compose_path):
    doc, schema, listed, sh_text, deps_text = inputs(compose_path)
    problems, _ = check(doc, schema, listed, sh_text, deps_text)
    if problems:
        print("check_compose: self-test: %s itself fails the check; run without --self-test"
              % shown(compose_path))
        return 1
    failures, n = 0, 0
    for what, expected, broken in mutations(doc):
        n += 1
        d, lst, text = broken, listed, sh_text
        if broken == "NEW_SERVICE":  # services.sh starts one more service than compose has
            d, lst = doc, dict(listed, memcached=["CE_MEMCACHED_PORT"])
            text = sh_text + '\n  emit CE_MEMCACHED_PORT "$MEMCACHED_PORT"\n'
        got, _ = check(d, schema, lst, text, deps_text)
        if any(expected in p for p in got):
            print("check_compose: self-test: refused %s: %s" % (what, next(p for p in got
                                                                         if expected in p)))
        else:
            failures += 1
            print("check_compose: self-test: NOT refused as expected: %s (wanted %r; got %s)"
                  % (what, expected, got or "no problem"))
    # The same end to end: a broken copy on disk (an unknown key and a missing port) must make
    # the command exit 1 naming both.
    broken = copy.deepcopy(doc)
    broken["services"][first_service(doc, "postgres")]["restartt"] = "always"
    for s in broken["services"].values():
        (s.get("x-services-sh") or {}).get("ports", {}).pop("CE_REDIS_TLS_PORT", None)
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="broken-compose-") as f:
        yaml.safe_dump(broken, f, sort_keys=False)
        f.flush()
        run = subprocess.run([sys.executable, os.path.abspath(__file__), "--compose", f.name],
                             capture_output=True, text=True)
    n += 1
    if run.returncode == 1 and "'restartt' does not match" in run.stdout \
            and "CE_REDIS_TLS_PORT is missing" in run.stdout:
        print("check_compose: self-test: a broken copy on disk exits 1: %s"
              % run.stdout.strip().splitlines()[-1])
    else:
        failures += 1
        print("check_compose: self-test: the broken copy on disk gave exit %d:\n%s%s"
              % (run.returncode, run.stdout, run.stderr))
    if failures:
        print("check_compose: self-test: FAILED: %d of %d broken copies were not refused as expected"
              % (failures, n))
        return 1
    print("check_compose: self-test: OK: all %d broken copies refused" % n)
    return 0


# ---- --print-env

def print_env(compose_path):
    text = read(compose_path)
    names = sorted(set(re.findall(r"\$\{(" + NAME + r"):?\?", text)))
    alphabet = string.ascii_letters + string.digits
    print("# For docker-compose.test.yml, made by scripts/check_compose.py --print-env. Secret.")
    for name in names:
        if name == "CONNECTOR_ENGINE_KEYS":
            value = "k1:" + base64.b64encode(secrets.token_bytes(32)).decode()
        else:
            value = "".join(secrets.choice(alphabet) for _ in range(24))
        print("%s=%s" % (name, value))
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compose", default=COMPOSE, help="the compose file (default: %(default)s)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--self-test", action="store_true",
                      help="check that broken copies of the file are refused")
    mode.add_argument("--print-env", action="store_true",
                      help="print random values for the file's required variables")
    args = p.parse_args()
    if args.print_env:
        return print_env(args.compose)
    if args.self_test:
        return self_test(args.compose)
    return run_check(args.compose)


if __name__ == "__main__":
    sys.exit(main())
