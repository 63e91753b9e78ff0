# syntax=docker/dockerfile:1
# productcore's image: the wheel and its dependencies are built in one stage; the final stage
# installs only those wheels (no sources, no build tools) and runs as a non-root user.
# Configuration is by PRODUCTCORE_* environment variables (docs/configuration.md).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
# productcore's wheel and a wheel of each dependency, for an offline install below.
RUN python -m pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PRODUCTCORE_PORT=8000 \
    PRODUCTCORE_DATA_DIR=/var/lib/productcore
# A fixed numeric uid, so that Kubernetes' runAsNonRoot can check it.
RUN groupadd --system --gid 10001 productcore \
    && useradd --system --uid 10001 --gid productcore --home-dir /var/lib/productcore --create-home \
       --shell /usr/sbin/nologin productcore
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links /wheels /wheels/productcore-*.whl
USER 10001:10001
WORKDIR /var/lib/productcore
EXPOSE 8000
# The slim image has no curl: Python's standard library asks /health/live.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('PRODUCTCORE_PORT', '8000'), timeout=2)"]
CMD ["productcore", "serve", "--host", "0.0.0.0"]
