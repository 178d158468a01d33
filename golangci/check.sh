#!/usr/bin/env bash
# Builds the custom golangci-lint (golangci/custom.sh, cached) and checks
# that it reports on golangci/testdata/mod exactly the findings heisen vet
# reports there: same file, line, column, kind and message. Prints the
# time of each step. .ci/run runs it; the build is cached across runs on a
# machine (golangci/custom.sh), and is cold on a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s%N)
bin=$(golangci/custom.sh)
t1=$(date +%s%N)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
heisen=$tmp/heisen gcl=$tmp/golangci-lint.json hv=$tmp/heisen-vet.json
go build -o "$heisen" ./cmd/heisen
cd golangci/testdata/mod
# golangci-lint's results cache lives beside the binary, so that a binary
# with a changed analyzer (a new key) never reads what an old one stored.
export GOLANGCI_LINT_CACHE=$bin.cache
# Both exit 1 on findings.
"$bin" run --output.json.path=stdout --output.text.path=stderr ./... >"$gcl" 2>"$tmp/gcl.err" ||
  [ $? -eq 1 ] || { cat "$tmp/gcl.err" >&2; exit 1; }
t2=$(date +%s%N)
"$heisen" vet --json ./... >"$hv" || [ $? -eq 1 ]
python3 - "$gcl" "$hv" <<'PY'
import json, sys
gcl = json.loads(open(sys.argv[1]).readline())["Issues"] or []  # a summary follows the JSON line
hv = json.load(open(sys.argv[2]))
def finding(file, line, col, msg):
    msg = msg.removeprefix("filerace: ")
    return (file, line, col, msg.split(": ", 1)[0], msg)
a = sorted(finding(i["Pos"]["Filename"], i["Pos"]["Line"], i["Pos"]["Column"], i["Text"]) for i in gcl if i["FromLinter"] == "heisen")
b = sorted(finding(f["file"], f["line"], f["column"], f["message"]) for f in hv)
if any(f["message"].split(": ", 1)[0] != f["kind"] for f in hv):
    sys.exit("heisen vet --json: a message does not start with its kind")
for x in a: print("golangci-lint: %s:%d:%d: %s" % x[:4])
if a != b or not a:
    print("golangci-lint and heisen vet differ:")
    for x in sorted(set(a) - set(b)): print("  only golangci-lint:", x)
    for x in sorted(set(b) - set(a)): print("  only heisen vet:", x)
    sys.exit(1)
print("same %d findings as heisen vet (file, line, column, kind, message)" % len(a))
PY
echo "build (cached if unchanged): $(( (t1 - t0) / 1000000 )) ms; golangci-lint run: $(( (t2 - t1) / 1000000 )) ms"
