"""docker-compose.yml, .env.example, Dockerfile and .dockerignore: the production deployment.

The compose file is parsed with PyYAML (anchors and merge keys resolved) and checked against the
deployment contract: pinned images, healthchecks, restart policies, start-up ordering, the fixed
AGENTSENTINEL_* wiring, persistence, and no published port except nginx's. When a Docker Compose
v2 CLI is available, ``docker compose config`` validates the file too (it needs no engine).
"""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
OWN_SERVICES = {"api", "worker"}
THIRD_PARTY = {"db": "timescale/timescaledb", "redis": "redis", "nginx": "nginx"}
SERVICES = OWN_SERVICES | set(THIRD_PARTY)

DATABASE_URL = (
    "postgresql+asyncpg://agentsentinel:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    "@db:5432/agentsentinel"
)
OPTIONAL_PASSTHROUGH = (
    "AGENTSENTINEL_SLACK_WEBHOOK_URL",
    "AGENTSENTINEL_WEBHOOK_URLS",
    "AGENTSENTINEL_ALERT_WEBHOOK_SECRET",
    "AGENTSENTINEL_CORS_ORIGINS",
)
BOOTSTRAP_KEY_FILE = "/run/agentsentinel/bootstrap-admin-key"

_DEFAULT = re.compile(r"^\$\{(?P<name>[A-Z0-9_]+):-(?P<default>[^}]*)\}$")
_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?+][^}]*)?\}")


def _default(value: str) -> str:
    """The default of a ``${NAME:-default}`` value (or the value itself when it is literal)."""
    match = _DEFAULT.match(value)
    return match.group("default") if match else value


def _image(service: dict) -> tuple[str, str]:
    name, _, tag = service["image"].rpartition(":")
    assert name, f"image {service['image']!r} has no tag"
    return name, tag


def _published(service: dict) -> list[tuple[str | None, str]]:
    """(host_ip, published port) of every published port, short or long syntax."""
    result: list[tuple[str | None, str]] = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result.append((entry.get("host_ip"), str(entry.get("published", ""))))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:  # "9000": a random host port on every interface
            result.append((None, ""))
        elif len(parts) == 2:
            result.append((None, parts[0]))
        else:
            result.append((":".join(parts[:-2]).strip("[]"), parts[-2]))
    return result


def _mounts(service: dict) -> dict[str, tuple[str, bool]]:
    """target -> (source, read_only) for every volume entry of a service."""
    mounts: dict[str, tuple[str, bool]] = {}
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            mounts[entry["target"]] = (entry.get("source", ""), bool(entry.get("read_only")))
            continue
        source, target, *mode = entry.split(":")
        mounts[target] = (source, "ro" in (mode[0].split(",") if mode else []))
    return mounts


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command.split() if isinstance(command, str) else list(command)


def _env(service: dict) -> dict[str, str | None]:
    env = service["environment"]
    assert isinstance(env, dict), "use the mapping form for environment"
    return env


def _healthcheck_text(service: dict) -> str:
    test = service["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(test)


# --- services, images, health and ordering --------------------------------------------------------


def test_services(compose: dict) -> None:
    assert set(compose["services"]) == SERVICES


@pytest.mark.parametrize("name", sorted(THIRD_PARTY))
def test_third_party_images_are_pinned(compose: dict, name: str) -> None:
    service = compose["services"][name]
    assert "build" not in service
    image, tag = _image(service)
    assert image == THIRD_PARTY[name]
    assert tag != "latest"
    assert re.match(r"\d+\.\d+\.\d+", tag), f"{name}: pin a full version, not {tag!r}"


def test_image_versions(compose: dict) -> None:
    services = compose["services"]
    assert re.fullmatch(r"\d+\.\d+\.\d+-pg1[56]", _image(services["db"])[1])
    assert _image(services["redis"])[1].startswith("7.")


@pytest.mark.parametrize("name", sorted(OWN_SERVICES))
def test_own_services_are_built_from_the_dockerfile(compose: dict, name: str) -> None:
    service = compose["services"][name]
    build = service["build"]
    assert build["context"] == "."
    assert build.get("dockerfile", "Dockerfile") == "Dockerfile"
    assert (REPO_ROOT / build["context"] / "Dockerfile").is_file()
    if "image" in service:
        assert _image(service)[1] != "latest"


def test_api_and_worker_share_one_image(compose: dict) -> None:
    api, worker = compose["services"]["api"], compose["services"]["worker"]
    assert api["build"] == worker["build"]
    assert api.get("image") == worker.get("image")


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck_and_restarts(compose: dict, name: str) -> None:
    service = compose["services"][name]
    assert service["restart"] == "unless-stopped"
    healthcheck = service["healthcheck"]
    assert not healthcheck.get("disable", False)
    assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}
    for key in ("interval", "timeout", "retries"):
        assert key in healthcheck, f"{name}: healthcheck without {key}"


