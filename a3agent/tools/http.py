"""`http_get`: fetch a page (as text) or an image for the model, without opening the local network to it.

A model-chosen URL is untrusted input: without care it reaches the cloud metadata service
(169.254.169.254), localhost admin pages or the LAN (SSRF). So each hop resolves the host itself,
refuses it unless *every* address it resolves to is public (or private ones are explicitly allowed),
connects to the checked address (the name is not resolved again, so DNS rebinding cannot swap it) with
the original Host header and TLS server name, and follows redirects by hand so every hop is checked
the same way. Bodies are streamed and cut at a size cap. Does not handle proxies (the environment's
proxy settings are ignored on purpose), cookies, authentication or any method but GET.
"""

from __future__ import annotations

import io
import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from a3agent.errors import ToolFailed
from a3agent.tools.definition import Tool
from a3agent.tools.html_text import html_to_text

__all__ = ["http_get_tool"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class _Policy:
    allow_hosts: frozenset[str] | None
    allow_private: bool
    timeout: float
    max_bytes: int
    max_redirects: int

    def check(self, url: httpx.URL) -> IPAddress:
        """The address to connect to for `url`; raises ToolFailed where the URL may not be fetched."""
        if url.scheme not in ("http", "https"):
            raise ToolFailed(f"{url} is not an http:// or https:// URL; only those can be fetched")
        host = url.raw_host.decode("ascii")  # IDNA-encoded: what DNS, TLS and the allowlist compare
        if not host:
            raise ToolFailed(f"{url} has no host")
        if self.allow_hosts is not None and not any(host == h or host.endswith(f".{h}") for h in self.allow_hosts):
            raise ToolFailed(f"host {host!r} is not on the allowlist ({', '.join(sorted(self.allow_hosts))})")
        addresses = _resolve(host, url.port or (443 if url.scheme == "https" else 80))
        for address in addresses:
            if not self.allow_private and not _is_public(address):
                raise ToolFailed(
                    f"refused {url}: {host} resolves to {address}, a private, loopback, link-local, multicast or "
                    "reserved address; only public addresses may be fetched"
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
    whole fetch. `max_bytes`: the body is cut there (text is truncated, an image refused).
    """
    hosts = frozenset(host.lower() for host in allow_hosts) if allow_hosts is not None else None
    policy = _Policy(hosts, allow_private, timeout, max_bytes, max_redirects)

    def http_get(url: str) -> Any:
        """Fetch a web page or an image over http(s): pages come back as their text, images as images.

        Args:
            url: An absolute http:// or https:// URL.
        """
        return _fetch(url, policy)

    return Tool.from_function(http_get, timeout=timeout + 5)  # the fetch's own deadline reports first


def _fetch(url: str, policy: _Policy) -> str | Image.Image:
    deadline = time.monotonic() + policy.timeout
    try:
        target = httpx.URL(url)
        with _client(policy.timeout) as client:
            for _ in range(policy.max_redirects + 1):
                response = client.send(_pinned_request(client, target, policy.check(target)), stream=True)
                try:
                    if not response.is_redirect:
                        return _read(response, target, policy, deadline)
                    target = target.join(response.headers["location"])
                finally:
                    response.close()
    except httpx.TimeoutException:
        raise ToolFailed(f"fetching {url} timed out after {policy.timeout:g} s") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ToolFailed(f"could not fetch {url}: {exc}") from None
    raise ToolFailed(f"{url} redirected more than {policy.max_redirects} times")


def _pinned_request(client: httpx.Client, url: httpx.URL, address: IPAddress) -> httpx.Request:
    """A GET sent to the checked address that still names the host (Host header, TLS server name)."""
    return client.build_request(
        "GET",
        url.copy_with(host=str(address)),
        headers={"Host": url.netloc.decode("ascii")},
        extensions={"sni_hostname": url.raw_host.decode("ascii")},
    )


def _client(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        addresses = list(dict.fromkeys(
            ipaddress.ip_address(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        ))
    except (OSError, UnicodeError) as exc:
        raise ToolFailed(f"cannot resolve host {host!r}: {exc}") from None
    if not addresses:
        raise ToolFailed(f"cannot resolve host {host!r}: it has no addresses")
    return addresses


def _is_public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _read(response: httpx.Response, url: httpx.URL, policy: _Policy, deadline: float) -> str | Image.Image:
    if response.status_code >= 400:
        raise ToolFailed(f"{url} answered HTTP {response.status_code} {response.reason_phrase}")
    content_type = response.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    body, truncated = _read_capped(response, policy.max_bytes, deadline)
    if content_type.startswith("image/"):
        if truncated:
            raise ToolFailed(f"the image at {url} is larger than the {policy.max_bytes}-byte cap")
        try:
            with Image.open(io.BytesIO(body)) as image:
                return image.copy()
        except (OSError, Image.DecompressionBombError) as exc:
            raise ToolFailed(f"the image at {url} could not be decoded: {exc}") from None
    if not content_type.startswith(_TEXT_TYPES) and not content_type.endswith(("+json", "+xml")):
        raise ToolFailed(f"{url} returned {content_type}, which is neither text nor an image")
    text = body.decode(response.encoding or "utf-8", errors="replace")
    text = html_to_text(text) if content_type in _HTML_TYPES else text
    return f"{text}\n[truncated: the body exceeded {policy.max_bytes} bytes]" if truncated else text


def _read_capped(response: httpx.Response, max_bytes: int, deadline: float) -> tuple[bytes, bool]:
    body = bytearray()
    for chunk in response.iter_bytes():
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("the whole fetch took too long")
        body += chunk
        if len(body) > max_bytes:
            return bytes(body[:max_bytes]), True
    return bytes(body), False
