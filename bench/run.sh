#!/usr/bin/env bash
# The benchmark (issue 7): the server on config/production.toml (agent graph,
# Anthropic provider, OpenAI embeddings, Tavily, Redis, PostgreSQL, API keys)
# against bench's paced mock model, at several concurrency levels and two
# pacing profiles; the baseline is one turn's calls to the mock (recorded by
# the mock as the server made them) replayed straight against it. Prints one
# table row per run: latency percentiles, turns/s, events/s, the server's CPU
# ms per turn and its peak RSS; then where the machine's CPU went and the
# server's added latency over the replay.
#   bench/run.sh            both profiles at C = 1, 50, 200, 500 (about 10 minutes)
#   bench/run.sh --fast | --paced   one profile
#   bench/run.sh --graph    the graph runtime alone (mx_graph_bench): N runs at
#                           once, no HTTP, paced mock; threads, memory and CPU per run
#   bench/run.sh --knowledge  knowledge-search over 100,000 chunks on the embedded store
#   bench/run.sh --smoke    one small run of each, checks the harness works (ctest)
#   LEVELS="500 2000" bench/run.sh --paced   other concurrency levels
#   MX_CHECKPOINT_DURABILITY=sync bench/run.sh --fast   production with another durability (default exit)
#   STORE_RTT_MS=2 bench/run.sh --fast   PostgreSQL and Redis 2 ms further away (a managed database)
#   MX_BLOCKING_THREADS=0 bench/run.sh --fast   store calls and blocking tools on the graph workers
#                           (default: 2 with the store on this machine, 16 with STORE_RTT_MS)
#   ROUNDS=12 bench/run.sh --fast   max(12·C, fewest) turns a level instead of max(2·C, fewest), as the
#                           peer's `ROUNDS=12 ./measure.sh`: with two rounds a C = 500 level lasts under a
#                           second here, and its start and end (fewer streams than cores can keep busy)
#                           are a tenth of it; the peer's levels last 15 s either way
#   LEVEL_TURNS=4000 bench/run.sh --fast   that many turns at every level (A/B comparisons of a few per cent)
#   CALLGRIND=1 LEVELS=20 LEVEL_TURNS=200 bench/run.sh --fast   the server under valgrind's callgrind,
#                           counting only during the measured turns: instructions per turn in user
#                           space, the same from run to run (for A/B of changes worth a few per cent);
#                           CALLGRIND_DIR=/some/dir keeps the counts for callgrind_annotate
#   HEAPTRACK_DIR=/some/dir LEVELS=1000 bench/run.sh --paced   the server's allocations recorded by
#                           heaptrack (Debian's heaptrack), one file per server in that directory, and
#                           its peak heap per stream printed; the server built with -DMX_JEMALLOC=OFF
#                           (BUILD_DIR=...): jemalloc's own operator new is invisible to heaptrack
#   STORES=embedded bench/run.sh --fast   the same server with the single-node stores instead of PostgreSQL
#                           and Redis: SQLite in the data directory and the in-process cache (the peer
#                           keeps its conversations in memory; its README asks for the server measured
#                           without the store, or both with one)
#   RECONNECTS=500 bench/run.sh --fast   reconnecting turns measured at the largest level instead of the
#                           profile's (200 fast, 50 paced; a p99 of 50 is about their largest)
#   RECONNECT_RATE=400 bench/run.sh --fast   the load beside the reconnecting client at most 400 turns/s
#                           (mx_loadgen --rate) instead of as many as its streams can run: the
#                           reconnect's latency at the same load for two builds, not each at its own
#                           saturation of the cores
#   HARNESS_SCHED=normal bench/run.sh --fast   the mock and the load generator as ordinary processes
#                           instead of under SCHED_BATCH (below)
#   REPEAT=3 bench/run.sh --fast   each level three times (a fresh server each), then a row of
#                           the medians of every column (absolute figures drift between runs)
set -eEuo pipefail
# A command that fails without a word of its own still says where (errexit would end the run silently).
trap 'echo "bench: line $LINENO: \"$BASH_COMMAND\" failed with status $?" >&2' ERR
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD_DIR:-$ROOT/build}"
BIN="$BUILD/bin"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# Each live stream holds three of the server's descriptors (the client's socket, the duplicate its
# frames are written through, its model connection): say so when a level cannot fit at once.
FD_LIMIT="$(ulimit -n)"
if [ "$FD_LIMIT" != unlimited ] && [ "$FD_LIMIT" -lt 65536 ]; then
  echo "bench: file descriptors per process are limited to $FD_LIMIT here (hard limit; 65536 asked): the server admits $(( (FD_LIMIT - (FD_LIMIT / 10 > 256 ? FD_LIMIT / 10 : 256)) / 3 )) turns at once and answers more with 503, which the load generator sends again after Retry-After" >&2
fi

