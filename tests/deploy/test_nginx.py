"""nginx/nginx.conf and nginx/generate-certs.sh, checked with the real nginx and openssl.

Three layers:
- the parsed configuration text (protocols, headers, proxying rules, SSE, caching, limits);
- ``nginx -t`` on the shipped file, with only the upstream host and the certificate paths
  rewritten (nginx resolves ``api`` at load time, and the certificates live in a temp dir);
- a live nginx on high ports in front of a small HTTP server standing in for the API, driven
  with httpx: redirect, security headers, proxying, SSE streaming, static files, body limit.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
NGINX_DIR = REPO_ROOT / "nginx"

UPSTREAM = "server api:9000;"
CERT_DIR = "/etc/nginx/certs/"
SSL_CERT = f"ssl_certificate {CERT_DIR}server.crt;"
SSL_KEY = f"ssl_certificate_key {CERT_DIR}server.key;"
LISTEN_HTTP = "listen 80 default_server;"
LISTEN_HTTPS = "listen 443 ssl http2 default_server;"
STATIC_ROOT = "root /usr/share/nginx/html;"

PROXIED_LOCATIONS = {
    ("=", "/api/v1/events/stream"),
    ("^~", "/api/"),
    ("=", "/health"),
    ("=", "/ready"),
}
SSE_PATH = "/api/v1/events/stream"
API_MAX_BODY = 4 * 1024 * 1024  # the API's own limit (Settings.max_body_bytes)

# Newer nginx (1.25.1+, e.g. the pinned image) deprecates `listen ... http2`, which the config
# keeps for compatibility with nginx 1.22; that warning is the only one tolerated.
_TOLERATED_WARNING = re.compile(r'the "listen \.\.\. http2" directive is deprecated')


def _size_in_bytes(value: str) -> int:
    match = re.fullmatch(r"(\d+)([kKmMgG]?)", value)
    assert match, value
    unit = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(match.group(1)) * unit


_TIME_UNITS = {
    "ms": 0.001,
    "": 1,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "M": 30 * 86400,
    "y": 365 * 86400,
}


def _duration_in_seconds(value: str) -> float:
    """nginx time syntax (``90``, ``1h``, ``1y``, ``1h30m``; ``max`` for expires)."""
    if value == "max":
        return float("inf")
    parts = re.findall(r"(\d+)(ms|[smhdwMy]?)", value)
    assert parts, value
    assert "".join(n + u for n, u in parts) == value, value
    return sum(int(number) * _TIME_UNITS[unit] for number, unit in parts)


def _headers(server) -> dict[str, list[str]]:
    return {d.args[0].lower(): d.args[1:] for d in server.find("add_header")}


# --- the configuration text ---------------------------------------------------------------------


def test_tls_is_1_2_and_1_3_only_with_modern_ciphers(nginx_conf) -> None:
    protocols = [d for d in nginx_conf.walk() if d.name == "ssl_protocols"]
    assert protocols, "ssl_protocols must be set explicitly"
    for directive in protocols:
        assert directive.args == ["TLSv1.2", "TLSv1.3"], directive
    ciphers = [d for d in nginx_conf.walk() if d.name == "ssl_ciphers"]
    assert len(ciphers) == 1
    suites = ciphers[0].args[0].split(":")
    for suite in suites:
        assert suite.startswith("ECDHE-"), f"no forward secrecy: {suite}"
        assert "GCM" in suite or "CHACHA20" in suite, f"not an AEAD suite: {suite}"
    http = nginx_conf.one("http")
    assert http.one("ssl_session_tickets").args == ["off"]


def test_http_redirects_everything_to_https(nginx_conf) -> None:
    plain = nginx_conf.server(80)
    assert not any(d.name in {"proxy_pass", "root"} for d in plain.walk())
    root = plain.location("/")
    assert root.one("return").args == ["301", "https://$host$request_uri"]
    assert [loc.args for loc in plain.find("location")] == [["/"]]


def test_https_server(nginx_conf) -> None:
    tls = nginx_conf.server(443)
    listen = tls.one("listen").args
    assert "ssl" in listen
    assert tls.one("ssl_certificate").args == [CERT_DIR + "server.crt"]
    assert tls.one("ssl_certificate_key").args == [CERT_DIR + "server.key"]
    assert nginx_conf.one("http").one("server_tokens").args == ["off"]


def test_security_headers(nginx_conf) -> None:
    headers = _headers(nginx_conf.server(443))
    for name, args in headers.items():
        assert args[-1] == "always", f"{name} must also be sent on error responses"
    hsts = headers["strict-transport-security"][0]
    max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
    assert max_age >= 31536000
    assert headers["x-content-type-options"][0] == "nosniff"
    assert headers["x-frame-options"][0] == "DENY"
    assert headers["referrer-policy"][0] in {"no-referrer", "strict-origin-when-cross-origin"}
    csp = {
        part.split()[0]: part.split()[1:]
        for part in headers["content-security-policy"][0].split(";")
        if part.strip()
    }
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"]
    assert not any("unsafe-eval" in source for sources in csp.values() for source in sources)


def test_header_inheritance_is_not_broken(nginx_conf) -> None:
    """A location with its own add_header / proxy_set_header loses ALL inherited ones."""
    tls = nginx_conf.server(443)
    for loc in tls.find("location"):
        for directive in loc.walk():
            assert directive.name not in {"add_header", "proxy_set_header"}, (
                f"`{directive.name}` in location {loc.args} (line {directive.line}) would drop "
                "the server-level security headers / forwarding headers"
            )


def test_api_paths_are_proxied_with_forwarding_headers(nginx_conf) -> None:
    http = nginx_conf.one("http")
    upstreams = http.find("upstream")
    assert len(upstreams) == 1
    assert [s.args for s in upstreams[0].find("server")] == [["api:9000"]]
    upstream_url = f"http://{upstreams[0].args[0]}"

    tls = nginx_conf.server(443)
    proxied = {tuple(loc.args) for loc in tls.find("location") if loc.find("proxy_pass")}
    assert proxied == PROXIED_LOCATIONS
    for args in proxied:
        assert tls.location(*args).one("proxy_pass").args == [upstream_url]

    assert tls.one("proxy_http_version").args == ["1.1"]
    forwarded = {d.args[0].lower(): d.args[1:] for d in tls.find("proxy_set_header")}
    assert forwarded["host"] == ["$host"]
    # Replaced, not appended: nginx is the edge, clients must not choose their address.
    assert forwarded["x-forwarded-for"] == ["$remote_addr"]
    assert forwarded["x-forwarded-proto"] == ["$scheme"]
    assert forwarded["connection"] == [""]


def test_sse_location_is_unbuffered(nginx_conf) -> None:
    tls = nginx_conf.server(443)
    sse = tls.location("=", SSE_PATH)
    assert sse.one("proxy_buffering").args == ["off"]
    assert sse.one("proxy_cache").args == ["off"]
    assert sse.one("gzip").args == ["off"]
    assert _duration_in_seconds(sse.one("proxy_read_timeout").args[0]) >= 600
    # HTTP/1.1 with an empty Connection header, inherited from the server level.
    assert not sse.find("proxy_http_version")
    assert tls.one("proxy_http_version").args == ["1.1"]
    assert ["Connection", ""] in [d.args for d in tls.find("proxy_set_header")]


def test_docs_are_not_published(nginx_conf) -> None:
    tls = nginx_conf.server(443)
    regex_locations = [loc for loc in tls.find("location") if loc.args[0] in {"~", "~*"}]
    for path in ("/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"):
        matching = [loc for loc in regex_locations if re.search(loc.args[1], path)]
        assert len(matching) == 1, path
        assert matching[0].one("return").args == ["404"]
        assert not matching[0].find("proxy_pass")
    assert not [loc for loc in regex_locations if re.search(loc.args[1], "/docsearch")]


def test_static_ui_with_spa_fallback_and_asset_caching(nginx_conf) -> None:
    tls = nginx_conf.server(443)
    assert tls.one("root").args == ["/usr/share/nginx/html"]
    spa = tls.location("/")
    assert spa.one("try_files").args == ["$uri", "/index.html"]
    assert spa.one("expires").args == ["-1"]
    assets = tls.location("^~", "/assets/")
    assert assets.one("try_files").args == ["$uri", "=404"]
    assert _duration_in_seconds(assets.one("expires").args[0]) >= 30 * 86400


def test_body_size_limit_matches_the_api(nginx_conf) -> None:
    limits = [d for d in nginx_conf.walk() if d.name == "client_max_body_size"]
    assert len(limits) == 1
    assert API_MAX_BODY < _size_in_bytes(limits[0].args[0]) <= 16 * 1024 * 1024


def test_gzip(nginx_conf) -> None:
    http = nginx_conf.one("http")
    assert http.one("gzip").args == ["on"]
    assert http.one("gzip_proxied").args == ["any"]
    types = set(http.one("gzip_types").args)
    assert {"application/json", "application/javascript", "text/css"} <= types
    assert "text/event-stream" not in types


def test_access_log_never_records_query_strings_or_credentials(nginx_conf) -> None:
    http = nginx_conf.one("http")
    formats = {d.args[0]: "".join(d.args[1:]) for d in http.find("log_format")}
    for log in [d for d in nginx_conf.walk() if d.name == "access_log"]:
        if log.args == ["off"]:
            continue
        assert len(log.args) >= 2, "the default format logs $request (with the query string)"
        fmt = formats[log.args[1]]
        for variable in (
            "$request",
            "$request_uri",
            "$args",
            "$query_string",
            "$http_x_api_key",
            "$http_cookie",
            "$http_authorization",
        ):
            assert not re.search(re.escape(variable) + r"(?![a-z_])", fmt), variable


def test_no_directives_that_clash_with_the_command_line(nginx_conf) -> None:
    """`pid` is left to the image default so that `nginx -g 'pid ...'` works in these tests."""
    assert not nginx_conf.find("pid")
    assert not nginx_conf.find("user")


# --- nginx -t -----------------------------------------------------------------------------------


def _cert_rewrites(directory: Path) -> list[tuple[str, str, int]]:
    return [
        (SSL_CERT, f"ssl_certificate {directory}/server.crt;", 1),
        (SSL_KEY, f"ssl_certificate_key {directory}/server.key;", 1),
    ]


def _nginx_t(nginx_bin: str, conf: Path) -> subprocess.CompletedProcess[str]:
    work = conf.parent
    return subprocess.run(
        [
            nginx_bin,
            "-t",
            "-e",
            "stderr",
            "-c",
            str(conf),
            "-g",
            f"pid {work}/nginx.pid; error_log {work}/error.log;",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nginx_t_accepts_the_shipped_config(
    nginx_bin: str, certs_dir: Path, tmp_path: Path, nginx_conf_text: str, rewrite_config
) -> None:
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        rewrite_config(
            nginx_conf_text,
            [(UPSTREAM, "server 127.0.0.1:9000;", 1), *_cert_rewrites(certs_dir)],
        )
    )
    result = _nginx_t(nginx_bin, conf)
    output = result.stderr + result.stdout
    assert result.returncode == 0, output
    assert "syntax is ok" in output
    assert "test is successful" in output
    warnings = [line for line in output.splitlines() if "[warn]" in line or "[emerg]" in line]
    assert all(_TOLERATED_WARNING.search(line) for line in warnings), warnings


def test_nginx_t_really_loads_the_certificates(
    nginx_bin: str, tmp_path: Path, nginx_conf_text: str, rewrite_config
) -> None:
    """Guards the harness: with missing certificates the same check must fail."""
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        rewrite_config(
            nginx_conf_text,
            [(UPSTREAM, "server 127.0.0.1:9000;", 1), *_cert_rewrites(tmp_path / "missing")],
        )
    )
    result = _nginx_t(nginx_bin, conf)
    assert result.returncode != 0
    assert "server.crt" in result.stderr


# --- generate-certs.sh --------------------------------------------------------------------------


def _openssl(*args: str) -> str:
    result = subprocess.run(
        ["openssl", *args], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_generate_certs_writes_a_matching_pair(certs_dir: Path) -> None:
    crt, key = certs_dir / "server.crt", certs_dir / "server.key"
    assert key.stat().st_mode & 0o777 == 0o600
    san = _openssl("x509", "-in", str(crt), "-noout", "-ext", "subjectAltName")
    assert "DNS:localhost" in san
    assert "IP Address:127.0.0.1" in san
    text = _openssl("x509", "-in", str(crt), "-noout", "-text")
    assert "CA:FALSE" in text
    assert "TLS Web Server Authentication" in text
    assert re.search(r"(P-256|prime256v1|RSA Public-Key: \(2048|Public-Key: \(2048)", text)
    cert_pub = _openssl("x509", "-in", str(crt), "-noout", "-pubkey")
    key_pub = _openssl("pkey", "-in", str(key), "-pubout")
    assert cert_pub == key_pub
    # No temp files left behind.
    assert sorted(p.name for p in certs_dir.iterdir()) == ["server.crt", "server.key"]


def test_generate_certs_refuses_to_overwrite_without_force(tmp_path: Path, generate_certs) -> None:
    directory = tmp_path / "certs"
    assert generate_certs(directory).returncode == 0
    crt, key = (directory / "server.crt").read_bytes(), (directory / "server.key").read_bytes()

    refused = generate_certs(directory)
    assert refused.returncode != 0
    assert "--force" in refused.stderr
    assert (directory / "server.crt").read_bytes() == crt
    assert (directory / "server.key").read_bytes() == key

    forced = generate_certs(directory, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (directory / "server.crt").read_bytes() != crt
    assert (directory / "server.key").read_bytes() != key
    assert (directory / "server.key").stat().st_mode & 0o777 == 0o600


def test_generate_certs_defaults_to_nginx_certs(tmp_path: Path) -> None:
    script = tmp_path / "nginx" / "generate-certs.sh"
    script.parent.mkdir()
    shutil.copy2(NGINX_DIR / "generate-certs.sh", script)
    result = subprocess.run(
        ["bash", str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "nginx" / "certs" / "server.crt").is_file()
    assert (tmp_path / "nginx" / "certs" / "server.key").is_file()


def test_generate_certs_script_hygiene() -> None:
    script = NGINX_DIR / "generate-certs.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "\nset -euo pipefail\n" in text
    assert os.access(script, os.X_OK), "generate-certs.sh must be executable"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    ignored = (REPO_ROOT / ".gitignore").read_text().split()
    assert "nginx/certs/" in ignored or "nginx/certs" in ignored


# --- live: nginx in front of a stand-in API ------------------------------------------------------


class _StandInApi(ThreadingHTTPServer):
    """A real HTTP server playing the API: records what nginx forwards."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _StandInHandler)
        self.requests: list[dict] = []
        self.release_sse = threading.Event()
        self.sse_finished = threading.Event()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def paths(self) -> list[str]:
        return [r["path"] for r in self.requests]

    def last(self, path: str) -> dict:
        return [r for r in self.requests if r["path"] == path][-1]


