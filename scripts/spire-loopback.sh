#!/usr/bin/env bash
# A real SPIRE server and agent on this machine, on loopback, as the tests start them
# (test/support/spire.ts): join-token node attestation, SQLite, the unix workload attestor, one
# registration entry for the calling user. For trying the helper against SPIRE (README, "With SPIRE").
#
#   scripts/spire-loopback.sh [spiffe://example.org/<name>]
#
# Prints the SPIFFE_ENDPOINT_SOCKET to use, then runs until Ctrl-C or SIGTERM, which stops both (by
# pid) and removes their directory. The binaries are the ones scripts/test-deps.sh builds (npm test
# runs it; it needs Go and gcc); SPIRE_BIN points elsewhere. SPIRE_SERVER_PORT picks the server's
# port (default: a free one).
set -euo pipefail

SPIRE_VERSION="${SPIFFE_HELPER_TEST_SPIRE_VERSION:-1.15.3}"
# The same cache path as scripts/test-deps.sh.
SPIRE_BIN="${SPIRE_BIN:-${XDG_CACHE_HOME:-$HOME/.cache}/spiffe-helper-test/spire-$SPIRE_VERSION/bin}"
TRUST_DOMAIN=example.org
SPIFFE_ID="${1:-spiffe://$TRUST_DOMAIN/workload}"
case "$SPIFFE_ID" in
  "spiffe://$TRUST_DOMAIN/"?*) ;;
  *) echo "spire-loopback: the SPIFFE ID must be in $TRUST_DOMAIN: spiffe://$TRUST_DOMAIN/<path>, not $SPIFFE_ID" >&2; exit 2 ;;
esac
for binary in spire-server spire-agent; do
  if [ ! -x "$SPIRE_BIN/$binary" ]; then
    echo "spire-loopback: no $binary in $SPIRE_BIN: run scripts/test-deps.sh (needs Go and gcc), or set SPIRE_BIN" >&2
    exit 1
  fi
done

port="${SPIRE_SERVER_PORT:-$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")}"
# Short, private and fresh: unix socket paths hold at most 107 bytes.
dir="$(mktemp -d /tmp/spire-loopback.XXXXXX)"
server_pid='' agent_pid=''
stop() {
  trap - EXIT INT TERM
  for pid in $agent_pid $server_pid; do kill "$pid" 2>/dev/null || true; done
  for pid in $agent_pid $server_pid; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop EXIT
trap 'exit 0' INT TERM

cat >"$dir/server.conf" <<EOF
server {
  bind_address = "127.0.0.1"
  bind_port = "$port"
  socket_path = "$dir/server.sock"
  trust_domain = "$TRUST_DOMAIN"
  data_dir = "$dir/server"
  log_level = "INFO"
  ca_ttl = "24h"
  experimental { cache_reload_interval = "1s" }
}
plugins {
  DataStore "sql" {
    plugin_data {
      database_type = "sqlite3"
      connection_string = "$dir/server/datastore.sqlite3"
    }
  }
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "memory" { plugin_data {} }
}
EOF
cat >"$dir/agent.conf" <<EOF
agent {
  data_dir = "$dir/agent"
  log_level = "INFO"
  server_address = "127.0.0.1"
  server_port = "$port"
  socket_path = "$dir/agent.sock"
  trust_domain = "$TRUST_DOMAIN"
  insecure_bootstrap = true
  experimental { sync_interval = "1s" }
}
plugins {
  NodeAttestor "join_token" { plugin_data {} }
  KeyManager "memory" { plugin_data {} }
  WorkloadAttestor "unix" { plugin_data {} }
}
EOF

# Polls a command for up to 60 s (SPIRE takes a few seconds to start and to sync an entry).
wait_for() {
  local what="$1"; shift
  for _ in $(seq 1 300); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  echo "spire-loopback: timed out waiting for $what; the end of its logs:" >&2
  tail -n 5 "$dir"/*.log >&2 || true
  exit 1
}

server() { "$SPIRE_BIN/spire-server" "$@" -socketPath "$dir/server.sock"; }
"$SPIRE_BIN/spire-server" run -config "$dir/server.conf" >"$dir/server.log" 2>&1 &
server_pid=$!
wait_for "the SPIRE server" server healthcheck
token="$(server token generate -spiffeID "spiffe://$TRUST_DOMAIN/node" | sed -n 's/^Token: //p')"
"$SPIRE_BIN/spire-agent" run -config "$dir/agent.conf" -joinToken "$token" >"$dir/agent.log" 2>&1 &
agent_pid=$!
wait_for "the SPIRE agent" "$SPIRE_BIN/spire-agent" healthcheck -socketPath "$dir/agent.sock"
# SVIDs of 60 s: SPIRE renews them about every 35 s, so rotations show within a minute.
server entry create -parentID "spiffe://$TRUST_DOMAIN/node" -spiffeID "$SPIFFE_ID" \
  -selector "unix:uid:$(id -u)" -x509SVIDTTL 60 -jwtSVIDTTL 120 >/dev/null
wait_for "the agent to serve $SPIFFE_ID" "$SPIRE_BIN/spire-agent" api fetch x509 -socketPath "$dir/agent.sock"

echo "spire-loopback: SPIRE $SPIRE_VERSION server (pid $server_pid) and agent (pid $agent_pid) serve $SPIFFE_ID to uid $(id -u); logs in $dir"
echo "export SPIFFE_ENDPOINT_SOCKET=unix://$dir/agent.sock"
wait "$agent_pid" "$server_pid"
