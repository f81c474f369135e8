#!/usr/bin/env bash
# Ours next to the peer (the architecture's own stack, ../shared/peer: Fastify + LangGraph.js),
# interleaved on the same machine: each set runs our fast profile (REPEAT runs a level, medians),
# then the peer's measure.sh at the same levels and rounds, then ours again, and prints both with
# the ratios (CPU per turn, turns/s). The machine's speed drifts by a tenth within minutes: only
# figures taken side by side compare, and a set brackets the peer's run with two of ours.
#   PEER_DIR=/tmp/peer bench/compare.sh                      one set at C = 1, 50, 500, two rounds
#   SETS=3 ROUNDS=12 LEVELS=500 PEER_DIR=/tmp/peer bench/compare.sh
#   STORES=embedded PEER_DIR=/tmp/peer bench/compare.sh      ours on SQLite and the in-process cache:
#                           no PostgreSQL or Redis on the machine, as the peer keeps its state in memory
#                           (SQLite's work is then the server's own CPU)
# PEER_DIR is a writable copy of the peer with its packages installed:
#   cp -r ../shared/peer /tmp/ && (cd /tmp/peer && npm install)
# Both harnesses run alike: with HARNESS_SCHED=batch (the default, as bench/run.sh's), the peer's
# measure.sh and so its mock and load generator run under SCHED_BATCH, while its server keeps the
# ordinary policy it was written for (ours runs under SCHED_BATCH by its own config).
# Each set takes about a minute at the default levels (the peer's C = 500 level alone ~15 s per
# two rounds). The logs stay in a directory the script names at the end.
set -eEuo pipefail
trap 'echo "compare: line $LINENO: \"$BASH_COMMAND\" failed with status $?" >&2' ERR
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PEER_DIR="${PEER_DIR:-}"
SETS="${SETS:-1}"
LEVELS="${LEVELS:-1 50 500}"
ROUNDS="${ROUNDS:-2}"
REPEAT="${REPEAT:-3}"
HARNESS_SCHED="${HARNESS_SCHED:-batch}"
STORES="${STORES:-postgres}"  # bench/run.sh's: postgres (as production.toml) or embedded

refuse() { echo "compare: $*" >&2; exit 2; }
[ -n "$PEER_DIR" ] || refuse "PEER_DIR must name a copy of the peer with its packages installed (cp -r ../shared/peer /tmp/ && (cd /tmp/peer && npm install))"
[ -x "$PEER_DIR/measure.sh" ] || refuse "no executable measure.sh in PEER_DIR \"$PEER_DIR\": is it a copy of ../shared/peer?"
[ -d "$PEER_DIR/node_modules" ] || refuse "PEER_DIR \"$PEER_DIR\" has no node_modules: run npm install there first"
for setting in SETS ROUNDS REPEAT; do
  case "${!setting}" in ''|*[!0-9]*|0) refuse "$setting must be a whole number above 0, not \"${!setting}\"" ;; esac
done
for c in $LEVELS; do
  case "$c" in ''|*[!0-9]*|0) refuse "LEVELS must be concurrency levels above 0, not \"$LEVELS\"" ;; esac
done
case "$STORES" in postgres|embedded) ;; *) refuse "STORES must be postgres or embedded, not \"$STORES\"" ;; esac
case "$HARNESS_SCHED" in
  batch) PEER_HARNESS=(chrt --batch 0); PEER_SERVER=(chrt --other 0) ;;
  normal) PEER_HARNESS=(); PEER_SERVER=() ;;
  *) refuse "HARNESS_SCHED must be batch or normal, not \"$HARNESS_SCHED\"" ;;
