#!/usr/bin/env bash
# Out-of-tree plugin test: install the host and SDK into a temporary prefix,
# build a plugin against the installed SDK only (find_package(MarketerX)), add
# it to a TOML file, and check that the installed host loads and lists it —
# with no rebuild of the host.
set -euo pipefail
build_dir=$1
plugin_src=$2
work=$(mktemp -d /tmp/mx-out-of-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" > "$work/install.log"
host="$work/prefix/bin/marketerx"
test -x "$host"

cmake -S "$plugin_src" -B "$work/plugin-build" -DCMAKE_PREFIX_PATH="$work/prefix" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/plugin-build" > "$work/build.log"
plugin="$work/plugin-build/hello_plugin.so"
test -f "$plugin"

cat > "$work/deploy.toml" <<TOML
[server]
port = 0

[[plugins]]
name = "cache_memory"        # resolved in the installed plugin directory

[[plugins]]
path = "$plugin"

[tools.hello]
factory = "hello"
greeting = "Hello from outside the tree"
TOML

out=$("$host" plugins --config "$work/deploy.toml")
echo "$out"
grep -q 'hello_plugin 0.1.0' <<<"$out"
grep -q 'tool "hello"' <<<"$out"
grep -q 'cache backend "memory"' <<<"$out"
"$host" check-config --config "$work/deploy.toml" | grep -q '\[tools.hello\] tool "hello" from hello_plugin'

# The installed host serves it too.
"$host" serve --config "$work/deploy.toml" > "$work/serve.out" 2> "$work/serve.err" &
pid=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$work/serve.out" && break; sleep 0.05; done
port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/serve.out" | grep -o '[0-9]*$')
curl -sf "http://127.0.0.1:$port/api/v1/plugins" | grep -q '"name":"hello_plugin"'
kill -TERM $pid
wait $pid
echo "out-of-tree plugin: OK"