def test_healthcheck_commands(compose: dict) -> None:
    services = compose["services"]
    assert "pg_isready" in _healthcheck_text(services["db"])
    assert "-U agentsentinel" in _healthcheck_text(services["db"])
    assert services["redis"]["healthcheck"]["test"][1:] == ["redis-cli", "ping"]
    api = _healthcheck_text(services["api"])
    assert "http://127.0.0.1:9000/ready" in api
    assert "curl" not in api, "the slim image has no curl"
    worker = services["worker"]["healthcheck"]["test"]
    assert worker[:3] == ["CMD", "python", "-c"]
    compile(worker[3], "<worker healthcheck>", "exec")  # valid Python
    assert "/proc" in worker[3]
    nginx = _healthcheck_text(services["nginx"])
    assert "https://127.0.0.1" in nginx or "nginx -t" in nginx


@pytest.mark.parametrize("name", sorted(OWN_SERVICES))
def test_api_and_worker_wait_for_healthy_db_and_redis(compose: dict, name: str) -> None:
    depends = compose["services"][name]["depends_on"]
    assert isinstance(depends, dict), "use the long depends_on syntax with conditions"
    assert depends["db"]["condition"] == "service_healthy"
    assert depends["redis"]["condition"] == "service_healthy"


def test_nginx_waits_for_a_healthy_api(compose: dict) -> None:
    assert compose["services"]["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_commands(compose: dict) -> None:
    services = compose["services"]
    assert _command(services["api"]) == ["sentinel", "api", "--host", "0.0.0.0", "--port", "9000"]
    assert _command(services["worker"]) == ["sentinel", "worker"]


def test_redis_persists_with_aof(compose: dict) -> None:
    command = _command(compose["services"]["redis"])
    assert command[0] == "redis-server"
    assert "--appendonly" in command
    assert command[command.index("--appendonly") + 1] == "yes"
    if "--maxmemory-policy" in command:  # a stream queue must never be evicted
        assert command[command.index("--maxmemory-policy") + 1] == "noeviction"


# --- configuration wiring -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OWN_SERVICES))
def test_agentsentinel_environment(compose: dict, name: str) -> None:
    env = _env(compose["services"][name])
    assert env["AGENTSENTINEL_MODE"] == "production"
    assert env["AGENTSENTINEL_DATABASE_URL"] == DATABASE_URL
    assert env["AGENTSENTINEL_REDIS_URL"] == "redis://redis:6379/0"
    assert env["AGENTSENTINEL_SECRET_KEY"].startswith("${AGENTSENTINEL_SECRET_KEY:?")
    assert _default(env["AGENTSENTINEL_LOG_LEVEL"]) in {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert _default(env.get("AGENTSENTINEL_SHOW_DOCS", "false")) == "false"
    for name_ in OPTIONAL_PASSTHROUGH:
        # No value: passed through from the shell / .env only when set there.
        assert name_ in env
        assert env[name_] is None


def test_database_service_matches_the_url(compose: dict) -> None:
    env = _env(compose["services"]["db"])
    assert env["POSTGRES_USER"] == "agentsentinel"
    assert env["POSTGRES_DB"] == "agentsentinel"
    assert env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_no_literal_secrets(compose: dict) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if any(word in key for word in ("PASSWORD", "SECRET", "TOKEN", "WEBHOOK")):
                assert value is None or str(value).startswith("${"), f"{name}: {key} is literal"


def test_bootstrap_key_file_on_a_named_volume(compose: dict) -> None:
    api = compose["services"]["api"]
    assert _env(api)["AGENTSENTINEL_BOOTSTRAP_KEY_FILE"] == BOOTSTRAP_KEY_FILE
    source, read_only = _mounts(api)[posixpath.dirname(BOOTSTRAP_KEY_FILE)]
    assert source in compose["volumes"]
    assert not read_only


def test_trusted_proxy_is_nginx(compose: dict) -> None:
    """The API trusts X-Forwarded-For from nginx's fixed address on the edge network, only."""
    services = compose["services"]
    nginx_ip = services["nginx"]["networks"]["edge"]["ipv4_address"]
    for name in OWN_SERVICES:
        assert _env(services[name])["AGENTSENTINEL_TRUSTED_PROXIES"] == nginx_ip
    subnet = compose["networks"]["edge"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(_default(nginx_ip)) in ipaddress.ip_network(_default(subnet))
    assert "edge" in services["api"]["networks"]


def test_database_and_redis_are_on_an_internal_network(compose: dict) -> None:
    services = compose["services"]
    for name in ("db", "redis"):
        networks = services[name]["networks"]
        assert list(networks) == ["backend"]
    assert compose["networks"]["backend"]["internal"] is True
    assert "backend" not in services["nginx"]["networks"]


# --- ports and volumes ----------------------------------------------------------------------------


def test_only_nginx_publishes_ports_beyond_loopback(compose: dict) -> None:
    for name, service in compose["services"].items():
        if name == "nginx":
            continue
        for host_ip, port in _published(service):
            assert host_ip in {"127.0.0.1", "::1"}, f"{name} publishes {port} beyond loopback"
    assert sorted(port for _, port in _published(compose["services"]["nginx"])) == ["443", "80"]


def test_named_volumes(compose: dict) -> None:
    declared = set(compose["volumes"])
    services = compose["services"]
    assert _mounts(services["db"])["/var/lib/postgresql/data"][0] in declared
    assert _mounts(services["redis"])["/data"][0] in declared
    for name, service in services.items():
        for source, _ in _mounts(service).values():
            if not source.startswith(("/", ".")):
                assert source in declared, f"{name}: volume {source!r} is not declared"


def test_nginx_mounts_match_its_config(compose: dict, nginx_conf) -> None:
    mounts = _mounts(compose["services"]["nginx"])
    assert mounts["/etc/nginx/nginx.conf"] == ("./nginx/nginx.conf", True)
    assert mounts["/usr/share/nginx/html"] == ("./agentsentinel/static", True)
    [certs_target] = [t for t, (source, _) in mounts.items() if source == "./nginx/certs"]
    assert mounts[certs_target][1], "certificates are mounted read-only"
    tls = nginx_conf.server(443)
    for directive in ("ssl_certificate", "ssl_certificate_key"):
        assert posixpath.dirname(tls.one(directive).args[0]) == certs_target
    assert tls.one("root").args == ["/usr/share/nginx/html"]
    upstream = nginx_conf.one("http").one("upstream").one("server").args[0]
    host, port = upstream.split(":")
    assert host in compose["services"]
    assert port == _command(compose["services"][host])[-1]


# --- .env.example, Dockerfile, .dockerignore ------------------------------------------------------


def test_env_example_documents_every_variable(compose: dict) -> None:
    text = (REPO_ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    referenced = set(_REFERENCE.findall((REPO_ROOT / "docker-compose.yml").read_text()))
    for service in compose["services"].values():
        referenced |= {k for k, v in (service.get("environment") or {}).items() if v is None}
    missing = referenced - documented
    assert not missing, f".env.example does not document {sorted(missing)}"
    assert re.search(r"^POSTGRES_PASSWORD=$", text, re.MULTILINE)
    assert re.search(r"^AGENTSENTINEL_SECRET_KEY=$", text, re.MULTILINE)
    assert "openssl rand -hex 32" in text


def test_dockerfile() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    instructions = [
        line.strip()
        for line in re.sub(r"\\\n", " ", text).splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    bases = [line.split()[1] for line in instructions if line.upper().startswith("FROM ")]
    assert bases
    for base in bases:
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?", base), base
    assert re.search(r"""pip install ["']\.\[server\]["'] \./cli""", text)
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users, "the image must not run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert "EXPOSE 9000" in instructions
    cmd = next(line for line in reversed(instructions) if line.upper().startswith("CMD "))
    assert '"sentinel", "api"' in cmd
    for line in instructions:
        if line.upper().startswith(("ENV ", "ARG ")):
            assert not re.search(r"(SECRET|PASSWORD|TOKEN|_KEY)\w*=", line.upper()), line
        if line.upper().startswith(("COPY ", "ADD ")):
            assert ".env" not in line.split()[1:-1], line


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    entries = {
        line.strip()
        for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for entry in (".git", ".venv", ".env", "nginx/certs", "node_modules"):
        assert entry in entries, entry
    assert "!.env.example" in entries
    assert "agentsentinel" not in entries
    assert not any(entry.startswith("agentsentinel/static") for entry in entries)


# --- docker compose config ------------------------------------------------------------------------


def _docker_compose() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    probe = subprocess.run(
        [docker, "compose", "version"], capture_output=True, text=True, timeout=60, check=False
    )
    return [docker, "compose"] if probe.returncode == 0 else None


def test_docker_compose_config(tmp_path: Path) -> None:
    cli = _docker_compose()
    if cli is None:
        pytest.skip(
            "no Docker Compose v2 CLI (`docker compose version` failed); install the "
            "docker-compose-plugin to also validate docker-compose.yml with `docker compose config`"
        )
    complete = tmp_path / "complete.env"
    complete.write_text(
        "POSTGRES_PASSWORD=0123456789abcdef\nAGENTSENTINEL_SECRET_KEY=" + "ab" * 32 + "\n"
    )
    compose_file = REPO_ROOT / "docker-compose.yml"
    base = [*cli, "--project-directory", str(REPO_ROOT), "-f", str(compose_file)]

    result = subprocess.run(
        [*base, "--env-file", str(complete), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    incomplete = tmp_path / "incomplete.env"
    incomplete.write_text("AGENTSENTINEL_SECRET_KEY=" + "ab" * 32 + "\n")
    result = subprocess.run(
        [*base, "--env-file", str(incomplete), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD"}},
    )
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
