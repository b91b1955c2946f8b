#!/usr/bin/python3
"""Interop against the REAL pyzmqrpc 3.0: its classes on real sockets against our `zmqrpc` CLI.

  pyzmqrpc_real_suite.py --pyzmqrpc DIR --zmqrpc PATH_TO_CLI [--only REGEX] [--list]

DIR holds the unmodified package (zmqrpc/ inside it, e.g. ../shared/seed/pyzmqrpc3); it is put on
sys.path and its own classes are driven: ZmqRpcServerThread, ZmqRpcClient, ZmqSender,
ZmqReceiverThread and the proxies ZmqProxySub2ReqThread, ZmqProxySub2PubThread,
ZmqProxyRep2PubThread, ZmqProxyRep2ReqThread, ZmqBufferedProxyRep2ReqThread. Our side is the
`zmqrpc` executable (serve, call, publish, heartbeat, snoop, proxy). Every pair is tried in both
directions where the pair has two directions, with and without PLAIN credentials where the
pyzmqrpc class supports them, and with heartbeats where they matter. Replies are compared as
bytes (raw REQ sockets) or as the Python values and exception texts the real client returns.

Each test is one row of the table printed at the end (client side, proxy, server side,
credentials, heartbeats, result, what was observed). Where pyzmqrpc itself behaves oddly (drops a
reply, never answers, cannot connect) the row asserts what really happens, so that the table says
it and a change is noticed.

Loopback only: ipc:// paths in a private temporary directory (collision-free), tcp://127.0.0.1
for the REQ/REP pairs of scenarios 1 and 2. Every wait has a deadline, every child process is
terminated (then killed) in a finally, every pyzmqrpc thread is a daemon that is stopped and
joined with a timeout; the pyzmqrpc client, which has no send timeout, only runs in daemon
threads with a deadline. The process ends with os._exit so that a pyzmqrpc thread that is stuck
by design (a proxy waiting 60 s for a reply that never comes) cannot hold it. A test that still
hangs is aborted after TEST_DEADLINE seconds with every thread's stack (faulthandler), exit 1;
SIGUSR1 prints the stacks at any time.

Exit: 0 all rows pass (or fail as listed in expected_failure), 1 a row fails (or an expected
failure passes), 77 skipped (package, pyzmq or the CLI missing), 64 usage.
"""

import argparse
import faulthandler
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# Rows whose failure is a known incompatibility of OUR C++ side, each with a one-line reason.
# A listed row that fails is reported XFAIL (not counted as failing); one that passes is XPASS and
# fails the run, so that the list stays true.
expected_failure = {
}

USER, PASSWORD = "interop", "pw-interop-12"
USER2, PASSWORD2 = "down", "pw-down-56"
WRONG_PASSWORD = "wrong-pw-34"
ENV_PASSWORD, ENV_PASSWORD2, ENV_WRONG = "ZQ_INTEROP_PW", "ZQ_INTEROP_PW2", "ZQ_INTEROP_BAD"
HEARTBEAT = "zmq_sub_heartbeat"
OK_200 = b'{"status_code": 200, "status_message": "OK"}'

REQUIRED_CLASSES = ("ZmqRpcServerThread", "ZmqRpcClient", "ZmqSender", "ZmqReceiverThread",
                    "ZmqProxySub2ReqThread", "ZmqProxySub2PubThread", "ZmqProxyRep2PubThread",
                    "ZmqProxyRep2ReqThread", "ZmqBufferedProxyRep2ReqThread")
TEST_DEADLINE = 60  # seconds one test may take, cleanup included, before the run is aborted

CLI = None
TMP = None
zmq = None
pyz = None  # the imported pyzmqrpc package (module "zmqrpc")
RAW = None  # a pyzmq context for the suite's own raw sockets
CHILD_ENV = None
CORPUS_FILE = None


class Failed(AssertionError):
    pass


def check(condition, what):
    if not condition:
        raise Failed(what)


def text451(name):
    return ("Function '%s' is not implemented on server. Check rpc_functions on server if it "
            "contains the function name" % name)


def text463(name, exception_text):
    return "Exception raised when calling function %s. Exception: %s " % (name, exception_text)


# ---- plumbing ---------------------------------------------------------------------------------

_ipc_counter = [0]
ENDPOINT_RX = re.compile(r"(?:ipc|tcp)://[^\s,;'\")]*[^\s,;'\"):]")


def ipc(name):
    _ipc_counter[0] += 1
    return "ipc://%s/%s-%d" % (TMP, name, _ipc_counter[0])


def free_tcp():
    """A loopback TCP endpoint on a port that was free a moment ago (for pyzmqrpc's binds)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return "tcp://127.0.0.1:%d" % s.getsockname()[1]
    finally:
        s.close()


def wait_until(predicate, timeout, step=0.02):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


def bounded(fn, timeout):
    """Runs fn in a daemon thread; None if it has not returned after timeout seconds (it is left
    blocked), else {"value": ...} or {"error": exception}."""
    box = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: B902 - reported to the caller
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        return None
    return box


def invoke(client, function, parameters=None, timeout=4):
    """The real ZmqRpcClient.invoke, bounded: ("value", json.dumps(value)) or ("error", text)."""
    box = bounded(lambda: client.invoke(function, parameters, time_out_in_sec=timeout),
                  timeout + 1.5)
    if box is None:
        return ("blocked", None)
    if "error" in box:
        return ("error", str(box["error"]))
    return ("value", json.dumps(box["value"]))


class Calls:
    """What the Python functions of a real server were called with, in order."""

    def __init__(self):
        self._cv = threading.Condition()
        self._items = []

    def add(self, name, params):
        with self._cv:
            self._items.append((name, params))
            self._cv.notify_all()

    def items(self):
        with self._cv:
            return list(self._items)

    def wait(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self._items) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
            return True


def functions(calls):
    """The functions of `zmqrpc serve` (core/src/rpc/diagnostics.cpp), in Python, recording their
    calls. __module__ "builtins" as in pyzmqrpc_golden.py: Python's TypeError for f(**[1]) then
    says "echo()" as ours does, not "__main__.echo()"."""
    def ping():
        calls.add("ping", {})
        return "pong"

    def echo(**kwargs):
        calls.add("echo", dict(kwargs))
        return kwargs

    def add(a, b):
        calls.add("add", {"a": a, "b": b})
        return a + b

    def fail(message):
        calls.add("fail", {"message": message})
        raise Exception(message)

    table = {"ping": ping, "echo": echo, "add": add, "fail": fail}
    for name, f in table.items():
        f.__module__ = "builtins"
        f.__qualname__ = name
    return table


class LogCapture(logging.Handler):
    """pyzmqrpc's log records ("zmqrpc" logger), kept instead of printed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self._lock2 = threading.Lock()
        self.records = []

    def emit(self, record):
        with self._lock2:
            self.records.append(record)

    def messages(self, contains):
        with self._lock2:
            out = []
            for r in self.records:
                try:
                    text = r.getMessage()
                except Exception:  # a record whose arguments do not format
                    continue
                if contains in text:
                    out.append((r.created, text))
            return out


LOG = LogCapture()


