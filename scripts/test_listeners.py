#!/usr/bin/env python3
"""Misbehaving TCP endpoints for connector timeout / failure tests.

One process, one asyncio loop, stdlib only. Each mode listens on its own port
(on 127.0.0.1 unless --host says otherwise):

  --hold PORT              accept, never send anything, keep the socket open
  --pg-stall-tls PORT      PostgreSQL peer: answer an SSLRequest with 'S', then
                           never send the TLS ServerHello. A GSSENCRequest gets
                           'N' (so clients with Kerberos credentials fall back
                           to SSLRequest); any other first message (plain
                           StartupMessage) gets silence.
  --mysql-stall-auth PORT  send a valid MySQL protocol v10 handshake (no
                           CLIENT_SSL, mysql_native_password, 20-byte
                           scramble), then read and never answer
  --drip-pg PORT           send an ErrorResponse header ('E', length 20000),
                           then one byte 'x' per second
  --drip-mysql PORT        send a packet header announcing 65535 bytes
                           (ff ff 00, seq 00), then one byte per second
  --flood-headers PORT     HTTP peer: after the request head, answer
                           "HTTP/1.1 200 OK" and then 1 MiB of header lines
                           (never the blank line that ends them)
  --pg-script PORT         PostgreSQL peer that breaks off at a step the client names
                           by its database, "<drop|stall>_after_<step>", step one
                           of startup, password_request, password, auth_ok,
                           parameters, ready, query: it answers SSLRequest 'N',
                           asks for a cleartext password, accepts any, sends
                           AuthenticationOk, ParameterStatus, BackendKeyData and
                           ReadyForQuery, reads the query; at the named step it
                           closes the connection (drop) or goes silent (stall);
                           "flood_after_auth_ok" sends 20,000 notices after
                           AuthenticationOk, then goes silent
  --blackhole PORT         listen(0), never accept(); the accept queue is
                           filled with the process's own connections, so new
                           clients' SYNs are dropped (SYN-SENT until timeout)

Each option may be given more than once. Port 0 picks a free port; the chosen
ports are printed ("mode port" per line) and written to --ready-file once all
listeners are bound. The process exits by itself after --max-seconds (default
4 hours), or on SIGTERM/SIGINT. Idle listeners use no CPU (the loop sleeps in
epoll), and the soft RLIMIT_NOFILE is raised to the hard limit at start so
that thousands of concurrent connections fit.
"""

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import struct
import sys
import time

PG_SSL_REQUEST_CODE = 80877103
PG_GSSENC_REQUEST_CODE = 80877104

# MySQL capability flags
CLIENT_LONG_PASSWORD = 1
CLIENT_FOUND_ROWS = 2
CLIENT_LONG_FLAG = 4
CLIENT_CONNECT_WITH_DB = 8
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SSL = 1 << 11  # deliberately NOT advertised
CLIENT_TRANSACTIONS = 1 << 13
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_MULTI_STATEMENTS = 1 << 16
CLIENT_MULTI_RESULTS = 1 << 17
CLIENT_PLUGIN_AUTH = 1 << 19
CLIENT_CONNECT_ATTRS = 1 << 20
CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA = 1 << 21

MYSQL_CAPABILITIES = (
    CLIENT_LONG_PASSWORD
    | CLIENT_FOUND_ROWS
    | CLIENT_LONG_FLAG
    | CLIENT_CONNECT_WITH_DB
    | CLIENT_PROTOCOL_41
    | CLIENT_TRANSACTIONS
    | CLIENT_SECURE_CONNECTION
    | CLIENT_MULTI_STATEMENTS
    | CLIENT_MULTI_RESULTS
    | CLIENT_PLUGIN_AUTH
    | CLIENT_CONNECT_ATTRS
    | CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
)
assert not MYSQL_CAPABILITIES & CLIENT_SSL

MYSQL_SERVER_VERSION = b"5.5.5-10.11.0-stall"
MYSQL_AUTH_PLUGIN = b"mysql_native_password"

DRIP_PG_LENGTH = 20000
DRIP_MYSQL_LENGTH = 0xFFFF


