#!/usr/bin/python3
"""Replies of the real pyzmqrpc 3.0 server to a corpus of requests, for byte comparison.

Writes one JSON array per line: [request, reply] where reply is the exact string pyzmqrpc's
ZmqRpcServer.handle_incoming_message() returns for the request (what its REP socket sends),
or null when it sends nothing (it returns None, or raises outside its try so that
ZmqReceiver.run() only logs). The functions mirror `zmqrpc serve`'s diagnostic functions
(core/src/rpc/diagnostics.cpp). Their __module__ is "builtins" so that Python's TypeError for
f(**[1]) names them "echo()" as it names a built-in, without the name of this script's module,
which no wire peer can know ("__main__.echo()" otherwise).

  pyzmqrpc_golden.py --pyzmqrpc DIR [--random N --seed S] > replies.jsonl
  pyzmqrpc_golden.py --pyzmqrpc DIR --check tests/core/data/pyzmqrpc_replies.jsonl
  pyzmqrpc_golden.py --pyzmqrpc DIR --random N --seed S --run TST_PROTOCOL

The fixed corpus is committed with its replies as tests/core/data/pyzmqrpc_replies.jsonl
(tst_protocol compares our replies with it; the interop suite regenerates it from the real
package and compares). --random adds N mutated requests (seeded, reproducible) for the
differential run: --run starts tst_protocol's repliesMatchRealPyzmqrpc on them (through
ZMQRPC_PYZMQRPC_REPLIES) and exits with its code. --check exits 1 when the committed file is
not what the package answers now.
Exit 77 (skipped) when the package or pyzmq is missing.
"""

import argparse
import json
import logging
import os
import random
import sys

CORPUS = [
    # values: key order, big integers, floats as Python writes them, strings
    '{"function": "echo", "parameters": {"b": 1, "a": 2}}',
    '{"function":"echo","parameters":{"n":123456789012345678901234567890,'
    '"m":-98765432109876543210987654321}}',
    '{"function": "echo", "parameters": {"f": [1.0, 1e16, 1e-7, 0.1, -0.0, -0, 1e400, -1e400, '
    '1e-400, -1e-400, NaN, Infinity, -Infinity, 1E2, 2.5e-3, 123456789.125, 1e22, 5e-324]}}',
    '{"function": "echo", "parameters": {"i": [0, -1, 9223372036854775807, '
    '-9223372036854775808, 18446744073709551615, 18446744073709551616, -9223372036854775809]}}',
    '{"function": "echo", "parameters": {"a": 1, "a": 2, "b": 3}}',
    '{"function": "a", "function": "echo", "parameters": [1], "parameters": {"x": 1}}',
    '{"function": "echo", "parameters": {"s": "\\ud83d\\ude00 \\u00e9 \\ud800 \\udc00x \\u0000 '
    '\\/ \\b\\f\\n\\r\\t \\"q\\" \\\\"}}',
    '{"function": "echo", "parameters": {"s": "\u00e9\U0001F600\u2028\x7f"}}',
    '{"function": "echo", "parameters": {"x": "\\ud800\\u0041", "y": "\\udbff\\udfff"}}',
    '{"function": "echo", "parameters": {"nested": {"z": [1, {"y": {}, "x": []}], "a": null, '
    '"t": true, "f": false}}}',
    '{"function": "echo", "parameters": {}}',
    '{"function": "echo"}',
    '  {"function": "ping"}  ',
    '\n{"function"\t:\r"ping"\n}\n',
    '{"function": "ping", "parameters": null}',
    # not an object, no function, a function name that is not a string
    '[1]', '"abc"', '[]', '{}', '{"parameters": {}}', '[{"function": "ping"}]',
    '{"function": 5}', '{"function": null}', '{"function": true}', '{"function": false}',
    '{"function": 1.5}', '{"function": 1e16}', '{"function": -0.0}', '{"function": NaN}',
    '{"function": -Infinity}', '{"function": 123456789012345678901234567890}',
    '{"function": ""}', '{"function": "\\u00e9"}',
    # parameters that are not a mapping
    '{"function": "echo", "parameters": [1, 2]}', '{"function": "echo", "parameters": "x"}',
    '{"function": "echo", "parameters": 5}', '{"function": "echo", "parameters": 1.5}',
    '{"function": "echo", "parameters": true}', '{"function": "echo", "parameters": null}',
    '{"function": "echo", "parameters": 123456789012345678901234567890}',
    '{"function": "nope", "parameters": [1]}',
    # the diagnostic functions, called well and badly
    '{"function": "add", "parameters": {"a": 1, "b": 2}}',
    '{"function": "add", "parameters": {"b": 2, "a": 1}}',
    '{"function": "add", "parameters": {"a": 1, "b": 2.5}}',
    '{"function": "add", "parameters": {"a": 0.1, "b": 0.2}}',
    '{"function": "add", "parameters": {"a": "a", "b": "b"}}',
    '{"function": "add", "parameters": {"a": [1], "b": [2, "x"]}}',
    '{"function": "add", "parameters": {"a": true, "b": 1}}',
    '{"function": "add", "parameters": {"a": true, "b": true}}',
    '{"function": "add", "parameters": {"a": false, "b": 1.5}}',
    '{"function": "add", "parameters": {"a": 1, "b": "a"}}',
    '{"function": "add", "parameters": {"a": "a", "b": 1}}',
    '{"function": "add", "parameters": {"a": [1], "b": "a"}}',
    '{"function": "add", "parameters": {"a": null, "b": 1}}',
    '{"function": "add", "parameters": {"a": {}, "b": {}}}',
    '{"function": "add", "parameters": {"a": 1.5, "b": "a"}}',
    '{"function": "add", "parameters": {"a": 9223372036854775807, "b": 1}}',
    '{"function": "add", "parameters": {"a": -9223372036854775808, "b": -1}}',
    '{"function": "add", "parameters": {"a": 18446744073709551615, "b": 18446744073709551615}}',
    '{"function": "add", "parameters": {"a": -123456789012345678901234567890, '
    '"b": 123456789012345678901234567891}}',
    '{"function": "add", "parameters": {"a": 123456789012345678901234567890, "b": 0.5}}',
    '{"function": "add", "parameters": {"a": 1e308, "b": 1e308}}',
    '{"function": "add", "parameters": {"a": 1}}',
    '{"function": "add", "parameters": {"a": 1, "c": 2}}',
    '{"function": "add", "parameters": {"c": 2}}',
    '{"function": "add"}',
    '{"function": "ping", "parameters": {"x": 1}}',
    '{"function": "fail", "parameters": {"message": "boom"}}',
    '{"function": "fail", "parameters": {"message": null}}',
    '{"function": "fail", "parameters": {"message": 2.0}}',
    '{"function": "fail", "parameters": {"message": [1, "a", {"k": "it\'s"}]}}',
    '{"function": "nope"}',
    # not JSON, as Python's json reads it
    'hello', '{"function": "f"', '{"function": "f"} x', '', ' ', '[1,]', '{"a":1,}',
    '{"a" 1}', '{"a":1 "b":2}', '{1:2}', '"\\x"', '"\\u12"', '"\\u12x4"', '"\\ud800\\u12"',
    '"abc', '"a\tb"', '"a\\', '-', '-a', '01', '1.', '1e', '1e+', '[1, 2', '[', '{',
    '{"a"', '{"a":', 'nul', 'tru', 'fals', 'NaNa', 'Infinit', '-Infinit', '[1]]',
    '\ufeff{"function": "ping"}', '{"function": "x\u00e9\n\n y", "q": }',
    '{"function": "echo", "parameters": {"n": ' + '1' * 4301 + '}}',
    '{"function": "echo", "parameters": {"n": -' + '1' * 4300 + '}}',
    '{"function": "echo", "parameters": {"n": 1.' + '1' * 5000 + '}}',
    # pyzmqrpc sends nothing for these (a TypeError outside its try); we answer
    'zmq_sub_heartbeat', '42', 'null', 'true', '1.5', '"my function"', '["function"]',
    '{"function": ["echo"]}', '{"function": {"a": 1}}',
]