class Proc:
    """One `zmqrpc` child process with its stdout and stderr read into lines."""

    def __init__(self, name, args):
        self.name = name
        self.args = list(args)
        self._cv = threading.Condition()
        self._lines = {"out": [], "err": []}
        self.p = subprocess.Popen([CLI] + self.args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CHILD_ENV)
        self._readers = [threading.Thread(target=self._read, args=(self.p.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._read, args=(self.p.stderr, "err"),
                                          daemon=True)]
        for r in self._readers:
            r.start()

    def _read(self, stream, key):
        for raw in iter(stream.readline, b""):
            with self._cv:
                self._lines[key].append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def out(self):
        with self._cv:
            return list(self._lines["out"])

    def err(self):
        with self._cv:
            return list(self._lines["err"])

    def wait_line(self, key, pattern, timeout):
        """The first match of regex pattern in a line of key ("out"/"err"), waiting for it."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for line in self._lines[key]:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not any(
                        r.is_alive() for r in self._readers)):
                    return None
                self._cv.wait(min(left, 0.1))

    def has(self, key, text):
        with self._cv:
            return any(text in line for line in self._lines[key])

    def wait_exit(self, timeout):
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        for r in self._readers:
            r.join(2)
        return self.p.returncode

    def stop(self, timeout=3):
        """SIGTERM (the CLI prints its counters and exits 0), then SIGKILL after timeout."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        for r in self._readers:
            r.join(2)
        return self.p.returncode

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def describe(self):
        return "zmqrpc %s\n  stdout: %s\n  stderr: %s" % (
            " ".join(self.args), "\n          ".join(self.out()[-15:]),
            "\n          ".join(self.err()[-15:]))

    def counters(self):
        """serve's exit line: {"in", "in_bytes", "out", "out_bytes", "errors", "bad"}."""
        for line in reversed(self.err()):
            m = re.search(r"(?:serve|proxy): in (\d+) msgs/(\d+) B, out (\d+) msgs/(\d+) B, "
                          r"errors (\d+), bad input (\d+)", line)
            if m:
                keys = ("in", "in_bytes", "out", "out_bytes", "errors", "bad")
                return dict(zip(keys, map(int, m.groups())))
        return None


def run_cli(args, timeout=15):
    """One `zmqrpc` command run to its end: (exit code, stdout, stderr)."""
    try:
        r = subprocess.run([CLI] + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=timeout, env=CHILD_ENV)
    except subprocess.TimeoutExpired as e:
        raise Failed("zmqrpc %s did not end within %s s" % (" ".join(args), timeout)) from e
    return (r.returncode, r.stdout.decode("utf-8", "replace"),
            r.stderr.decode("utf-8", "replace"))


class RawReq:
    """A plain pyzmq REQ socket: exact request bytes out, exact reply bytes in."""

    def __init__(self, endpoint, user=None, password=None):
        self.endpoint, self.user, self.password = endpoint, user, password
        self.sock = None
        self._open()

    def _open(self):
        self.sock = RAW.socket(zmq.REQ)
        self.sock.setsockopt(zmq.LINGER, 0)
        if self.user is not None:
            self.sock.setsockopt(zmq.PLAIN_USERNAME, self.user.encode())
            self.sock.setsockopt(zmq.PLAIN_PASSWORD, self.password.encode())
        self.sock.connect(self.endpoint)

    def ask(self, data, timeout=3.0):
        """The reply bytes, or None after timeout seconds (the socket is then replaced)."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not self.sock.poll(int(timeout * 1000), zmq.POLLOUT):
            self.close()
            self._open()
            return None
        self.sock.send(data)
        if self.sock.poll(int(timeout * 1000), zmq.POLLIN):
            return self.sock.recv()
        self.close()
        self._open()
        return None

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
            self.sock = None


# Every pyzmqrpc object stays referenced until os._exit: pyzmqrpc never terminates its zmq
# contexts, and pyzmq's Context.__del__ (run by the garbage collector at any allocation, seen in
# the middle of subprocess.Popen) blocks in zmq_ctx_term while a socket of it is still open.
KEEP = []


class Pair:
    """The resources of one test, released in the runner's finally (processes first)."""

    def __init__(self):
        self.procs = []
        self.threads = []
        self.senders = []
        self.raws = []
        self.notes = []
        self.details = []

    def note(self, text):
        """What was observed, for the table: no endpoints, no timings (they vary by run)."""
        self.notes.append(ENDPOINT_RX.sub("EP", text))

    def detail(self, text):
        """Run-dependent facts (timings), printed in the log, not in the table."""
        self.details.append(text)

    def proc(self, name, args):
        p = Proc(name, args)
        self.procs.append(p)
        return p

    def thread(self, t):
        """Starts a pyzmqrpc thread as a daemon; stopped and joined (bounded) at the end."""
        t.daemon = True
        t.start()
        self.threads.append(t)
        KEEP.append(t)
        return t

    def client(self, destroy=True, **kwargs):
        """A real ZmqRpcClient (its constructor sleeps 0.5 s against slow joiners)."""
        c = pyz.ZmqRpcClient(**kwargs)
        KEEP.append(c)
        if destroy:
            self.senders.append(c)
        return c

    def raw(self, endpoint, user=None, password=None):
        r = RawReq(endpoint, user, password)
        self.raws.append(r)
        return r

    def serve(self, args, timeout=5):
        """`zmqrpc serve ARGS --events`, waiting for its ready line; .rep / .sub endpoints."""
        p = self.proc("serve", ["serve"] + list(args) + ["--events"])
        m = p.wait_line("out", r"ready on (.*) \(functions", timeout)
        check(m, "serve did not get ready: " + p.describe())
        p.rep = p.sub = None
        for part in m.group(1).split(", "):
            kind, _, ep = part.partition(" ")
            setattr(p, kind, ep)
        return p

    def our_proxy(self, kind, args, timeout=5):
        """`zmqrpc proxy KIND ARGS --events`, waiting for its ready line; .in_ep / .out_ep endpoints."""
        p = self.proc("proxy", ["proxy", kind] + list(args) + ["--events"])
        m = p.wait_line("out", r"ready; in (\w+) ([^;\s]+); out (\w+) ([^;\s]+)", timeout)
        check(m, "proxy %s did not get ready: %s" % (kind, p.describe()))
        p.in_ep, p.out_ep = m.group(2), m.group(4)
        return p

    def cleanup(self):
        for p in self.procs:
            try:
                p.stop(2)
            except Exception:  # already gone
                p.kill()
        for t in self.threads:
            try:
                t.stop()
            except Exception:
                pass
        deadline = time.monotonic() + 3.5
        for t in self.threads:
            # A thread stuck by pyzmqrpc's design (waiting 60 s for a reply) is left behind: it
            # is a daemon and its sockets are on ipc paths nobody reuses.
            t.join(max(0.0, deadline - time.monotonic()))
        for s in self.senders:
            try:
                s.destroy()
            except Exception:
                pass
        for r in self.raws:
            r.close()


def wait_subscribed(proc, endpoint, timeout=5):
    """Our SUB/PUB side has finished its handshake with endpoint; the subscription follows."""
    m = proc.wait_line("err", r"handshake-succeeded " + re.escape(endpoint) + ":", timeout)
    check(m, "no handshake with %s: %s" % (endpoint, proc.describe()))
    time.sleep(0.3)


def creds(prefix="", user=USER, env=ENV_PASSWORD):
    return ["--%suser" % prefix, user, "--%spassword-env" % prefix, env]


def snoop_messages(proc):
    """The message part of snoop's lines "TIME ENDPOINT MESSAGE"."""
    out = []
    for line in proc.out():
        parts = line.split(" ", 2)
        if len(parts) == 3:
            out.append(parts[2])
    return out


def sub_socket_time(receiver, idx=0):
    """When pyzmqrpc's SubSocket last received anything, heartbeats included (private field)."""
    return receiver.get_sub_socket(idx)._SubSocket__last_received_time


# ---- the tests --------------------------------------------------------------------------------

TESTS = []


def row(test_id, scenario, client, server, proxy="-", credentials="no", heartbeats="-"):
    def register(fn):
        TESTS.append(dict(id=test_id, scenario=scenario, client=client, server=server,
                          proxy=proxy, credentials=credentials, heartbeats=heartbeats, fn=fn))
        return fn
    return register


# Invocations for the real ZmqRpcClient: values of every JSON kind, key order, big integers,
# strings, 451, 463 from a raise and 463 from a TypeError.
INVOCATIONS = [
    ("ping", None),
    ("add", {"a": 1, "b": 2}),
    ("add", {"a": "x", "b": "y"}),
    ("add", {"a": 0.1, "b": 0.2}),
    ("add", {"a": [1], "b": [2, "x"]}),
    ("echo", {"b": 1, "a": [1, 2.5, None, True, False, {"z": "\u00e9\U0001F600", "y": {}}]}),
    ("echo", {"n": 123456789012345678901234567890, "m": -9223372036854775809}),
    ("echo", None),
    ("nope", None),
    ("fail", {"message": "boom"}),
    ("add", {"a": 1}),
    ("add", {"a": 1, "b": "x"}),
    ("ping", {"x": 1}),
]


def client_against_both(p, with_credentials):
    calls = Calls()
    kw = dict(username=USER, password=PASSWORD) if with_credentials else {}
    real_ep = free_tcp()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=real_ep,
                                    rpc_functions=functions(calls), **kw))
    ours = p.serve(["--rep", "tcp://127.0.0.1:*"] + (creds() if with_credentials else []))
    check(ours.rep.startswith("tcp://127.0.0.1:") and not ours.rep.endswith("*"), ours.rep)
    real_client = p.client(zmq_req_endpoints=[real_ep], **kw)
    our_client = p.client(zmq_req_endpoints=[ours.rep], **kw)
    got = []
    for function, params in INVOCATIONS:
        theirs = invoke(real_client, function, params)
        mine = invoke(our_client, function, params)
        check(theirs[0] != "blocked", "the real server did not answer %s" % function)
        check(mine == theirs, "%s(%r): real ZmqRpcServerThread gives %r, zmqrpc serve %r"
              % (function, params, theirs, mine))
        got.append(mine)
    check(got[0] == ("value", '"pong"'), got[0])
    check(got[1] == ("value", "3"), got[1])
    check(got[8] == ("error", text451("nope")), got[8])
    check(got[9] == ("error", text463("fail", "boom")), got[9])
    check(got[10] == ("error", text463("add", "add() missing 1 required positional argument: "
                                              "'b'")), got[10])
    p.note("%d invocations: identical values (key order, big ints, floats, unicode) and "
           "exception texts (451, 463) to the real ZmqRpcServerThread's" % len(INVOCATIONS))


@row("1a", 1, "pyzmqrpc ZmqRpcClient (REQ)", "zmqrpc serve --rep")
def t_1a(p):
    client_against_both(p, False)


@row("1b", 1, "pyzmqrpc ZmqRpcClient (REQ)", "zmqrpc serve --rep", credentials="PLAIN")
def t_1b(p):
    client_against_both(p, True)


@row("1c", 1, "pyzmqrpc ZmqRpcClient (REQ), wrong password", "zmqrpc serve --rep",
     credentials="PLAIN, wrong password")
def t_1c(p):
    ours = p.serve(["--rep", "tcp://127.0.0.1:*"] + creds())
    # The real client has no send timeout: after the refused handshake (over TCP), invoke()
    # blocks in send. It runs in a daemon thread that is left blocked; its socket is never
    # touched again. (Over ipc:// the request is queued and it times out instead.)
    bad = p.client(destroy=False, zmq_req_endpoints=[ours.rep], username=USER,
                   password=WRONG_PASSWORD)
    outcome = invoke(bad, "ping", None, timeout=2)
    check(outcome == ("blocked", None) or (outcome[0] == "error" and outcome[1].startswith(
        "No response received")), "the refused real client got: %r" % (outcome,))
    check(ours.wait_line("err", "credentials-refused", 2), "serve reported no refused "
          "credentials: " + ours.describe())
    good = p.client(zmq_req_endpoints=[ours.rep], username=USER, password=PASSWORD)
    check(invoke(good, "ping") == ("value", '"pong"'), "serve stopped serving")
    p.detail("the refused real client " + ("blocked in send" if outcome[0] == "blocked" else
                                            "timed out"))
    p.note("refused (serve: credentials-refused event); the real client gets no answer (it "
           "times out, or blocks in send for ever when the refusal came before the send: no "
           "send timeout, pyzmqrpc trait); serve keeps serving the right password")


