"""Local HTTP servers for the egress tests: an upstream with canned answers and a forward proxy.

Nothing here talks to anything but 127.0.0.1; names that must not resolve are answered by a
patched resolver so that no DNS query leaves the machine either.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.datastore.conftest import app_a  # noqa: F401  (fixture of the Parse API tests)

UNRESOLVABLE_SUFFIX = ".hangar-egress.test"


@dataclass
class Recorder:
    url: str
    port: int
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


def _upstream_handler(recorder: Callable[[str, dict[str, str]], None]) -> type[BaseHTTPRequestHandler]:
    class Upstream(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            recorder(self.path, dict(self.headers))
            path = self.path.split("?", 1)[0]
            if path == "/big":
                return self._reply(200, b"x" * 2000)
            if path == "/chunked":
                return self._chunks([b"y" * 1000] * 5, pause=0)
            if path == "/slow":
                return self._chunks([b"z"] * 50, pause=0.1)
            if path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            return self._reply(200, b'{"ok": true}')

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _chunks(self, chunks: list[bytes], *, pause: float) -> None:
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in chunks:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                    time.sleep(pause)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client gave up, as the tests expect

        def log_message(self, *args: object) -> None:
            pass

    return Upstream


@pytest.fixture
def upstream() -> Iterator[Recorder]:
    """An HTTP server on 127.0.0.1 that records every request it gets."""
    seen: list[tuple[str, dict[str, str]]] = []
    server, port = _serve(_upstream_handler(lambda path, headers: seen.append((path, headers))))
    yield Recorder(url=f"http://127.0.0.1:{port}", port=port, seen=seen)
    server.shutdown()
    server.server_close()


@pytest.fixture
def forward_proxy(upstream: Recorder) -> Iterator[Recorder]:
    """A forward HTTP proxy on 127.0.0.1 that sends every request to ``upstream`` (its "DNS")."""
    seen: list[tuple[str, dict[str, str]]] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append((self.path, dict(self.headers)))
            connection = http.client.HTTPConnection("127.0.0.1", upstream.port, timeout=5)
            connection.request("GET", self.path, headers={"Host": self.headers.get("Host", "")})
            answer = connection.getresponse()
            body = answer.read()
            self.send_response(answer.status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            connection.close()

        def log_message(self, *args: object) -> None:
            pass

    server, port = _serve(Proxy)
    yield Recorder(url=f"http://127.0.0.1:{port}", port=port, seen=seen)
    server.shutdown()
    server.server_close()


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Answer names ending in UNRESOLVABLE_SUFFIX locally: listed ones with their addresses, others not at all.

    Returns ``{name: addresses}`` to fill in; ``resolver["calls"]`` lists the names asked for.
    """
    real = socket.getaddrinfo
    answers: dict[str, list[str]] = {"calls": []}

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.endswith(UNRESOLVABLE_SUFFIX):
            return real(host, port, *args, **kwargs)
        answers["calls"].append(name)
        if name not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0))) for address in answers[name]]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return answers


def _self_signed(name: str) -> tuple[bytes, bytes]:
    """A certificate for ``name`` (PEM) and its key (PEM), trusted only by the test's client context."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass
class TlsUpstream:
    port: int
    certificate_pem: bytes
    server_names: list[str]


@pytest.fixture
def tls_upstream(tmp_path: Any) -> Iterator[Callable[[str], TlsUpstream]]:
    """Start an HTTPS server on 127.0.0.1 whose certificate names the given host; it records the SNI it gets."""
    servers: list[ThreadingHTTPServer] = []

    def start(name: str) -> TlsUpstream:
        certificate, key = _self_signed(name)
        (tmp_path / "cert.pem").write_bytes(certificate)
        (tmp_path / "key.pem").write_bytes(key)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        server_names: list[str] = []
        context.sni_callback = lambda sock, server_name, ctx: server_names.append(server_name or "")  # type: ignore[assignment]
        server = ThreadingHTTPServer(("127.0.0.1", 0), _upstream_handler(lambda path, headers: None))
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return TlsUpstream(port=int(server.server_address[1]), certificate_pem=certificate, server_names=server_names)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
