# Flywheel's one image: every Knative Service runs it and picks its function with FUNCTION_TARGET.
# Build: docker build -t REGISTRY/flywheel:TAG .   (ansible/build.yml does this and pushes)
# Runtime: distroless Node 20, non-root (uid 65532), no shell; runs with a read-only root filesystem (writable /tmp).

ARG BUILD_IMAGE=node:20.19-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/nodejs20-debian12:nonroot

# --- dependencies: better-sqlite3 compiles from source; onnxruntime-node must not fetch CUDA libraries ---------------
FROM ${BUILD_IMAGE} AS deps
WORKDIR /src
ENV ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

# --- bundles: one esbuild bundle per function (dist/<service>/function.cjs + its V8 code cache) and the launcher -------
FROM deps AS build
COPY . .
RUN npx tsx platform/build/bundle.ts

# --- production node_modules: only the native externals and files read at run time need it ---------------------------
FROM deps AS prod-deps
RUN npm prune --omit=dev

FROM ${RUNTIME_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    PORT=8080 \
    FLYWHEEL_DATA_DIR=/tmp/flywheel \
    ONNXRUNTIME_NODE_INSTALL=skip
COPY --from=prod-deps --chown=0:0 /src/node_modules ./node_modules
COPY --from=build --chown=0:0 /src/dist ./dist
COPY --chown=0:0 package.json ./
COPY --chown=0:0 triggers/ ./triggers/
COPY --chown=0:0 pages/static/ ./pages/static/
# The V8 code caches again, with this stage's node: V8 rejects a cache written by another V8 version or other V8 flags
# (then a cold start compiles the bundle: slower, never broken). Each function starts once on loopback, no network.
RUN ["/nodejs/bin/node", "dist/warm-up.js"]
USER 65532:65532
EXPOSE 8080
# distroless/nodejs's entrypoint is node itself.
CMD ["dist/main.js"]
