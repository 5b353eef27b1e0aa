# The spiffe-helper image: the bundled helper (one JavaScript file, and the HCL parser it loads only
# for HCL configs) on Google's
# distroless Node.js 24 image, which holds Node, glibc, OpenSSL, CA certificates and tzdata and no
# shell, package manager or npm. tini (static) is PID 1: Node neither reaps orphans nor forwards
# signals as an init must.
#
#   docker build -t spiffe-helper .
#   docker run --read-only -v /run/spire/sockets:/run/spire/sockets:ro \
#     -v $PWD/helper.conf:/etc/spiffe-helper/helper.conf:ro -v certs:/certs spiffe-helper

FROM node:24-bookworm-slim AS build
WORKDIR /build
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: the image already has Node 24, so the `node` devDependency's download is not needed.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY cmd/ cmd/
COPY src/ src/
COPY scripts/bundle.ts scripts/proto-descriptor.ts scripts/proto-codec.ts scripts/warm-code-cache.ts scripts/
COPY test/support/workload-api-server.ts test/support/test-ca.ts test/support/ports.ts test/support/wait.ts test/support/
RUN npm run build \
 && npx esbuild scripts/warm-code-cache.ts --bundle --platform=node --format=cjs --target=node24 --outfile=/build/warm/warm-code-cache.cjs --log-level=warning

# V8's code cache of the bundle, made by the image's own Node and command line (a cache is keyed on
# V8's version and flags), from one run of the helper as a sidecar runs it, against the in-repo
# Workload API test server (scripts/warm-code-cache.ts). Only the cache leaves this stage.
FROM gcr.io/distroless/nodejs24-debian12:nonroot AS code-cache
COPY --from=build /build/dist/bin/ /opt/spiffe-helper/
COPY --from=build /build/warm/ /warm/
USER 0:0
RUN ["/nodejs/bin/node", "/warm/warm-code-cache.cjs", "/opt/spiffe-helper/code-cache", "/nodejs/bin/node", "--disable-sigusr1", "--max-semi-space-size=1", "/opt/spiffe-helper/spiffe-helper.js"]

FROM gcr.io/distroless/nodejs24-debian12:nonroot
LABEL org.opencontainers.image.title="spiffe-helper" \
      org.opencontainers.image.description="Writes X.509 and JWT SVIDs from the SPIFFE Workload API to files, atomically, and tells the program" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/nodejs24-debian12:nonroot"
COPY --from=build /usr/bin/tini-static /usr/local/bin/tini
# The launcher, the bundle and the bundled packages' licences: the whole helper.
COPY --from=build /build/dist/bin/ /opt/spiffe-helper/
# The HCL parser, kept out of the bundle (TOML runs never load it), for the Go helper's HCL configs.
COPY --from=build /build/node_modules/js-hcl-parser/package.json /opt/spiffe-helper/node_modules/js-hcl-parser/package.json
COPY --from=build /build/node_modules/js-hcl-parser/dist/ /opt/spiffe-helper/node_modules/js-hcl-parser/dist/
COPY config/helper.conf /etc/spiffe-helper/helper.conf
# The code cache, read-only and root's (the launcher reads bytecode only from a directory that no one
# but the user or root can write): a read-only root filesystem costs the start-up nothing.
COPY --from=code-cache --chmod=0644 /opt/spiffe-helper/code-cache/*.v8 /opt/spiffe-helper/code-cache/
ENV SPIFFE_HELPER_CODE_CACHE=/opt/spiffe-helper/code-cache
# distroless's nonroot user, by number so that runAsNonRoot can verify it. Run as the wrapped
# program's user instead when the helper must signal it in a shared process namespace.
USER 65532:65532
# --disable-sigusr1: SIGUSR1 never opens Node's inspector, not even before the helper's own code runs
# (SECURITY.md). A 1 MB young generation: 3-4 MiB less memory, no cost in start-up or rotation latency
# (BENCHMARKS.md).
ENTRYPOINT ["/usr/local/bin/tini", "--", "/nodejs/bin/node", "--disable-sigusr1", "--max-semi-space-size=1", "/opt/spiffe-helper/spiffe-helper.js"]
CMD ["-config", "/etc/spiffe-helper/helper.conf"]
