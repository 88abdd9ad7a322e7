"""nginx in front of test instances, run from the deployment guide's own configuration.

``NginxProxy`` fills in ``docs/deploy/nginx.conf`` (the upstream addresses, the two
listening ports, a self-signed certificate for 127.0.0.1), wraps it in a main
configuration that keeps the pid file, logs and temporary files in the test's
directory, checks it with ``nginx -t`` and runs nginx in the foreground as the
test's own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import httpx

from tests.support.cluster import ROOT, free_port, poll
from tests.support.services import service_missing
from tests.support.timing import timeout

SITE = ROOT / "docs" / "deploy" / "nginx.conf"
# The example instances of the site file, in order; the test's take their places.
EXAMPLE_UPSTREAMS = ("10.0.0.11:8000", "10.0.0.12:8000")
EXAMPLE_CERTIFICATE = "/etc/letsencrypt/live/roundtable.example.com/fullchain.pem"
EXAMPLE_KEY = "/etc/letsencrypt/live/roundtable.example.com/privkey.pem"


def nginx_binary() -> str:
    """The nginx executable (Debian's package nginx-light), or skip with the reason."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None
    )
    if found is None:
        service_missing(
            "nginx is not installed: the multi-host test runs the deployment guide's "
            "nginx configuration (`make test` installs the Debian package nginx-light)"
        )
        raise AssertionError("unreachable")
    return found


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with ``old`` replaced, failing when the guide's file no longer has it."""
    if old not in text:
        raise AssertionError(f"{SITE.relative_to(ROOT)} no longer contains {old!r}")
    return text.replace(old, new)


def fill_site(
    site: str,
    upstream_ports: Sequence[int],
    http_port: int,
    https_port: int,
    certificate: Path,
    key: Path,
) -> str:
    """The site file with this test's instances, ports and certificate in it."""
    if len(upstream_ports) != len(EXAMPLE_UPSTREAMS):
        raise ValueError(f"the site file lists {len(EXAMPLE_UPSTREAMS)} instances")
    for example, port in zip(EXAMPLE_UPSTREAMS, upstream_ports, strict=True):
        site = replace_once(site, f"server {example} ", f"server 127.0.0.1:{port} ")
    site = replace_once(site, "listen 80;", f"listen 127.0.0.1:{http_port};")
    site = replace_once(site, "listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    # The test machine may have no IPv6 loopback.
    site = replace_once(site, "listen [::]:80;", "")
    site = replace_once(site, "listen [::]:443 ssl;", "")
    site = replace_once(site, EXAMPLE_CERTIFICATE, str(certificate))
    return replace_once(site, EXAMPLE_KEY, str(key))


def main_config(directory: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site file, kept in ``directory``."""
    # Worker processes run as this user when nginx starts as root; as anybody else
    # the directive is ignored. The test's directory is private to its owner.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return (
        f"{user}worker_processes 1;\n"
        f"pid {directory / 'nginx.pid'};\n"
        f"error_log {directory / 'error.log'} info;\n"
        "events { worker_connections 1024; }\n"
        "http {\n"
        "    log_format upstreams '$request_method $uri $status $upstream_addr';\n"
        f"    access_log {directory / 'access.log'} upstreams;\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
        + f"    include {site};\n"
        "}\n"
    )


async def run(*command: str | Path) -> tuple[int, str]:
    """Run a short command; its exit code and its output."""
    process = await asyncio.create_subprocess_exec(
        *map(str, command),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout(30))
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        service_missing("openssl is not installed: the multi-host test needs a certificate")
        raise AssertionError("unreachable")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    code, output = await run(
        openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", key, "-out", certificate,
    )  # fmt: skip
    assert code == 0, f"openssl req failed:\n{output}"
    return certificate, key


class NginxProxy:
    """nginx on two free ports of 127.0.0.1: HTTP (redirects only) and HTTPS."""

    def __init__(self, directory: Path, upstream_ports: Sequence[int]) -> None:
        self.binary = nginx_binary()
        self.directory = directory
        self.upstream_ports = list(upstream_ports)
        self.http_port = free_port()
        self.https_port = free_port()
        self.certificate = directory / "cert.pem"
        self.config = directory / "nginx.conf"
        self.process: asyncio.subprocess.Process | None = None

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def sync_url(self, room: str) -> str:
        return f"wss://127.0.0.1:{self.https_port}/sync/{room}"

    def ssl_context(self) -> ssl.SSLContext:
        """Trusts this proxy's certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.https, verify=self.ssl_context())

    def error_log(self) -> str:
        path = self.directory / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def access_log(self) -> list[str]:
        path = self.directory / "access.log"
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    async def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        certificate, key = await self_signed_certificate(self.directory)
        site = self.directory / "roundtable.conf"
        site.write_text(
            fill_site(
                SITE.read_text(),
                self.upstream_ports,
                self.http_port,
                self.https_port,
                certificate,
                key,
            )
        )
        self.config.write_text(main_config(self.directory, site))

    def _command(self, *extra: str) -> list[str]:
        return [
            self.binary,
            "-p", str(self.directory),
            "-c", str(self.config),
            "-e", str(self.directory / "error.log"),
            *extra,
        ]  # fmt: skip

    async def check(self) -> None:
        """``nginx -t``: the filled-in configuration is valid."""
        code, output = await run(*self._command("-t"))
        assert code == 0, f"nginx -t refused {SITE.relative_to(ROOT)}:\n{output}"

    async def start(self) -> None:
        await self.write_config()
        await self.check()
        self.process = await asyncio.create_subprocess_exec(
            *self._command("-g", "daemon off;"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        async def answers() -> bool:
            assert self.process is not None
            if self.process.returncode is not None:
                raise AssertionError(f"nginx exited:\n{self.error_log()[-3000:]}")
            try:
                async with self.client() as client:
                    return (await client.get("/health", timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        await poll(answers, 15, "nginx to pass GET /health to an instance")

    async def stop(self) -> None:
        """Fast shutdown (SIGTERM), then SIGKILL if nginx hangs."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout(10))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            await process.wait()


@contextlib.asynccontextmanager
async def running_nginx(
    directory: Path, upstream_ports: Sequence[int]
) -> AsyncIterator[NginxProxy]:
    proxy = NginxProxy(directory, upstream_ports)
    try:
        await proxy.start()
        yield proxy
    finally:
        await proxy.stop()