CALLS = [
    ("ping", "{}", 0, '"pong"'),
    ("add", '{"a": 2, "b": 3}', 0, "5"),
    ("add", '{"a": "x", "b": "y"}', 0, '"xy"'),
    ("echo", '{"b": 1, "a": [1, 2.5, null, true, {"z": "x"}]}', 0,
     '{"b": 1, "a": [1, 2.5, null, true, {"z": "x"}]}'),
    ("echo", '{"u": 18446744073709551615, "i": -9223372036854775808}', 0,
     '{"u": 18446744073709551615, "i": -9223372036854775808}'),
    ("nope", "{}", 1, "status 451: " + text451("nope")),
    ("fail", '{"message": "boom"}', 1, "status 463: " + text463("fail", "boom")),
    ("add", '{"a": 1}', 1,
     "status 463: " + text463("add", "add() missing 1 required positional argument: 'b'")),
]
CALLS_LOG = [("ping", {}), ("add", {"a": 2, "b": 3}), ("add", {"a": "x", "b": "y"}),
             ("echo", {"b": 1, "a": [1, 2.5, None, True, {"z": "x"}]}),
             ("echo", {"u": 18446744073709551615, "i": -9223372036854775808}),
             ("fail", {"message": "boom"})]


def call_against_real(p, with_credentials):
    calls = Calls()
    kw = dict(username=USER, password=PASSWORD) if with_credentials else {}
    ep = free_tcp()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=ep, rpc_functions=functions(calls),
                                    **kw))
    extra = creds() if with_credentials else []
    for function, params, code, expected in CALLS:
        rc, out, err = run_cli(["call", function, params, "--req", ep, "--timeout", "3"] + extra)
        check(rc == code, "call %s %s: exit %d (expected %d); stderr %s" % (function, params, rc,
                                                                            code, err))
        if code == 0:
            check(out == expected + "\n", "call %s %s printed %r, expected %r" % (
                function, params, out, expected))
        else:
            check(expected in err, "call %s: stderr %r lacks %r" % (function, err, expected))
    check(calls.items() == CALLS_LOG, "the real functions were called with %r" % calls.items())
    p.note("%d calls: stdout values, exit 1 and the 451/463 texts as the real server sent them; "
           "the Python functions got the exact parameters" % len(CALLS))
    return ep, calls


@row("2a", 2, "zmqrpc call", "pyzmqrpc ZmqRpcServerThread (REP)")
def t_2a(p):
    call_against_real(p, False)


@row("2b", 2, "zmqrpc call", "pyzmqrpc ZmqRpcServerThread (REP)", credentials="PLAIN")
def t_2b(p):
    ep, calls = call_against_real(p, True)
    before = len(calls.items())
    rc, out, err = run_cli(["call", "ping", "--req", ep, "--timeout", "2"] +
                           creds(env=ENV_WRONG))
    check(rc == 2 and "credentials refused" in err, "wrong password: exit %d, %r" % (rc, err))
    check(WRONG_PASSWORD not in err, "the password was printed")
    rc, out, err = run_cli(["call", "ping", "--req", ep, "--timeout", "2"])
    check(rc == 2 and "credentials refused" in err, "no credentials: exit %d, %r" % (rc, err))
    p.detail("no credentials: " + err.strip())
    rc, out, err = run_cli(["call", "ping", "--req", ep, "--timeout", "3"] + creds())
    check(rc == 0 and out == '"pong"\n', "the real server stopped serving: %d %r" % (rc, err))
    check(len(calls.items()) == before + 1, "a refused call reached a function")
    p.note("wrong password: exit 2 'credentials refused', no function called, the real server "
           "keeps serving; no credentials: exit 2 'credentials refused'")


BIG_PARAMS = '{"n": 123456789012345678901234567890, "m": -9223372036854775809}'
BIG_VALUES = {"n": 123456789012345678901234567890, "m": -9223372036854775809}


@row("2c", 2, "zmqrpc call, PARAMS with integers beyond 64 bits",
     "pyzmqrpc ZmqRpcServerThread (REP)")
def t_2c(p):
    calls = Calls()
    ep = ipc("rep")
    server = p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=ep,
                                             rpc_functions=functions(calls)))
    rc, out, err = run_cli(["call", "echo", BIG_PARAMS, "--req", ep, "--timeout", "3"])
    check(rc == 0, "call: %d %r" % (rc, err))
    check(calls.items() == [("echo", BIG_VALUES)],
          "the Python function got %r for PARAMS %s; `zmqrpc call` sent %s (pyzmqrpc's client "
          "sends the integers exactly)" % (calls.items()[0][1] if calls.items() else None,
                                           BIG_PARAMS, server.get_last_received_message()))
    check(out == BIG_PARAMS + "\n", "call printed %r" % out)
    p.note("the integers arrive exactly")


def corpus(limit=None):
    """(request, reply) of tests/core/data/pyzmqrpc_replies.jsonl where pyzmqrpc answers."""
    cases = []
    with open(CORPUS_FILE, encoding="utf-8") as f:
        for line in f:
            request, reply = json.loads(line)
            if reply is None:
                continue
            try:
                data = request.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: no UTF-8 bytes for it
                continue
            cases.append((data, reply.encode("utf-8")))
    return cases[:limit] if limit else cases


def bytes_against_both(p, cases, with_credentials):
    calls = Calls()
    kw = dict(username=USER, password=PASSWORD) if with_credentials else {}
    real_ep = ipc("real-rep")
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=real_ep,
                                    rpc_functions=functions(calls), **kw))
    ours = p.serve(["--rep", ipc("rep")] + (creds() if with_credentials else []))
    user = USER if with_credentials else None
    password = PASSWORD if with_credentials else None
    to_real = p.raw(real_ep, user, password)
    to_ours = p.raw(ours.rep, user, password)
    stale = 0
    for data, committed in cases:
        theirs = to_real.ask(data)
        mine = to_ours.ask(data)
        check(theirs is not None, "the real server did not answer %r" % data[:200])
        check(mine == theirs, "request %r:\n  real:  %r\n  ours:  %r" % (data[:300], theirs[:400],
                                                                        (mine or b"")[:400]))
        stale += theirs != committed
    p.note("%d requests from tests/core/data/pyzmqrpc_replies.jsonl: identical reply bytes%s" % (
        len(cases), "" if not stale else
        " (%d differ from the committed file: see interop_pyzmqrpc_corpus)" % stale))


@row("3a", 3, "raw pyzmq REQ (corpus requests)", "pyzmqrpc ZmqRpcServerThread vs zmqrpc serve")
def t_3a(p):
    bytes_against_both(p, corpus(), False)


@row("3b", 3, "raw pyzmq REQ (corpus requests)", "pyzmqrpc ZmqRpcServerThread vs zmqrpc serve",
     credentials="PLAIN")
def t_3b(p):
    cases = corpus()
    bytes_against_both(p, cases[::6], True)


def deep_requests():
    """Requests at the edge of CPython's json recursion limit inside ZmqRpcServerThread (991
    levels read, 992 refused with a RecursionError 400), arrays and objects, a syntax error
    before the limit, and echo of a value 100 levels deep."""
    cases = []
    for total in (990, 991, 992, 993):
        inner = total - 1  # the request object is level 1
        arrays = "[" * inner + "]" * inner
        objects = '{"a": ' * inner + "1" + "}" * inner
        mixed = "[" * (inner - 1) + '{"a": 1}' + "]" * (inner - 1)
        for value in (arrays, objects, mixed):
            cases.append('{"function": "ping", "x": %s}' % value)
    cases.append('{"function": "ping", "x": [1 %s}' % ("[" * 3000))
    cases.append('{"function": "echo", "parameters": {"v": %s1%s}}' % ("[" * 99, "]" * 99))
    return [c.encode() for c in cases]


@row("3d", 3, "raw pyzmq REQ (JSON 990 to 993 levels deep)",
     "pyzmqrpc ZmqRpcServerThread vs zmqrpc serve")
def t_3d(p):
    calls = Calls()
    real_ep = ipc("real-rep")
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=real_ep, rpc_functions=functions(calls)))
    ours = p.serve(["--rep", ipc("rep")])
    to_real, to_ours = p.raw(real_ep), p.raw(ours.rep)
    refused = 0
    for data in deep_requests():
        theirs, mine = to_real.ask(data), to_ours.ask(data)
        check(theirs is not None, "the real server did not answer %r..." % data[:60])
        check(mine == theirs, "request %r...:\n  real:  %r\n  ours:  %r" % (
            data[:60], theirs[:120] + b"..." + theirs[-100:], (mine or b"")[-160:]))
        refused += b'"status_code": 400' in theirs
    check(refused == 7, "%d of the deep requests were refused, expected 7 (992 and 993 levels, "
          "and the syntax error)" % refused)
    p.note("%d requests: identical bytes; 991 levels read, 992 refused with Python's "
           "RecursionError text" % len(deep_requests()))


@row("3c", 3, "raw pyzmq REQ", "pyzmqrpc ZmqRpcServerThread vs zmqrpc serve",
     heartbeats="heartbeat over REQ")
def t_3c(p):
    calls = Calls()
    real_ep = ipc("real-rep")
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=real_ep, rpc_functions=functions(calls)))
    ours = p.serve(["--rep", ipc("rep")])
    to_ours = p.raw(ours.rep)
    check(to_ours.ask(HEARTBEAT) == OK_200, "serve's answer to a REQ heartbeat")
    check(to_ours.ask('{"function": "ping"}') ==
          b'{"status_code": 200, "status_message": "OK", "response_message": "pong"}', "ping")
    to_real = p.raw(real_ep)
    check(to_real.ask(HEARTBEAT, timeout=1.5) is None, "the real server answered a heartbeat")
    # Its REP socket now waits for a send that never comes: a fresh client is not served either.
    fresh = p.raw(real_ep)
    check(fresh.ask('{"function": "ping"}', timeout=2) is None, "the real server recovered")
    check(calls.items() == [], "a function was called: %r" % calls.items())
    p.note("serve answers 200 OK and serves on; the real server sends nothing and, its REP "
           "socket waiting for a reply it never sends, serves no one after (pyzmqrpc trait)")


