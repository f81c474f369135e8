#!/usr/bin/env bash
# mx_latency_proxy (ctest bench_latency_proxy): bad arguments are refused with
# the usage; bytes go through intact both ways, each round trip at least the
# asked delay later; one side's end of output reaches the other side.
set -euo pipefail
BIN="${BUILD_DIR:?BUILD_DIR is the build directory}/bin"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() { echo "latency_proxy_test: $*" >&2; exit 1; }

for args in "" "--target-port 0 --rtt-ms 1" "--target-port 80 --rtt-ms -1" "--speed 3 --rtt-ms 1"; do
  # shellcheck disable=SC2086
  if "$BIN/mx_latency_proxy" $args >"$WORK/out" 2>&1 </dev/null; then fail "'$args' was accepted"; fi
  grep -q -e "usage: mx_latency_proxy" -e "unknown option --speed" "$WORK/out" || fail "'$args': $(cat "$WORK/out")"
done

# An upper-casing echo server that answers each line and, at the client's end of output, ends its own.
cat >"$WORK/echo.py" <<'PY'
import socket, sys
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen()
print(server.getsockname()[1], flush=True)
connection, _ = server.accept()
while True:
    data = connection.recv(65536)
    if not data:
        break
    connection.sendall(data.upper())
connection.shutdown(socket.SHUT_WR)
PY
python3 "$WORK/echo.py" >"$WORK/echo.port" &
PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/echo.port" ] && break; sleep 0.05; done
mkfifo "$WORK/proxy.in"
"$BIN/mx_latency_proxy" --target-port "$(cat "$WORK/echo.port")" --rtt-ms 40 <"$WORK/proxy.in" >"$WORK/proxy.log" 2>&1 &
PIDS+=($!)
exec 9>"$WORK/proxy.in"
for _ in $(seq 1 100); do grep -q "listening on" "$WORK/proxy.log" && break; sleep 0.05; done
PORT="$(awk '/listening on/ { print $3 }' "$WORK/proxy.log")"

python3 - "$PORT" <<'PY' || fail "relay check failed"
import socket, sys, time
client = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
payload = b"x" * 300000 + b"\n"
started = time.monotonic()
client.sendall(b"ping\n")
assert client.recv(100) == b"PING\n"
elapsed = (time.monotonic() - started) * 1000
assert elapsed >= 40, "a round trip took %.1f ms, less than the 40 ms asked" % elapsed
client.sendall(payload)
client.shutdown(socket.SHUT_WR)
received = b""
while True:
    data = client.recv(1 << 20)
    if not data:
        break  # the echo server's end of output came through
    received += data
assert received == payload.upper(), "got %d bytes back, not the %d sent" % (len(received), len(payload))
print("round trip %.1f ms, %d bytes back, end of output relayed" % (elapsed, len(received)))
PY