# profile: name, ms before the first event, ms between events, draft words,
# fewest turns per level (a level runs max(ROUNDS·C, that) turns, as the peer's harness),
# reconnecting turns at its largest level (200 fast, ~20 s; 50 paced, each about a paced turn).
PROFILES=("fast 0 0 200 1000 200" "paced 300 20 200 6 50")
read -r -a LEVELS <<<"${LEVELS:-1 50 200 500}"  # concurrency levels (LEVELS="500 2000" to change them)
# graph runtime alone: ms before the first event, ms between events, draft words, run counts
GRAPH_PROFILE="300 20 50"
GRAPH_RUNS=(1 100 1000 2000 4000)
KNOWLEDGE="100000 1000"   # chunks, queries
RECONNECTS="${RECONNECTS:-}"  # set: reconnecting turns at each profile's largest level, under its load, instead of the profile's
# The reconnecting client stands for a browser on another machine: it runs ahead of the load (nice
# -5, as the server's HTTP threads) so that its own wait for a core on the two saturated ones is not
# counted as the server's; RECONNECT_NICE=0 measures it as one more process among the load.
RECONNECT_NICE="${RECONNECT_NICE:--5}"
RECONNECT_RATE="${RECONNECT_RATE:-}"  # set: turns/s of the load beside the reconnects, at most
# The mock and the load generator stand for the model API and the browsers, on other machines in a
# deployment. Here they share the two cores with the server: under SCHED_BATCH (the server's own
# policy, production.toml) a wake-up of theirs does not preempt a server thread mid-step, as it
# would not from another machine. HARNESS_SCHED=normal runs them as ordinary processes.
HARNESS_SCHED="${HARNESS_SCHED:-batch}"
REPEAT="${REPEAT:-1}"     # runs per level; with more than one, a median row follows
ROUNDS="${ROUNDS:-2}"     # turns per stream at a level (the peer's --rounds), unless the profile's fewest are more
STORES="${STORES:-postgres}"  # postgres: PostgreSQL and Redis, as production.toml; embedded: SQLite and the in-process cache
CALLGRIND="${CALLGRIND:-}"  # set: the server runs under callgrind (about 50 times slower)
WAIT_TRIES=$([ -n "$CALLGRIND" ] && echo 2000 || echo 200)
if [ -n "$CALLGRIND" ] && [ -n "${HEAPTRACK_DIR:-}" ]; then
  echo "bench: CALLGRIND and HEAPTRACK_DIR cannot both wrap the server" >&2
  exit 2
fi
if [ -n "$CALLGRIND" ] && ! command -v callgrind_control >/dev/null; then
  echo "bench: CALLGRIND=1 needs valgrind (apt-get install valgrind)" >&2
  exit 2
fi
HEAPTRACK_DIR="${HEAPTRACK_DIR:-}"  # set: the server's allocations are recorded there
HEAPTRACK_LIB=""
if [ -n "$HEAPTRACK_DIR" ]; then
  if [ ! -d "$HEAPTRACK_DIR" ] || [ ! -w "$HEAPTRACK_DIR" ]; then
    echo "bench: HEAPTRACK_DIR must be a writable directory, not \"$HEAPTRACK_DIR\"" >&2
    exit 2
  fi
  HEAPTRACK_BIN="$(command -v heaptrack || true)"
  HEAPTRACK_LIB="$(dirname "$(readlink -f "${HEAPTRACK_BIN:-/nonexistent}")")/../lib/heaptrack"
  if [ -z "$HEAPTRACK_BIN" ] || [ ! -f "$HEAPTRACK_LIB/libheaptrack_preload.so" ] || [ ! -x "$HEAPTRACK_LIB/libexec/heaptrack_interpret" ]; then
    echo "bench: HEAPTRACK_DIR needs heaptrack (apt-get install heaptrack)" >&2
    exit 2
  fi
  if ldd "$BIN/marketerx" 2>/dev/null | grep -q libjemalloc; then
    echo "bench: $BIN/marketerx links jemalloc, whose operator new heaptrack does not see: build with -DMX_JEMALLOC=OFF into another directory and pass BUILD_DIR" >&2
  fi
fi
case "$ROUNDS" in ''|*[!0-9]*|0) echo "bench: ROUNDS must be a whole number of turns per stream, not \"$ROUNDS\"" >&2; exit 2 ;; esac
case "$RECONNECTS" in '') ;; *[!0-9]*|0) echo "bench: RECONNECTS must be a whole number of reconnecting turns, not \"$RECONNECTS\"" >&2; exit 2 ;; esac
case "$RECONNECT_RATE" in '') ;; *[!0-9]*|0) echo "bench: RECONNECT_RATE must be a whole number of turns per second, not \"$RECONNECT_RATE\"" >&2; exit 2 ;; esac
if ! [[ "$RECONNECT_NICE" =~ ^-?[0-9]+$ ]] || [ "$RECONNECT_NICE" -lt -20 ] || [ "$RECONNECT_NICE" -gt 19 ]; then
  echo "bench: RECONNECT_NICE must be a nice value from -20 to 19, not \"$RECONNECT_NICE\"" >&2
  exit 2
fi
RECONNECT_RUN=(nice -n "$RECONNECT_NICE")
if [ -n "$(nice -n "$RECONNECT_NICE" true 2>&1)" ]; then  # nice says so when it may not lower the value
  echo "bench: no privilege to run the reconnecting client at nice $RECONNECT_NICE (CAP_SYS_NICE); it runs at $(nice), among the load" >&2
  RECONNECT_RUN=()
fi
RECONNECT_NICE_GOT="$("${RECONNECT_RUN[@]}" nice)"
case "$STORES" in postgres|embedded) ;; *) echo "bench: STORES must be postgres or embedded, not \"$STORES\"" >&2; exit 2 ;; esac
case "$HARNESS_SCHED" in
  batch) HARNESS=(chrt --batch 0); HARNESS_SAYS="under SCHED_BATCH, as the server (HARNESS_SCHED=normal: as ordinary processes)" ;;
  normal) HARNESS=(); HARNESS_SAYS="as ordinary processes (HARNESS_SCHED=normal)" ;;
  *) echo "bench: HARNESS_SCHED must be batch or normal, not \"$HARNESS_SCHED\"" >&2; exit 2 ;;
