"""http_get: SSRF refusals (addresses, DNS, redirects), and the allowed path against a loopback server.

No test leaves 127.0.0.1: refused URLs are refused before any connection, names resolve through a fake
resolver, and the one redirect from a "public" host is answered by an httpx MockTransport.
"""

import asyncio
import io
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from PIL import Image

import a3agent.tools.http as http_module
from a3agent.tools import Toolbox, ToolCall, ToolContext, ToolResult, http_get_tool

HTML = b"""<!doctype html><html><head><title>Fruit</title><style>p {color: red}</style>
<script>document.write("<p>not text</p>")</script></head>
<body><h1>Apricots</h1><p>Ripe <b>figs</b> &amp; apricots.</p><ul><li>one</li><li>two</li></ul></body></html>"""


def png(size=(32, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 128, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


class Handler(BaseHTTPRequestHandler):
    routes = {
        "/page": (200, "text/html; charset=utf-8", HTML),
        "/text": (200, "text/plain; charset=latin-1", "café".encode("latin-1")),
        "/json": (200, "application/json", b'{"ok": true}'),
        "/image.png": (200, "image/png", png()),
        "/big": (200, "text/plain", b"x" * 50_000),
        "/binary": (200, "application/octet-stream", b"\x00\x01"),
        "/missing": (404, "text/plain", b"no"),
    }
    redirects = {"/redirect": "/page", "/loop": "/loop"}

    def do_GET(self):
        self.server.hosts.append(self.headers["Host"])
        if self.path == "/slow":
            self.server.release.wait(5)
        if self.path == "/to-localhost":
            self._send(302, "text/plain", b"", f"http://localhost:{self.server.server_port}/page")
        elif self.path in self.redirects:
            self._send(302, "text/plain", b"", self.redirects[self.path])
        else:
            self._send(*self.routes.get(self.path, (200, "text/plain", b"slow")))

    def _send(self, status, content_type, body, location=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.hosts = []
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def base(server) -> str:
    return f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def fake_dns(monkeypatch):
    """Names in the returned table resolve to the given addresses; the list records each lookup."""
    real = socket.getaddrinfo
    table: dict[str, list[str]] = {}
    asked: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table, asked


def get(url: str, ctx: ToolContext | None = None, **policy) -> ToolResult:
    box = Toolbox([http_get_tool(**policy)])
    return asyncio.run(box.invoke(ToolCall("http_get", {"url": url}), ctx))


# -- refused by default -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/admin",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fe80::1]/",
        "http://2130706433/",  # 127.0.0.1 written as one number
    ],
)
def test_private_loopback_link_local_and_multicast_addresses_are_refused(url):
    result = get(url)
    assert result.is_error and "only public addresses may be fetched" in result.text


def test_loopback_is_refused_by_default_even_with_a_server_there(server, base):
    result = get(f"{base}/page")
    assert result.is_error and "127.0.0.1" in result.text and "only public addresses" in result.text
    result = get(f"http://localhost:{server.server_port}/page")
    assert result.is_error and "only public addresses" in result.text
    assert server.hosts == []


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://example.com/"])
def test_only_http_and_https_are_fetched(url):
    result = get(url)
    assert result.is_error and "only those can be fetched" in result.text


def test_a_name_resolving_to_any_private_address_is_refused(fake_dns):
    table, _ = fake_dns
    table["rebind.example"] = ["93.184.216.34", "127.0.0.1"]
    result = get("http://rebind.example/")
    assert result.is_error and "rebind.example resolves to 127.0.0.1" in result.text


def test_a_redirect_from_an_allowed_host_to_loopback_is_refused(fake_dns, monkeypatch, server):
    table, _ = fake_dns
    table["public.example"] = ["93.184.216.34"]
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"]))
        return httpx.Response(302, headers={"Location": f"http://127.0.0.1:{server.server_port}/page"})

    monkeypatch.setattr(http_module, "_client", lambda timeout: httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    result = get("http://public.example/start")
    assert result.is_error and "refused http://127.0.0.1" in result.text
    assert seen == [("93.184.216.34", "public.example")]  # connected to the checked address, Host kept
    assert server.hosts == []


def test_a_redirect_to_a_host_off_the_allowlist_is_refused(server, base):
    result = get(f"{base}/to-localhost", allow_hosts=["127.0.0.1"], allow_private=True)
    assert result.is_error and "host 'localhost' is not on the allowlist (127.0.0.1)" in result.text


def test_hosts_off_the_allowlist_are_refused_before_any_lookup(fake_dns):
    _, asked = fake_dns
    result = get("http://example.org/", allow_hosts=["example.com"])
    assert result.is_error and "not on the allowlist" in result.text and asked == []


def test_an_unresolvable_host_is_a_clear_error(fake_dns):
    table, _ = fake_dns
    table["nowhere.example"] = []
    result = get("http://nowhere.example/")
    assert result.is_error and "cannot resolve host 'nowhere.example'" in result.text


# -- the allowed path, against a loopback server ----------------------------------------------


def test_html_comes_back_as_its_text(base):
    result = get(f"{base}/page", allow_private=True)
    assert not result.is_error
    assert result.text == "Fruit\nApricots\nRipe figs & apricots.\none\ntwo"


def test_text_uses_the_declared_charset_and_json_is_text(base):
    assert get(f"{base}/text", allow_private=True).text == "café"
    assert get(f"{base}/json", allow_private=True).text == '{"ok": true}'


def test_an_image_comes_back_as_an_image_in_the_store(base):
    ctx = ToolContext()
    result = get(f"{base}/image.png", ctx, allow_private=True)
    (part,) = result.images
    image = ctx.images.get(part.image_id)
    assert part.image_id == "img_0" and image.size == (32, 16) and image.getpixel((0, 0)) == (0, 128, 255)
    assert ctx.images.ids() == ["img_0"]


def test_a_subdomain_of_an_allowed_host_is_fetched_from_the_checked_address(fake_dns, server):
    table, asked = fake_dns
    table["api.example.com"] = ["127.0.0.1"]
    result = get(f"http://api.example.com:{server.server_port}/text", allow_hosts=["example.com"], allow_private=True)
    assert result.text == "café"
    assert asked == ["api.example.com"]  # resolved once, by us; the connection went to the checked address
    assert server.hosts[-1] == f"api.example.com:{server.server_port}"


def test_redirects_are_followed_hop_by_hop(base):
    assert get(f"{base}/redirect", allow_private=True).text.startswith("Fruit")


def test_a_redirect_loop_stops_at_the_limit(base):
    result = get(f"{base}/loop", allow_private=True)
    assert result.is_error and "redirected more than 5 times" in result.text


def test_the_size_cap_truncates_text(base):
    result = get(f"{base}/big", allow_private=True, max_bytes=1000)
    body, note = result.text.split("\n")
    assert body == "x" * 1000 and note == "[truncated: the body exceeded 1000 bytes]"


def test_the_size_cap_refuses_an_image(base):
    result = get(f"{base}/image.png", allow_private=True, max_bytes=50)
    assert result.is_error and "larger than the 50-byte cap" in result.text


def test_a_slow_server_times_out(server, base):
    result = get(f"{base}/slow", allow_private=True, timeout=0.3)
    assert result.is_error and "timed out after 0.3 s" in result.text


def test_http_errors_and_binary_bodies_are_reported(base):
    missing = get(f"{base}/missing", allow_private=True)
    assert missing.is_error and "HTTP 404 Not Found" in missing.text
    binary = get(f"{base}/binary", allow_private=True)
    assert binary.is_error and "application/octet-stream, which is neither text nor an image" in binary.text
