#!/usr/bin/python3
"""pyzmqrpc 3.0's wire protocol on pyzmq alone, for what the real package cannot do in a test.

Where the real package can be the peer, the tests use it: pyzmqrpc_golden.py has its own
ZmqRpcServer answer a corpus and 20 000 seeded random requests, compared with ours byte for byte.
This re-implementation is kept for the interop suites (tst_interop, tst_interop_runtime), which
need what pyzmqrpc 3.0 (../shared/seed/pyzmqrpc3/zmqrpc) does not offer:

  - Credentialed PUB/SUB as this project defines it (docs/PROTOCOL.md): the binding PUB is the
    PLAIN server, the connecting SUB presents username/password (marked EXTENSION below). The
    real package's own does not connect: its PUB presents PLAIN as a client
    (sender/ZmqSender.py, create_pub_socket; with str credentials pyzmq 24 even refuses that
    assignment with a TypeError) and its SUB sets no security at all (receiver/SubSocket.py).
  - Machine-readable events, one line each (below): what a server received as Python decoded it,
    the exact bytes of every reply, heartbeats, handshakes. The real client returns only
    response_message, or raises with status_message (ZmqSender.handle_response): the status code
    and the reply bytes, which the tests compare, are lost; the real server only logs.
  - AUTH_FAILED when a peer's credentials are refused (publish, subscribe: a socket monitor).
    The real package never tells a refusal from silence: its client waits out the whole timeout
    and raises "No response received on ZMQ Request to end point ...".
  - Client timeouts in milliseconds, never exceeded by more than a poll: the real client's are in
    seconds, polled in 1-second slices; its constructor sleeps 0.5 s; a heartbeat over REQ waits
    send()'s fixed 60 s (send_heartbeat() passes no timeout), for a reply a pyzmqrpc REP never
    sends (ZmqRpcServer returns None for it and RepSocket.send(None) sends nothing).
  - Frames sent verbatim (--raw: malformed JSON, a bare heartbeat): ZmqRpcClient.invoke always
    sends json.dumps of a call.
  - An ephemeral port reported once bound (READY tcp://127.0.0.1:PORT), and a publisher that
    starts on GO from stdin after a bounded wait for N subscriber handshakes, where pyzmqrpc
    sleeps blindly.
  - A bounded lifetime: every mode ends on stdin EOF, SIGTERM or --max-seconds, so a failing test
    never leaves it behind (pyzmqrpc's threads run until stop(), and are not daemons).

Everything else is pyzmqrpc 3.0 as its source has it, texts verbatim:

  server     ZmqRpcServer(Thread) on ZmqReceiver + RepSocket + SubSocket:
             - REP bound with LINGER 0; with credentials a ThreadAuthenticator on the context,
               configure_plain(domain='*', passwords={user: pw}) and rep.plain_server = True.
             - SUB connected with SUBSCRIBE b'' and LINGER 0 (EXTENSION: with credentials it
               presents plain_username/plain_password).
             - handle_incoming_message: heartbeat -> None; json.loads failure -> 400; no
               "function" -> 450; unknown -> 451; raised -> 463 (trailing space); else 200 with
               response_message omitted when the function returned None. f() without
               "parameters", f(**parameters) with.
             - No reply to a heartbeat over REQ (the REP socket then stays in its "must reply"
               state and answers nobody again, exactly like pyzmqrpc); an exception escaping the
               handler is reported and nothing is sent, as in ZmqReceiver.run().
             - SUB: heartbeats are not dispatched; other messages are, the result dropped.
  call       ZmqSender / ZmqRpcClient.invoke over REQ: one REQ connected to every endpoint
             (round-robin), PLAIN username/password when given, the request json.dumps({"function":
             f, "parameters": p}) ("parameters" omitted when None); on timeout the socket is
             closed (LINGER 0) and a new one made for the next send (Lazy Pirate); the
             timed-out request is not retried.
  publish    ZmqSender's PUB: bound with SNDHWM 100000, send_string of the same request JSON;
             send_heartbeat() sends the bare "zmq_sub_heartbeat" (EXTENSION: with credentials the
             PUB is the PLAIN server, ThreadAuthenticator + plain_server = True).
  subscribe  A bare SUB like SubSocket (SUBSCRIBE b'', LINGER 0) that reports what arrives.

Output: one machine-readable line per event on stdout, flushed:
  READY [endpoint] | CALL <json> | INVALID <status_code> | HEARTBEAT [rep|sub] | RESPONSE <raw>
  | TIMEOUT | SENT <n> | HEARTBEATS <n> | MSG <raw> | CONNECTED | AUTH_FAILED | ERROR <text>
"""

