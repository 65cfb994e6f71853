"""TLS: a soketi with a self-signed certificate is refused by default and accepted once its
CA is configured (``ca_bundle`` or ``ssl_context``), for the socket and the auth calls alike."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

import rxpusher
from helpers.soketi_harness import HOST, Collector, Soketi, wait_for, wait_state, wait_subscribed

# The socket tests are soketi only: they need a server speaking TLS (wss:// and https://), and
# the local rxpusher.server listens on plain TCP only (it is a development server; TLS is not
# part of issue 3). What they check is the client's certificate handling, not server behaviour.
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=IP:{HOST}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


class TlsSoketi(Soketi):
    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__(extra_env={"SOKETI_SSL_CERT": str(cert), "SOKETI_SSL_KEY": str(key)})
        self._context = ssl.create_default_context(cafile=str(cert))

    @property
    def http_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def _ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.http_url}/ready", timeout=0.5,
                                        context=self._context) as resp:
                return resp.status == 200
        except (OSError, urllib.error.URLError):
            return False


@pytest.fixture(scope="module")
def tls_soketi(certificate):
    server = TlsSoketi(*certificate)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def https_auth(tls_soketi, certificate):
    """An HTTPS channel-authorization endpoint with the self-signed certificate."""
    sdk = tls_soketi.sdk

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            body = json.dumps(sdk.authenticate(channel=form["channel_name"][0],
                                               socket_id=form["socket_id"][0])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer((HOST, 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://{HOST}:{httpd.server_address[1]}/auth"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def tls_options(server: Soketi, **extra):
    return dict(host=server.host, wss_port=server.port, use_tls=True, **extra)


@pytest.mark.soketi_only  # the local server has no TLS; soketi serves the certificate
def test_self_signed_server_is_refused_by_default(tls_soketi, caplog):
    caplog.set_level(logging.INFO, logger="rxpusher")
    with rxpusher.Pusher(tls_soketi.key, unavailable_timeout=0.3,
                         reconnect=rxpusher.Backoff(initial=0.1, maximum=0.2),
                         **tls_options(tls_soketi)) as client:
        wait_state(client, "unavailable")
        wait_for(lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text)
        assert client.socket_id is None


@pytest.mark.soketi_only  # the local server has no TLS; soketi serves the certificate
@pytest.mark.parametrize("how", ["ca_bundle", "ssl_context"])
def test_self_signed_server_is_accepted_with_its_ca_for_socket_and_auth(
    tls_soketi, certificate, https_auth, how
):
    cert = str(certificate[0])
    option = {"ca_bundle": cert} if how == "ca_bundle" else {
        "ssl_context": ssl.create_default_context(cafile=cert)
    }
    with rxpusher.Pusher(tls_soketi.key, auth_endpoint=https_auth,
                         **tls_options(tls_soketi, **option)) as client:
        wait_state(client, "connected")
        assert client.url.startswith("wss://")
        channel = client.channel("private-tls")
        got = Collector("tls")
        got.subscribe_to(channel.events("e"))
        wait_subscribed(channel)


def test_auth_endpoint_with_an_unknown_ca_fails_the_channel_with_status_0(
    make_pusher, https_auth, unique
):
    # The socket goes to the (plain) session server; only the auth call meets the unknown CA.
    client = make_pusher(auth_endpoint=https_auth)
    channel = client.channel(unique("private-untrusted"))
    got = Collector("untrusted")
    got.subscribe_to(channel.events("e"))
    error = got.wait_error()
    assert isinstance(error, rxpusher.SubscriptionError)
    assert error.status == 0
    assert "CERTIFICATE_VERIFY_FAILED" in error.message
