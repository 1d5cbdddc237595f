"""http_get hardening: one deadline from connect to last byte, abandoned calls that really stop, IPv6
forms that carry a private IPv4 address, gzip bombs, redirects without a Location, charsets Python
cannot decode text with.

No test leaves 127.0.0.1: refused addresses are refused before any connection (a MockTransport
records every request that would have gone out), names resolve through a stub resolver.
"""

import asyncio
import os
import socket
import threading
import time

import httpx
import pytest
from tools_hardening_support import peak_rss_growth_mb

import a3agent.tools.http as http_module
from a3agent.tools import Toolbox, ToolCall, http_get_tool


class DripServer:
    """A loopback server that answers each connection with one header byte per `interval` seconds.

    `closed` is set when the client hangs up (the server's read sees EOF or a reset).
    """

    def __init__(self, interval: float = 0.2) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.interval = interval
        self.closed = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.listener.accept()
        with connection:
            connection.recv(65536)
            connection.settimeout(self.interval)
            for byte in b"HTTP/1.1 200 OK\r\n" + b"X-Drip: " + b"a" * 10_000:
                if self.stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                    if connection.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
            self.closed.set()

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        self.thread.join(5)


def open_sockets() -> int:
    return sum(os.readlink(f"/proc/self/fd/{fd}").startswith("socket:") for fd in _fds())


def _fds() -> list[str]:
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            os.readlink(f"/proc/self/fd/{fd}")
            names.append(fd)
        except OSError:  # the listing's own descriptor, already closed
            pass
    return names


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets through /proc")


@pytest.fixture
def drip():
    server = DripServer()
    yield server
    server.close()


def assert_nothing_left(drip: DripServer, threads: set[threading.Thread], sockets: int) -> None:
    """No thread and no socket beyond those before the call once the tool's thread has unwound.

    The server sees the socket close before the tool's thread returns, so each new thread gets a
    bounded join (a hang guard) before the count is taken.
    """
    deadline = time.monotonic() + 3
    for thread in set(threading.enumerate()) - threads | {drip.thread}:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert set(threading.enumerate()) == threads - {drip.thread}
    assert open_sockets() == sockets


def invoke(box: Toolbox, url: str):
    return box.invoke(ToolCall("http_get", {"url": url}))


@needs_proc
def test_a_server_dripping_its_headers_is_cut_at_the_whole_fetch_deadline(drip):
    threads, sockets = set(threading.enumerate()), open_sockets()
    box = Toolbox([http_get_tool(allow_private=True, timeout=1.0)])
    started = time.monotonic()
    result = asyncio.run(invoke(box, f"http://127.0.0.1:{drip.port}/"))
    elapsed = time.monotonic() - started
    assert result.is_error and "timed out after 1 s" in result.text
    assert elapsed < 4, elapsed  # the drip would hold it for 2000 s; a hang guard, not a benchmark
    assert drip.closed.wait(3)  # the client hung up
    assert_nothing_left(drip, threads, sockets)


@needs_proc
def test_an_abandoned_call_closes_its_socket_and_leaves_no_thread(drip):
    threads, sockets = set(threading.enumerate()), open_sockets()
    box = Toolbox([http_get_tool(allow_private=True, timeout=60)])

    async def abandon():
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(invoke(box, f"http://127.0.0.1:{drip.port}/"), 0.5)

    asyncio.run(abandon())
    assert drip.closed.wait(3)
    assert_nothing_left(drip, threads, sockets)


EMBEDDED_PRIVATE = [
    "::7f00:1",  # IPv4-compatible 127.0.0.1
    "::ffff:0:7f00:1",  # SIIT 127.0.0.1
    "64:ff9b::7f00:1",  # NAT64 well-known prefix
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b:1::a9fe:a9fe",  # NAT64 local-use prefix
    "64:ff9b:1:ff00::1",  # local-use, whatever is embedded
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:a9fe:a9fe::1",  # Teredo with server 169.254.169.254
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo with client 127.0.0.1 (obfuscated)
]


