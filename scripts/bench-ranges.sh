#!/usr/bin/env bash
# Runs tests/bench/zmqrpc_bench N times (Release build in build-rel/) and prints, per row, the
# median of the N runs and the range (lowest-highest) of the ratio ours/raw and of both sides'
# figures, with how many runs met the target. Every figure with a range in the README comes from
# this script.
#
#   scripts/bench-ranges.sh [-n RUNS] [--quick] [--only ID] [--compare REV] [--keep DIR]
#
#   -n RUNS        full runs of the bench (default 6)
#   --quick        pass --quick to the bench (smaller sizes, for trying the script)
#   --only ID      one measurement (1..9, or 1c, 2c: rows 1, 2 with CURVE), as zmqrpc_bench --only
#   --compare REV  also build zmqrpc_bench at git revision REV (a worktree in build-rel-at-REV/)
#                  and run the two binaries alternately, REV then this tree, RUNS times each, so a
#                  change's cost is measured before and after on the same machine in the same
#                  minutes; prints both summaries and the change of each median ratio
#   --keep DIR     keep every run's --json output in DIR (default: a temporary directory)
#
# Needs the build dependencies (scripts/install-deps.sh) and python3 (standard library only).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=6
quick=()
only=()
compare=""
keep=""
while [[ $# -gt 0 ]]; do
    case "$1" in
    -n)
        runs=${2:?-n needs a number}
        shift 2
        ;;
    --quick)
        quick=(--quick)
        shift
        ;;
    --only)
        only=(--only "${2:?--only needs an id}")
        shift 2
        ;;
    --compare)
        compare=${2:?--compare needs a git revision}
        shift 2
        ;;
    --keep)
        keep=${2:?--keep needs a directory}
        shift 2
        ;;
    -h | --help)
        sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "bench-ranges.sh: unknown argument '$1' (see --help)" >&2
        exit 64
        ;;
    esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
    echo "bench-ranges.sh: -n wants a positive whole number, not '$runs'" >&2
    exit 64
fi

build_bench() { # SOURCE_DIR BUILD_DIR
    cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    ninja -C "$2" zmqrpc_bench >/dev/null
}

out=${keep:-$(mktemp -d /tmp/zmqrpc-bench-ranges.XXXXXX)}
mkdir -p "$out"
cleanup() {
    if [[ -z "$keep" ]]; then rm -rf "$out"; fi
}
trap cleanup EXIT

echo "== building zmqrpc_bench (Release) in build-rel/" >&2
build_bench "$root" "$root/build-rel"
after_bin="$root/build-rel/tests/bench/zmqrpc_bench"

before_bin=""
if [[ -n "$compare" ]]; then
    rev=$(git -C "$root" rev-parse --verify "$compare^{commit}")
    # A worktree of REV with its own Release build, kept for the next comparison (ignored by git
    # as a build directory; `git worktree remove build-rel-at-REV/src` removes it).
    before=$root/build-rel-at-${rev:0:12}
    if [[ ! -d "$before/src" ]]; then
        mkdir -p "$before"
        git -C "$root" worktree add --detach "$before/src" "$rev" >/dev/null
    fi
    echo "== building zmqrpc_bench (Release) at ${rev:0:12} in ${before#"$root"/}/" >&2
    build_bench "$before/src" "$before/build"
    before_bin="$before/build/tests/bench/zmqrpc_bench"
fi

for ((i = 1; i <= runs; i++)); do
    if [[ -n "$before_bin" ]]; then
        echo "== run $i/$runs (before: ${rev:0:12})" >&2
        "$before_bin" --json "${quick[@]}" "${only[@]}" >"$out/before-$i.json" 2>"$out/before-$i.log" ||
            echo "   (not every row measured, see $out/before-$i.log)" >&2
    fi
    echo "== run $i/$runs${before_bin:+ (after: this tree)}" >&2
    "$after_bin" --json "${quick[@]}" "${only[@]}" >"$out/after-$i.json" 2>"$out/after-$i.log" ||
        echo "   (not every row measured, see $out/after-$i.log)" >&2
done

python3 - "$out" "${rev:-}" <<'EOF'
import glob, json, os, statistics, sys

out, rev = sys.argv[1], sys.argv[2]

def load(prefix):
    runs = []
    for path in sorted(glob.glob(os.path.join(out, prefix + "-*.json"))):
        with open(path) as f:
            text = f.read().strip()
        if text:
            runs.append(json.loads(text))
    return runs