import argparse
import json
import os
import select
import signal
import sys
import time

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

HEARTBEAT = "zmq_sub_heartbeat"  # zmqrpc.heartbeat.zmq_sub_heartbeat

_stop = False


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _on_sigterm(_signum, _frame):
    global _stop
    _stop = True


# --- the RPC functions of the server ------------------------------------------------------------

def test_method(param1, param2):
    return param1 + param2


def echo(**parameters):
    return parameters


def fail(message):
    raise Exception(message)


def none():
    return None


RPC_FUNCTIONS = {"test_method": test_method, "echo": echo, "fail": fail, "none": none}


# --- ZmqReceiver.create_response_message / ZmqRpcServer.handle_incoming_message, verbatim -------

def create_response_message(status_code, status_message, response_message):
    if response_message is not None:
        return json.dumps({"status_code": status_code,
                           "status_message": status_message,
                           "response_message": response_message})
    return json.dumps({"status_code": status_code, "status_message": status_message})


def handle_incoming_message(message):
    """Returns (reply or None, line to print)."""
    if message == HEARTBEAT:
        return None, None
    status_code = 200
    status_message = "OK"
    response_message = None
    report = None
    try:
        incoming_message = json.loads(message)
    except Exception as e:
        status_code = 400
        status_message = ("Incorrectly marshalled function. Incoming message is no proper json "
                          "formatted string. Exception: {0}".format(e))
    else:
        if "function" not in incoming_message:
            status_code = 450
            status_message = "Incorrectly marshalled function. No function name provided."
        else:
            function_name = incoming_message["function"]
            parameters = None
            if "parameters" in incoming_message:
                parameters = incoming_message["parameters"]
            report = "CALL " + json.dumps({"function": function_name, "parameters": parameters})
            if function_name not in RPC_FUNCTIONS:
                status_code = 451
                status_message = ("Function '{0}' is not implemented on server. Check "
                                  "rpc_functions on server if it contains the function "
                                  "name".format(function_name))
            else:
                try:
                    if parameters is None:
                        response_message = RPC_FUNCTIONS[function_name]()
                    else:
                        response_message = RPC_FUNCTIONS[function_name](**parameters)
                except Exception as e:
                    status_code = 463
                    status_message = ("Exception raised when calling function {0}. "
                                      "Exception: {1} ".format(function_name, e))
    if report is None:
        report = "INVALID {0}".format(status_code)
    return create_response_message(status_code, status_message, response_message), report


# --- helpers ------------------------------------------------------------------------------------

def start_authenticator(context, user, password):
    if not (user and password):
        return None
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_plain(domain='*', passwords={user: password})
    return auth


def set_plain_client(sock, user, password):
    if user and password:
        sock.plain_username = user.encode()
        sock.plain_password = password.encode()


def bind(sock, endpoint):
    """Binds and returns the resolved endpoint (tcp://127.0.0.1:* picks a free port)."""
    sock.bind(endpoint)
    return sock.getsockopt_string(zmq.LAST_ENDPOINT)


class Stdin:
    """Non-blocking line reader on fd 0; eof is set when the test closes our stdin."""

    def __init__(self):
        self.fd = sys.stdin.fileno()
        self.buffer = b""
        self.eof = False

    def pump(self):
        if self.eof:
            return
        readable, _, _ = select.select([self.fd], [], [], 0)
        if readable:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.eof = True
            self.buffer = (self.buffer + chunk)[-65536:]

    def take_line(self):
        if b"\n" not in self.buffer:
            return None
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace").strip()


def watch_handshakes(sock):
    return sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                   | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


def report_monitor(monitor):
    """Prints CONNECTED / AUTH_FAILED for pending monitor events; returns handshakes done."""
    done = 0
    while monitor.poll(0):
        event = recv_monitor_message(monitor)["event"]
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            out("CONNECTED")
            done += 1
        elif event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            out("AUTH_FAILED")
        else:
            out("ERROR handshake failed (protocol)")
    return done


def deadline_of(args):
    return time.monotonic() + args.max_seconds


# --- modes --------------------------------------------------------------------------------------

