"""Shared fixtures for the deployment tests (docker-compose.yml, Dockerfile, nginx).

Test modules use these through fixtures only (no ``import conftest``). Nothing here mocks nginx:
the nginx tests run the real binary on the real ``nginx/nginx.conf``, with only the upstream
host and the certificate paths (and, for the live tests, the listen addresses and the static
root) rewritten, each rewrite counted and asserted by ``rewrite_config``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
NGINX_CONF = REPO_ROOT / "nginx" / "nginx.conf"
GENERATE_CERTS = REPO_ROOT / "nginx" / "generate-certs.sh"

_SBIN_PATH = "/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin"


# --- nginx binary and certificates --------------------------------------------------------------


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    """The nginx executable; its absence is a failure (CI installs it), never a skip."""
    path = shutil.which("nginx") or shutil.which("nginx", path=_SBIN_PATH)
    if path is None:
        pytest.fail(
            "nginx is not installed, and the deployment tests validate nginx/nginx.conf with the "
            "real binary: install it with `apt-get install -y nginx`",
            pytrace=False,
        )
    return path


def _generate_certs(directory: Path, *extra_args: str) -> subprocess.CompletedProcess[str]:
    """Run the real nginx/generate-certs.sh."""
    return subprocess.run(
        ["bash", str(GENERATE_CERTS), *extra_args, str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="session")
def generate_certs() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``generate_certs(directory, *options)`` runs the real script and returns the result."""
    return _generate_certs


@pytest.fixture(scope="session")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("certs") / "certs"
    result = _generate_certs(directory)
    assert result.returncode == 0, result.stderr
    return directory


# --- config rewriting ---------------------------------------------------------------------------


def _rewrite_config(text: str, replacements: list[tuple[str, str, int]]) -> str:
    """Replace each ``old`` by ``new``, asserting it occurs exactly ``count`` times.

    Also asserts that the only lines that differ are those rewritten, so the tests can never
    silently validate a configuration other than the shipped one.
    """
    rewritten = text
    for old, new, count in replacements:
        found = rewritten.count(old)
        assert found == count, f"expected {count} x {old!r} in nginx.conf, found {found}"
        rewritten = rewritten.replace(old, new)
    before, after = text.splitlines(), rewritten.splitlines()
    assert len(before) == len(after)
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert len(changed) == sum(count for _, _, count in replacements)
    for original, _ in changed:
        assert any(old in original for old, _, _ in replacements), original
    return rewritten


@pytest.fixture(scope="session")
def rewrite_config() -> Callable[[str, list[tuple[str, str, int]]], str]:
    """``rewrite_config(text, [(old, new, count), ...])``: see :func:`_rewrite_config`."""
    return _rewrite_config


# --- a small nginx config parser ----------------------------------------------------------------


@dataclass
class Directive:
    """One directive; ``children`` holds the contents of its block, if it has one."""

    name: str
    args: list[str]
    children: list[Directive] = field(default_factory=list)
    line: int = 0

    def find(self, name: str) -> list[Directive]:
        return [child for child in self.children if child.name == name]

    def one(self, name: str) -> Directive:
        found = self.find(name)
        assert len(found) == 1, f"expected one {name!r} in {self.name} {self.args}, got {found}"
        return found[0]

    def walk(self) -> Iterator[Directive]:
        for child in self.children:
            yield child
            yield from child.walk()

    def server(self, port: int) -> Directive:
        """The ``server`` block of the ``http`` block (of this main config) listening on port."""
        matches = [
            server
            for server in self.one("http").find("server")
            if any(ln.args[0].rsplit(":", 1)[-1] == str(port) for ln in server.find("listen"))
        ]
        assert len(matches) == 1, f"expected one server listening on {port}, got {len(matches)}"
        return matches[0]

    def location(self, *args: str) -> Directive:
        """The ``location`` block (of this server) with exactly these arguments."""
        found = [loc for loc in self.find("location") if loc.args == list(args)]
        assert len(found) == 1, f"expected one `location {' '.join(args)}`, got {len(found)}"
        return found[0]


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}


def _tokens(text: str) -> Iterator[tuple[str, bool, int]]:
    """Yield (token, quoted, line) for nginx config text."""
    i, line, n = 0, 1, len(text)
    while i < n:
        char = text[i]
        if char == "\n":
            line += 1
            i += 1
        elif char.isspace():
            i += 1
        elif char == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif char in "{};":
            yield char, False, line
            i += 1
        elif char in "\"'":
            quote, i, value = char, i + 1, []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n:
                    value.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                    i += 2
                    continue
                line += text[i] == "\n"
                value.append(text[i])
                i += 1
            if i >= n:
                raise ValueError(f"unterminated string at line {line}")
            yield "".join(value), True, line
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "{};\"'#":
                i += 1
            yield text[start:i], False, line


def parse_nginx(text: str) -> Directive:
    """Parse nginx configuration text into a tree rooted at a synthetic ``main`` directive."""
    stack: list[list[Directive]] = [[]]
    parents: list[Directive] = []
    words: list[str] = []
    word_line = 0
    for token, quoted, line in _tokens(text):
        if not quoted and token == ";":
            if not words:
                raise ValueError(f"empty directive at line {line}")
            stack[-1].append(Directive(words[0], words[1:], [], word_line))
            words = []
        elif not quoted and token == "{":
            if not words:
                raise ValueError(f"block without a name at line {line}")
            parent = Directive(words[0], words[1:], [], word_line)
            stack[-1].append(parent)
            parents.append(parent)
            stack.append(parent.children)
            words = []
        elif not quoted and token == "}":
            if words or not parents:
                raise ValueError(f"unexpected '}}' at line {line}")
            parents.pop()
            stack.pop()
        else:
            if not words:
                word_line = line
            words.append(token)
    if words or parents:
        raise ValueError("unbalanced nginx configuration (missing ';' or '}')")
    return Directive("main", [], stack[0])


@pytest.fixture(scope="session")
def nginx_conf_text() -> str:
    return NGINX_CONF.read_text()


@pytest.fixture(scope="session")
def nginx_conf(nginx_conf_text: str) -> Directive:
    return parse_nginx(nginx_conf_text)


@pytest.fixture(scope="session")
def parse_nginx_text() -> Callable[[str], Directive]:
    return parse_nginx


# --- compose ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def compose() -> dict:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    assert isinstance(data.get("services"), dict)
    return data