# ---- 4: the real ZmqSender / ZmqRpcClient publishing to us --------------------------------------

@row("4a", 4, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "zmqrpc snoop",
     heartbeats="send_heartbeat")
def t_4a(p):
    ep = ipc("pub")
    sender = p.client(zmq_pub_endpoint=ep)
    snoop = p.proc("snoop", ["snoop", "--sub", ep, "--events", "--count", "3"])
    wait_subscribed(snoop, ep)
    sent = [("echo", {"x": 1, "s": "a b", "u": "\u00e9"}), None, ("add", {"a": 2, "b": 3}), None,
            ("ping", None)]
    expected = []
    for item in sent:
        if item is None:
            sender.send_heartbeat()
            expected.append("HEARTBEAT")
        else:
            sender.invoke(item[0], item[1])
            expected.append(sender.serialize_function_call(item[0], item[1]))
    check(snoop.wait_exit(5) == 0, "snoop did not see 3 messages: " + snoop.describe())
    got = snoop_messages(snoop)
    check(got == expected, "snoop saw %r, sent %r" % (got, expected))
    p.note("snoop printed the exact published texts in order, heartbeats as HEARTBEAT")


@row("4b", 4, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "zmqrpc serve --sub EP@1.5",
     heartbeats="send_heartbeat every 0.4 s, then none")
def t_4b(p):
    ep = ipc("pub")
    sender = p.client(zmq_pub_endpoint=ep)
    serve = p.serve(["--sub", ep + "@1.5"])
    wait_subscribed(serve, ep)
    invocations = [("ping", None), ("add", {"a": 2, "b": 3}), ("echo", {"k": "v"}),
                   ("fail", {"message": "sub-boom"}), ("nope", {"x": 1})]
    size = 0
    for function, params in invocations:
        sender.invoke(function, params)
        size += len(sender.serialize_function_call(function, params).encode())
    heartbeat_start = time.monotonic()
    for _ in range(7):
        sender.send_heartbeat()
        time.sleep(0.4)
    check(not serve.has("err", "heartbeat-lost") and not serve.has("err", "socket-recreated"),
          "serve lost the heartbeat while it came every 0.4 s: " + serve.describe())
    quiet = time.monotonic()
    m = serve.wait_line("err", "socket-recreated " + re.escape(ep), 4)
    check(m, "no recreation once the heartbeats stopped: " + serve.describe())
    check(serve.has("err", "call answered 463: " + text463("fail", "sub-boom")),
          "fail was not dispatched: " + serve.describe())
    check(serve.has("err", "call answered 451: " + text451("nope")), "nope: " + serve.describe())
    serve.stop()
    c = serve.counters()
    check(c and c["in"] == len(invocations) and c["in_bytes"] == size and c["errors"] == 2,
          "counters %r (expected in %d msgs/%d B, errors 2): %s" % (c, len(invocations), size,
                                                                    serve.describe()))
    p.detail("%.1f s of heartbeats, recreated %.1f s after they stopped" % (
        quiet - heartbeat_start, time.monotonic() - quiet))
    p.note("5 invocations dispatched (in 5 msgs/%d B; fail and nope answered 463/451 in the "
           "log); 2.8 s of heartbeats kept the SUB (1.5 s timeout) alive; recreated once they "
           "stopped" % size)


# ---- 5: our publish / heartbeat into the real receivers ----------------------------------------

@row("5a", 5, "zmqrpc publish (+ --heartbeat-interval)", "pyzmqrpc ZmqRpcServerThread (SUB)",
     heartbeats="every 0.02 s between messages")
def t_5a(p):
    ep = ipc("pub")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[ep],
                                             rpc_functions=functions(calls)))
    rc, out, err = run_cli(["publish", "--pub", ep, "echo", '{"x": 1, "s": "a"}', "--count", "3",
                            "--rate", "20", "--heartbeat-interval", "0.02", "--wait", "5"])
    check(rc == 0, "publish: exit %d %s" % (rc, err))
    check(calls.wait(3, 3), "echo was called %d times" % len(calls.items()))
    check(server.get_last_received_message() == '{"function": "echo", "parameters": '
          '{"x": 1, "s": "a"}}', "last message %r" % server.get_last_received_message())
    rc, out, err = run_cli(["publish", "--pub", ep, "add", '{"a": 2, "b": 3}', "--wait", "5"])
    check(rc == 0, "second publish: exit %d %s" % (rc, err))
    check(calls.wait(4, 3), "add was not called")
    time.sleep(0.3)
    check(calls.items() == [("echo", {"x": 1, "s": "a"})] * 3 + [("add", {"a": 2, "b": 3})],
          "calls %r" % calls.items())
    p.note("echo x3 and add(a=2, b=3) called with exact parameters; heartbeats reached no "
           "function")


@row("5b", 5, "zmqrpc heartbeat", "pyzmqrpc ZmqReceiverThread + ZmqRpcServerThread (SUB)",
     heartbeats="zmqrpc heartbeat every 0.2 s")
def t_5b(p):
    ep = ipc("pub")
    calls = Calls()
    receiver = p.thread(pyz.ZmqReceiverThread(zmq_sub_connect_addresses=[ep]))
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[ep],
                                             rpc_functions=functions(calls)))
    created = sub_socket_time(receiver)
    created_server = sub_socket_time(server)
    hb = p.proc("heartbeat", ["heartbeat", "--pub", ep, "--interval", "0.2", "--count", "8"])
    check(wait_until(lambda: sub_socket_time(receiver) > created and
                     sub_socket_time(server) > created_server, 3),
          "no heartbeat reached the real SUB sockets: " + hb.describe())
    check(hb.wait_exit(5) == 0, "heartbeat: " + hb.describe())
    check(receiver.get_last_received_message() is None and
          server.get_last_received_message() is None and calls.items() == [],
          "a heartbeat was taken for a message: %r %r %r" % (
              receiver.get_last_received_message(), server.get_last_received_message(),
              calls.items()))
    p.note("heard (SubSocket's last-received time advanced on both); not a message, no function "
           "called")


@row("5c", 5, "zmqrpc publish, PARAMS with integers beyond 64 bits",
     "pyzmqrpc ZmqRpcServerThread (SUB)")
def t_5c(p):
    ep = ipc("pub")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[ep],
                                             rpc_functions=functions(calls)))
    rc, out, err = run_cli(["publish", "--pub", ep, "echo", BIG_PARAMS, "--wait", "5"])
    check(rc == 0, "publish: %d %r" % (rc, err))
    check(calls.wait(1, 3), "echo was not called")
    check(calls.items() == [("echo", BIG_VALUES)],
          "the Python function got %r for PARAMS %s; `zmqrpc publish` sent %s (pyzmqrpc's "
          "ZmqRpcClient publishes the integers exactly)" % (
              calls.items()[0][1], BIG_PARAMS, server.get_last_received_message()))
    p.note("the integers arrive exactly")


# ---- 6: the five proxies, theirs and ours, chained ---------------------------------------------

@row("6a", 6, "pyzmqrpc ZmqRpcClient + raw REQ", "zmqrpc serve --rep",
     proxy="pyzmqrpc ZmqProxyRep2ReqThread", heartbeats="heartbeat over REQ")
def t_6a(p):
    down = p.serve(["--rep", ipc("down")])
    inp = ipc("in")
    p.thread(pyz.ZmqProxyRep2ReqThread(zmq_rep_bind_address=inp,
                                       zmq_req_connect_addresses=[down.rep]))
    client = p.client(zmq_req_endpoints=[inp])
    check(invoke(client, "add", {"a": 1, "b": 2}) == ("value", "null"),
          "the real Rep2Req passed a value back")
    raw = p.raw(inp)
    check(raw.ask('{"function": "ping"}') == OK_200, "ping through the real Rep2Req")
    check(raw.ask(HEARTBEAT) == OK_200, "heartbeat through the real Rep2Req")
    check(raw.ask('{"function": "nope"}', timeout=1.5) is None,
          "the real Rep2Req answered a downstream 451")
    check(raw.ask('{"function": "ping"}', timeout=1.5) is None, "the real Rep2Req recovered")
    down.stop()
    c = down.counters()
    check(c and c["in"] == 3 and c["out"] == 4 and c["errors"] == 1, "serve counters %r" % c)
    p.note("our serve got all 3 calls and the REQ heartbeat (answered 200); the real Rep2Req "
           "answers 200 OK without the downstream value (client gets None), and after a "
           "downstream 451 never answers again (json.dumps of an exception fails)")


@row("6b", 6, "zmqrpc call", "zmqrpc serve --rep", proxy="pyzmqrpc ZmqProxyRep2ReqThread",
     credentials="PLAIN both sides (different users)")
def t_6b(p):
    down = p.serve(["--rep", ipc("down")] + creds(user=USER2, env=ENV_PASSWORD2))
    inp = ipc("in")
    p.thread(pyz.ZmqProxyRep2ReqThread(
        zmq_rep_bind_address=inp, zmq_req_connect_addresses=[down.rep], username_rep=USER,
        password_rep=PASSWORD, username_req=USER2, password_req=PASSWORD2))
    rc, out, err = run_cli(["call", "add", '{"a": 1, "b": 2}', "--req", inp, "--timeout", "3"] +
                           creds())
    check(rc == 0 and out == "null\n", "call through the real Rep2Req: %d %r %r" % (rc, out, err))
    rc, out, err = run_cli(["call", "ping", "--req", inp, "--timeout", "2"] + creds(env=ENV_WRONG))
    check(rc == 2 and "credentials refused" in err, "wrong password: %d %r" % (rc, err))
    down.stop()
    c = down.counters()
    check(c and c["in"] == 1, "serve counters %r" % c)
    p.note("call prints null (the real Rep2Req drops the value 3); the add reached our serve "
           "with the proxy's credentials; a wrong password at the proxy: exit 2 'credentials "
           "refused'")


