# syntax=docker/dockerfile:1
# One image for every Chat4All role: `chat4all api`, `chat4all worker --roles …`, `chat4all gc`,
# `chat4all migrate`, `chat4all start` (the default: everything in one process).
#
#   docker build -t chat4all/api:0.1.0 .      # or: npm run image -- 0.1.0
# (named chat4all/api, as the deployment README names it, although it runs every role)
#   docker run --rm -p 8000:8000 -v chat4all-data:/app/data \
#     -e JWT_SECRET_KEY="$(openssl rand -base64 48)" chat4all/api:0.1.0   # embedded mode
#
# NODE_ENV=production makes the image start production-safe: JWT_SECRET_KEY is required, no demo
# users, registration closed, /metrics only on METRICS_PORT (9464), no /docs.
# The TypeScript sources run through tsx, a production dependency, so there is no compile step.
# Node itself is PID 1 (exec form, no npm, no shell), so a SIGTERM reaches the server and it drains.

ARG NODE_VERSION=22

# ---- dependencies: production packages only -----------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime --------------------------------------------------------------------------------
FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app

# `chat4all` on the PATH, so `kubectl exec … -- chat4all users list` works in any container.
RUN printf '#!/bin/sh\nexec node /app/bin/chat4all.js "$@"\n' > /usr/local/bin/chat4all \
 && chmod 0755 /usr/local/bin/chat4all \
 && mkdir -p /app/data \
 && chown 1000:1000 /app/data

# Code and dependencies stay owned by root (read-only for the app); only /app/data is writable.
COPY --from=deps /app/node_modules ./node_modules
# .dockerignore lets only package*.json, tsconfig.json, bin/, src/ (without tests) and web/ in.
COPY . .

# UID/GID 1000 is the "node" user of the official image; numeric so runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8000 9464

# Every role answers /health on port 8000 (PORT). One-shot commands (gc, migrate) exit first.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "/app/bin/chat4all.js"]
CMD ["start"]
