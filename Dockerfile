# syntax=docker/dockerfile:1
# cxone-auth-proxy as a sidecar: the proxy listens on the shared loopback (127.0.0.1:8080) of its pod or
# compose service; only the admin listener (health, readiness, metrics) is exposed, on 9090.

FROM node:24 AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY proxy.config.json ./
USER node
ENV PROXY_HOST=127.0.0.1 \
    PROXY_PORT=8080 \
    PROXY_ADMIN_PORT=9090 \
    PROXY_ADMIN_HOST=0.0.0.0
# Secrets come from mounted files: CXONE_CLIENT_ID_FILE, CXONE_CLIENT_SECRET_FILE, CXONE_ACCESS_KEY_ID_FILE,
# CXONE_ACCESS_KEY_SECRET_FILE (see examples/docker-compose.yml and examples/kubernetes/).
EXPOSE 9090
# Liveness of the process, on the admin listener, with node's own fetch (the image has no curl).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PROXY_ADMIN_PORT || 9090) + '/_proxy/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js", "start"]