def rep2req_ours_vs_direct(p, with_credentials):
    calls = Calls()
    server_kw = dict(username=USER2, password=PASSWORD2) if with_credentials else {}
    client_kw = dict(username=USER, password=PASSWORD) if with_credentials else {}
    real_ep = ipc("real-rep")
    server = p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=real_ep,
                                             rpc_functions=functions(calls), **server_kw))
    args = ["--in-rep", ipc("in"), "--out-req", real_ep, "--req-timeout", "3"]
    if with_credentials:
        args += creds("in-") + creds("out-", USER2, ENV_PASSWORD2)
    ours = p.our_proxy("rep2req", args)
    direct = p.client(zmq_req_endpoints=[real_ep], **server_kw)
    proxied = p.client(zmq_req_endpoints=[ours.in_ep], **client_kw)
    for function, params in INVOCATIONS:
        theirs = invoke(direct, function, params)
        mine = invoke(proxied, function, params)
        check(mine == theirs, "%s(%r): direct %r, through zmqrpc proxy rep2req %r" % (
            function, params, theirs, mine))
    user = USER if with_credentials else None
    password = PASSWORD if with_credentials else None
    to_real = p.raw(real_ep, USER2 if with_credentials else None,
                    PASSWORD2 if with_credentials else None)
    to_ours = p.raw(ours.in_ep, user, password)
    cases = corpus()[::8]
    for data, _ in cases:
        theirs = to_real.ask(data)
        check(theirs is not None, "the real server did not answer %r" % data[:100])
        mine = to_ours.ask(data)
        check(mine == theirs, "%r: direct %r, proxied %r" % (data[:200], theirs, mine))
    reply = to_ours.ask(HEARTBEAT, timeout=5)
    check(reply == OK_200, "our rep2req's answer to a REQ heartbeat: %r" % reply)
    time.sleep(0.2)
    forwarded = server.get_last_received_message() == HEARTBEAT
    p.note("%d invocations: same values and 451/463 texts as direct; %d corpus requests: the "
           "real server's reply bytes passed back unchanged; a REQ heartbeat is answered 200 OK "
           "by ours and %s" % (len(INVOCATIONS), len(cases), "forwarded" if forwarded else
                               "not forwarded (the real REP server would never answer it)"))


@row("6c", 6, "pyzmqrpc ZmqRpcClient + raw REQ", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy rep2req")
def t_6c(p):
    rep2req_ours_vs_direct(p, False)


@row("6d", 6, "pyzmqrpc ZmqRpcClient + raw REQ", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy rep2req", credentials="PLAIN both sides (different users)")
def t_6d(p):
    rep2req_ours_vs_direct(p, True)


@row("6e", 6, "pyzmqrpc ZmqRpcClient + raw REQ", "nothing (dead endpoint)",
     proxy="zmqrpc proxy rep2req --req-timeout 0.5")
def t_6e(p):
    ours = p.our_proxy("rep2req", ["--in-rep", ipc("in"), "--out-req", ipc("dead"),
                                   "--req-timeout", "0.5"])
    client = p.client(zmq_req_endpoints=[ours.in_ep])
    outcome = invoke(client, "ping", None, timeout=4)
    reply = p.raw(ours.in_ep).ask('{"function": "ping"}', timeout=4)
    check(reply is not None, "no 482 reply")
    body = json.loads(reply)
    check(body.get("status_code") == 482 and list(body) == ["status_code", "status_message"],
          "reply %r" % reply)
    # The two texts are of two deliveries: each says how long its own wait took ("within 500 ms",
    # "within 501 ms"), so that figure is not compared.
    def waited(text):
        return re.sub(r"within \d+ ms", "within N ms", text) if isinstance(text, str) else text
    check(outcome[0] == "error" and waited(outcome[1]) == waited(body["status_message"]),
          "the real client got %r, the 482 text is %r" % (outcome, body["status_message"]))
    p.note("482, the real client raises Exception(%r)" % body["status_message"])


@row("6f", 6, "zmqrpc call", "zmqrpc serve --rep",
     proxy="zmqrpc proxy rep2req -> pyzmqrpc ZmqProxyRep2ReqThread")
def t_6f(p):
    down = p.serve(["--rep", ipc("down")])
    mid = ipc("mid")
    p.thread(pyz.ZmqProxyRep2ReqThread(zmq_rep_bind_address=mid,
                                       zmq_req_connect_addresses=[down.rep]))
    ours = p.our_proxy("rep2req", ["--in-rep", ipc("in"), "--out-req", mid, "--req-timeout", "3"])
    time.sleep(0.5)  # the real proxy's ZmqSender sleeps 0.5 s in its constructor, before run()
    rc, out, err = run_cli(["call", "add", '{"a": 1, "b": 2}', "--req", ours.in_ep,
                            "--timeout", "4"])
    check(rc == 0 and out == "null\n", "call: %d %r %r" % (rc, out, err))
    down.stop()
    c = down.counters()
    check(c and c["in"] == 1, "serve counters %r" % c)
    p.note("null: our rep2req passes back the real Rep2Req's valueless 200 unchanged")


@row("6g", 6, "zmqrpc call + raw REQ", "zmqrpc snoop", proxy="pyzmqrpc ZmqProxyRep2PubThread",
     heartbeats="heartbeat over REQ")
def t_6g(p):
    inp, out = ipc("in"), ipc("out")
    p.thread(pyz.ZmqProxyRep2PubThread(zmq_rep_bind_address=inp, zmq_pub_bind_address=out))
    snoop = p.proc("snoop", ["snoop", "--sub", out, "--events", "--count", "2"])
    wait_subscribed(snoop, out)
    rc, so, err = run_cli(["call", "add", '{"a": 1, "b": 2}', "--req", inp, "--timeout", "3"])
    check(rc == 0 and so == "null\n", "call through the real Rep2Pub: %d %r %r" % (rc, so, err))
    raw = p.raw(inp)
    check(raw.ask(HEARTBEAT) == OK_200, "the real Rep2Pub's answer to a heartbeat")
    check(raw.ask('{"function": "ping"}') == OK_200, "the real Rep2Pub's answer")
    check(snoop.wait_exit(4) == 0, "snoop: " + snoop.describe())
    got = snoop_messages(snoop)
    check(len(got) == 3 and json.loads(got[0]) == {"function": "add",
                                                   "parameters": {"a": 1, "b": 2}}
          and got[1:] == ["HEARTBEAT", '{"function": "ping"}'], "snoop saw %r" % got)
    p.note("answers %s; published our call's request, then the REQ heartbeat (forwarded as a "
           "heartbeat), then the raw request, byte for byte" % OK_200.decode())


@row("6h", 6, "pyzmqrpc ZmqRpcClient (REQ)", "pyzmqrpc ZmqRpcServerThread (SUB)",
     proxy="pyzmqrpc ZmqProxyRep2PubThread -> zmqrpc proxy sub2pub")
def t_6h(p):
    inp, mid, out = ipc("in"), ipc("mid"), ipc("out")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[out],
                                    rpc_functions=functions(calls)))
    p.thread(pyz.ZmqProxyRep2PubThread(zmq_rep_bind_address=inp, zmq_pub_bind_address=mid))
    ours = p.our_proxy("sub2pub", ["--in-sub", mid, "--out-pub", out])
    wait_subscribed(ours, mid)
    wait_subscribed(ours, out)
    client = p.client(zmq_req_endpoints=[inp])
    check(invoke(client, "add", {"a": 4, "b": 5}) == ("value", "null"), "the client's value")
    check(calls.wait(1, 3), "add not called: " + ours.describe())
    check(calls.items() == [("add", {"a": 4, "b": 5})], "calls %r" % calls.items())
    p.note("add(a=4, b=5) called on the real SUB server; the client gets None (Rep2Pub's 200)")


@row("6i", 6, "pyzmqrpc ZmqRpcClient + raw REQ", "pyzmqrpc ZmqRpcServerThread (SUB)",
     proxy="zmqrpc proxy rep2pub")
def t_6i(p):
    out = ipc("out")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[out],
                                    rpc_functions=functions(calls)))
    ours = p.our_proxy("rep2pub", ["--in-rep", ipc("in"), "--out-pub", out])
    wait_subscribed(ours, out)
    client = p.client(zmq_req_endpoints=[ours.in_ep])
    check(invoke(client, "echo", {"k": "v"}) == ("value", "null"), "the client's value")
    raw = p.raw(ours.in_ep)
    reply = raw.ask('{"function": "add", "parameters": {"a": 1, "b": 2}}')
    check(reply == OK_200, "our rep2pub answered %r, the real Rep2Pub answers %r" % (reply, OK_200))
    check(calls.wait(2, 3), "calls %r" % calls.items())
    time.sleep(0.2)
    check(calls.items() == [("echo", {"k": "v"}), ("add", {"a": 1, "b": 2})],
          "calls %r" % calls.items())
    p.note("answers %s as the real Rep2Pub does (6g); echo and add called with exact "
           "parameters" % OK_200.decode())


@row("6j", 6, "pyzmqrpc ZmqSender (REQ) send_heartbeat", "zmqrpc snoop + pyzmqrpc "
     "ZmqReceiverThread (SUB)", proxy="zmqrpc proxy rep2pub", heartbeats="heartbeat over REQ")
