# The spiffe-helper image: Node.js 24 LTS, the compiled helper, production dependencies only, and tini
# as PID 1 (Node does not reap orphans or forward signals as an init must).
#
#   docker build -t spiffe-helper .
#   docker run -v /run/spire/sockets:/run/spire/sockets:ro -v $PWD/helper.conf:/etc/spiffe-helper/helper.conf:ro spiffe-helper

FROM node:24-bookworm-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
# --ignore-scripts: the image already has Node 24, so the `node` devDependency's download is not needed.
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY cmd/ cmd/
COPY src/ src/
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/spiffe-helper
COPY --from=build /build/package.json ./
COPY --from=build /build/node_modules/ node_modules/
COPY --from=build /build/dist/ dist/
COPY config/helper.conf /etc/spiffe-helper/helper.conf
ENV NODE_ENV=production
# The node image's unprivileged user. Run as the wrapped program's user instead when the helper must
# signal it in a shared process namespace, or write files it owns.
USER node
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/spiffe-helper/dist/bin/spiffe-helper.js"]
CMD ["-config", "/etc/spiffe-helper/helper.conf"]
