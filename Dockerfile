# syntax=docker/dockerfile:1
# cxone-auth-proxy as a sidecar: the proxy listens on the shared loopback (127.0.0.1:8080) of its pod or
# compose service; only the admin listener (health, readiness, metrics) is exposed, on 9090.

FROM node:24 AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No dependency needs an install script (esbuild's binary comes in its platform package).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY scripts ./scripts
COPY src ./src
# One bundled file with every dependency inside (dist/proxy.cjs, issue 26): the runtime stage installs nothing.
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    NODE_OPTIONS="--max-semi-space-size=4 --expose-gc"
WORKDIR /app
COPY package.json proxy.config.json ./
COPY --from=build /app/dist/main.js /app/dist/package.json /app/dist/proxy.cjs /app/dist/redis.cjs ./dist/
# The V8 code cache, written by this image's node with the flags above (V8 rejects one from another binary);
# dist/ stays root's, so the proxy cannot rewrite its own code.
RUN node dist/main.js --version
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
# Memory settings (MALLOC_ARENA_MAX, NODE_OPTIONS above): docs/performance.md "Memory", overridden with `docker run -e`.
CMD ["node", "dist/main.js", "start"]
