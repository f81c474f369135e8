#!/usr/bin/env bash
# bench/run.sh refuses what it cannot run before it starts anything (ctest bench_arguments):
# each bad setting exits 2 and names itself and the value.
set -uo pipefail
RUN="$(cd "$(dirname "$0")" && pwd)/run.sh"
fail() { echo "arguments_test: $*" >&2; exit 1; }
expect_refusal() { # expected-message command...
  local expected="$1"; shift
  local output status
  output="$("$@" 2>&1)"; status=$?
  [ "$status" = 2 ] || fail "$* exited $status, not 2: $output"
  grep -qF -- "$expected" <<<"$output" || fail "$* did not say \"$expected\": $output"
}
expect_refusal 'ROUNDS must be a whole number of turns per stream, not "two"' env ROUNDS=two "$RUN" --fast
expect_refusal 'ROUNDS must be a whole number of turns per stream, not "0"' env ROUNDS=0 "$RUN" --fast
expect_refusal 'RECONNECTS must be a whole number of reconnecting turns, not "many"' env RECONNECTS=many "$RUN" --fast
expect_refusal 'RECONNECT_NICE must be a nice value from -20 to 19, not "high"' env RECONNECT_NICE=high "$RUN" --fast
expect_refusal 'RECONNECT_NICE must be a nice value from -20 to 19, not "30"' env RECONNECT_NICE=30 "$RUN" --fast
expect_refusal 'STORES must be postgres or embedded, not "mysql"' env STORES=mysql "$RUN" --fast
expect_refusal 'RECONNECT_RATE must be a whole number of turns per second, not "fast"' env RECONNECT_RATE=fast "$RUN" --fast
expect_refusal 'RECONNECT_RATE must be a whole number of turns per second, not "0"' env RECONNECT_RATE=0 "$RUN" --fast
LOADGEN="${BUILD_DIR:-$(dirname "$RUN")/../build}/bin/mx_loadgen"
expect_refusal 'mx_loadgen: --rate must be turns per second above 0, not "0"' "$LOADGEN" --url http://127.0.0.1:1 --rate 0
expect_refusal 'mx_loadgen: --rate must be turns per second above 0, not "10/s"' "$LOADGEN" --url http://127.0.0.1:1 --rate 10/s
expect_refusal 'HARNESS_SCHED must be batch or normal, not "idle"' env HARNESS_SCHED=idle "$RUN" --fast
# Without CAP_SYS_NICE the reconnecting client runs among the load, and the script says so (the
# bad STORES then ends the run before anything starts).
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  expect_refusal 'no privilege to run the reconnecting client at nice -5 (CAP_SYS_NICE); it runs at' \
    setpriv --bounding-set -sys_nice --inh-caps -sys_nice env STORES=mysql "$RUN" --fast
fi
expect_refusal 'usage: bench/run.sh' "$RUN" --fastest
expect_refusal 'CALLGRIND and HEAPTRACK_DIR cannot both wrap the server' env CALLGRIND=1 HEAPTRACK_DIR=/tmp "$RUN" --fast
expect_refusal 'HEAPTRACK_DIR must be a writable directory, not "/nonexistent/traces"' env HEAPTRACK_DIR=/nonexistent/traces "$RUN" --paced
NO_HEAPTRACK="$(mktemp -d)"
NOT_A_PEER="$(mktemp -d)"
UNINSTALLED_PEER="$(mktemp -d)"
trap 'rm -rf "$NO_HEAPTRACK" "$NOT_A_PEER" "$UNINSTALLED_PEER"' EXIT
for tool in bash dirname readlink mktemp cat; do ln -s "$(command -v "$tool")" "$NO_HEAPTRACK/$tool"; done
expect_refusal 'HEAPTRACK_DIR needs heaptrack (apt-get install heaptrack)' env PATH="$NO_HEAPTRACK" HEAPTRACK_DIR=/tmp "$RUN" --paced
COMPARE="$(dirname "$RUN")/compare.sh"
printf '#!/bin/sh\nexit 1\n' >"$UNINSTALLED_PEER/measure.sh" && chmod +x "$UNINSTALLED_PEER/measure.sh"
expect_refusal 'PEER_DIR must name a copy of the peer' env -u PEER_DIR "$COMPARE"
expect_refusal "no executable measure.sh in PEER_DIR \"$NOT_A_PEER\"" env PEER_DIR="$NOT_A_PEER" "$COMPARE"
expect_refusal "PEER_DIR \"$UNINSTALLED_PEER\" has no node_modules: run npm install there first" env PEER_DIR="$UNINSTALLED_PEER" "$COMPARE"
mkdir "$UNINSTALLED_PEER/node_modules"
expect_refusal 'SETS must be a whole number above 0, not "0"' env PEER_DIR="$UNINSTALLED_PEER" SETS=0 "$COMPARE"
expect_refusal 'LEVELS must be concurrency levels above 0, not "1 fifty"' env PEER_DIR="$UNINSTALLED_PEER" LEVELS="1 fifty" "$COMPARE"
expect_refusal 'HARNESS_SCHED must be batch or normal, not "fifo"' env PEER_DIR="$UNINSTALLED_PEER" HARNESS_SCHED=fifo "$COMPARE"
expect_refusal 'STORES must be postgres or embedded, not "mysql"' env PEER_DIR="$UNINSTALLED_PEER" STORES=mysql "$COMPARE"
chmod 755 "$NOT_A_PEER"  # TMPDIR for the runs below: PostgreSQL's user must reach the bench's directory in it
expect_refusal 'bench/run.sh failed' env TMPDIR="$NOT_A_PEER" PEER_DIR="$UNINSTALLED_PEER" RECONNECTS=many "$COMPARE"
expect_refusal "the peer's measure.sh failed" env TMPDIR="$NOT_A_PEER" PEER_DIR="$UNINSTALLED_PEER" LEVELS=1 REPEAT=1 "$COMPARE"
echo "arguments_test: ok"