def functions():
    def ping():
        return "pong"

    def echo(**kwargs):
        return kwargs

    def add(a, b):
        return a + b

    def fail(message):
        raise Exception(message)

    table = {"ping": ping, "echo": echo, "add": add, "fail": fail}
    for name, f in table.items():
        f.__module__ = "builtins"
        f.__qualname__ = name
    return table


def mutate(rng, text):
    """One random edit of a request: a character deleted, doubled, replaced or inserted."""
    alphabet = '{}[]",:\\ 0123456789.eE+-tfnulNaIy\u00e9\ud83d\ude00'
    if not text:
        return rng.choice(alphabet)
    i = rng.randrange(len(text))
    op = rng.randrange(4)
    if op == 0:
        return text[:i] + text[i + 1:]
    if op == 1:
        return text[:i] + text[i] + text[i:]
    c = rng.choice(alphabet)
    if op == 2:
        return text[:i] + c + text[i + 1:]
    return text[:i] + c + text[i:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pyzmqrpc", required=True)
    parser.add_argument("--random", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", metavar="FILE")
    parser.add_argument("--run", metavar="TST_PROTOCOL")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.pyzmqrpc, "zmqrpc", "__init__.py")):
        print("skipped: pyzmqrpc 3.0 not found in " + args.pyzmqrpc, file=sys.stderr)
        return 77
    sys.path.insert(0, args.pyzmqrpc)
    try:
        from zmqrpc.server import ZmqRpcServer
    except ImportError as e:
        print("skipped: cannot import pyzmqrpc: %s" % e, file=sys.stderr)
        return 77
    logging.disable(logging.CRITICAL)
    server = ZmqRpcServer(rpc_functions=functions())
    cases = list(CORPUS)
    rng = random.Random(args.seed)
    valid = [c for c in CORPUS if c.startswith('{"function"')]
    for _ in range(args.random):
        text = rng.choice(valid)
        for _ in range(rng.randrange(1, 4)):
            text = mutate(rng, text)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate char: no UTF-8 bytes for it
            continue
        cases.append(text)
    lines = []
    for request in cases:
        try:
            reply = server.handle_incoming_message(request)
        except Exception:  # ZmqReceiver.run() logs it and sends nothing
            reply = None
        lines.append(json.dumps([request, reply]) + "\n")
    if args.check:
        with open(args.check, encoding="utf-8") as f:
            committed = f.readlines()
        for i, (ours, theirs) in enumerate(zip(committed, lines), 1):
            if ours != theirs:
                print("line %d differs:\n  committed: %s  package:   %s" % (i, ours, theirs))
                return 1
        if len(committed) != len(lines):
            print("%d lines committed, %d from the package" % (len(committed), len(lines)))
            return 1
        print("%s: all %d replies are what pyzmqrpc answers" % (args.check, len(lines)))
        return 0
    if args.run:
        import subprocess
        import tempfile
        with tempfile.NamedTemporaryFile("w", suffix=".jsonl", encoding="utf-8") as f:
            f.writelines(lines)
            f.flush()
            env = dict(os.environ, ZMQRPC_PYZMQRPC_REPLIES=f.name)
            return subprocess.run([args.run, "repliesMatchRealPyzmqrpc"], env=env,
                                  timeout=300).returncode
    sys.stdout.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
