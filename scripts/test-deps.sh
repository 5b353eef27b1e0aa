#!/usr/bin/env bash
# Installs what the tests run for real: nginx, PostgreSQL and MariaDB from Debian's packages, and the
# SPIRE server and agent built from the Go module proxy (cached by version outside the clone, so only
# the first run pays). `npm test` runs this first. Quick when everything is present.
#
# Without root, apt-get or Go it says loudly what is missing and the tests that need it skip; in CI
# (CI=true) anything missing is an error.
set -euo pipefail

SPIRE_VERSION=1.15.3
GO_HELPER_VERSION=0.11.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/spiffe-helper-test"
SPIRE_BIN="$CACHE/spire-$SPIRE_VERSION/bin"
missing=()

say() { printf 'test-deps: %s\n' "$*" >&2; }

# --- Debian packages -------------------------------------------------------------------------
packages=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || packages+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || packages+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || packages+=(mariadb-client)
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v setpriv >/dev/null 2>&1 || packages+=(util-linux)
command -v runuser >/dev/null 2>&1 || packages+=(util-linux)

if [ ${#packages[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${packages[*]}"
    # The packages' own services are not wanted: the tests start their own instances.
    policy_added=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_added=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2
    [ -n "$policy_added" ] && rm -f /usr/sbin/policy-rc.d
  else
    missing+=("Debian packages ${packages[*]} (needs root and apt-get)")
  fi
fi

# --- SPIRE ---------------------------------------------------------------------------------------
if [ ! -x "$SPIRE_BIN/spire-server" ] || [ ! -x "$SPIRE_BIN/spire-agent" ]; then
  if command -v go >/dev/null 2>&1 && command -v gcc >/dev/null 2>&1; then
    say "building SPIRE $SPIRE_VERSION from the Go module proxy (first run only; several minutes)"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    (
      cd "$work"
      go mod init spire-build >/dev/null 2>&1
      # v1.15.3 wants ejbca-go-client-sdk v1.1.0, which the proxy does not serve; v1.0.2 builds the
      # same plugin. The checksum database has no entry for cloudsql-proxy v1.37.9.
      go mod edit -replace github.com/Keyfactor/ejbca-go-client-sdk=github.com/Keyfactor/ejbca-go-client-sdk@v1.0.2
      export GONOSUMDB=github.com/GoogleCloudPlatform/cloudsql-proxy GOFLAGS=-mod=mod
      go get -tool "github.com/spiffe/spire/cmd/spire-server@v$SPIRE_VERSION" >&2
      go get -tool "github.com/spiffe/spire/cmd/spire-agent@v$SPIRE_VERSION" >&2
      CGO_ENABLED=1 GOBIN="$work/bin" go install github.com/spiffe/spire/cmd/spire-server github.com/spiffe/spire/cmd/spire-agent >&2
    )
    mkdir -p "$(dirname "$SPIRE_BIN")"
    rm -rf "$SPIRE_BIN.tmp" && mv "$work/bin" "$SPIRE_BIN.tmp" && rm -rf "$SPIRE_BIN" && mv "$SPIRE_BIN.tmp" "$SPIRE_BIN"
    say "SPIRE $SPIRE_VERSION built into $SPIRE_BIN"
  else
    missing+=("SPIRE $SPIRE_VERSION binaries (needs Go and gcc to build them into $SPIRE_BIN)")
  fi
fi

# --- the Go spiffe-helper, for the side-by-side benchmark only (best effort) -----------------------
GO_HELPER_BIN="$CACHE/spiffe-helper-go-$GO_HELPER_VERSION/bin"
if [ ! -x "$GO_HELPER_BIN/spiffe-helper" ] && command -v go >/dev/null 2>&1; then
  say "building the Go spiffe-helper $GO_HELPER_VERSION for npm run bench"
  work=$(mktemp -d)
  if (cd "$work" && go mod init go-helper-build >/dev/null 2>&1 \
      && GONOSUMDB=github.com/GoogleCloudPlatform/cloudsql-proxy go get -tool "github.com/spiffe/spiffe-helper/cmd/spiffe-helper@v$GO_HELPER_VERSION" \
      && GOBIN="$work/bin" go install github.com/spiffe/spiffe-helper/cmd/spiffe-helper) >&2; then
    mkdir -p "$(dirname "$GO_HELPER_BIN")" && rm -rf "$GO_HELPER_BIN" && mv "$work/bin" "$GO_HELPER_BIN"
  else
    say "the Go spiffe-helper did not build; npm run bench will leave it out"
  fi
  rm -rf "$work"
fi

if [ ${#missing[@]} -gt 0 ]; then
  for item in "${missing[@]}"; do say "MISSING: $item"; done
  if [ "${CI:-}" = true ]; then
    say "CI needs every real component; failing."
    exit 1
  fi
  say "the tests that need these will be SKIPPED, each saying why."
fi
exit 0