def t_6j(p):
    out = ipc("out")
    receiver = p.thread(pyz.ZmqReceiverThread(zmq_sub_connect_addresses=[out]))
    ours = p.our_proxy("rep2pub", ["--in-rep", ipc("in"), "--out-pub", out])
    snoop = p.proc("snoop", ["snoop", "--sub", out, "--events"])
    wait_subscribed(snoop, out)
    check(wait_until(lambda: sum("handshake-succeeded %s:" % out in line
                                 for line in ours.err()) >= 2, 3),
          "the real SUB did not connect: " + ours.describe())
    before = sub_socket_time(receiver)
    sender = p.client(zmq_req_endpoints=[ours.in_ep])
    box = bounded(sender.send_heartbeat, 4)
    check(box is not None and "error" not in box, "send_heartbeat over REQ: %r" % (box,))
    heard = wait_until(lambda: snoop.has("out", "HEARTBEAT"), 2)
    check(heard, "our rep2pub answered the REQ heartbeat but published nothing (snoop saw %r; "
          "the real SUB heard %s); pyzmqrpc's Rep2Pub publishes it (6g)" % (
              snoop_messages(snoop), "something" if sub_socket_time(receiver) > before else
              "nothing"))
    p.note("the heartbeat is answered and published on, as pyzmqrpc's Rep2Pub does")


@row("6k", 6, "zmqrpc publish (+ --heartbeat-interval 0.1)", "zmqrpc serve --rep",
     proxy="pyzmqrpc ZmqProxySub2ReqThread", heartbeats="every 0.1 s, forwarded over REQ")
def t_6k(p):
    pub = ipc("pub")
    down = p.serve(["--rep", ipc("down")])
    p.thread(pyz.ZmqProxySub2ReqThread(zmq_sub_connect_addresses=[pub],
                                       zmq_req_connect_addresses=[down.rep]))
    rc, out, err = run_cli(["publish", "--pub", pub, "echo", '{"n": 1}', "--count", "3", "--rate",
                            "5", "--heartbeat-interval", "0.1", "--wait", "5"])
    check(rc == 0, "publish: %d %s" % (rc, err))
    time.sleep(1.0)
    down.stop()
    c = down.counters()
    size = 3 * len('{"function": "echo", "parameters": {"n": 1}}')
    check(c and c["in"] == 3 and c["in_bytes"] == size and c["errors"] == 0,
          "serve counters %r (expected in 3 msgs/%d B)" % (c, size))
    check(c["out"] > c["in"], "no heartbeat arrived over REQ: %r" % c)
    p.note("3 invocations delivered (in 3 msgs/%d B); %d heartbeats forwarded over REQ, each "
           "answered 200 by serve (out %d)" % (size, c["out"] - c["in"], c["out"]))


@row("6l", 6, "zmqrpc publish (+ --heartbeat-interval 0.2)", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="pyzmqrpc ZmqProxySub2ReqThread", heartbeats="every 0.2 s, forwarded over REQ")
def t_6l(p):
    pub, rep = ipc("pub"), ipc("rep")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=rep,
                                             rpc_functions=functions(calls)))
    p.thread(pyz.ZmqProxySub2ReqThread(zmq_sub_connect_addresses=[pub],
                                       zmq_req_connect_addresses=[rep]))
    # One publisher for the whole run: once stuck, the real proxy's SUB is not even read, so it
    # would not resubscribe to a new one.
    rc, out, err = run_cli(["publish", "--pub", pub, "echo", '{"n": 1}', "--count", "3", "--rate",
                            "2", "--heartbeat-interval", "0.2", "--wait", "5"])
    check(rc == 0, "publish: %d %s" % (rc, err))
    check(wait_until(lambda: server.get_last_received_message() == HEARTBEAT, 2),
          "the real Sub2Req did not forward a heartbeat over REQ (last: %r)" %
          server.get_last_received_message())
    time.sleep(1.0)
    delivered = len(calls.items())
    check(delivered < 3 and server.get_last_received_message() == HEARTBEAT,
          "the real Sub2Req did not stall: %r" % calls.items())
    p.detail("%d of 3 invocations delivered" % delivered)
    p.note("the real Sub2Req forwards the heartbeat over REQ, the real REP server never answers "
           "it, the proxy then waits 60 s: only what came before the first heartbeat is "
           "delivered, not all 3 (pyzmqrpc trait; 6k: our serve answers heartbeats and all 3 "
           "arrive)")


def sub2req_ours_into_real(p, with_credentials):
    pub, rep = ipc("pub"), ipc("rep")
    calls = Calls()
    kw = dict(username=USER2, password=PASSWORD2) if with_credentials else {}
    server = p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=rep,
                                             rpc_functions=functions(calls), **kw))
    sender = p.client(zmq_pub_endpoint=pub)
    ours = p.our_proxy("sub2req", ["--in-sub", pub, "--out-req", rep, "--req-timeout", "3"] +
                       (creds("out-", USER2, ENV_PASSWORD2) if with_credentials else []))
    wait_subscribed(ours, pub)
    invocations = [("echo", {"i": 0}), ("echo", {"i": 1}), ("add", {"a": 1, "b": 2}),
                   ("ping", None)]
    for function, params in invocations:
        sender.send_heartbeat()
        sender.invoke(function, params)
    sender.send_heartbeat()
    check(calls.wait(len(invocations), 4), "calls %r: %s" % (calls.items(), ours.describe()))
    time.sleep(0.3)
    check(calls.items() == [("echo", {"i": 0}), ("echo", {"i": 1}), ("add", {"a": 1, "b": 2}),
                            ("ping", {})], "calls %r" % calls.items())
    check(server.get_last_received_message() == '{"function": "ping"}',
          "the real REP server last got %r" % server.get_last_received_message())
    p.note("4 invocations, each after a heartbeat, called in order with exact parameters; "
           "heartbeats are not passed over REQ (the real REP server would stall on one)")


@row("6m", 6, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy sub2req", heartbeats="send_heartbeat between messages")
def t_6m(p):
    sub2req_ours_into_real(p, False)


@row("6n", 6, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy sub2req", credentials="PLAIN on the REQ side",
     heartbeats="send_heartbeat between messages")
def t_6n(p):
    sub2req_ours_into_real(p, True)


@row("6o", 6, "zmqrpc publish (+ --heartbeat-interval 0.1)", "zmqrpc snoop",
     proxy="pyzmqrpc ZmqProxySub2PubThread", heartbeats="every 0.1 s, passed on")
def t_6o(p):
    pub, out = ipc("pub"), ipc("out")
    p.thread(pyz.ZmqProxySub2PubThread(zmq_sub_connect_addresses=[pub], zmq_pub_bind_address=out))
    snoop = p.proc("snoop", ["snoop", "--sub", out, "--events", "--count", "3"])
    wait_subscribed(snoop, out)
    rc, so, err = run_cli(["publish", "--pub", pub, "echo", '{"n": 7}', "--count", "3", "--rate",
                           "5", "--heartbeat-interval", "0.1", "--wait", "5"])
    check(rc == 0, "publish: %d %s" % (rc, err))
    check(snoop.wait_exit(4) == 0, "snoop: " + snoop.describe())
    got = snoop_messages(snoop)
    messages = [m for m in got if m != "HEARTBEAT"]
    check(messages == ['{"function": "echo", "parameters": {"n": 7}}'] * 3, "snoop saw %r" % got)
    check("HEARTBEAT" in got, "no heartbeat passed on: %r" % got)
    p.note("3 invocations byte for byte and %d heartbeats passed on" % got.count("HEARTBEAT"))


@row("6p", 6, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "pyzmqrpc ZmqRpcServerThread (SUB)",
     proxy="zmqrpc proxy sub2pub", heartbeats="send_heartbeat, passed on")
def t_6p(p):
    pub, out = ipc("pub"), ipc("out")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[out],
                                             rpc_functions=functions(calls)))
    sender = p.client(zmq_pub_endpoint=pub)
    ours = p.our_proxy("sub2pub", ["--in-sub", pub, "--out-pub", out])
    wait_subscribed(ours, pub)
    wait_subscribed(ours, out)
    sender.invoke("echo", {"n": 1})
    sender.invoke("add", {"a": 1, "b": 2})
    check(calls.wait(2, 3), "calls %r: %s" % (calls.items(), ours.describe()))
    last = server.get_last_received_message()
    before = sub_socket_time(server)
    for _ in range(4):
        sender.send_heartbeat()
        time.sleep(0.25)
    check(wait_until(lambda: sub_socket_time(server) > before, 1.5), "no heartbeat passed on")
    check(calls.items() == [("echo", {"n": 1}), ("add", {"a": 1, "b": 2})] and
          server.get_last_received_message() == last, "calls %r" % calls.items())
    p.note("echo and add called with exact parameters; heartbeats passed on (heard by the real "
           "SUB, no function called)")


@row("6q", 6, "pyzmqrpc ZmqRpcClient (PUB) + send_heartbeat", "zmqrpc serve --rep",
     proxy="zmqrpc proxy sub2pub -> pyzmqrpc ZmqProxySub2ReqThread",
     heartbeats="send_heartbeat, passed on, forwarded over REQ")
def t_6q(p):
    pub, mid = ipc("pub"), ipc("mid")
    down = p.serve(["--rep", ipc("down")])
    sender = p.client(zmq_pub_endpoint=pub)
    ours = p.our_proxy("sub2pub", ["--in-sub", pub, "--out-pub", mid])
    p.thread(pyz.ZmqProxySub2ReqThread(zmq_sub_connect_addresses=[mid],
                                       zmq_req_connect_addresses=[down.rep]))
    wait_subscribed(ours, pub)
    wait_subscribed(ours, mid)
    sender.invoke("echo", {"n": 1})
    sender.send_heartbeat()
    sender.invoke("echo", {"n": 2})
    sender.send_heartbeat()
    time.sleep(1.0)
    down.stop()
    c = down.counters()
    size = 2 * len('{"function": "echo", "parameters": {"n": 1}}')
    check(c and c["in"] == 2 and c["in_bytes"] == size and c["out"] == 4,
          "serve counters %r (expected in 2 msgs/%d B, out 4)" % (c, size))
    p.note("2 invocations delivered, both heartbeats passed on by ours and forwarded over REQ by "
           "the real Sub2Req (serve answered 4)")


