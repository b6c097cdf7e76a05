# syntax=docker/dockerfile:1
# AgentSentinel server image: `sentinel api` (default command) and `sentinel worker`.
# No secrets are baked in: all configuration comes from AGENTSENTINEL_* variables at run time.
# Build the UI first (it produces agentsentinel/static/) to have the dashboard served by the API;
# without it the image still builds and runs the API.

# ---- build: install the two distributions into a self-contained virtualenv ----------------------
FROM python:3.11.14-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
COPY . .

# Non-editable install: the runtime image needs neither the sources nor pip's build artefacts.
RUN pip install ".[server]" ./cli

# Copy the built UI (agentsentinel/static, absent when the UI was not built) into the installed
# package unless the package data already carried it.
RUN set -eu; \
    pkg_dir="$(cd / && python -c 'import importlib.util as u; print(list(u.find_spec("agentsentinel").submodule_search_locations)[0])')"; \
    if [ -d agentsentinel/static ] && [ ! -d "$pkg_dir/static" ]; then \
        cp -r agentsentinel/static "$pkg_dir/static"; \
    fi; \
    command -v sentinel

# ---- runtime ----------------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENTSENTINEL_DATA_DIR=/var/lib/agentsentinel

# Fixed uid/gid so volume ownership is predictable. /run/agentsentinel holds the bootstrap admin
# key file (a named volume in docker-compose.yml inherits this directory's owner and mode).
RUN groupadd --system --gid 10001 agentsentinel \
    && useradd --system --uid 10001 --gid agentsentinel --no-create-home \
        --home-dir /var/lib/agentsentinel --shell /usr/sbin/nologin agentsentinel \
    && install -d -o agentsentinel -g agentsentinel -m 0700 \
        /var/lib/agentsentinel /run/agentsentinel

COPY --from=build /opt/venv /opt/venv

USER agentsentinel:agentsentinel
WORKDIR /var/lib/agentsentinel

EXPOSE 9000

CMD ["sentinel", "api", "--host", "0.0.0.0", "--port", "9000"]
