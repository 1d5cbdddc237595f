"""What one server process is configured with: its model's name, its key, and every input bound.

Each bound caps a cost that grows with the input; past it the request gets a typed error answer
(`errors.py`) instead of the server doing unbounded work.
"""

from __future__ import annotations

from dataclasses import dataclass

from a3agent.tools.image_decoding import MAX_IMAGE_PIXELS

__all__ = ["ServeOptions"]


@dataclass(frozen=True)
class ServeOptions:
    """Server settings; the defaults suit one local user."""

    model_name: str
    """The `model` requests must name (`GET /v1/models` lists it); anything else is a 404."""
    api_key: str | None = None
    """When set, every request needs `Authorization: Bearer <api_key>` (else 401)."""
    dialect: str = "hermes-json"
    """Tool-call format the model writes: `hermes-json` (A3-Instruct) or `qwen3-xml` (A2)."""
    allow_image_urls: bool = False
    """Fetch http(s) `image_url`s (through `http_get`'s SSRF-safe fetch); else only data: URLs."""
    max_body_bytes: int = 16 * 2**20
    """Largest request body; past it, 413 (base64 images count here first)."""
    max_image_bytes: int = 8 * 2**20
    """Largest encoded image, from a data: URL or a fetch; past it, 400."""
    max_images: int = 16
    """Most images in one request; past it, 400."""
    max_request_pixels: int = MAX_IMAGE_PIXELS
    """Decoded pixels all the images of one request may hold together (4 bytes each at most): one image
    as large as any may be, or 16 1920x1080 screenshots. Up to `max_waiting` + 1 requests hold their
    images at once, so this bounds their memory; past it, 400, refused from the image's header."""
    max_waiting: int = 8
    """Requests that may wait behind the running one; one more is a 429 with Retry-After."""
    max_tokens_limit: int = 8192
    """Largest `max_tokens` a request may ask for; past it, 400."""
    default_max_tokens: int = 1024
    """New tokens per request when it names no `max_tokens` (cut to the room the context leaves)."""
    max_connections: int = 64
    """Connections served at once (uvicorn's `limit_concurrency`); past it, 503. Bounds the bodies
    read and the images fetched at the same time."""
    image_fetch_timeout: float = 10.0
    """Seconds for fetching one http(s) image, redirects included."""

    def __post_init__(self) -> None:
        sizes = (self.max_body_bytes, self.max_image_bytes, self.max_request_pixels, self.max_tokens_limit,
                 self.default_max_tokens)
        if min(*sizes, self.max_connections) < 1 or self.max_images < 0 or self.max_waiting < 0:
            raise ValueError(f"server limits must be positive: {self}")