def log(msg):
    sys.stderr.write("test_listeners[%d] %s %s\n" % (os.getpid(), time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


class Base(asyncio.Protocol):
    """Reads and discards everything; closes when the client closes."""

    live = None  # set of open transports, per class, set by make_factory

    def connection_made(self, transport):
        self.transport = transport
        self.live.add(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self.started()

    def started(self):
        pass

    def data_received(self, data):
        pass

    def eof_received(self):
        return False  # close our side too, so no CLOSE_WAIT sockets pile up

    def connection_lost(self, exc):
        self.live.discard(self.transport)
        self.stopped()

    def stopped(self):
        pass


class Hold(Base):
    pass


class PgStallTls(Base):
    def started(self):
        self.buf = b""
        self.done = False

    def data_received(self, data):
        if self.done:
            return
        self.buf += data
        while len(self.buf) >= 8:
            length, code = struct.unpack("!ii", self.buf[:8])
            if length == 8 and code == PG_SSL_REQUEST_CODE:
                self.transport.write(b"S")
                self.done = True  # the client's TLS ClientHello is ignored
            elif length == 8 and code == PG_GSSENC_REQUEST_CODE:
                self.transport.write(b"N")
                self.buf = self.buf[8:]
                continue
            else:
                self.done = True  # a plain StartupMessage: stay silent
            self.buf = b""
            return


def mysql_handshake_packet(connection_id):
    scramble = bytes(random.randint(0x21, 0x7E) for _ in range(20))
    payload = b"".join(
        [
            b"\x0a",  # protocol version 10
            MYSQL_SERVER_VERSION + b"\x00",
            struct.pack("<I", connection_id),
            scramble[:8],
            b"\x00",  # filler
            struct.pack("<H", MYSQL_CAPABILITIES & 0xFFFF),
            b"\x21",  # utf8_general_ci
            struct.pack("<H", 0x0002),  # SERVER_STATUS_AUTOCOMMIT
            struct.pack("<H", (MYSQL_CAPABILITIES >> 16) & 0xFFFF),
            bytes([len(scramble) + 1]),  # auth-plugin-data length (incl. NUL)
            b"\x00" * 10,  # reserved
            scramble[8:] + b"\x00",  # 12 bytes + NUL = 13
            MYSQL_AUTH_PLUGIN + b"\x00",
        ]
    )
    return struct.pack("<I", len(payload))[:3] + b"\x00" + payload


class MysqlStallAuth(Base):
    next_id = 1

    def started(self):
        MysqlStallAuth.next_id = (MysqlStallAuth.next_id % 0xFFFFFFFF) + 1
        self.transport.write(mysql_handshake_packet(MysqlStallAuth.next_id))


class Drip(Base):
    header = b""
    first = b"x"
    length = 0

    def started(self):
        self.remaining = self.length
        self.timer = None
        self.transport.write(self.header)
        self.timer = asyncio.get_running_loop().call_later(1.0, self.tick)

    def tick(self):
        self.timer = None
        if self.transport.is_closing():
            return
        self.transport.write(self.first if self.remaining == self.length else b"x")
        self.remaining -= 1
        if self.remaining > 0:
            self.timer = asyncio.get_running_loop().call_later(1.0, self.tick)
        # else: the announced message is complete; keep holding the socket

    def stopped(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


class DripPg(Drip):
    header = b"E" + struct.pack("!i", DRIP_PG_LENGTH)
    length = DRIP_PG_LENGTH - 4


class DripMysql(Drip):
    header = b"\xff\xff\x00\x00"
    first = b"\x0a"
    length = DRIP_MYSQL_LENGTH


class FloodHeaders(Base):
    """An HTTP answer whose header section never ends: a client must cap it."""

    LINE = b"X-Flood: " + b"a" * 1000 + b"\r\n"

    def started(self):
        self.head = b""

    def data_received(self, data):
        if self.head is None:
            return
        self.head += data
        if b"\r\n\r\n" in self.head:
            self.head = None
            self.transport.write(b"HTTP/1.1 200 OK\r\n" + self.LINE * 1024)


class PgScript(Base):
    """A PostgreSQL server that stops at the step its client's database names."""

    STEPS = ("startup", "password_request", "password", "auth_ok", "parameters", "ready", "query")

    def started(self):
        self.buf = b""
        self.state = "first"  # first, startup, password, query, done
        self.action = None
        self.step = None

    @staticmethod
    def message(kind, body):
        return kind + struct.pack("!i", len(body) + 4) + body

    def stop_here(self, step):
        """Drops or stalls if `step` is where the client asked; True when it did."""
        if step != self.step:
            return False
        self.state = "done"
        if self.action == "drop":
            self.transport.close()
        return True

    def data_received(self, data):
        if self.state == "done":
            return
        self.buf += data
        while self.state != "done":
            if self.state in ("first", "startup"):
                if len(self.buf) < 8:
                    return
                length, code = struct.unpack("!ii", self.buf[:8])
                if len(self.buf) < length:
                    return
                packet, self.buf = self.buf[:length], self.buf[length:]
                if length == 8 and code in (PG_SSL_REQUEST_CODE, PG_GSSENC_REQUEST_CODE):
                    self.transport.write(b"N")
                    continue
                fields = packet[8:].split(b"\0")
                params = dict(zip(fields[0::2], fields[1::2]))
                name = params.get(b"database", b"").decode("ascii", "replace")
                action, _, step = name.partition("_after_")
                if action not in ("drop", "stall", "flood") or step not in self.STEPS:
                    self.transport.close()  # not a script this server knows
                    self.state = "done"
                    return
                self.action, self.step = action, step
                if self.stop_here("startup"):
                    return
                self.transport.write(self.message(b"R", struct.pack("!i", 3)))  # cleartext password
                if self.stop_here("password_request"):
                    return
                self.state = "password"
            elif self.state in ("password", "query"):
                if len(self.buf) < 5:
                    return
                length = struct.unpack("!i", self.buf[1:5])[0]
                if len(self.buf) < 1 + length:
                    return
                kind, self.buf = self.buf[:1], self.buf[1 + length :]
                if self.state == "password":
                    if self.stop_here("password"):
                        return
                    self.transport.write(self.message(b"R", struct.pack("!i", 0)))
                    if self.action == "flood":
                        # 20,000 notices at once, then silence: a client must cap what it reads.
                        self.transport.write(self.message(b"N", b"SNOTICE\x00C00000\x00Mflood\x00\x00") * 20000)
                        self.state = "done"
                        return
                    if self.stop_here("auth_ok"):
                        return
                    self.transport.write(
                        self.message(b"S", b"server_version\x0015.0\x00")
                        + self.message(b"S", b"client_encoding\x00UTF8\x00")
                        + self.message(b"K", struct.pack("!ii", os.getpid(), 1))
                    )
                    if self.stop_here("parameters"):
                        return
                    self.transport.write(self.message(b"Z", b"I"))
                    if self.stop_here("ready"):
                        return
                    self.state = "query"
                elif kind in (b"Q", b"S"):  # a simple query, or the Sync that ends an extended one
                    self.stop_here("query")
                    return


MODES = {
    "hold": Hold,
    "pg-script": PgScript,
    "flood-headers": FloodHeaders,
    "pg-stall-tls": PgStallTls,
    "mysql-stall-auth": MysqlStallAuth,
    "drip-pg": DripPg,
    "drip-mysql": DripMysql,
}


def make_factory(cls):
    live = set()
    sub = type(cls.__name__, (cls,), {"live": live})
    return sub, live


class Blackhole:
    """listen(0) without accept(); the accept queue is pre-filled so that the
    kernel drops every further SYN (ListenOverflows)."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        addr = (host, self.port)
        for _ in range(16):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.settimeout(0.3)
            try:
                c.connect(addr)
            except (socket.timeout, OSError):
                c.close()  # the queue is full: this SYN was dropped
                break
            self.fillers.append(c)
        else:
            raise RuntimeError("blackhole: accept queue never filled up")
        if not self.fillers:
            raise RuntimeError("blackhole: could not connect to itself")

    def close(self):
        for c in self.fillers:
            c.close()
        self.sock.close()


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as e:
            log("could not raise RLIMIT_NOFILE from %s to %s: %s" % (soft, hard, e))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


async def main(args):
    nofile = raise_nofile()
    if nofile < 4200:
        log("warning: RLIMIT_NOFILE is %d; fewer than 2,000 connections per listener may fit" % nofile)

    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def request_stop(reason):
        if not stop.done():
            stop.set_result(reason)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, request_stop, signal.Signals(sig).name)
    loop.call_later(args.max_seconds, request_stop, "max-seconds reached")

    servers = []
    blackholes = []
    bound = []
    for mode, cls in MODES.items():
        for port in getattr(args, mode.replace("-", "_")) or []:
            proto, _live = make_factory(cls)
            srv = await loop.create_server(
                proto, args.host, port, backlog=args.backlog, reuse_address=True
            )
            servers.append(srv)
            bound.append((mode, srv.sockets[0].getsockname()[1]))
    for port in args.blackhole or []:
        bh = Blackhole(args.host, port)
        blackholes.append(bh)
        bound.append(("blackhole", bh.port))

    if not bound:
        log("no listener requested")
        return 2

    report = "".join("%s %d\n" % b for b in bound)
    sys.stdout.write(report)
    sys.stdout.flush()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(report)
        os.replace(tmp, args.ready_file)
    log("listening on %s: %s (nofile %d, max %ss)" % (
        args.host, ", ".join("%s=%d" % b for b in bound), nofile, args.max_seconds))

    reason = await stop
    log("stopping: %s" % reason)
    for srv in servers:
        srv.close()
    for bh in blackholes:
        bh.close()
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    for mode in list(MODES) + ["blackhole"]:
        p.add_argument("--" + mode, type=int, action="append", metavar="PORT")
    p.add_argument("--max-seconds", type=float, default=4 * 3600)
    p.add_argument("--backlog", type=int, default=4096, help="listen backlog of the accepting modes")
    p.add_argument("--pid-file")
    p.add_argument("--ready-file", help="written (atomically) with 'mode port' lines once all are bound")
    return p.parse_args(argv)


def run():
    args = parse_args(sys.argv[1:])
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    try:
        rc = asyncio.run(main(args))
    finally:
        if args.pid_file:
            try:
                with open(args.pid_file) as f:
                    if f.read().strip() == str(os.getpid()):
                        os.unlink(args.pid_file)
            except OSError:
                pass
    sys.exit(rc)


if __name__ == "__main__":
    run()