class _StandInHandler(BaseHTTPRequestHandler):
    server: _StandInApi

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _record(self, body_len: int = 0) -> None:
        self.server.requests.append(
            {
                "method": self.command,
                "path": self.path.split("?")[0],
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body_len": body_len,
            }
        )

    def _json(self, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._record()
        path = self.path.split("?")[0]
        if path in {"/health", "/ready"}:
            self._json(200, {"status": "ok"})
        elif path == "/api/v1/big":
            self._json(200, [{"id": i, "name": f"agent-{i}", "status": "ok"} for i in range(300)])
        elif path == SSE_PATH:
            self._sse()
        elif path.startswith("/api/v1/"):
            self._json(200, {"path": path})
        else:
            self._json(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        remaining = int(self.headers.get("Content-Length", "0"))
        received = 0
        while remaining:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
        self._record(received)
        self._json(200, {"received": received})

    def _sse(self) -> None:
        # Deliberately no `X-Accel-Buffering: no`: nginx must stream because of its own config.
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.write(b"event: agent\ndata: first\n\n")
        self.wfile.flush()
        self.server.release_sse.wait(timeout=15)
        self.wfile.write(b"event: agent\ndata: second\n\n")
        self.wfile.flush()
        self.server.sse_finished.set()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class _Nginx:
    process: subprocess.Popen[bytes]
    workdir: Path
    http_port: int
    https_port: int

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def logs(self) -> str:
        return "\n".join(
            (self.workdir / name).read_text(errors="replace")
            for name in ("stderr.log", "error.log")
            if (self.workdir / name).exists()
        )


def _wait_for_port(port: int, nginx: _Nginx, deadline: float) -> None:
    while True:
        if nginx.process.poll() is not None:
            pytest.fail(f"nginx exited with {nginx.process.returncode}:\n{nginx.logs()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"nginx did not listen on {port}:\n{nginx.logs()}")
            time.sleep(0.05)


@pytest.fixture(scope="module")
def site_dir() -> Iterator[Path]:
    """A world-readable web root (nginx workers started by root run as an unprivileged user)."""
    root = Path(tempfile.mkdtemp(prefix="agentsentinel-nginx-"))
    try:
        root.chmod(0o755)
        html = root / "html"
        (html / "assets").mkdir(parents=True)
        (html / "index.html").write_text(
            '<!doctype html><html><head><script type="module" src="/assets/app-3f9c2b1a.js">'
            "</script></head><body><div id=root>AgentSentinel test UI</div></body></html>\n"
        )
        (html / "assets" / "app-3f9c2b1a.js").write_text("console.log('agentsentinel');\n" * 200)
        for path in [html, *html.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield html
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def start_nginx(
    nginx_bin: str, certs_dir: Path, site_dir: Path, nginx_conf_text: str, rewrite_config
) -> Iterator[Callable[[int], _Nginx]]:
    """``start_nginx(upstream_port)`` runs the shipped config on free high ports."""
    started: list[tuple[_Nginx, list]] = []

    def start(upstream_port: int) -> _Nginx:
        workdir = Path(tempfile.mkdtemp(prefix="nginx-", dir=site_dir.parent))
        http_port, https_port = _free_port(), _free_port()
        conf = workdir / "nginx.conf"
        conf.write_text(
            rewrite_config(
                nginx_conf_text,
                [
                    (UPSTREAM, f"server 127.0.0.1:{upstream_port};", 1),
                    *_cert_rewrites(certs_dir),
                    (LISTEN_HTTP, f"listen 127.0.0.1:{http_port} default_server;", 1),
                    (LISTEN_HTTPS, f"listen 127.0.0.1:{https_port} ssl http2 default_server;", 1),
                    (STATIC_ROOT, f"root {site_dir};", 1),
                ],
            )
        )
        stdout = (workdir / "access.log").open("wb")
        stderr = (workdir / "stderr.log").open("wb")
        process = subprocess.Popen(
            [
                nginx_bin,
                "-e",
                "stderr",
                "-c",
                str(conf),
                "-g",
                f"pid {workdir}/nginx.pid; error_log {workdir}/error.log; daemon off;",
            ],
            stdout=stdout,
            stderr=stderr,
        )
        nginx = _Nginx(process, workdir, http_port, https_port)
        started.append((nginx, [stdout, stderr]))
        deadline = time.monotonic() + 15
        _wait_for_port(https_port, nginx, deadline)
        _wait_for_port(http_port, nginx, deadline)
        return nginx

    yield start

    for nginx, files in started:
        nginx.process.terminate()
        try:
            nginx.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            nginx.process.kill()
            nginx.process.wait(timeout=15)
        for handle in files:
            handle.close()


@pytest.fixture(scope="module")
def api() -> Iterator[_StandInApi]:
    server = _StandInApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release_sse.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=15)


@pytest.fixture(scope="module")
def edge(start_nginx, api: _StandInApi) -> _Nginx:
    return start_nginx(api.port)


@pytest.fixture(scope="module")
def client(certs_dir: Path) -> Iterator[httpx.Client]:
    # The dev certificate is its own trust anchor; hostname (SAN 127.0.0.1) checking stays on.
    context = ssl.create_default_context(cafile=str(certs_dir / "server.crt"))
    with httpx.Client(verify=context, trust_env=False, timeout=5.0) as http_client:
        yield http_client


def _assert_security_headers(response: httpx.Response) -> None:
    assert "max-age=" in response.headers["strict-transport-security"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in response.headers
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["server"] == "nginx", "server_tokens off hides the version"


def test_live_http_redirects_to_https(edge: _Nginx, client: httpx.Client) -> None:
    response = client.get(f"{edge.http}/agents/42?tab=events")
    assert response.status_code == 301
    assert response.headers["location"] == "https://127.0.0.1/agents/42?tab=events"


def test_live_api_is_proxied_with_forwarding_headers(
    edge: _Nginx, client: httpx.Client, api: _StandInApi
) -> None:
    response = client.get(
        f"{edge.https}/api/v1/agents?limit=5", headers={"X-Forwarded-For": "203.0.113.9"}
    )
    assert response.status_code == 200
    assert response.json() == {"path": "/api/v1/agents"}
    _assert_security_headers(response)
    seen = api.last("/api/v1/agents")["headers"]
    assert seen["x-forwarded-proto"] == "https"
    assert seen["x-forwarded-for"] == "127.0.0.1", "a client-supplied X-Forwarded-For is replaced"
    assert seen["x-real-ip"] == "127.0.0.1"
    assert seen["host"] == "127.0.0.1"


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_live_health_endpoints_are_proxied(
    edge: _Nginx, client: httpx.Client, api: _StandInApi, path: str
) -> None:
    response = client.get(f"{edge.https}{path}")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert path in api.paths()


def test_live_nginx_health(edge: _Nginx, client: httpx.Client) -> None:
    response = client.get(f"{edge.https}/nginx-health")
    assert response.status_code == 200
    assert response.text == "ok\n"


def test_live_sse_is_streamed_unbuffered(
    edge: _Nginx, client: httpx.Client, api: _StandInApi
) -> None:
    headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip"}
    with client.stream("GET", f"{edge.https}{SSE_PATH}", headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        chunks = response.iter_raw()
        received = b""
        # The stand-in holds the response open until released: if nginx buffered it, this read
        # would time out (5 s) instead of returning the first event.
        while b"\n\n" not in received:
            received += next(chunks)
        assert b"data: first" in received
        assert not api.sse_finished.is_set()
        api.release_sse.set()
        received += b"".join(chunks)
    assert b"data: second" in received
    assert api.last(SSE_PATH)["headers"].get("connection", "") in {"", "close"}


def test_live_json_is_gzipped(edge: _Nginx, client: httpx.Client) -> None:
    response = client.get(f"{edge.https}/api/v1/big", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()) == 300


def test_live_spa_and_static_assets(edge: _Nginx, client: httpx.Client, site_dir: Path) -> None:
    index = (site_dir / "index.html").read_text()
    for path in ("/", "/agents/7f9c/findings"):
        response = client.get(f"{edge.https}{path}")
        assert response.status_code == 200
        assert response.text == index
        assert response.headers["cache-control"] == "no-cache"
        _assert_security_headers(response)

    asset = client.get(f"{edge.https}/assets/app-3f9c2b1a.js", headers={"Accept-Encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-encoding"] == "gzip"
    assert asset.text == (site_dir / "assets" / "app-3f9c2b1a.js").read_text()
    max_age = int(re.search(r"max-age=(\d+)", asset.headers["cache-control"]).group(1))
    assert max_age >= 30 * 86400

    missing = client.get(f"{edge.https}/assets/app-00000000.js")
    assert missing.status_code == 404, "a missing asset must not be answered with index.html"
    _assert_security_headers(missing)


def test_live_docs_are_not_published(edge: _Nginx, client: httpx.Client, api: _StandInApi) -> None:
    for path in ("/docs", "/openapi.json"):
        assert client.get(f"{edge.https}{path}").status_code == 404
        assert path not in api.paths()


def test_live_body_size_limit(
    edge: _Nginx, client: httpx.Client, api: _StandInApi, certs_dir: Path
) -> None:
    # Just over the API's own 4 MiB limit still reaches the API (which answers with its JSON 413).
    size = API_MAX_BODY + 512 * 1024
    response = client.post(f"{edge.https}/api/v1/events/batch", content=b"x" * size)
    assert response.status_code == 200
    assert response.json() == {"received": size}

    # Far over it, nginx refuses from the Content-Length header alone, before any body is sent.
    context = ssl.create_default_context(cafile=str(certs_dir / "server.crt"))
    with (
        socket.create_connection(("127.0.0.1", edge.https_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(
            b"POST /api/v1/events/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 67108864\r\n\r\n"
        )
        status_line = tls.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"413", status_line


def test_live_api_down_returns_json_503(start_nginx, client: httpx.Client) -> None:
    down = start_nginx(_free_port())  # nothing listens there
    response = client.post(f"{down.https}/api/v1/events", json={"tool_name": "x"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "unavailable"
    _assert_security_headers(response)
    assert client.get(f"{down.https}/nginx-health").status_code == 200


def test_live_gzip_decodes(edge: _Nginx, client: httpx.Client) -> None:
    """httpx decodes transparently; check the raw bytes too, so gzip is not only a header."""
    with client.stream(
        "GET", f"{edge.https}/api/v1/big", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert len(json.loads(gzip.decompress(raw))) == 300
