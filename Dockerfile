# syntax=docker/dockerfile:1
#
# Two images from one file (see docs/operations.md):
#
#   docker build --target api    -t distillery-api .     # inference API, node:20 slim, CPU
#   docker build --target worker -t distillery-worker .  # training worker, PyTorch + CUDA
#
# Both run compiled JavaScript (dist/, as `npm start` does), built once here after the same steps
# as CI: `npm ci` without dependency install scripts (see below), the type check
# `npm run build`, then `npm run build:dist` (tsc emit plus the session worker and the Python
# trainer package). The runtime stages copy dist/ from the `build` stage, so an image can only
# exist for code that passed the type check, and no TypeScript transpiler runs in production.

# The Node line is the one CI tests (README, "Node.js line"): package.json engines, .npmrc
# engine-strict (npm ci refuses a Node or a dependency outside it) and this default move together.
ARG NODE_VERSION=20
# Debian bookworm for building and running the API (node:20-bookworm has the compilers that
# optional native add-ons may need; the slim variant runs what it built, same glibc).
ARG NODE_BUILD_IMAGE=node:${NODE_VERSION}-bookworm
ARG NODE_RUNTIME_IMAGE=node:${NODE_VERSION}-bookworm-slim
# CUDA-enabled PyTorch for the worker (Ubuntu 22.04, Python 3.11 under /opt/conda).
ARG TORCH_IMAGE=pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime

# ---------------------------------------------------------------------------------------------
# build: all dependencies, then the type check over everything CI type-checks.
FROM ${NODE_BUILD_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No dependency install scripts, as on CI: npm 11 skips them by package.json's allowScripts (among
# them onnxruntime-node's optional CUDA download); the npm 10 of the node:20 images runs every
# script unless told, so --ignore-scripts gives the same node_modules.
RUN npm ci --ignore-scripts
COPY . .
RUN npm run build \
 && npm run build:dist \
 && mkdir -p models data

# ---------------------------------------------------------------------------------------------
# prod-deps: production dependencies only, from the same lock file.
FROM ${NODE_BUILD_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force

# ---------------------------------------------------------------------------------------------
# api: the inference server. Models are baked in from models/ (the bundled registry) and are
# usually mounted over by a volume (compose seeds an empty volume from them on first start).
FROM ${NODE_RUNTIME_IMAGE} AS api
# MALLOC_ARENA_MAX=2: glibc otherwise keeps a malloc arena per thread that allocates (a session
# thread each, plus ONNX Runtime's and libuv's), about 35 MiB of resident memory with the
# bundled models for no measured speed (docs/benchmarks.md, memory).
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    PORT=8080 \
    HOST=0.0.0.0 \
    MODEL_DIR=/app/models \
    DATA_DIR=/app/data \
    WORK_DIR=/app/.work
WORKDIR /app
# The image's `node` user (uid 1000) runs the server; the worker image uses the same uid so both
# can write the shared registry volume.
COPY --from=prod-deps --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/dist ./dist
COPY --from=build --chown=node:node /app/models ./models
RUN mkdir -p /app/data /app/.work && chown node:node /app/data /app/.work
USER node
EXPOSE 8080
# /healthz answers once the process is up; the port only opens after every active model is
# loaded and warmed, so start-period must cover model loading.
HEALTHCHECK --interval=15s --timeout=5s --start-period=120s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Same program as `npm start` (node dist/src/server/main.js), run without npm so SIGTERM reaches
# the server directly and its graceful shutdown runs.
# --max-semi-space-size=4 (V8's default 16): a smaller young generation, 26 MiB less resident at
# idle and 32 at peak with no measured cost in throughput. --heap-growing-percent=25: V8 lets the
# old generation grow 25% past what survived its last full GC, where it otherwise allows up to 4x
# while GC is cheap (peak 348 -> 272 MiB after the mixed load, no cost in throughput with the
# model). npm start and bench/memory.ts use the same; docs/benchmarks.md, memory.
CMD ["node", "--max-semi-space-size=4", "--heap-growing-percent=25", "dist/src/server/main.js"]

# ---------------------------------------------------------------------------------------------
# worker: BullMQ worker that runs the PyTorch trainer on the GPU.
FROM ${TORCH_IMAGE} AS worker
ARG ONNX_VERSION=1.17.0
ENV DEBIAN_FRONTEND=noninteractive \
    NODE_ENV=production \
    MODEL_DIR=/app/models \
    DATA_DIR=/app/data \
    WORK_DIR=/app/.work \
    WORKER_METRICS_PORT=9464 \
    TRAINER_PYTHON=/opt/conda/bin/python \
    PYTHONUNBUFFERED=1
# WordNet data for the trainer's synonym augmentation (read from /usr/share/wordnet).
RUN apt-get update \
 && apt-get install -y --no-install-recommends wordnet-base ca-certificates \
 && rm -rf /var/lib/apt/lists/*
# onnx for the trainer's ONNX export; torch and numpy come with the base image.
RUN pip install --no-cache-dir "onnx==${ONNX_VERSION}" \
 && python -c "import torch, onnx, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'onnx', onnx.__version__)"
# Node 20 from the official image (its binaries are built for old glibc and run here).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
COPY --from=build /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
# uid/gid 1000 like the API image's `node` user.
RUN (getent group 1000 >/dev/null || groupadd --gid 1000 distillery) \
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --gid 1000 --create-home --shell /usr/sbin/nologin distillery)
WORKDIR /app
# Production dependencies installed here, on this image's OS, with the same lock file and .npmrc
# (and, as everywhere, without dependency install scripts).
COPY --chown=1000:1000 package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force && chown -R 1000:1000 /app/node_modules
COPY --from=build --chown=1000:1000 /app/dist ./dist
COPY --from=build --chown=1000:1000 /app/models ./models
RUN mkdir -p /app/data /app/.work && chown 1000:1000 /app/data /app/.work
USER 1000:1000
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.WORKER_METRICS_PORT||9464)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Same program as `npm run worker` (node dist/src/queue/worker-main.js). SIGTERM: running
# trainers checkpoint and their jobs resume later; give the container time for it
# (stop_grace_period).
CMD ["node", "dist/src/queue/worker-main.js"]