esac

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/mx-compare.XXXXXX")"
for set in $(seq 1 "$SETS"); do
  for run in ours1 peer ours2; do
    echo "compare: set $set, $run ($(date +%T))" >&2
    if [ "$run" = peer ]; then
      (cd "$PEER_DIR" && LEVELS="$LEVELS" ROUNDS="$ROUNDS" PROFILES=fast "${PEER_HARNESS[@]}" ./measure.sh --label "compare-$set" -- \
        "${PEER_SERVER[@]}" node peer-node/server.js) \
        >"$LOGS/set$set.$run.log" 2>&1 || { tail -20 "$LOGS/set$set.$run.log" >&2; refuse "the peer's measure.sh failed (log: $LOGS/set$set.$run.log)"; }
    else
      STORES="$STORES" HARNESS_SCHED="$HARNESS_SCHED" REPEAT="$REPEAT" ROUNDS="$ROUNDS" LEVELS="$LEVELS" "$ROOT/bench/run.sh" --fast >"$LOGS/set$set.$run.log" 2>&1 ||
        { tail -20 "$LOGS/set$set.$run.log" >&2; refuse "bench/run.sh failed (log: $LOGS/set$set.$run.log)"; }
    fi
  done
done

python3 - "$LOGS" "$SETS" "$ROUNDS" "$STORES" <<'PY'
import os, re, statistics, sys
logs, sets, rounds, stores = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def ours(path):  # {C: (ms per turn, turns/s)} from run.sh's rows (the median rows when there are repeats)
    rows, medians = {}, {}
    for line in open(path, errors="replace"):
        m = re.match(r"^fast(~?)\s+(\d+)\s+\d+\s*\|", line)
        if not m:
            continue
        cells = line.split("|")
        turns_per_s = float(cells[4].split()[0])
        ms_per_turn = float(cells[5].split()[0])
        (medians if m.group(1) else rows)[int(m.group(2))] = (ms_per_turn, turns_per_s)
    return medians or rows

def peer(path):  # {C: (ms per turn, turns/s)} from measure.sh's results table
    out = {}
    for line in open(path, errors="replace"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 14 and cells[0] == "fast" and cells[2].isdigit():
            out[int(cells[1])] = (float(cells[13]), float(cells[9]))
    return out

print("ours with %s" % ("PostgreSQL and Redis (production.toml)" if stores == "postgres" else
                        "the embedded stores: SQLite and the in-process cache, in the server's process"))
print("%-4s %-5s | %-22s | %-14s %-13s | %-15s %s" % ("set", "C", "peer: ms/turn, turns/s", "ours: ms/turn", "turns/s", "less CPU", "turns/s"))
ratios = {}
for s in range(1, sets + 1):
    a, p, b = (f(os.path.join(logs, "set%d.%s.log" % (s, r))) for f, r in ((ours, "ours1"), (peer, "peer"), (ours, "ours2")))
    for c in sorted(p):
        if c not in a or c not in b:
            continue
        (pm, pt), (am, at), (bm, bt) = p[c], a[c], b[c]
        cpu = (pm / am, pm / bm)
        tps = (at / pt, bt / pt)
        ratios.setdefault(c, []).append(cpu + tps)
        print("%-4d %-5d | %-22s | %-14s %-13s | %-15s %s" %
              (s, c, "%.2f, %.1f" % (pm, pt), "%.2f, %.2f" % (am, bm), "%d, %d" % (at, bt),
               "%.1fx, %.1fx" % cpu, "%.1fx, %.1fx" % tps))
print("\nmedians over every run of ours (rounds: %s):" % rounds)
for c, rs in sorted(ratios.items()):
    cpu = [x for r in rs for x in r[:2]]
    tps = [x for r in rs for x in r[2:]]
    print("  C = %-4d less CPU per turn %5.1fx (%.1f-%.1f), turns/s %5.1fx (%.1f-%.1f); at or above 20x: %d of %d, %d of %d" %
          (c, statistics.median(cpu), min(cpu), max(cpu), statistics.median(tps), min(tps), max(tps),
           sum(x >= 20 for x in cpu), len(cpu), sum(x >= 20 for x in tps), len(tps)))
PY
echo "compare: logs in $LOGS" >&2