@row("6r", 6, "pyzmqrpc ZmqRpcClient (REQ), then zmqrpc call", "zmqrpc serve --rep (started late)",
     proxy="pyzmqrpc ZmqBufferedProxyRep2ReqThread (hidden PUB/SUB on ipc)")
def t_6r(p):
    inp, hidden, down_ep = ipc("in"), ipc("hidden"), ipc("down")
    proxy = pyz.ZmqBufferedProxyRep2ReqThread(
        zmq_rep_bind_address=inp, zmq_req_connect_addresses=[down_ep],
        buffered_pub_address=hidden, buffered_sub_address=hidden)
    # Its join() ignores the timeout: its two inner threads are stopped and joined instead.
    for t in (proxy.proxy1, proxy.proxy2):
        t.daemon = True
    proxy.daemon = True
    proxy.start()
    KEEP.append(proxy)
    p.threads += [proxy.proxy1, proxy.proxy2]
    time.sleep(0.3)  # the hidden SUB joins the hidden PUB
    client = p.client(zmq_req_endpoints=[inp])
    started = time.monotonic()
    check(invoke(client, "echo", {"n": 1}) == ("value", "null"), "accepted with a value")
    rc, out, err = run_cli(["call", "echo", '{"n": 2}', "--req", inp, "--timeout", "3"])
    check(rc == 0 and out == "null\n", "call: %d %r %r" % (rc, out, err))
    accepted = time.monotonic() - started
    down = p.serve(["--rep", down_ep])
    time.sleep(1.5)
    down.stop()
    c = down.counters()
    size = 2 * len('{"function": "echo", "parameters": {"n": 1}}')
    check(c and c["in"] == 2 and c["in_bytes"] == size, "serve counters %r" % c)
    p.detail("both accepted in %.0f ms" % (accepted * 1000))
    p.note("both accepted at once (None / null) with no downstream; delivered once serve "
           "started (in 2 msgs/%d B)" % size)


@row("6s", 6, "pyzmqrpc ZmqRpcClient (REQ)", "pyzmqrpc ZmqRpcServerThread (REP, started late)",
     proxy="zmqrpc proxy buffered-rep2req")
def t_6s(p):
    down_ep = ipc("down")
    ours = p.our_proxy("buffered-rep2req", ["--in-rep", ipc("in"), "--out-req", down_ep,
                                            "--req-timeout", "0.5", "--retry-interval", "0.05"])
    client = p.client(zmq_req_endpoints=[ours.in_ep])
    check(invoke(client, "echo", {"n": 1}) == ("value", "null"), "accepted with a value")
    check(invoke(client, "echo", {"n": 2}) == ("value", "null"), "accepted with a value")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=down_ep, rpc_functions=functions(calls)))
    check(calls.wait(2, 4), "calls %r: %s" % (calls.items(), ours.describe()))
    time.sleep(0.3)
    check(calls.items() == [("echo", {"n": 1}), ("echo", {"n": 2})], "calls %r" % calls.items())
    p.note("200 on acceptance (client gets None); delivered in order once the real server bound")


def in_order(calls, count):
    """Every echo {"n": i} for i < count arrived, each first arrival in order; duplicates (at
    least once) counted."""
    seen, expected, duplicates = set(), 0, 0
    for name, params in calls.items():
        n = params.get("n")
        if n in seen:
            duplicates += 1
            continue
        if n != expected:
            return False, "first arrival of %r where %d was due" % (n, expected)
        seen.add(n)
        expected += 1
    if expected != count:
        return False, "%d of %d arrived" % (expected, count)
    return True, "%d duplicate(s)" % duplicates


@row("6t", 6, "pyzmqrpc ZmqRpcClient (PUB)", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy sub2req --window 64")
def t_6t(p):
    pub, rep = ipc("pub"), ipc("rep")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=rep, rpc_functions=functions(calls)))
    sender = p.client(zmq_pub_endpoint=pub)
    ours = p.our_proxy("sub2req", ["--in-sub", pub, "--out-req", rep, "--req-timeout", "5",
                                   "--window", "64"])
    wait_subscribed(ours, pub)
    count = 500
    for i in range(count):
        sender.invoke("echo", {"n": i})
    check(calls.wait(count, 20), "%d of %d calls: %s" % (len(calls.items()), count,
                                                         ours.describe()))
    time.sleep(0.3)
    ok, text = in_order(calls, count)
    check(ok, text)
    p.note("%d invocations, up to 64 in flight behind [id, '', request] envelopes: the real REP "
           "server called echo for every one, in order (%s)" % (count, text))


@row("6u", 6, "4 pyzmqrpc ZmqRpcClient (REQ) at once", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy rep2req --window 16")
def t_6u(p):
    rep = ipc("rep")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=rep, rpc_functions=functions(calls)))
    ours = p.our_proxy("rep2req", ["--in-rep", ipc("in"), "--out-req", rep, "--req-timeout", "5",
                                   "--window", "16"])
    clients = [p.client(zmq_req_endpoints=[ours.in_ep]) for _ in range(4)]
    wrong = []

    def run(c, client):
        for i in range(50):
            got = invoke(client, "add", {"a": c * 1000, "b": i})
            if got != ("value", str(c * 1000 + i)):
                wrong.append((c, i, got))

    workers = [threading.Thread(target=run, args=(c, client)) for c, client in enumerate(clients)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    check(not any(w.is_alive() for w in workers), "clients still waiting")
    check(not wrong, "replies paired with the wrong client: %r" % wrong[:5])
    check(len(calls.items()) == 200, "%d calls reached the real server" % len(calls.items()))
    p.note("4 clients x 50 add() at once, pipelined to the real REP server: every client got "
           "its own sum back (200 of 200)")


@row("6v", 6, "pyzmqrpc ZmqRpcClient (REQ)", "pyzmqrpc ZmqRpcServerThread (REP)",
     proxy="zmqrpc proxy buffered-rep2req --window 64 --store FILE")
def t_6v(p):
    rep = ipc("rep")
    store = os.path.join(TMP, "buffered.db")
    calls = Calls()
    p.thread(pyz.ZmqRpcServerThread(zmq_rep_bind_address=rep, rpc_functions=functions(calls)))
    ours = p.our_proxy("buffered-rep2req", ["--in-rep", ipc("in"), "--out-req", rep,
                                            "--req-timeout", "5", "--window", "64",
                                            "--store", store])
    client = p.client(zmq_req_endpoints=[ours.in_ep])
    count = 300
    for i in range(count):
        check(invoke(client, "echo", {"n": i}) == ("value", "null"), "not accepted: %d" % i)
    check(calls.wait(count, 20), "%d of %d calls: %s" % (len(calls.items()), count,
                                                         ours.describe()))
    time.sleep(0.3)
    ok, text = in_order(calls, count)
    check(ok, text)
    p.note("%d requests accepted once committed to the store, delivered pipelined to the real "
           "REP server in order (%s)" % (count, text))


# ---- 7: credentials on PUB/SUB -----------------------------------------------------------------

def real_credentialed_sender(endpoint):
    """ZmqSender with credentials on a PUB: with pyzmq 24, str credentials raise TypeError
    (plain_username must be bytes); with bytes it binds a PUB that is a PLAIN *client*."""
    try:
        sender = pyz.ZmqSender(zmq_pub_endpoint=endpoint, username=USER, password=PASSWORD)
        error = None
    except TypeError as e:
        sender = pyz.ZmqSender(zmq_pub_endpoint=endpoint, username=USER.encode(),
                               password=PASSWORD.encode())
        error = str(e)
    KEEP.append(sender)
    return sender, error


@row("7a", 7, "pyzmqrpc ZmqSender (PUB) with credentials", "pyzmqrpc ZmqRpcServerThread (SUB)",
     credentials="PLAIN both sides")
def t_7a(p):
    ep = ipc("pub")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[ep],
                                             rpc_functions=functions(calls), username=USER,
                                             password=PASSWORD))
    sender, str_error = real_credentialed_sender(ep)
    p.senders.append(sender)
    for _ in range(8):
        sender.send('{"function": "ping"}')
        time.sleep(0.2)
    check(calls.items() == [] and server.get_last_received_message() is None,
          "pyzmqrpc's own credentialed PUB/SUB connected")
    p.note("does not connect: nothing received in 1.6 s (its PUB is a PLAIN client, its SUB has "
           "no security)%s" % ("" if str_error is None else
                              "; with str credentials ZmqSender raises TypeError: " + str_error))


@row("7b", 7, "pyzmqrpc ZmqSender (PUB) with credentials", "zmqrpc snoop",
     credentials="PLAIN both sides / none on ours")
def t_7b(p):
    ep = ipc("pub")
    sender, _ = real_credentialed_sender(ep)
    p.senders.append(sender)
    with_creds = p.proc("snoop", ["snoop", "--sub", ep] + creds())
    without = p.proc("snoop", ["snoop", "--sub", ep])
    for _ in range(8):
        sender.send('{"function": "ping"}')
        time.sleep(0.2)
    check(with_creds.out() == [] and without.out() == [], "a snoop received a message")
    m1 = with_creds.wait_line("err", r"zmqrpc snoop: \S+: (.*)", 1)
    m2 = without.wait_line("err", r"zmqrpc snoop: \S+: (.*)", 1)
    check(m1 and m2, "snoop said nothing: %s\n%s" % (with_creds.describe(), without.describe()))
    p.detail("snoop with credentials: '%s'; without: '%s'" % (m1.group(1), m2.group(1)))
    p.note("no message either way; both snoops report the failed handshake on stderr (its PUB "
           "is a PLAIN client, as ours with credentials is; ours without meets a security "
           "mismatch)")


@row("7c", 7, "zmqrpc publish --user/--password", "pyzmqrpc ZmqRpcServerThread (SUB)",
     credentials="PLAIN both sides")
