"""Containers of the local Docker engine: MCP images and LLM keys in their environment.

Uses the ``docker`` CLI (``docker ps`` + ``docker inspect``), so whatever context and socket the
user's CLI is configured with applies. Env values are masked here and never kept in clear.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from typing import Any, Final

from agentsentinel_cli.discover.processes import LlmKey, llm_keys_in

_TIMEOUT_S: Final = 15.0


class DockerUnavailable(RuntimeError):
    """The docker CLI is missing or the engine does not answer."""


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One running container."""

    id: str
    name: str
    image: str
    command: str
    env_keys: tuple[str, ...]
    llm_keys: tuple[LlmKey, ...]
    ports: tuple[str, ...] = ()
    mcp_image: bool = False
    labels: dict[str, str] = field(default_factory=dict)


def is_mcp_image(image: str) -> bool:
    """Images of MCP servers: the Docker Hub ``mcp/`` namespace or an ``mcp-server`` name."""
    repo = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else image.split(":", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    return (
        repo.startswith("mcp/")
        or "/mcp/" in repo
        or last.startswith("mcp-server")
        or last.endswith(("-mcp", "-mcp-server"))
    )


def _docker(args: list[str], executable: str) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            [executable, *args],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DockerUnavailable(f"docker {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise DockerUnavailable(
            f"docker {args[0]} failed: {reason[0] if reason else f'exit {done.returncode}'}"
        )
    return done.stdout


def list_containers() -> list[ContainerInfo]:
    """The running containers; ``DockerUnavailable`` with the reason when docker cannot answer."""
    executable = shutil.which("docker")
    if executable is None:
        raise DockerUnavailable("docker CLI not found on PATH: container discovery skipped")
    ids: list[str] = []
    for line in _docker(["ps", "--no-trunc", "--format", "{{json .}}"], executable).splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DockerUnavailable("docker ps printed something that is not JSON") from exc
        if isinstance(row, dict) and isinstance(row.get("ID"), str):
            ids.append(row["ID"])
    if not ids:
        return []
    try:
        inspected = json.loads(_docker(["inspect", *ids], executable))
    except json.JSONDecodeError as exc:
        raise DockerUnavailable("docker inspect printed something that is not JSON") from exc
    if not isinstance(inspected, list):
        raise DockerUnavailable("docker inspect did not print a JSON list")
    containers = [_container(item) for item in inspected if isinstance(item, dict)]
    return sorted(containers, key=lambda c: (c.name, c.id))


def _container(item: dict[str, Any]) -> ContainerInfo:
    config = item.get("Config") if isinstance(item.get("Config"), dict) else {}
    assert isinstance(config, dict)
    environ: dict[str, str] = {}
    for pair in config.get("Env") or []:
        if isinstance(pair, str):
            name, _, value = pair.partition("=")
            environ[name] = value
    image = str(config.get("Image") or item.get("Image") or "")
    command = " ".join(
        str(part) for part in [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    )
    ports: list[str] = []
    network = item.get("NetworkSettings")
    bindings = network.get("Ports") if isinstance(network, dict) else None
    if isinstance(bindings, dict):
        for container_port, hosts in sorted(bindings.items()):
            for host in hosts or []:
                if isinstance(host, dict):
                    ports.append(
                        f"{host.get('HostIp', '')}:{host.get('HostPort', '')}->{container_port}"
                    )
    labels = config.get("Labels") if isinstance(config.get("Labels"), dict) else {}
    return ContainerInfo(
        id=str(item.get("Id", ""))[:12],
        name=str(item.get("Name", "")).lstrip("/") or str(item.get("Id", ""))[:12],
        image=image,
        command=command[:500],
        env_keys=tuple(sorted(environ)),
        llm_keys=tuple(llm_keys_in(environ)),
        ports=tuple(ports),
        mcp_image=is_mcp_image(image),
        labels={str(k): str(v)[:200] for k, v in sorted((labels or {}).items())[:20]},
    )