def run_server(args):
    if bool(args.rep) == bool(args.sub):
        out("ERROR give either --rep or --sub")
        return 2
    context = zmq.Context()
    poller = zmq.Poller()
    stdin = Stdin()
    poller.register(stdin.fd, zmq.POLLIN)
    rep = None
    subs = []
    auth = None
    if args.rep:
        auth = start_authenticator(context, args.user, args.password)
        rep = context.socket(zmq.REP)
        rep.setsockopt(zmq.LINGER, 0)
        if auth:
            rep.plain_server = True
        endpoint = bind(rep, args.rep)
        poller.register(rep, zmq.POLLIN)
        out("READY " + endpoint)
    else:
        for address in args.sub:
            sub = context.socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b'')
            sub.setsockopt(zmq.LINGER, 0)
            set_plain_client(sub, args.user, args.password)  # EXTENSION
            sub.connect(address)
            poller.register(sub, zmq.POLLIN)
            subs.append(sub)
        out("READY " + " ".join(args.sub))

    deadline = deadline_of(args)
    while not _stop and time.monotonic() < deadline:
        socks = dict(poller.poll(100))
        if socks.get(stdin.fd):
            stdin.pump()
            if stdin.eof:
                break
        if rep is not None and socks.get(rep) == zmq.POLLIN:
            message = rep.recv_string()
            try:
                reply, report = handle_incoming_message(message)
            except Exception as e:  # ZmqReceiver.run(): logged, nothing sent
                out("ERROR " + repr(e))
                continue
            out(report if report is not None else "HEARTBEAT rep")
            if reply is not None:  # RepSocket.send(None) sends nothing
                rep.send_string(reply)
        for sub in subs:
            if socks.get(sub) == zmq.POLLIN:
                message = sub.recv_string()
                if message == HEARTBEAT:
                    out("HEARTBEAT sub")
                    continue
                try:
                    _, report = handle_incoming_message(message)
                    out(report)
                except Exception as e:
                    out("ERROR " + repr(e))
    for sock in ([rep] if rep is not None else []) + subs:
        sock.close(0)
    if auth:
        auth.stop()
    context.term()
    return 0


def encode_request(function, parameters):
    # ZmqRpcClient.serialize_function_call
    message = {"function": function}
    if parameters is not None:
        message["parameters"] = parameters
    return json.dumps(message)


def run_call(args):
    if args.raw:
        messages = list(args.raw)
    elif args.heartbeat:
        messages = [HEARTBEAT]
    else:
        if not args.function:
            out("ERROR --function is required")
            return 2
        params = args.params or ["{}"]
        messages = [encode_request(args.function, None if p == "null" else json.loads(p))
                    for p in params]
    context = zmq.Context()
    req = None
    failed = False
    for message in messages:
        if req is None:  # ZmqSender.create_req_socket (also after a timeout: Lazy Pirate)
            req = context.socket(zmq.REQ)
            set_plain_client(req, args.user, args.password)
            for endpoint in args.req:
                req.connect(endpoint)
        req.send_string(message)
        if req.poll(args.timeout, zmq.POLLIN):
            out("RESPONSE " + req.recv_string())
        else:
            out("TIMEOUT")
            failed = True
            # ZmqSender.destroy_req_socket: LINGER 0, disconnect, close; recreated on next send
            req.setsockopt(zmq.LINGER, 0)
            req.close()
            req = None
    if req is not None:
        req.close(0)
    context.term()
    return 3 if failed else 0


def run_publish(args):
    context = zmq.Context()
    auth = start_authenticator(context, args.user, args.password)  # EXTENSION (see top)
    pub = context.socket(zmq.PUB)
    if auth:
        pub.plain_server = True
    pub.setsockopt(zmq.SNDHWM, 100000)
    monitor = watch_handshakes(pub)
    endpoint = bind(pub, args.pub)
    out("READY " + endpoint)

    stdin = Stdin()
    deadline = deadline_of(args)
    handshakes = 0
    if args.wait_ms is not None:
        end = time.monotonic() + args.wait_ms / 1000.0
        while time.monotonic() < end and not _stop:
            handshakes += report_monitor(monitor)
            time.sleep(0.01)
    else:  # wait for "GO" on stdin
        go = False
        while not go and not _stop and time.monotonic() < deadline:
            handshakes += report_monitor(monitor)
            stdin.pump()
            line = stdin.take_line()
            if line == "GO":
                go = True
            elif stdin.eof and line is None:
                break
            time.sleep(0.01)
        if not go:
            out("ERROR no GO on stdin")
            pub.close(0)
            return 2
    # Optionally wait (bounded) until the expected subscribers finished their handshake, then a
    # little more for their subscriptions to arrive.
    end = time.monotonic() + args.subscribers_timeout_ms / 1000.0
    while handshakes < args.subscribers and time.monotonic() < end:
        handshakes += report_monitor(monitor)
        time.sleep(0.01)
    time.sleep(args.settle_ms / 1000.0)

    parameters = json.loads(args.params) if args.params != "null" else None
    sent = 0
    heartbeats = 0
    for i in range(args.count):
        if args.heartbeat:
            pub.send_string(HEARTBEAT)  # ZmqSender.send_heartbeat
            heartbeats += 1
        p = parameters
        if args.seq and p is not None:
            p = dict(p)
            p["seq"] = i
        pub.send_string(encode_request(args.function, p))
        sent += 1
        if args.interval_ms and i + 1 < args.count:
            time.sleep(args.interval_ms / 1000.0)
    if args.heartbeat:
        pub.send_string(HEARTBEAT)
        heartbeats += 1
        out("HEARTBEATS {0}".format(heartbeats))
    out("SENT {0}".format(sent))
    time.sleep(args.linger_ms / 1000.0)
    report_monitor(monitor)
    pub.disable_monitor()
    monitor.close(0)
    pub.close(0)
    if auth:
        auth.stop()
    context.term()
    return 0