def t_7c(p):
    ep = ipc("pub")
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[ep],
                                             rpc_functions=functions(calls), username=USER,
                                             password=PASSWORD))
    rc, out, err = run_cli(["publish", "--pub", ep, "ping", "--wait", "2"] + creds())
    check(rc == 2, "publish found a subscriber: %d %r" % (rc, err))
    check(calls.items() == [] and server.get_last_received_message() is None, "it arrived")
    p.note("does not connect: publish exits 2 after --wait 2 (no subscriber: the real SUB "
           "presents no credentials), nothing called")


@row("7d", 7, "zmqrpc publish --user/--password", "zmqrpc snoop + zmqrpc serve --sub",
     credentials="PLAIN both sides")
def t_7d(p):
    ep = ipc("pub")
    snoop = p.proc("snoop", ["snoop", "--sub", ep, "--count", "2"] + creds())
    serve = p.serve(["--sub", ep] + creds())
    rc, out, err = run_cli(["publish", "--pub", ep, "fail", '{"message": "via-plain"}', "--count",
                            "2", "--subscribers", "2", "--wait", "5"] + creds())
    check(rc == 0, "publish: %d %r" % (rc, err))
    check(snoop.wait_exit(3) == 0, "snoop: " + snoop.describe())
    expected = '{"function": "fail", "parameters": {"message": "via-plain"}}'
    check(snoop_messages(snoop) == [expected] * 2, "snoop saw %r" % snoop_messages(snoop))
    check(serve.wait_line("err", re.escape("call answered 463: " + text463("fail", "via-plain")),
                          2), "serve: " + serve.describe())
    p.note("works: snoop printed both messages byte for byte, serve dispatched them (463 from "
           "fail)")


@row("7e", 7, "zmqrpc publish --user/--password", "zmqrpc snoop, wrong password",
     credentials="PLAIN, wrong password")
def t_7e(p):
    ep = ipc("pub")
    snoop = p.proc("snoop", ["snoop", "--sub", ep] + creds(env=ENV_WRONG))
    rc, out, err = run_cli(["publish", "--pub", ep, "ping", "--wait", "2"] + creds())
    check(rc == 2, "publish: %d %r" % (rc, err))
    check(snoop.wait_line("err", "credentials refused", 1), "snoop: " + snoop.describe())
    check(snoop.out() == [] and not any(WRONG_PASSWORD in line for line in snoop.err()),
          "snoop: " + snoop.describe())
    p.note("refused: snoop says 'credentials refused', publish exits 2 with no subscriber")


# ---- 8: heartbeats keep a real SUB alive --------------------------------------------------------

@row("8a", 8, "zmqrpc heartbeat --interval 0.3", "pyzmqrpc ZmqRpcServerThread (SUB, EP@2 s)",
     heartbeats="every 0.3 s for 4 s, then none")
def t_8a(p):
    ep = ipc("pub")
    hb = p.proc("heartbeat", ["heartbeat", "--pub", ep, "--interval", "0.3"])
    check(hb.wait_line("out", "ready on", 3), "heartbeat: " + hb.describe())
    calls = Calls()
    server = p.thread(pyz.ZmqRpcServerThread(zmq_sub_connect_addresses=[(ep, 2)],
                                             rpc_functions=functions(calls)))
    first = server.get_sub_socket(0).zmq_socket
    time.sleep(4.0)
    recreations = LOG.messages('Heartbeat timeout exceeded. Recreating SUB socket to "%s"' % ep)
    check(recreations == [] and server.get_sub_socket(0).zmq_socket is first,
          "recreated while heartbeats came: %r" % recreations)
    hb.stop()
    stopped = time.monotonic()
    check(wait_until(lambda: server.get_sub_socket(0).zmq_socket is not first, 5),
          "not recreated after the heartbeats stopped")
    took = time.monotonic() - stopped
    check(calls.items() == [], "a heartbeat reached a function")
    p.detail("recreated %.1f s after the heartbeats stopped" % took)
    check(took <= 4.5, "recreated only %.1f s after the heartbeats stopped" % took)
    p.note("no recreation during 4 s of heartbeats; recreated within its 2 s timeout + its 1 s "
           "poll once they stopped")


# ---- runner ------------------------------------------------------------------------------------

def skip(reason):
    print("skipped: " + reason, file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(77)


def main():
    global CLI, TMP, zmq, pyz, RAW, CHILD_ENV, CORPUS_FILE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pyzmqrpc", required=True, metavar="DIR")
    parser.add_argument("--zmqrpc", required=True, metavar="PATH_TO_CLI")
    parser.add_argument("--only", metavar="REGEX", help="run the tests whose id matches")
    parser.add_argument("--list", action="store_true")
    args = parser.parse_args()
    if args.list:
        for t in TESTS:
            print("%-4s %s | %s | %s" % (t["id"], t["client"], t["proxy"], t["server"]))
        return 0
    if not os.path.isfile(os.path.join(args.pyzmqrpc, "zmqrpc", "__init__.py")):
        skip("pyzmqrpc 3.0 not found in %s" % args.pyzmqrpc)
    try:
        import zmq as _zmq
    except ImportError as e:
        skip("%s has no pyzmq (%s); Debian's /usr/bin/python3 with python3-zmq is needed" % (
            sys.executable, e))
    zmq = _zmq
    sys.path.insert(0, os.path.abspath(args.pyzmqrpc))
    try:
        import zmqrpc as _pyz
    except ImportError as e:
        skip("cannot import pyzmqrpc from %s: %s" % (args.pyzmqrpc, e))
    if os.path.dirname(os.path.abspath(_pyz.__file__)) != os.path.join(
            os.path.abspath(args.pyzmqrpc), "zmqrpc"):
        skip("'import zmqrpc' found %s, not the package in %s" % (_pyz.__file__, args.pyzmqrpc))
    missing = [name for name in REQUIRED_CLASSES if not hasattr(_pyz, name)]
    if missing:
        skip("%s is not pyzmqrpc 3.0: it lacks %s" % (args.pyzmqrpc, ", ".join(missing)))
    pyz = _pyz
    if not (os.path.isfile(args.zmqrpc) and os.access(args.zmqrpc, os.X_OK)):
        skip("the zmqrpc command line %s is missing" % args.zmqrpc)
    CLI = os.path.abspath(args.zmqrpc)
    CORPUS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "core",
                               "data", "pyzmqrpc_replies.jsonl")
    if not os.path.isfile(CORPUS_FILE):
        print("error: %s is missing" % CORPUS_FILE, file=sys.stderr)
        return 1
    zlog = logging.getLogger("zmqrpc")
    zlog.addHandler(LOG)
    zlog.setLevel(logging.WARNING)
    zlog.propagate = False
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    CHILD_ENV = dict(os.environ)
    CHILD_ENV.update({ENV_PASSWORD: PASSWORD, ENV_PASSWORD2: PASSWORD2, ENV_WRONG: WRONG_PASSWORD})
    TMP = tempfile.mkdtemp(prefix="zqreal")
    RAW = zmq.Context()
    print("pyzmqrpc %s from %s, pyzmq %s, libzmq %s, Python %s; zmqrpc %s" % (
        pyz.__version__, os.path.abspath(args.pyzmqrpc), zmq.__version__, zmq.zmq_version(),
        sys.version.split()[0], CLI))
    sys.stdout.flush()
    selected = [t for t in TESTS if not args.only or re.search(args.only, t["id"])]
    if not selected:
        print("error: no test id matches --only %s" % args.only, file=sys.stderr)
        return 64
    results = []
    started = time.monotonic()
    try:
        for t in selected:
            p = Pair()
            t0 = time.monotonic()
            error = None
            # A test that hangs in spite of the deadlines: every thread's stack, then exit 1.
            faulthandler.dump_traceback_later(TEST_DEADLINE, exit=True)
            try:
                t["fn"](p)
            except Exception as e:  # noqa: B902 - every failure becomes a row
                error = "%s: %s" % (type(e).__name__, e)
                if not isinstance(e, Failed):
                    error += "\n" + traceback.format_exc()
            finally:
                p.cleanup()
            faulthandler.cancel_dump_traceback_later()
            seconds = time.monotonic() - t0
            if t["id"] in expected_failure:
                result = "XFAIL" if error else "XPASS"
            else:
                result = "FAIL" if error else "PASS"
            observed = "; ".join(p.notes) if not error else error.splitlines()[0]
            if t["id"] in expected_failure:
                observed = "expected failure (%s): %s" % (expected_failure[t["id"]], observed)
            results.append((t, result, observed, seconds))
            print("[%s] %s %s -> %s -> %s (%.1f s)" % (result, t["id"], t["client"], t["proxy"],
                                                        t["server"], seconds))
            for d in p.details:
                print("    " + d)
            if error:
                print("    " + error.replace("\n", "\n    "))
            sys.stdout.flush()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    total = time.monotonic() - started
    print_table(results)
    failed = [t["id"] for t, result, _, _ in results if result in ("FAIL", "XPASS")]
    print("\n%d rows: %d pass, %d fail, %d expected failure(s), in %.1f s" % (
        len(results), sum(r == "PASS" for _, r, _, _ in results), len(failed),
        sum(r == "XFAIL" for _, r, _, _ in results), total))
    if failed:
        print("failing: " + ", ".join(failed))
    return 1 if failed else 0


def print_table(results):
    headers = ("id", "client side", "proxy", "server side", "credentials", "heartbeats", "result",
               "observed")
    rows = [(t["id"], t["client"], t["proxy"], t["server"], t["credentials"], t["heartbeats"],
             result, observed) for t, result, observed, _ in results]
    print()
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for r in rows:
        print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")


if __name__ == "__main__":
    code = 64
    try:
        code = main()
    except SystemExit as e:
        code = 0 if e.code in (0, None) else 64
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        # pyzmqrpc leaves threads and contexts behind by design (a proxy waiting 60 s for a reply
        # that never comes); interpreter shutdown must not wait for them.
        os._exit(code)