esac
FAILED=0                  # a run with errors still prints its row; the script goes on and exits 1 at the end
case "${1:-}" in
  --smoke) PROFILES=("fast 0 0 40 20 5"); LEVELS=(4); GRAPH_PROFILE="0 0 40"; GRAPH_RUNS=(8); KNOWLEDGE="2000 50"
           RECONNECT_RATE="${RECONNECT_RATE:-40}" ;;  # the paced load (mx_loadgen --rate) does not rot either
  --fast) PROFILES=("${PROFILES[0]}"); GRAPH_RUNS=(); KNOWLEDGE="" ;;
  --paced) PROFILES=("${PROFILES[1]}"); GRAPH_RUNS=(); KNOWLEDGE="" ;;
  --graph) PROFILES=(); KNOWLEDGE="" ;;
  --knowledge) PROFILES=(); GRAPH_RUNS=() ;;
  "") ;;
  *) echo "usage: bench/run.sh [--smoke|--fast|--paced|--graph|--knowledge]" >&2; exit 2 ;;
esac
LOAD_RATE=()
[ -n "$RECONNECT_RATE" ] && LOAD_RATE=(--rate "$RECONNECT_RATE")

WORK="$(mktemp -d)"
PIDS=()
POSTGRES_PID=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$POSTGRES_PID" ] && kill -INT "$POSTGRES_PID" 2>/dev/null
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start_mock() { # name first-token-ms between-ms words; sets MOCK and keeps the mock's stdin open on fd 9
  mkfifo "$WORK/mock.in.$1"
  "${HARNESS[@]}" "$BIN/mx_mock_llm" --first-token-ms "$2" --between-ms "$3" --words "$4" <"$WORK/mock.in.$1" >"$WORK/mock.$1.log" 2>&1 &
  PIDS+=($!)
  exec 9>"$WORK/mock.in.$1"
  wait_for_line "$WORK/mock.$1.log" "listening on"
  MOCK="http://127.0.0.1:$(awk '/listening on/ { print $3 }' "$WORK/mock.$1.log")"
}
production_env() { # data-dir key-prefix database: the environment config/production.toml reads
  echo DATABASE_URL="postgresql://mx@127.0.0.1:${STORE_PG_PORT}/$3" MX_VECTOR_SEARCH=exact MX_CHAT_GRAPH=agent \
    MX_PLUGIN_DIR="$BUILD/lib/marketerx/plugins" MX_DATA_DIR="$1" MX_LOG_LEVEL=warn MX_HTTP_THREADS=2 \
    ANTHROPIC_API_KEY=bench ANTHROPIC_BASE_URL="$MOCK" OPENAI_API_KEY=bench OPENAI_BASE_URL="$MOCK/v1" \
    TAVILY_API_KEY=bench TAVILY_BASE_URL="$MOCK" REDIS_PORT="$STORE_REDIS_PORT" REDIS_KEY_PREFIX="$2" \
    MX_API_KEY_SHA256="$KEY_SHA" MX_API_USER=bench MX_WORKERS="${MX_WORKERS:-0}" MX_BLOCKING_THREADS="${MX_BLOCKING_THREADS:-$BLOCKING_THREADS}" MX_CHECKPOINT_DURABILITY="${MX_CHECKPOINT_DURABILITY:-exit}"
}
runs_done() { # the server's finished runs so far (mx_runs_total, every status)
  curl -s "$URL/metrics" | awk '/^mx_runs_total/ { n += $2 } END { printf "%d", n }'
}
server_problems() { # log: the server's most frequent warnings and errors, ids and numbers folded
  python3 - "$1" <<'PY'
import collections, json, re, sys
counts = collections.Counter()
for line in open(sys.argv[1], errors="replace"):
    line = line.strip()
    try:
        entry = json.loads(line)
        level, text = entry.get("level", ""), "[%s] %s" % (entry.get("source", ""), entry.get("message", ""))
    except ValueError:
        parts = line.split(" ", 2)
        level, text = (parts[1], parts[2]) if len(parts) == 3 else ("", line)
    if level in ("WARN", "ERROR"):
        counts[level + " " + re.sub(r"\b(run|conv|msg|art|toolu)_[0-9a-zA-Z]+|\d+(\.\d+)?", "#", text)[:240]] += 1
for text, n in counts.most_common(5):
    print("  %7dx %s" % (n, text))
PY
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for_line() { # file pattern
  for _ in $(seq 1 "$WAIT_TRIES"); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "bench: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}
wait_for_health() { # url log: the server answers /healthz (the URL is right and it accepts)
  for _ in $(seq 1 "$WAIT_TRIES"); do curl -sf -o /dev/null "$1/healthz" && return 0; sleep 0.05; done
  echo "bench: $1/healthz does not answer" >&2; tail -20 "$2" >&2; return 1
}
cpu_ms() { awk '{ printf "%d", ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"' }' "/proc/$1/stat"; }
# The whole machine's busy CPU ms so far (/proc/stat: all but idle and iowait). Read after
# cpu_split before a run and before it after one, so that python's start-up stays outside.
machine_ms() { awk -v tick="$(getconf CLK_TCK)" '/^cpu / { printf "%d", ($2 + $3 + $4 + $7 + $8 + $9) * 1000 / tick; exit }' /proc/stat; }
# The server's threads reported apart, "name:label" by the name their pool or loop gives them
# (docs/architecture.md); read by cpu_split and by the rows' printing.
export MX_BENCH_THREAD_GROUPS="mx-client:HTTP client I/O,mx-graph:graph workers,mx-blocking:blocking pool,mx-http:HTTP reactors"
# CPU ms so far of the processes sharing the two cores (server, mock, PostgreSQL with its exited
# backends, Redis), and of the server's threads in those groups, as JSON.
cpu_split() {
  python3 - "$SERVER" "$POSTGRES_PID" <<'PY'
import json, os, re, sys
server, postmaster = sys.argv[1:3]
SERVER_THREAD_GROUPS = [group.split(":")[0] for group in os.environ["MX_BENCH_THREAD_GROUPS"].split(",")]
tick = os.sysconf("SC_CLK_TCK")
def ms(pid, children=False):
    try:
        f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return (int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)) * 1000 / tick
groups = {"server": 0, "mock": 0, "postgres": 0, "redis": 0}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        comm = open("/proc/%s/comm" % pid).read().strip()
    except OSError:
        continue
    group = {"mx_mock_llm": "mock", "postgres": "postgres", "redis-server": "redis"}.get(comm)
    if pid == server:
        group = "server"
    if group:
        groups[group] += ms(pid, children=(pid == postmaster))
for pool in SERVER_THREAD_GROUPS:
    groups["thread " + pool] = 0
try:
    tasks = os.listdir("/proc/%s/task" % server)
except OSError:
    tasks = []
for task in tasks:
    try:
        pool = re.sub(r"-[0-9]+$", "", open("/proc/%s/task/%s/comm" % (server, task)).read().strip())
    except OSError:
        continue
    if pool in SERVER_THREAD_GROUPS:
        groups["thread " + pool] += ms("%s/task/%s" % (server, task))
print(json.dumps(groups))
PY
}
peak_kb() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$1/status"; }

REDIS_PORT="$(free_port)"
/usr/bin/redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --maxclients 20000 >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
# PostgreSQL 15 from Debian, in the work directory (as the postgres user when
# run as root: PostgreSQL refuses root). No pgvector in Debian 12: the store runs
# with vector_search = "exact". Commits do not wait for the WAL flush, as
# SQLite's synchronous=NORMAL; fsync stays on.
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
chmod 755 "$WORK"
mkdir -p "$WORK/pg"
AS_POSTGRES=()
if [ "$(id -u)" = 0 ]; then AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --clear-groups --); chown postgres "$WORK/pg"; fi
"${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U mx --auth=trust -E UTF8 --no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log" >&2; exit 1; }
PG_PORT="$(free_port)"
# setpriv execs postgres: $! is the postmaster, stopped with SIGINT (fast shutdown) on exit.
"${AS_POSTGRES[@]}" "$PG_BIN/postgres" -D "$WORK/pg/data" -k "$WORK/pg" -p "$PG_PORT" -h 127.0.0.1 -c synchronous_commit=off \
  -c max_connections=200 >"$WORK/postgres.log" 2>&1 &
