"""`http_get`: fetch a page (as text) or an image for the model, without opening the local network to it.

A model-chosen URL is untrusted input: without care it reaches the cloud metadata service
(169.254.169.254), localhost admin pages or the LAN (SSRF). So each hop resolves the host itself,
refuses it unless *every* address it resolves to is public (IPv6 forms that carry an IPv4 address are
judged by that address, see `addresses.py`), connects to the checked address (the name is not
resolved again, so DNS rebinding cannot swap it) with the original Host header and TLS server name,
and follows redirects by hand so every hop is checked the same way.

The fetch is a coroutine under one deadline from the first lookup to the last byte, so a server that
drips its headers is cut too, and a cancelled call closes its connection at once: no thread or socket
outlives it (only a name lookup already running in the event loop's executor finishes on its own).
Bodies are read raw and decompressed here, gzip and deflate only, so the size cap counts decompressed
bytes as they stream. Does not handle proxies (the environment's proxy settings are ignored on
purpose), cookies, authentication or any method but GET.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from a3agent.errors import ImageError, ToolFailed
from a3agent.tools.addresses import IPAddress, is_public
from a3agent.tools.definition import Tool
from a3agent.tools.html_text import html_to_text
from a3agent.tools.image_decoding import decode_image

if TYPE_CHECKING:
    import httpx
    from PIL import Image

__all__ = ["http_get_tool"]

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_ENCODINGS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}
_ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class _Policy:
    allow_hosts: frozenset[str] | None
    allow_private: bool
    timeout: float
    max_bytes: int
    max_redirects: int

    async def check(self, url: httpx.URL) -> IPAddress:
        """The address to connect to for `url`; raises ToolFailed where the URL may not be fetched."""
        if url.scheme not in ("http", "https"):
            raise ToolFailed(f"{url} is not an http:// or https:// URL; only those can be fetched")
        host = url.raw_host.decode("ascii")  # IDNA-encoded: what DNS, TLS and the allowlist compare
        if not host:
            raise ToolFailed(f"{url} has no host")
        if self.allow_hosts is not None and not any(host == h or host.endswith(f".{h}") for h in self.allow_hosts):
            raise ToolFailed(f"host {host!r} is not on the allowlist ({', '.join(sorted(self.allow_hosts))})")
        addresses = await _resolve(host, url.port or (443 if url.scheme == "https" else 80))
        for address in addresses:
            if not self.allow_private and not is_public(address):
                raise ToolFailed(
                    f"refused {url}: {host} resolves to {address}, a private, loopback, link-local, multicast or "
                    "reserved address (or one embedded in IPv6); only public addresses may be fetched"
                )
        return addresses[0]


def http_get_tool(
    *,
    allow_hosts: Iterable[str] | None = None,
    allow_private: bool = False,
    timeout: float = 10.0,
    max_bytes: int = 2_000_000,
    max_redirects: int = 5,
) -> Tool:
    """The `http_get` tool under this policy.

    `allow_hosts`: when given, only these hosts and their subdomains. `allow_private`: also fetch from
    private, loopback and link-local addresses (e.g. a local test server). `timeout`: seconds for the
    whole fetch, lookups and redirects included. `max_bytes`: the decompressed body is cut there (text
    is truncated, an image refused).
    """
    hosts = frozenset(host.lower() for host in allow_hosts) if allow_hosts is not None else None
    policy = _Policy(hosts, allow_private, timeout, max_bytes, max_redirects)

    async def http_get(url: str) -> Any:
        """Fetch a web page or an image over http(s): pages come back as their text, images as images.

        Args:
            url: An absolute http:// or https:// URL.
        """
        return await _fetch(url, policy)

    return Tool.from_function(http_get, timeout=timeout + 5)  # the fetch's own deadline reports first


async def _fetch(url: str, policy: _Policy) -> str | Image.Image:
    import httpx  # here, not at the top: listing the tools (a CLI usage check) must not pay for httpx

    try:
        async with asyncio.timeout(policy.timeout):
            return await _follow(httpx.URL(url), policy)
    except (TimeoutError, httpx.TimeoutException):
        raise ToolFailed(f"fetching {url} timed out after {policy.timeout:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ToolFailed(f"could not fetch {url}: {exc}") from None


async def _follow(target: httpx.URL, policy: _Policy) -> str | Image.Image:
    async with _client(policy.timeout) as client:
        for _ in range(policy.max_redirects + 1):
            request = _pinned_request(client, target, await policy.check(target))
            response = await client.send(request, stream=True)
            try:
                if not response.is_redirect:
                    return await _read(response, target, policy)
                location = response.headers.get("location")
                if location is None:
                    raise ToolFailed(f"{target} answered HTTP {response.status_code} without a Location to go to")
                target = target.join(location)
            finally:
                await response.aclose()
    raise ToolFailed(f"{target} redirected more than {policy.max_redirects} times")


def _pinned_request(client: httpx.AsyncClient, url: httpx.URL, address: IPAddress) -> httpx.Request:
    """A GET sent to the checked address that still names the host (Host header, TLS server name)."""
    return client.build_request(
        "GET",
        url.copy_with(host=str(address)),
        headers={"Host": url.netloc.decode("ascii"), "Accept-Encoding": _ACCEPT_ENCODING},
        extensions={"sni_hostname": url.raw_host.decode("ascii")},
    )


def _client(timeout: float) -> httpx.AsyncClient:
    import httpx

    return httpx.AsyncClient(timeout=timeout, follow_redirects=False, trust_env=False)


async def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        hosts = (info[4][0] for info in infos if isinstance(info[4][0], str))  # an int only for non-IP families
        addresses = list(dict.fromkeys(ipaddress.ip_address(host.split("%")[0]) for host in hosts))
    except (OSError, UnicodeError, ValueError) as exc:
        raise ToolFailed(f"cannot resolve host {host!r}: {exc}") from None
    if not addresses:
        raise ToolFailed(f"cannot resolve host {host!r}: it has no addresses")
    return addresses


async def _read(response: httpx.Response, url: httpx.URL, policy: _Policy) -> str | Image.Image:
    if response.status_code >= 400:
        raise ToolFailed(f"{url} answered HTTP {response.status_code} {response.reason_phrase}")
    content_type = response.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    body, truncated = await _read_capped(response, policy.max_bytes)
    if content_type.startswith("image/"):
        if truncated:
            raise ToolFailed(f"the image at {url} is larger than the {policy.max_bytes}-byte cap")
        try:
            return decode_image(body, f"the image at {url}")
        except ImageError as exc:
            raise ToolFailed(str(exc)) from None
    if not content_type.startswith(_TEXT_TYPES) and not content_type.endswith(("+json", "+xml")):
        raise ToolFailed(f"{url} returned {content_type}, which is neither text nor an image")
    text = _decoded(body, response.encoding)
    text = html_to_text(text) if content_type in _HTML_TYPES else text
    return f"{text}\n[truncated: the body exceeded {policy.max_bytes} bytes]" if truncated else text


def _decoded(body: bytes, charset: str | None) -> str:
    """The body in its declared charset, or in UTF-8 when Python cannot decode text with that one
    (`base64` and `rot13` are no text encodings, `idna` takes host names only)."""
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except (LookupError, ValueError):  # ValueError: UnicodeError, for codecs that ignore errors=
        return body.decode("utf-8", errors="replace")


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    """The decompressed body, at most `max_bytes` of it, and whether there was more."""
    decompress = _decompressor(response.headers.get("content-encoding", "identity"))
    body = bytearray()
    async for chunk in response.aiter_raw():
        try:
            body += decompress(chunk, max_bytes + 1 - len(body))
        except zlib.error as exc:
            encoding = response.headers["content-encoding"]
            raise ToolFailed(f"the body of {response.url} is not valid {encoding}: {exc}") from None
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False


def _decompressor(encoding: str) -> Callable[[bytes, int], bytes]:
    """`(chunk, limit) -> at most limit bytes`; input past the limit is dropped, since reading stops there."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return lambda chunk, limit: chunk[:limit]
    if encoding not in _ENCODINGS:
        raise ToolFailed(f"the server sent a body encoded as {encoding!r}, which was not asked for")
    return zlib.decompressobj(_ENCODINGS[encoding]).decompress
