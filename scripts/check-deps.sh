#!/usr/bin/env bash
# check-deps.sh [BUILD_DIR...]  (default: build)
#
# Fails when a build, its tests or the scripts used a system file that scripts/install-deps.sh
# would not install on a fresh Debian 12 machine (issue 11: a package installed by hand once made
# CI green while a fresh machine could not even configure). It collects every file the build read
# or will load from the system:
#   - the compiler's dependency files (`ninja -t deps`, and any *.d file in the build dir), and
#     the CMake files that configure read (the inputs of build.ninja);
#   - the absolute paths in CMakeCache.txt: *_DIR package directories, found programs, libraries
#     and include directories (install destinations are skipped);
#   - the shared libraries that every ELF program and library in the build dir loads (ldd);
#   - the tools that the tests and scripts run (python3 and the modules that the tests' Python
#     scripts import, clang-format, cmake/ctest/cpack, dpkg-deb/dpkg-shlibdeps, gzip, groff,
#     lintian ...);
# maps each to its Debian package with dpkg -S (trying the path, its realpath and its /usr-merge
# twin), and checks each package against what install-deps.sh installs: its list (deps.txt, read
# through `install-deps.sh --list`) closed over Depends/Pre-Depends (what --no-install-recommends
# brings), plus every Essential or Priority: required package and their dependencies. Files in
# the source or build trees are skipped. A system file that no package owns (/usr/local, pyenv
# ...) fails too. Nothing is cached between runs.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
[ $# -gt 0 ] || set -- "$root/build"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
used=$tmp/used      # path <TAB> what needed it
skip=$tmp/skip      # directory prefixes whose files are the project's own
failed=0
fail() { echo "check-deps: $*" >&2; failed=1; }

printf '%s\n' "$root" >"$skip"
: >"$used"
elves=$tmp/elves
: >"$elves"

# ---- 1. What each build dir read
for dir in "$@"; do
    if [ ! -f "$dir/CMakeCache.txt" ]; then
        echo "check-deps: $dir is not a CMake build directory (no CMakeCache.txt)" >&2
        exit 2
    fi
    dir=$(cd "$dir" && pwd -P)
    name=${dir#"$root"/}
    printf '%s\n' "$dir" >>"$skip"
    src=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$dir/CMakeCache.txt")
    [ -z "$src" ] || printf '%s\n' "$src" >>"$skip"

    # CMakeCache.txt: package dirs, found programs and libraries. Install destinations and the
    # source/build dirs are not files the build read.
    awk -v d="$name" '
        /^[#\/]/ || !/=/ { next }
        {
            eq = index($0, "="); key = substr($0, 1, eq - 1); val = substr($0, eq + 1)
            c = index(key, ":"); var = substr(key, 1, c - 1); type = substr(key, c + 1)
            if (var ~ /^CMAKE_INSTALL_/ || type == "STATIC") next
            if (type == "INTERNAL" && var !~ /^CMAKE_(COMMAND|CPACK_COMMAND|CTEST_COMMAND|ROOT)$/) next
            n = split(val, v, ";")
            for (i = 1; i <= n; i++) if (v[i] ~ /^\//) print v[i] "\t" d "/CMakeCache.txt " var
        }' "$dir/CMakeCache.txt" >>"$used"
    # The files CMake read while configuring: the inputs of the build.ninja regeneration rule.
    if [ -f "$dir/build.ninja" ]; then
        awk -v d="$name" '
            /^build build\.ninja:/ { on = 1 }
            on { for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i "\t" d "/build.ninja (CMake configure)"
                 if ($NF != "$") on = 0 }' "$dir/build.ninja" >>"$used"
    fi
    # The compiler's dependency files, as Ninja keeps them in .ninja_deps.
    if [ -f "$dir/.ninja_deps" ]; then
        if ! command -v ninja >/dev/null; then
            fail "ninja not found, cannot read $dir/.ninja_deps"
        else
            ninja -C "$dir" -t deps | awk -v d="$name" '
                /^[^ ].*: #deps/ { t = $1; sub(/:$/, "", t); next }
                /^    \// { print $1 "\t" d "/" t " (compiler)" }' >>"$used"
        fi
    fi
    # Make-style dependency files left on disk (moc's, or a Makefile generator's).
    # shellcheck disable=SC2016 # an awk program
    find "$dir" -name '*.d' -type f -print0 | xargs -0 -r awk '
        FNR == 1 { f = FILENAME }
        { for (i = 1; i <= NF; i++) if ($i ~ /^\// && $i !~ /:$/) print $i "\t" f }' >>"$used"
    # Every ELF program and shared library of the build, for ldd below.
    while IFS= read -r -d '' f; do
        IFS= read -r -n 4 magic <"$f" 2>/dev/null || true
        [ "$magic" != $'\x7fELF' ] || printf '%s\0' "$f" >>"$elves"
    done < <(find "$dir" -type f \( -perm -u=x -o -name '*.so' -o -name '*.so.*' \) ! -name '*.o' -print0)
done

# ---- 2. The tools that scripts/*.sh and the test suites run
tools=(bash cmake ctest cpack ninja c++ g++ pkg-config clang-format gzip groff ldd
       dpkg-deb dpkg-shlibdeps objdump lintian)
for t in "${tools[@]}"; do
    if p=$(command -v "$t"); then
        printf '%s\t%s\n' "$p" "tool $t" >>"$used"
    else
        fail "$t: not found on PATH (the scripts or tests run it)"
    fi
done
# The interop tests run Debian's python3 (ZMQRPC_PYTHON3 in the cache) with pyzmq: every module
# file that the tests' Python scripts import, and the libraries of its extension modules.
python=$(sed -n 's/^ZMQRPC_PYTHON3:FILEPATH=//p' "$1/CMakeCache.txt")
python=${python:-/usr/bin/python3}
if [ ! -x "$python" ]; then
    fail "$python: not found (the interop tests run it)"
else
    printf '%s\t%s\n' "$python" "tool python3 (interop tests)" >>"$used"
    find "$root/tests" -name '*.py' -print0 >"$tmp/py"
    if ! "$python" -B - "$tmp/py" >"$tmp/pymods" <<'EOF'
import ast, importlib, os, sys
# What the interpreter loads at startup depends on what else is installed (a .pth hook of
# setuptools, say) rather than on the tests: only the modules that the imports add, and the
# interpreter's own stdlib (os), count.
before = set(sys.modules) - {"os"}
names = set()
for path in open(sys.argv[1], "rb").read().decode().split("\0"):
    if not path:
        continue
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
# zmqrpc is pyzmqrpc 3.0 itself, the reference the interop tests import from ../shared/seed
# beside the clone (no package installs it; without it those tests report themselves skipped).
for name in sorted(n for n in names if n.split(".")[0] != "zmqrpc"):
    importlib.import_module(name)
print(f"{os.path.realpath(sys.executable)}\tpython3 interpreter")
for name, mod in sorted(sys.modules.items()):
    f = None if name in before else getattr(mod, "__file__", None)
    if f:
        print(f"{f}\tpython3 module {name}")
EOF
    then
        fail "$python cannot import the modules that tests/**/*.py import (see above)"
    fi
    cat "$tmp/pymods" >>"$used"
    cut -f1 "$tmp/pymods" | grep '\.so$' | tr '\n' '\0' >>"$elves" || true
fi

# ldd, batched. "not found" is a failure of its own: a library that nothing provides.
if [ -s "$elves" ]; then
    xargs -0 -n 64 ldd <"$elves" 2>/dev/null | awk '
        /^[^\t].*:$/ { f = substr($0, 1, length($0) - 1); next }
        $2 == "=>" && $3 == "not" { print "NOTFOUND\t" $1 "\t" f; next }
        $2 == "=>" && $3 ~ /^\// { print $3 "\tldd " f; next }
        $1 ~ /^\// { print $1 "\tldd " f }' >"$tmp/ldd" || true
    awk -F'\t' '$1 == "NOTFOUND" { print $2 "\t" $3 }' "$tmp/ldd" | sort -u >"$tmp/notfound"
    while IFS=$'\t' read -r lib who; do
        fail "$who needs $lib, which the loader does not find"
    done <"$tmp/notfound"
    grep -v '^NOTFOUND' "$tmp/ldd" >>"$used" || true
fi

# ---- 3. One line per system file: path <TAB> what needed it (the first one seen)
awk -F'\t' 'NR == FNR { skip[n++] = $0; next }
    {
        p = $1
        for (i = 0; i < n; i++) if (p == skip[i] || index(p, skip[i] "/") == 1) next
        if (!(p in seen)) { seen[p] = 1; print }
    }' "$skip" "$used" >"$tmp/sys0"
# Only what exists (a dependency log may name a file removed since), then its realpath.
while IFS=$'\t' read -r p who; do
    [ ! -e "$p" ] || printf '%s\t%s\n' "$p" "$who"
done <"$tmp/sys0" >"$tmp/sys"
cut -f1 "$tmp/sys" | tr '\n' '\0' | xargs -0 -r realpath -e -- >"$tmp/real"
paste "$tmp/sys" "$tmp/real" >"$tmp/sysr"      # path, who, realpath
nfiles=$(wc -l <"$tmp/sysr")

# Candidates for dpkg -S: the path, its realpath and their /usr-merge twins (/lib <-> /usr/lib).
awk -F'\t' '
    function twin(p) {
        if (p ~ /^\/usr\/(bin|sbin|lib[^\/]*)\//) return substr(p, 5)
        if (p ~ /^\/(bin|sbin|lib[^\/]*)\//) return "/usr" p
        return ""
    }
    { c[1] = $1; c[2] = $3; c[3] = twin($1); c[4] = twin($3)
      for (i = 1; i <= 4; i++) if (c[i] != "") print $1 "\t" i "\t" c[i] }' "$tmp/sysr" |
    sort -u -t$'\t' -k1,1 -k2,2n >"$tmp/cand"
# dpkg-query -S takes patterns: escape the glob characters; an absolute path is matched exactly.
cut -f3 "$tmp/cand" | sort -u | sed 's/[][*?\\]/\\&/g' | tr '\n' '\0' |
    xargs -0 -r dpkg-query -S 2>/dev/null >"$tmp/owners" || true
# "pkg1, pkg2:arch: /path" -> path <TAB> pkg1 pkg2 (diversion lines dropped)
awk '/^diversion by / { next }
    { i = index($0, ": /"); if (!i) next
      n = split(substr($0, 1, i - 1), a, ", "); s = ""
      for (j = 1; j <= n; j++) { sub(/:.*/, "", a[j]); s = s (j > 1 ? " " : "") a[j] }
      print substr($0, i + 2) "\t" s }' "$tmp/owners" >"$tmp/owned"

# ---- 4. What install-deps.sh installs
mapfile -t listed < <("$here/install-deps.sh" --list)
dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Essential}\t${Priority}\n' >"$tmp/dpkg"
awk -F'\t' '$1 ~ /^ii/ { print $2 }' "$tmp/dpkg" | sort -u >"$tmp/installed"
for p in "${listed[@]}"; do
    grep -qxF "$p" "$tmp/installed" || fail "$p: listed in scripts/deps.txt but not installed (run scripts/install-deps.sh)"
done
mapfile -t base < <(awk -F'\t' '$1 ~ /^ii/ && ($3 == "yes" || $4 == "required") { print $2 }' "$tmp/dpkg")
# Depends and Pre-Depends only, recursively; alternatives and the providers of virtual packages
# are all listed (apt may pick any of them). Virtual names (<name>) own no files.
if ! apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${listed[@]}" "${base[@]}" >"$tmp/closure" 2>"$tmp/apt.err"; then
    cat "$tmp/apt.err" >&2
    echo "check-deps: apt-cache depends failed on the list of scripts/deps.txt" >&2
    exit 1
fi
{
    printf '%s\n' "${listed[@]}" "${base[@]}"
    awk '{ s = $0; sub(/^ *\|?[A-Za-z-]*: /, "", s); sub(/^ +/, "", s); sub(/:.*/, "", s)
           if (s !~ /^</ && s != "") print s }' "$tmp/closure"
} | sort -u >"$tmp/allowed"

# ---- 5. The verdict: every file needs an owner, and some owner of each must be allowed
report=$tmp/report
awk -F'\t' -v out="$report" '
    FILENAME == ARGV[1] { ok[$1] = 1; next }
    FILENAME == ARGV[2] { own[$1] = own[$1] " " $2; next }
    # The owners of the first candidate that has any, in the order path, its /usr-merge twin,
    # realpath, its twin: the package that provides the name the build used (libzmq.so, a
    # symlink from libzmq3-dev, rather than its target in libzmq5), or, where the name is an
    # unowned link (/usr/bin/c++ through /etc/alternatives), the package of its target.
    FILENAME == ARGV[3] { o = own[$3]; if (o != "" && !($1 in first)) first[$1] = o; next }
    {
        p = $1; n = split(first[p], a, " "); good = ""; delete u; s = ""
        for (i = 1; i <= n; i++) {
            if (a[i] in ok && (good == "" || a[i] < good)) good = a[i]
            if (!(a[i] in u)) { u[a[i]] = 1; s = s (s == "" ? "" : " or ") a[i] }
        }
        if (n == 0) { print "UNOWNED\t" p "\t" $2 > out; next }
        if (good == "") { if (!(s in cnt)) ex[s] = p "\t" $2; cnt[s]++; next }
        pkgs[good] = 1
    }
    END {
        for (s in cnt) print "MISSING\t" s "\t" ex[s] "\t" cnt[s] > out
        m = 0; for (g in pkgs) m++; print m
    }' "$tmp/allowed" "$tmp/owned" "$tmp/cand" "$tmp/sysr" >"$tmp/npkgs"
touch "$report"
npkgs=$(cat "$tmp/npkgs")

nunowned=$(grep -c '^UNOWNED' "$report" || true)
if [ "$nunowned" -gt 0 ]; then
    grep '^UNOWNED' "$report" | sort | awk 'NR <= 20' | while IFS=$'\t' read -r _ p who; do
        fail "$p: owned by no Debian package (needed by $who); install it from a package in scripts/deps.txt"
    done
    [ "$nunowned" -le 20 ] || fail "... and $((nunowned - 20)) more files owned by no package"
fi
{ grep '^MISSING' "$report" || true; } | sort | while IFS=$'\t' read -r _ pkg p who count; do
    more=""
    [ "$count" -le 1 ] || more=" and $((count - 1)) more file"
    [ "$count" -le 2 ] || more="${more}s"
    fail "$pkg: not installed by scripts/install-deps.sh, but needed for $p (by $who)$more; add it to scripts/deps.txt"
done
nmissing=$(grep -c '^MISSING' "$report" || true)
if [ "$nmissing" -gt 0 ] || [ "$nunowned" -gt 0 ]; then
    failed=1
fi

if [ "$failed" -ne 0 ]; then
    echo "check-deps: FAILED: $nmissing package(s) missing from scripts/deps.txt, $nunowned file(s) owned by no package" >&2
    exit 1
fi
echo "check-deps: $nfiles files from $npkgs packages, all installed by scripts/install-deps.sh"