def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)

def headline(row, side):
    """The one figure of a side: a median (rows 1, 4, 5, 6), a rate (2, 3, 8, 9), an RSS (7a, 7b)
    or an RSS growth in KiB (7c; its sides are the durable and the in-memory queue, as row 9's)."""
    v = row.get(side)
    if v is None:  # row 4 compares the proxy with zmqrpc's own direct call
        v = row.get({"ours": "proxy", "raw": "direct"}[side])
    if number(v):
        return v
    if isinstance(v, dict):
        for key in ("median", "rss_kib", "median_ms"):
            if number(v.get(key)):
                return v[key]
    return None

def fmt(x):
    if x is None:
        return "-"
    if abs(x) >= 1000:
        return f"{x:,.0f}".replace(",", " ")
    if abs(x) >= 100:
        return f"{x:.1f}"
    return f"{x:.2f}"

def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "-", None
    med = statistics.median(values)
    return f"{fmt(med)} [{fmt(min(values))}-{fmt(max(values))}]", med

def summary(runs, title):
    if not runs:
        print(f"{title}: no run produced output")
        return {}
    m = runs[0]["machine"]
    print(f"{title}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['kernel']}, libzmq {m['libzmq']}, "
          f"zmqrpc {m['zmqrpc']} ({m['build']}); {len(runs)} runs, mode {runs[0]['mode']}")
    order, rows = [], {}
    for run in runs:
        for row in run["rows"]:
            if row["id"] not in rows:
                order.append(row["id"])
                rows[row["id"]] = []
            rows[row["id"]].append(row)
    print()
    print("| # | measurement | zmqrpc: median [range] | raw: median [range] | ours/raw: median [range] | target | met |")
    print("|---|---|---|---|---|---|---|")
    medians = {}
    for rid in order:
        rs = rows[rid]
        ours, _ = spread([headline(r, "ours") for r in rs])
        raw, _ = spread([headline(r, "raw") for r in rs])
        ratio, med = spread([r.get("ratio") if number(r.get("ratio")) else None for r in rs])
        medians[rid] = med
        target = rs[0]["cells"]["target"]
        # "(yes)"/"(NO)": printed beside a target but not judged (rows 1s, 4s).
        bracketed = all(r["met"].startswith("(") for r in rs)
        verdicts = [r["met"].strip("()") for r in rs if r["met"].strip("()") not in ("-", "")]
        met = f"{sum(1 for v in verdicts if v == 'yes')} of {len(verdicts)}" if verdicts else "-"
        if verdicts and bracketed:
            met = f"({met}, not judged)"
        unmeasured = sum(1 for r in rs if not r["measured"])
        name = rs[0]["name"] + (f" ({unmeasured} runs not measured)" if unmeasured else "")
        print(f"| {rid} | {name} | {ours} | {raw} | {ratio} | {target} | {met} |")
    print()
    cpu_rows = []
    for rid in order:
        rs = rows[rid]
        pairs = [("ours_cpu_us", "raw_cpu_us"), ("ours_cpu_us_per_msg", "raw_cpu_us_per_msg"),
                 ("proxy_cpu_us", "direct_cpu_us")]
        for ours_key, raw_key in pairs:
            if ours_key in rs[0]:
                def cpu(r, key):
                    v = r.get(key)
                    return v.get("median") if isinstance(v, dict) else v
                cpu_rows.append((rid, spread([cpu(r, ours_key) for r in rs])[0],
                                 spread([cpu(r, raw_key) for r in rs])[0]))
    if cpu_rows:
        print("CPU time per call or message, us (process user + system; raw of row 4 is the")
        print("direct zmqrpc call): median [range]")
        print()
        print("| # | zmqrpc | raw |")
        print("|---|---|---|")
        for rid, ours, raw in cpu_rows:
            print(f"| {rid} | {ours} | {raw} |")
        print()
    return medians

before = load("before")
after = load("after")
if rev:
    b = summary(before, f"before: {rev[:12]}")
    a = summary(after, "after: this tree")
    print("| # | median ratio before | after | change |")
    print("|---|---|---|---|")
    for rid, med in a.items():
        old = b.get(rid)
        change = f"{(med / old - 1) * 100:+.1f} %" if med and old else "-"
        print(f"| {rid} | {fmt(old)} | {fmt(med)} | {change} |")
else:
    summary(after, "this tree")
complete = all(run.get("complete") for run in before + after)
sys.exit(0 if complete and after else 1)
EOF