def run_subscribe(args):
    context = zmq.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b'')
    sub.setsockopt(zmq.LINGER, 0)
    set_plain_client(sub, args.user, args.password)  # EXTENSION
    monitor = watch_handshakes(sub)
    for endpoint in args.sub:
        sub.connect(endpoint)
    out("READY")
    stdin = Stdin()
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    poller.register(stdin.fd, zmq.POLLIN)
    end = time.monotonic() + min(args.timeout_ms / 1000.0, args.max_seconds)
    received = 0
    code = 3
    while received < args.count and not _stop:
        remaining = end - time.monotonic()
        if remaining <= 0:
            break
        socks = dict(poller.poll(min(100, int(remaining * 1000) + 1)))
        if socks.get(stdin.fd):
            stdin.pump()
            if stdin.eof:
                break
        if socks.get(monitor):
            report_monitor(monitor)
        if socks.get(sub) == zmq.POLLIN:
            message = sub.recv_string()
            if message == HEARTBEAT:
                out("HEARTBEAT")
            else:
                out("MSG " + message)
                received += 1
    if received >= args.count:
        code = 0
    else:
        out("TIMEOUT")
    sub.disable_monitor()
    monitor.close(0)
    sub.close(0)
    context.term()
    return code


def main():
    signal.signal(signal.SIGTERM, _on_sigterm)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--user", default=None)
        p.add_argument("--password", default=None)
        p.add_argument("--max-seconds", type=float, default=60.0)

    p = commands.add_parser("server", help="RPC server on REP (bind) or SUB (connect)")
    p.add_argument("--rep", default=None)
    p.add_argument("--sub", action="append", default=[])
    common(p)

    p = commands.add_parser("call", help="invoke over REQ; one call per --params (or --raw)")
    p.add_argument("--req", action="append", required=True)
    p.add_argument("--function", default=None)
    p.add_argument("--params", action="append", default=None,
                   help="JSON object (or null: no \"parameters\"); repeat for several calls")
    p.add_argument("--raw", action="append", default=None, help="send this frame verbatim")
    p.add_argument("--heartbeat", action="store_true", help="send the bare heartbeat")
    p.add_argument("--timeout", type=int, default=5000, help="ms per call")
    common(p)

    p = commands.add_parser("publish", help="bind PUB and publish invocations")
    p.add_argument("--pub", required=True)
    p.add_argument("--function", required=True)
    p.add_argument("--params", default="{}")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--interval-ms", type=int, default=0)
    p.add_argument("--heartbeat", action="store_true",
                   help="a heartbeat before every invocation and one after the last")
    p.add_argument("--seq", action="store_true", help="add \"seq\": i to the parameters")
    p.add_argument("--wait-ms", type=int, default=None,
                   help="wait this long instead of for a GO line on stdin")
    p.add_argument("--subscribers", type=int, default=0,
                   help="after GO, also wait for this many PUB handshakes (bounded)")
    p.add_argument("--subscribers-timeout-ms", type=int, default=3000)
    p.add_argument("--settle-ms", type=int, default=200)
    p.add_argument("--linger-ms", type=int, default=500)
    common(p)

    p = commands.add_parser("subscribe", help="connect SUB and print what arrives")
    p.add_argument("--sub", action="append", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--timeout-ms", type=int, default=10000)
    common(p)

    args = parser.parse_args()
    runner = {"server": run_server, "call": run_call, "publish": run_publish,
              "subscribe": run_subscribe}[args.command]
    return runner(args)


if __name__ == "__main__":
    sys.exit(main())
