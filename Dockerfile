# The image of any motcua service, named by SERVICE and its port PORT.
#
# Build from the repository root, where the uv workspace and uv.lock live:
#   docker build --build-arg SERVICE=intake --build-arg PORT=8001 -t motcua-intake .
# (docker-compose.yml passes them as build.args; images are motcua-<service>.)
# Only that service's locked, non-development dependencies are installed; the
# runtime stage holds the virtual environment and nothing of the source tree.
# A new service needs no change here: its package is motcua-<service>, its
# code services/<service>/src, its module `python -m motcua.<service>`.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# Every workspace member's pyproject.toml and the lock, and nothing else:
# `uv sync --locked` checks the whole lock, and the dependency layer below is
# rebuilt only when one of them changes, not when a source file does.
FROM ${PYTHON_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN find . -type f ! -name pyproject.toml ! -name uv.lock -delete \
    && find . -depth -type d -empty -delete

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
# The uv release that ./motcua bootstraps (tests/deploy checks they agree).
ARG UV_VERSION=0.13.9
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
WORKDIR /src
COPY --from=manifests /src/ ./
# Third-party dependencies first: this layer is rebuilt only when the lock or
# a pyproject.toml changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-workspace --package motcua-${SERVICE}
COPY shared/src shared/src
COPY services/${SERVICE}/src services/${SERVICE}/src
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --package motcua-${SERVICE}

FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG PORT
RUN groupadd --gid 10001 motcua \
    && useradd --uid 10001 --gid motcua --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin motcua \
    && install -d -o motcua -g motcua /var/lib/motcua
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MOTCUA_DATA_DIR=/var/lib/motcua \
    MOTCUA_HTTP_HOST=0.0.0.0 \
    MOTCUA_SERVICE=${SERVICE}
WORKDIR /var/lib/motcua
USER 10001:10001
EXPOSE ${PORT}
# Both run the service MOTCUA_SERVICE names (motcua.shared.container); the
# probe asks /healthz on the port the service's settings resolve.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "motcua.shared.container", "--health"]
ENTRYPOINT ["python", "-m", "motcua.shared.container"]
