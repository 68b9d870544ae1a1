# syntax=docker/dockerfile:1
# Smart CloudOps AI: `cloudops-bot run` (Slack Socket Mode + the sidecar on :8080).
#
# The image carries the installed wheels and nothing that built them: build stages turn the dependencies
# (`deps`, cached until pyproject.toml changes) and the project (`app`) into wheels; the final stage
# installs them into a venv, read through bind mounts so not even the .whl files stay in a layer, and
# drops pip itself.
# BASE_IMAGE is one argument for every stage so the wheels always match the runtime's Python; CI uses
# the default, the offline smoke test (scripts/container-smoke.sh) a debootstrap'ed Debian with python3.
ARG BASE_IMAGE=python:3.12-slim

FROM ${BASE_IMAGE} AS deps
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# A venv gives every base the same pip (Debian's python3 has none; python:*-slim's is the system one).
# A current pip and `wheel`: sdist-only dependencies without pyproject.toml (drain3) need one of them
# to become wheels, and an old base's pip (Debian's 23.0) has neither behaviour by default.
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir --upgrade "pip>=24" "wheel>=0.42"
# Dependencies from pyproject.toml alone, so this stage (the slow one) is reused until they change.
# It builds a placeholder wheel of the project too (no code is copied yet); that one is dropped.
# EXTRAS: the optional extras baked in. `charts` (matplotlib: PNG charts under metrics answers and alarm
# evidence) adds 9 distributions, ~40 MB of wheels, ~170 MB installed; `--build-arg EXTRAS=` leaves them
# out, and those answers then carry a one-line "chart unavailable" instead of the picture.
ARG EXTRAS=charts
# Extension modules arrive with symbols the bot never reads; `strip` (binutils, this build stage only) drops
# them from the wheels (~26 MB installed). Not the libraries auditwheel vendors (`*.libs/`): patchelf
# rewrote those, and stripping breaks them.
# hadolint ignore=DL3008
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils >/dev/null \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
RUN /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /opt/build/wheels ".${EXTRAS:+[$EXTRAS]}" \
 && rm -f /opt/build/wheels/smart_cloudops_ai-*.whl \
 && for whl in /opt/build/wheels/*.whl; do \
      rm -rf /tmp/unpacked && /opt/build/bin/wheel unpack -d /tmp/unpacked "$whl" >/dev/null \
      && if [ -n "$(find /tmp/unpacked -type f -name '*.so' -not -path '*.libs/*')" ]; then \
           find /tmp/unpacked -type f -name '*.so' -not -path '*.libs/*' -exec strip --strip-unneeded {} + \
           && rm "$whl" && /opt/build/bin/wheel pack -d /opt/build/wheels /tmp/unpacked/* >/dev/null; \
         fi; \
    done \
 && rm -rf /tmp/unpacked

FROM deps AS app
# The product only: the demo (cloudops_demo, whose `demo` extra brings moto, flask and aiohttp) and the
# test peers (tests/) never enter the image.
COPY bot ./bot
COPY handlers ./handlers
COPY prompts ./prompts
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /opt/build/app-wheels .

FROM ${BASE_IMAGE}

# A fixed uid/gid so Kubernetes' runAsUser, file ownership on mounts and the systemd unit all agree.
RUN groupadd --system --gid 10001 cloudops \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin cloudops

# Exactly the wheels the deps stage resolved (--no-deps: no second resolution), then the project;
# `pip check` fails the build if anything the project requires is missing. The runtime venv gets no
# pip of its own: the build venv's pip (with the wheels beside it, one read-only mount) installs
# into it with --python.
# Bytecode only for what start-up imports (the bot, its SDKs, matplotlib as a chart loads it): pip's
# compile-everything adds ~70 MB, mostly for modules no request imports (fontTools' tables, numpy's
# extras), which compile in memory on first use instead. The test suites some wheels ship are dropped.
RUN --mount=type=bind,from=deps,source=/opt/build,target=/opt/build \
    python3 -m venv --without-pip /opt/venv \
 && /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index --no-deps --no-compile \
        /opt/build/wheels/*.whl \
 && find /opt/venv/lib -depth -type d -path "*/site-packages/*/tests" -exec rm -rf {} +
RUN --mount=type=bind,from=app,source=/opt/build,target=/opt/build \
    /opt/build/bin/pip --python /opt/venv/bin/python install --no-cache-dir --no-index --no-deps --no-compile \
        /opt/build/app-wheels/*.whl \
 && /opt/build/bin/pip --python /opt/venv/bin/python check \
 && MPLCONFIGDIR=/tmp/mpl-build /opt/venv/bin/python -c "import bot.__main__, bot.runtime, bot.slack.app, \
bot.slack.socket, bot.sidecar.server, handlers.router, bot.charts as c; c.warm_up()" \
 && rm -rf /tmp/mpl-build

# The root filesystem may be read-only (Kubernetes readOnlyRootFilesystem, compose read_only): nothing
# writes outside /tmp. No .pyc at run time (they were compiled at install), and every library that
# wants a home or a cache directory gets one under /tmp, which the orchestrator mounts writable.
# (DL3064 fires on the word TOKEN in TIKTOKEN_CACHE_DIR, a directory name, not a secret.)
# hadolint ignore=DL3064
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp \
    TIKTOKEN_CACHE_DIR=/tmp/tiktoken \
    CLOUDOPS_SIDECAR_ADDR=0.0.0.0:8080 \
    CLOUDOPS_LOG_FORMAT=json

WORKDIR /tmp
USER 10001:10001
EXPOSE 8080

# Readiness as the orchestrator sees it: GET /status on the sidecar (503 = Slack link down past the
# grace period). Python's urllib, so the image needs no curl; no proxy, since a configured HTTP(S)_PROXY
# must not see loopback traffic; the port (and a specific bind address) come from CLOUDOPS_SIDECAR_ADDR.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os,urllib.request as u;h,_,p=os.environ.get('CLOUDOPS_SIDECAR_ADDR','0.0.0.0:8080').rpartition(':');h=h.strip('[]');h={'':'127.0.0.1','0.0.0.0':'127.0.0.1','::':'::1'}.get(h,h);h=f'[{h}]' if ':' in h else h;u.build_opener(u.ProxyHandler({})).open(f'http://{h}:{p}/status',timeout=4)"]

# Last, so a new revision or build date re-labels the image without invalidating the layers above.
ARG BASE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="smart-cloudops-ai" \
      org.opencontainers.image.description="Slack ChatOps agent for on-call engineers on AWS (read-only)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

ENTRYPOINT ["cloudops-bot"]
CMD ["run"]
