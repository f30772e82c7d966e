#!/bin/bash
# The benchmark's tuned peer counts what logpipe counts (ctest label "tools", run by
# `grader/grader selfcheck`): on two generated logs with 2 % malformed lines, cut into chunks
# small enough that many lines straddle a chunk's end, its lines, records and malformed lines
# equal logpipe's report, with 1 and 2 parse workers.
#   Usage: logpipe_chunked_test.sh path/to/logpipe_chunked path/to/logpipe path/to/loggen
set -u
chunked=$1
logpipe=$2
loggen=$3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

"$loggen" "$dir/a.log" --lines 20000 --seed 3 --malformed 0.02 >/dev/null || fail "loggen a.log"
"$loggen" "$dir/b.log" --lines 7001 --seed 4 --malformed 0.02 >/dev/null || fail "loggen b.log"
timeout -k 5 60 "$logpipe" "$dir/a.log" "$dir/b.log" --quiet --out "$dir/report.json" ||
  fail "logpipe did not write its report"
# The three counts of logpipe's report, as the tuned peer prints them: "lines malformed records".
field() { grep -o "\"$1\": *[0-9]*" "$2" | head -n 1 | grep -o '[0-9]*$'; }
want="$(field lines "$dir/report.json") $(field malformed "$dir/report.json") $(field records "$dir/report.json")"
[ "$want" != "  " ] || fail "cannot read logpipe's report: $(head -c 300 "$dir/report.json")"

for workers in 1 2; do
  out=$(timeout -k 5 60 "$chunked" "$dir/a.log" "$dir/b.log" --workers "$workers" --chunk 4096 2>&1) ||
    fail "logpipe_chunked --workers $workers failed: $out"
  printf '%s\n' "$out" >"$dir/chunked.json"
  got="$(field lines "$dir/chunked.json") $(field malformed "$dir/chunked.json") $(field records "$dir/chunked.json")"
  [ "$got" = "$want" ] ||
    fail "--workers $workers: lines, malformed, records = $got; logpipe counted $want"
done
echo "ok: logpipe_chunked counts what logpipe counts ($want)"