@pytest.fixture
def outgoing(monkeypatch):
    """Every request http_get would send, recorded and answered by a MockTransport, never sent."""
    sent = []

    def handler(request):
        sent.append(request.url.host)
        return httpx.Response(200, headers={"Content-Type": "text/plain"}, stream=httpx.ByteStream(b"reached"))

    monkeypatch.setattr(http_module, "_client", lambda timeout: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    return sent


@pytest.fixture
def stub_resolver(monkeypatch):
    table = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror(f"{host} is not in the test's table")
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)) for address in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE)
def test_ipv6_forms_carrying_a_private_ipv4_address_are_refused_without_a_connection(address, outgoing):
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), f"http://[{address}]/"))
    assert result.is_error and "only public addresses may be fetched" in result.text
    assert outgoing == []


def test_a_name_resolving_to_nat64_of_the_metadata_service_is_refused(outgoing, stub_resolver):
    stub_resolver["metadata.example"] = ["64:ff9b::a9fe:a9fe"]
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), "http://metadata.example/"))
    assert result.is_error and "metadata.example resolves to 64:ff9b::a9fe:a9fe" in result.text
    assert outgoing == []


@pytest.mark.parametrize("address", ["64:ff9b::5db8:d822", "2002:5db8:d822::1", "2606:4700::1111"])
def test_ipv6_forms_of_public_addresses_are_fetched(address, outgoing):
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), f"http://[{address}]/"))
    assert result.text == "reached" and outgoing == [address]


def test_a_redirect_without_a_location_is_an_error_result(monkeypatch, stub_resolver):
    stub_resolver["public.example"] = ["2606:4700::1111"]
    monkeypatch.setattr(
        http_module, "_client",
        lambda timeout: httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(302))),
    )
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), "http://public.example/"))
    assert result.is_error and "answered HTTP 302 without a Location" in result.text


def test_a_body_in_an_encoding_not_asked_for_is_an_error_result(monkeypatch, stub_resolver):
    stub_resolver["public.example"] = ["2606:4700::1111"]
    seen = []

    def handler(request):
        seen.append(request.headers["accept-encoding"])
        return httpx.Response(200, headers={"Content-Encoding": "br", "Content-Type": "text/plain"}, content=b"x")

    monkeypatch.setattr(http_module, "_client", lambda timeout: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), "http://public.example/"))
    assert result.is_error and "encoded as 'br', which was not asked for" in result.text
    assert seen == ["gzip, deflate"]


@pytest.mark.parametrize("charset", ["base64", "rot13", "idna", "undefined"])
def test_a_body_in_a_charset_python_cannot_decode_text_with_reads_as_utf8(monkeypatch, stub_resolver, charset):
    # was LookupError ("'base64' is not a text encoding") or UnicodeError, reported as the tool crashing
    stub_resolver["public.example"] = ["2606:4700::1111"]
    headers = {"Content-Type": f"text/plain; charset={charset}"}
    handler = lambda request: httpx.Response(200, headers=headers, stream=httpx.ByteStream("héllo".encode()))  # noqa: E731
    monkeypatch.setattr(http_module, "_client", lambda timeout: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    result = asyncio.run(invoke(Toolbox([http_get_tool()]), "http://public.example/"))
    assert not result.is_error and result.text == "héllo"


GZIP_BOMB_SERVER = """
import asyncio, gzip, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from a3agent.tools import Toolbox, ToolCall, http_get_tool

BOMB = gzip.compress(b"a" * 200_000_000, compresslevel=9)  # 200 MB of text in about 200 KB


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(BOMB)))
        self.end_headers()
        self.wfile.write(BOMB)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
box = Toolbox([http_get_tool(allow_private=True)])
"""


def test_a_gzip_bomb_counts_its_decompressed_bytes_against_the_cap_as_they_stream():
    grew, out = peak_rss_growth_mb(
        GZIP_BOMB_SERVER,
        """
        url = f"http://127.0.0.1:{server.server_port}/"
        text = asyncio.run(box.invoke(ToolCall("http_get", {"url": url}))).text
        out["length"], out["tail"] = len(text), text[-60:]
        """,
    )
    assert out["length"] == 2_000_000 + len("\n[truncated: the body exceeded 2000000 bytes]")
    assert out["tail"].endswith("[truncated: the body exceeded 2000000 bytes]")
    assert grew < 40, grew  # the 2 MB cap, a copy of it and the decoder's window; not 200 MB
