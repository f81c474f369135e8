#!/usr/bin/env bash
# The direct baseline's parts (ctest bench_replay): the bench mock records the
# calls it serves, mx_loadgen replays a recording against it, and a recording
# it cannot replay is refused with what is wrong and where.
set -euo pipefail
BIN="${BUILD_DIR:?BUILD_DIR is the build directory}/bin"
WORK="$(mktemp -d)"
MOCK_PID=""
cleanup() {
  [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "replay_test: $*" >&2; exit 1; }

mkfifo "$WORK/mock.in"
"$BIN/mx_mock_llm" --words 20 <"$WORK/mock.in" >"$WORK/mock.log" 2>&1 &
MOCK_PID=$!
exec 9>"$WORK/mock.in"
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/mock.log" && break; sleep 0.05; done
MOCK="http://127.0.0.1:$(awk '/listening on/ { print $3 }' "$WORK/mock.log")"

# Recording: the calls served between the two control requests, with their times.
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$MOCK/_bench/record")" = 204 ] || fail "POST /_bench/record did not answer 204"
TIER1='{"model":"claude-sonnet-4-5-20250929","max_tokens":1024,"stream":true,"tools":[{"name":"fetch-canon","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"Create an email campaign"}]}'
WRITER='{"model":"claude-haiku-4-5-20251001","max_tokens":1024,"stream":true,"messages":[{"role":"user","content":"Write the spring sale email."}]}'
curl -sf -o /dev/null -H 'Content-Type: application/json' -H 'x-api-key: bench' -d "$TIER1" "$MOCK/v1/messages"
curl -sf -o /dev/null -H 'Content-Type: application/json' -d '{"query":"spring sale"}' "$MOCK/search"
curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$WRITER" "$MOCK/v1/messages"
curl -sf "$MOCK/_bench/recording" >"$WORK/recording.json"
python3 - "$WORK/recording.json" <<'PY' || fail "the recording is not the three calls made"
import json, sys
calls = json.load(open(sys.argv[1]))["calls"]
assert [c["path"] for c in calls] == ["/v1/messages", "/search", "/v1/messages"], calls
assert all(0 <= c["startUs"] <= c["endUs"] for c in calls), calls
assert calls[0]["headers"]["x-api-key"] == "bench" and "tools" in json.loads(calls[0]["body"]), calls[0]
PY
curl -sf -o /dev/null -H 'Content-Type: application/json' -d "$WRITER" "$MOCK/v1/messages"
curl -sf "$MOCK/_bench/recording" >"$WORK/recording-again.json"
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["calls"]))' "$WORK/recording-again.json")" = 3 ] || fail "a call after the recording stopped was recorded"

# Replay: every turn makes the three calls; the first delta is the writer's (the call without tools).
RESULT="$("$BIN/mx_loadgen" --url "$MOCK" --direct 1 --script "$WORK/recording.json" --concurrency 4 --turns 20)" || fail "replay failed: $RESULT"
python3 - "$RESULT" <<'PY' || fail "replay result: $RESULT"
import json, sys
r = json.loads(sys.argv[1])
assert r["errors"] == 0 and r["turns"] == 20, r
assert 0 < r["firstEventMs"]["p50"] <= r["firstDeltaMs"]["p50"] <= r["totalMs"]["p50"], r
assert r["eventsPerTurn"] > 20, r  # the Tier 1 answer's and the writer's events
PY

# Refusals, each with exit status 2 and what is wrong.
expect_refusal() { # pattern args...
  local pattern="$1"; shift
  local output status=0
  output="$("$BIN/mx_loadgen" "$@" 2>&1)" || status=$?
  [ "$status" = 2 ] || fail "mx_loadgen $* exited $status, not 2: $output"
  grep -q -- "$pattern" <<<"$output" || fail "mx_loadgen $* said '$output', not '$pattern'"
}
expect_refusal "needs --direct 1" --url "$MOCK" --script "$WORK/recording.json"
expect_refusal "recording-missing.json: cannot open it" --url "$MOCK" --direct 1 --script "$WORK/recording-missing.json"
echo '{"calls": []}' >"$WORK/empty.json"
expect_refusal "empty.json: not a recording with calls" --url "$MOCK" --direct 1 --script "$WORK/empty.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["calls"][1]["endUs"]=-1; json.dump(r, open(sys.argv[2], "w"))' "$WORK/recording.json" "$WORK/unanswered.json"
expect_refusal "call /search has no complete answer" --url "$MOCK" --direct 1 --script "$WORK/unanswered.json"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["calls"]=r["calls"][:2]; json.dump(r, open(sys.argv[2], "w"))' "$WORK/recording.json" "$WORK/nowriter.json"
expect_refusal "no model call without tools" --url "$MOCK" --direct 1 --script "$WORK/nowriter.json"
echo "replay_test: passed"