POSTGRES_PID=$!
for _ in $(seq 1 100); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
new_database() { "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U mx "$1"; }
# STORE_RTT_MS=2: the server reaches PostgreSQL and Redis through mx_latency_proxy, every round trip
# that much longer, as to a managed database in another data centre (Supabase, a hosted Redis).
STORE_PG_PORT="$PG_PORT"
STORE_REDIS_PORT="$REDIS_PORT"
if [ -n "${STORE_RTT_MS:-}" ]; then
  mkfifo "$WORK/proxy.in.pg" "$WORK/proxy.in.redis"
  "$BIN/mx_latency_proxy" --target-port "$PG_PORT" --rtt-ms "$STORE_RTT_MS" <"$WORK/proxy.in.pg" >"$WORK/proxy.pg.log" 2>&1 &
  PIDS+=($!)
  exec 7>"$WORK/proxy.in.pg"
  "$BIN/mx_latency_proxy" --target-port "$REDIS_PORT" --rtt-ms "$STORE_RTT_MS" <"$WORK/proxy.in.redis" >"$WORK/proxy.redis.log" 2>&1 &
  PIDS+=($!)
  exec 8>"$WORK/proxy.in.redis"
  wait_for_line "$WORK/proxy.pg.log" "listening on"
  wait_for_line "$WORK/proxy.redis.log" "listening on"
  STORE_PG_PORT="$(awk '/listening on/ { print $3 }' "$WORK/proxy.pg.log")"
  STORE_REDIS_PORT="$(awk '/listening on/ { print $3 }' "$WORK/proxy.redis.log")"
  echo "PostgreSQL and Redis at +$STORE_RTT_MS ms per round trip (mx_latency_proxy)"
fi
# Threads for blocking work (MX_BLOCKING_THREADS): production's 16 for a store a round trip away; two
# (the cores) for the store on this machine, where a round trip is tens of microseconds and more
# threads only queue for the same cores (at fast C = 500, 16 gave a reconnect p99 of 12-13 ms
# against 6-7 with two, and fewer turns/s).
BLOCKING_THREADS=$([ -n "${STORE_RTT_MS:-}" ] && echo 16 || echo 2)

# The server's configuration: production.toml, or (STORES=embedded) a copy of it with the
# single-node store and cache in place of PostgreSQL and Redis; its relative paths made absolute,
# since a configuration's paths are read from its own directory.
SERVER_CONFIG="$ROOT/config/production.toml"
if [ "$STORES" = embedded ]; then
  SERVER_CONFIG="$WORK/production-embedded.toml"
  python3 - "$ROOT/config/production.toml" "$SERVER_CONFIG" <<'PY'
import os, re, sys
source, target = sys.argv[1:3]
text = open(source).read()
text = text.replace('name = "cache_redis"', 'name = "cache_memory"').replace('name = "store_postgres"', 'name = "store_sqlite"')
replaced = {
    "[caches.main]": '[caches.main]\nfactory = "memory"\nmax_bytes = 268435456\n\n',
    "[stores.main]": '[stores.main]\nfactory = "sqlite"\npath = "marketerx.db"\nembedding_dimensions = 1536\n\n',
}
sections = re.split(r"(?m)^(?=\[)", text)
text = "".join(replaced.get(section.split("\n", 1)[0].strip(), section) for section in sections)
if text.count('factory = "memory"') != 1 or text.count('factory = "sqlite"') != 1:
    sys.exit("bench: production.toml has no [caches.main] or [stores.main] to replace")
directory = os.path.dirname(os.path.abspath(source))
text = re.sub(r'(?m)^(\s*(?:directory|prompt_file|file)\s*=\s*")([^"/$][^"]*)"',
              lambda m: m.group(1) + os.path.normpath(os.path.join(directory, m.group(2))) + '"', text)
open(target, "w").write(text)
PY
  echo "stores: SQLite in each server's data directory and the in-process cache (STORES=embedded); PostgreSQL and Redis idle"
fi

KEY="bench-key"
KEY_SHA="$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)"

if ((${#PROFILES[@]})); then
  echo "the mock and the load generator $HARNESS_SAYS"
  printf "%-6s %5s %6s | %-22s | %-22s | %-22s | %8s %9s | %7s %7s %8s | %6s %6s | %s\n" \
    profile C turns "first event p50/90/99" "first delta p50/90/99" "total p50/90/99" turns/s events/s cpu/turn direct+ peakRSS ovh/run rtcpu errors
  for profile in "${PROFILES[@]}"; do
    read -r NAME FIRST BETWEEN WORDS MIN_TURNS PROFILE_RECONNECTS <<<"$profile"
    start_mock "$NAME" "$FIRST" "$BETWEEN" "$WORDS"
    for C in "${LEVELS[@]}"; do
     TURNS=${LEVEL_TURNS:-$(( ROUNDS * C > MIN_TURNS ? ROUNDS * C : MIN_TURNS ))}
     ROWS="$WORK/rows.$NAME.$C.jsonl"; : >"$ROWS"
     for RUN in $(seq 1 "$REPEAT"); do
      DATA="$WORK/data.$NAME.$C.$RUN"; mkdir -p "$DATA"
      new_database "bench_${NAME}_${C}_$RUN"
      # A log of its own per server: the background start truncates a shared one only when the
      # child runs, and a look before that found the last server's address in it.
      SERVER_LOG="$WORK/server.$NAME.$C.$RUN.log"
      WRAPPER=()
      [ -n "$HEAPTRACK_DIR" ] && WRAPPER=(env LD_PRELOAD="$HEAPTRACK_LIB/libheaptrack_preload.so" DUMP_HEAPTRACK_OUTPUT="$WORK/heaptrack.$NAME.$C.$RUN.raw")
      [ -n "$CALLGRIND" ] && WRAPPER=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.$NAME.$C.$RUN")
      env $(production_env "$DATA" "bench$NAME$C.$RUN:" "bench_${NAME}_${C}_$RUN") "${WRAPPER[@]}" "$BIN/marketerx" serve --config "$SERVER_CONFIG" --host 127.0.0.1 --port 0 >"$SERVER_LOG" 2>&1 &
      SERVER=$!
      PIDS+=($SERVER)
      wait_for_line "$SERVER_LOG" "listening on http://[0-9.]*:[0-9][0-9]*"  # the whole address: the line may still be being written
      URL="$(grep -o 'listening on http://[0-9.:]*' "$SERVER_LOG" | head -1 | cut -d' ' -f3)"
      wait_for_health "$URL" "$SERVER_LOG"
      for TRY in 1 2 3; do  # warm the canon cache; a failure is reported and retried once a second
        WARM="$("${HARNESS[@]}" "$BIN/mx_loadgen" --url "$URL" --api-key "$KEY" --concurrency 1 --turns 2)" && break
        echo "bench: warm-up $TRY at $URL failed: $WARM ($(ss -tan state time-wait | wc -l) sockets in TIME-WAIT)" >&2
        tail -5 "$SERVER_LOG" >&2
        [ "$TRY" = 3 ] && FAILED=1
        sleep 1
      done
      # The direct baseline: one turn through the server, recorded by the mock (once per profile: a
      # turn's calls do not depend on the concurrency), then replayed straight against the mock at the
      # same concurrency (the same model, embedding and search calls, in their order, overlapping as
      # they did).
      RECORDING="$WORK/recording.$NAME.json"
      if [ ! -s "$RECORDING" ]; then
        curl -sf -X POST "$MOCK/_bench/record" >/dev/null
        "${HARNESS[@]}" "$BIN/mx_loadgen" --url "$URL" --api-key "$KEY" --concurrency 1 --turns 1 >/dev/null || FAILED=1
        curl -sf "$MOCK/_bench/recording" >"$RECORDING"
      fi
      DIRECT="$("${HARNESS[@]}" "$BIN/mx_loadgen" --url "$MOCK" --direct 1 --script "$RECORDING" --concurrency "$C" --turns "$TURNS")" || true
      [ -n "$CALLGRIND" ] && callgrind_control -i on "$SERVER" >/dev/null 2>&1
      RSS_BEFORE="$(rss_kb "$SERVER")"  # warmed up, before the level: what its streams add is the peak less this
      SPLIT_BEFORE="$(cpu_split)"
      MACHINE_BEFORE="$(machine_ms)"
      BEFORE="$(cpu_ms "$SERVER")"
      RESULT="$("${HARNESS[@]}" "$BIN/mx_loadgen" --url "$URL" --api-key "$KEY" --concurrency "$C" --turns "$TURNS")" || true
      if ! kill -0 "$SERVER" 2>/dev/null; then
        echo "bench: the server exited during the run" >&2; tail -20 "$SERVER_LOG" >&2; exit 1
      fi
      AFTER="$(cpu_ms "$SERVER")"
      MACHINE_AFTER="$(machine_ms)"
      SPLIT_AFTER="$(cpu_split)"
      [ -n "$CALLGRIND" ] && callgrind_control -i off "$SERVER" >/dev/null 2>&1
      PEAK="$(peak_kb "$SERVER")"
      curl -s "$URL/metrics" >"$WORK/metrics.txt" || true
      if [ "$C" = "${LEVELS[-1]}" ] && [ "$RUN" = "$REPEAT" ] && [ -z "$CALLGRIND" ]; then
        # Reconnects under load: the same concurrency of streams runs again meanwhile, until the
        # last reconnect (a fixed number of turns would end before the reconnects at fast pacing);
        # no more than the server admits at once, less a few places for the reconnecting client's
        # turns (else they would queue behind thousands of refused ones, one retry a second).
        LIMIT="$(awk '/^mx_runs_limit / { print int($2) }' "$WORK/metrics.txt")"
        LOAD_C="$C"
        if [ "${LIMIT:-0}" -gt 0 ] && [ "$LOAD_C" -gt $(( LIMIT - 8 )) ]; then LOAD_C=$(( LIMIT - 8 )); fi
        "${HARNESS[@]}" "$BIN/mx_loadgen" --url "$URL" --api-key "$KEY" --concurrency "$LOAD_C" --turns 100000000 "${LOAD_RATE[@]}" >/dev/null 2>&1 &
        LOAD=$!
        sleep 0.5
        RUNS_BEFORE="$(runs_done)"; LOAD_STARTED="$(date +%s.%N)"
        "${RECONNECT_RUN[@]}" "$BIN/mx_reconnect_bench" --url "$URL" --api-key "$KEY" --turns "${RECONNECTS:-$PROFILE_RECONNECTS}" --drop-after 8 >"$WORK/reconnect.$NAME.json" || true
        # Turns/s finished meanwhile (the server's count of runs), the reconnecting client's among them.
        python3 -c "import sys; s = float(sys.argv[4]) - float(sys.argv[3]); print('%.0f turns/s finished meanwhile, %.0f of them the reconnecting client\'s' % ((int(sys.argv[2]) - int(sys.argv[1])) / s, int(sys.argv[5]) / s))" \
          "$RUNS_BEFORE" "$(runs_done)" "$LOAD_STARTED" "$(date +%s.%N)" "${RECONNECTS:-$PROFILE_RECONNECTS}" >"$WORK/reconnect-load.$NAME" || true
        kill "$LOAD" 2>/dev/null || true
        wait "$LOAD" 2>/dev/null || true
      fi
      kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
      if [ -n "$CALLGRIND" ]; then  # valgrind writes its counts as the server exits
        IR="$(awk '/^totals:/ { total += $2 } END { printf "%d", total }' "$WORK/callgrind.$NAME.$C.$RUN"*)"
        echo "  callgrind $NAME C=$C: $(( IR / TURNS )) instructions per turn in user space ($IR over $TURNS turns)"
        if [ -n "${CALLGRIND_DIR:-}" ]; then cp "$WORK/callgrind.$NAME.$C.$RUN"* "$CALLGRIND_DIR/"; fi  # for callgrind_annotate
      fi
      if [ -n "$HEAPTRACK_DIR" ]; then  # the preload wrote its trace as the server ran
        TRACE="$HEAPTRACK_DIR/heaptrack.$NAME.$C.$RUN.gz"
        "$HEAPTRACK_LIB/libexec/heaptrack_interpret" <"$WORK/heaptrack.$NAME.$C.$RUN.raw" 2>/dev/null | gzip >"$TRACE"
        rm -f "$WORK/heaptrack.$NAME.$C.$RUN.raw"
        HEAP_PEAK="$(heaptrack_print -f "$TRACE" --print-peaks 0 --print-allocators 0 --print-temporary 0 --print-leaks 0 2>/dev/null |
          awk '/^peak heap memory consumption:/ { print $NF }')"
        echo "  heaptrack $NAME C=$C: peak heap $HEAP_PEAK ($TRACE; heaptrack_print -f $TRACE --print-peaks 1)"
      fi
      if ! python3 -c 'import json, sys; sys.exit(1 if json.loads(sys.argv[1])["errors"] else 0)' "$RESULT" 2>/dev/null; then
        echo "bench: errors in this run; the server's most frequent warnings and errors:" >&2
        server_problems "$SERVER_LOG" >&2
      fi
      python3 - "$NAME$( [ "$REPEAT" -gt 1 ] && echo "#$RUN")" "$C" "$TURNS" "$BEFORE" "$AFTER" "$PEAK" "$RESULT" "$DIRECT" "$WORK/metrics.txt" "$ROWS" "$SPLIT_BEFORE" "$SPLIT_AFTER" "$MACHINE_BEFORE" "$MACHINE_AFTER" "$RSS_BEFORE" <<'PY' || FAILED=1
import json, os, sys
name, c, turns, before, after, peak = sys.argv[1:7]
def split_line(split):
    rest = split["machine"] - sum(split[k] for k in ("server", "mock", "postgres", "redis", "loadgen"))
    return "%21s CPU ms per turn by process: server %.2f, mock %.2f, PostgreSQL %.2f, Redis %.2f, load generator %.2f, the rest %.2f; machine %.2f\n%s" % (
        "", split["server"], split["mock"], split["postgres"], split["redis"], split["loadgen"], rest, split["machine"], threads_line(split))
def threads_line(split):
    named = [group.split(":")[::-1] for group in os.environ["MX_BENCH_THREAD_GROUPS"].split(",")]
    rest = split["server"] - sum(split.get("thread " + pool, 0) for _, pool in named)
    return "%21s the server's CPU ms per turn by thread: %s, the rest %.2f" % (
        "", ", ".join("%s %.2f" % (label, split.get("thread " + pool, 0)) for label, pool in named), rest)
def memory_line(row):
    return "%21s memory: peak RSS %.0f MB, %.0f MB before the level: %.1f KB per live stream (%d at once)%s" % (
        "", row["peakMb"], row["rssBeforeMb"], row["kbPerStream"], row["liveStreams"],
        "; at this few, what any level adds once (pools, caches) outweighs the streams" if row["liveStreams"] < 500 else "")
def added_line(row, d):
    return "%21s over the direct replay of the turn's calls (first delta p50/p99 %.1f/%.1f ms, total p50 %.1f ms): first delta +%.2f ms p50, +%.2f ms p99; total +%.2f ms p50" % (
        "", d["firstDeltaMs"]["p50"], d["firstDeltaMs"]["p99"], d["totalMs"]["p50"], row["addedP50"], row["added"], row["addedTotalP50"])
r, d = json.loads(sys.argv[7]), json.loads(sys.argv[8])
# The server's own account (GET /metrics): mean overhead and runtime CPU per run.
samples = {}
for line in open(sys.argv[9]).read().splitlines():
    if line and not line.startswith("#") and " " in line:
        key, value = line.rsplit(" ", 1)
        samples[key] = float(value)
def mean(name):
    n = samples.get(name + "_count", 0)
    return samples.get(name + "_sum", 0) / n if n else float("nan")
trip = lambda s: "%.1f/%.1f/%.1f" % (s["p50"], s["p90"], s["p99"])
ok = int(turns) - r["errors"]
cpu = (int(after) - int(before)) / max(ok, 1)
# The server's added latency to the first artifact delta, over the writer's
# first text delta in the direct replay of the same calls: p99 of both runs.
added = r["firstDeltaMs"]["p99"] - d["firstDeltaMs"]["p99"]
row = {"firstEventMs": r["firstEventMs"], "firstDeltaMs": r["firstDeltaMs"], "totalMs": r["totalMs"],
       "turnsPerSecond": r["turnsPerSecond"], "eventsPerSecond": r["eventsPerSecond"], "cpu": cpu, "added": added,
       "peakMb": int(peak) / 1024, "overhead": mean("mx_run_overhead_ms"), "runtimeCpu": mean("mx_run_runtime_cpu_ms"),
       "errors": r["errors"] + d["errors"], "refused": r.get("refused", 0)}
# Where the machine's CPU went per turn: the server's share of two cores shared with the harness.
split_before, split_after = json.loads(sys.argv[11]), json.loads(sys.argv[12])
row["split"] = {key: (split_after[key] - split_before.get(key, 0)) / max(ok, 1) for key in split_after}
row["split"]["machine"] = (int(sys.argv[14]) - int(sys.argv[13])) / max(ok, 1)
row["split"]["loadgen"] = r.get("cpuMs", 0) / max(ok, 1)
row["addedP50"] = r["firstDeltaMs"]["p50"] - d["firstDeltaMs"]["p50"]
row["addedTotalP50"] = r["totalMs"]["p50"] - d["totalMs"]["p50"]
# Memory per live stream: what the level added to the warmed-up server's resident memory, over the
# streams it held at once (all C of them, up to the turns it admits at once).
limit = int(samples.get("mx_runs_limit", 0)) or int(c)
row["liveStreams"] = min(int(c), limit)
row["rssBeforeMb"] = int(sys.argv[15]) / 1024
row["kbPerStream"] = (int(peak) - int(sys.argv[15])) / row["liveStreams"]
with open(sys.argv[10], "a") as rows:
    rows.write(json.dumps(row) + "\n")
print("%-6s %5s %6s | %-22s | %-22s | %-22s | %8.0f %9.0f | %7.2f %7.1f %6.0fMB | %6.2f %6.2f | %d %s" % (
    name, c, turns, trip(r["firstEventMs"]), trip(r["firstDeltaMs"]), trip(r["totalMs"]),
    r["turnsPerSecond"], r["eventsPerSecond"], cpu, added, int(peak) / 1024,
    mean("mx_run_overhead_ms"), mean("mx_run_runtime_cpu_ms"), r["errors"],
    "; ".join(r["problems"]) + (" direct errors: %d" % d["errors"] if d["errors"] else "") +
    (" (%d refused with 503 at the server's limit of turns in progress, sent again after Retry-After)" % r["refused"] if r.get("refused") else "")))
print(split_line(row["split"]))
print(added_line(row, d))
print(memory_line(row))
sys.exit(1 if r["errors"] or d["errors"] else 0)
PY
     done
     if [ "$REPEAT" -gt 1 ]; then
      python3 - "$NAME" "$C" "$TURNS" "$ROWS" <<'PY'
import json, os, statistics, sys
name, c, turns, path = sys.argv[1:5]
rows = [json.loads(line) for line in open(path) if line.strip()]
med = lambda f: statistics.median(f(r) for r in rows)
trip = lambda key: "%.1f/%.1f/%.1f" % tuple(med(lambda r: r[key][p]) for p in ("p50", "p90", "p99"))
print("%-6s %5s %6s | %-22s | %-22s | %-22s | %8.0f %9.0f | %7.2f %7.1f %6.0fMB | %6.2f %6.2f | %d  (median of %d runs)" % (
    name + "~", c, turns, trip("firstEventMs"), trip("firstDeltaMs"), trip("totalMs"), med(lambda r: r["turnsPerSecond"]),
    med(lambda r: r["eventsPerSecond"]), med(lambda r: r["cpu"]), med(lambda r: r["added"]), med(lambda r: r["peakMb"]),
    med(lambda r: r["overhead"]), med(lambda r: r["runtimeCpu"]), sum(r["errors"] for r in rows), len(rows)))
split = {key: med(lambda r: r["split"].get(key, 0)) for key in rows[0]["split"]}
named = [group.split(":")[::-1] for group in os.environ["MX_BENCH_THREAD_GROUPS"].split(",")]
rest = split["machine"] - sum(split[k] for k in ("server", "mock", "postgres", "redis", "loadgen"))
print("%21s medians, over the direct replay: first delta +%.2f ms p50, +%.2f ms p99; total +%.2f ms p50" % (
    "", med(lambda r: r["addedP50"]), med(lambda r: r["added"]), med(lambda r: r["addedTotalP50"])))
print("%21s medians, CPU ms per turn by process: server %.2f, mock %.2f, PostgreSQL %.2f, Redis %.2f, load generator %.2f, the rest %.2f; machine %.2f" % (
    "", split["server"], split["mock"], split["postgres"], split["redis"], split["loadgen"], rest, split["machine"]))
print("%21s medians, the server's CPU ms per turn by thread: %s, the rest %.2f" % (
    "", ", ".join("%s %.2f" % (label, split.get("thread " + pool, 0)) for label, pool in named),
    split["server"] - sum(split.get("thread " + pool, 0) for _, pool in named)))
print("%21s medians, memory: %.1f KB per live stream (%d at once)" % ("", med(lambda r: r["kbPerStream"]), rows[0]["liveStreams"]))
PY
     fi
    done
    exec 9>&-
  done
  echo
  echo "reconnect with Last-Event-ID under load (mx_reconnect_bench at nice $RECONNECT_NICE_GOT; at each profile's largest level), ms from the request to"
  echo "  first missed: an event the run had already sent (replayed); next: the run's next event, which it may not have produced yet"
  for profile in "${PROFILES[@]}"; do
    read -r NAME _ <<<"$profile"
    [ -s "$WORK/reconnect.$NAME.json" ] || { echo "  $NAME: no result"; continue; }
    python3 - "$NAME" "${LEVELS[-1]}" "$(cat "$WORK/reconnect.$NAME.json")" "$(cat "$WORK/reconnect-load.$NAME" 2>/dev/null || echo '?')" "$RECONNECT_RATE" <<'PY' || FAILED=1
import json, sys
name, c, r, load, cap = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4], sys.argv[5]
trip = lambda s: "p50/p90/p99 %.2f/%.2f/%.2f (max %.2f)" % (s["p50"], s["p90"], s["p99"], s["max"])
print("  %-6s C=%-5s %d reconnects: first missed %s | next %s | errors %d %s" % (
    name, c, r["turns"], trip(r["firstMissedEventMs"]), trip(r["nextEventMs"]), r["errors"], "; ".join(r["problems"])))
print("  %-6s %s; the load beside them %s" % ("", load, "started at most %s turns/s (RECONNECT_RATE)" % cap if cap else "as many turns as its streams ran"))
sys.exit(1 if r["errors"] else 0)
PY
  done
fi

if ((${#GRAPH_RUNS[@]})); then
  read -r FIRST BETWEEN WORDS <<<"$GRAPH_PROFILE"
  start_mock graph "$FIRST" "$BETWEEN" "$WORDS"
  echo
  echo "graph runtime alone (mx_graph_bench): N runs started at once; mock ${FIRST} ms to first event, ${BETWEEN} ms between events, ${WORDS}-word drafts"
  printf "%6s | %7s %11s | %8s %8s | %9s %9s | %-22s | %s\n" runs workers "threads0/pk" KB/run cpu/run runs/s events/run "total p50/90/99 ms" errors
  for N in "${GRAPH_RUNS[@]}"; do
    DATA="$WORK/data.graph.$N"; mkdir -p "$DATA"
    new_database "bench_graph_$N"
    RESULT="$(env $(production_env "$DATA" "benchgraph$N:" "bench_graph_$N") "$BIN/mx_graph_bench" --config "$SERVER_CONFIG" --runs "$N")" || true
    python3 - "$N" "$RESULT" <<'PY' || FAILED=1
import json, sys
n, raw = sys.argv[1], sys.argv[2]
if not raw.strip():
    print("%6s | mx_graph_bench printed nothing" % n); sys.exit(1)
r = json.loads(raw)
t = r["totalMs"]
print("%6s | %7d %5d/%-5d | %8.1f %8.2f | %9.0f %9.0f | %-22s | %d %s" % (
    n, r["workers"], r["threadsBefore"], r["threadsPeak"], r["kbPerRun"], r["cpuMsPerRun"], r["runsPerSecond"],
    r["eventsPerRun"], "%.0f/%.0f/%.0f" % (t["p50"], t["p90"], t["p99"]), r["errors"], "; ".join(r["problems"])))
sys.exit(1 if r["errors"] else 0)
PY
  done
  exec 9>&-
fi

if [ -n "$KNOWLEDGE" ]; then
  read -r CHUNKS QUERIES <<<"$KNOWLEDGE"
  echo
  echo "knowledge-search on the embedded store (mx_knowledge_bench): $CHUNKS chunks of one user, $QUERIES hybrid top-5 queries"
  RESULT="$("$BIN/mx_knowledge_bench" --chunks "$CHUNKS" --queries "$QUERIES")"
  python3 - "$RESULT" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
trip = lambda s: "%.2f/%.2f/%.2f (max %.2f)" % (s["p50"], s["p90"], s["p99"], s["max"])
print("  ingest %.0f s | hybrid ms p50/90/99 %s | full text %s | vector %s" % (
    r["ingestSeconds"], trip(r["searchMs"]), trip(r["fullTextMs"]), trip(r["vectorMs"])))
PY
fi

exit "$FAILED"
