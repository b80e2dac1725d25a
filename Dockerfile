# Portier's image: `docker build -t portier .` (docs/container.md).
# BASE_IMAGE is any image with Node (and npm, for the build stage) on a glibc system;
# the tests build from a local one, as there is no registry there.
ARG BASE_IMAGE=node:26-slim

FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY providers ./providers
COPY middlewares ./middlewares
RUN npm run build \
 && cp src/api/dashboard/index.html src/api/dashboard/app.js src/api/dashboard/style.css dist/src/api/dashboard/ \
 && chmod 0755 dist/src/cli.js

FROM ${BASE_IMAGE} AS production-deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="Portier" \
      org.opencontainers.image.description="Reverse proxy and service-discovery gateway: Traefik's labels and rules" \
      org.opencontainers.image.licenses="MIT"
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=production-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN ln -s /app/dist/src/cli.js /usr/local/bin/portier \
 && mkdir -p /var/lib/portier \
 && chown 1000:1000 /var/lib/portier \
 && chmod 0700 /var/lib/portier
ENV NODE_ENV=production \
    PORTIER_DATA_DIR=/var/lib/portier
# node:*-slim's `node` user (uid 1000). The Docker socket is root:docker 0660 on the host:
# run with --group-add <the socket's gid> (docs/container.md).
USER 1000:1000
EXPOSE 80 443 8080 8443
# /ping on the traefik entrypoint (ping: {} in the configuration, as in the default command below).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "require('http').get(process.env.HEALTHCHECK_URL || 'http://127.0.0.1:8081/ping', (r) => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["portier"]
# As Traefik's image is used: Docker labels, /ping for the health check. Replace with --config or your own flags.
CMD ["--providers.docker.exposedByDefault=true", "--ping.entryPoint=traefik"]
