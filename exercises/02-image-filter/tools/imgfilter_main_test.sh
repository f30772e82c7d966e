#!/bin/bash
# The imgfilter command on bad input (ctest label "tools", run by `grader/grader selfcheck`):
#   a FIFO, a device and a file larger than any image are refused at once, each with an error that
#   names it; the output folder is not left behind when every input failed; -o "" is a usage
#   error. Usage: imgfilter_main_test.sh path/to/imgfilter
set -u
tool=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

mkfifo "$dir/pipe.png"
truncate -s 3G "$dir/big.png"  # sparse: nothing is written
# A FIFO with no writer once blocked open() for good, and SIGTERM went unheard: the timeout, with a
# SIGKILL after it, turns a hang into a failure.
out=$(timeout -k 5 60 "$tool" -q -f blur "$dir/pipe.png" /dev/zero "$dir/big.png" -o "$dir/out" 2>&1)
code=$?
[ "$code" -eq 1 ] || fail "three bad inputs: exit code $code, expected 1. Output: $out"
grep -q "pipe.png': it is not a regular file" <<<"$out" || fail "the FIFO's error: $out"
grep -q "/dev/zero': it is not a regular file" <<<"$out" || fail "/dev/zero's error: $out"
grep -q "big.png': it is 3072 MiB" <<<"$out" || fail "the 3 GiB file's error: $out"
[ ! -e "$dir/out" ] || fail "an empty output folder was left although every input failed"

out=$("$tool" -f blur "$dir/big.png" -o "" 2>&1)
code=$?
{ [ "$code" -ne 0 ] && [ "$code" -ne 1 ]; } || fail "-o '': exit code $code, expected a usage error"
grep -q "cannot be an empty name" <<<"$out" || fail "-o '': $out"
echo "imgfilter refuses a FIFO, a device, an oversized file and an empty -o, and leaves no folder"
