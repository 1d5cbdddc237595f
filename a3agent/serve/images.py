"""An `image_url` part's URL -> a decoded image, under the server's size limits.

`data:image/...;base64,` URLs are decoded here; http(s) URLs only when the server allows them, and then
through `http_get`'s fetch (public addresses only, every redirect checked, one deadline, a byte cap),
so a request cannot make the server reach its own network. Every image is decoded by
`decode_image` (pixel limit checked from the header), off the event loop, and counted against the
request's budget of decoded pixels (`ServeOptions.max_request_pixels`): up to `max_waiting` + 1
requests hold their images at once. Not handled: other URL schemes, video.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import re
from typing import Any

from PIL import Image

from a3agent.errors import ImageError, ToolFailed
from a3agent.serve.errors import BadRequest
from a3agent.serve.options import ServeOptions
from a3agent.tools.http import http_get_tool
from a3agent.tools.image_decoding import MAX_IMAGE_PIXELS, decode_image

__all__ = ["ImageLoader"]

_DATA_URL = re.compile(r"data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[^;,]*)*),", re.ASCII)


class ImageLoader:
    """Loads the images of one server's requests; `param` names the part in error answers."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self._fetch = http_get_tool(max_bytes=options.max_image_bytes, timeout=options.image_fetch_timeout)

    async def load(self, url: str, param: str, pixels_left: int) -> Image.Image:
        """The decoded image at `url`; raises `BadRequest` for anything not allowed or not an image, and
        for an image that may decode to more than `pixels_left`, what the request's budget still holds."""
        if url.startswith("data:"):
            data = self._data_url_bytes(url, param)
            return await asyncio.to_thread(self._decoded, data, param, pixels_left)
        if url.startswith(("http://", "https://")):
            if not self.options.allow_image_urls:
                raise BadRequest("image URLs are not fetched by this server (start it with --allow-image-urls); "
                                 "send the image inline as a data:image/...;base64, URL", param=param)
            return await self._fetched(url, param, pixels_left)
        raise BadRequest("an image_url must be a data:image/...;base64, URL (or http(s) with --allow-image-urls)",
                         param=param)

    def _data_url_bytes(self, url: str, param: str) -> bytes:
        head = _DATA_URL.match(url)
        if head is None or ";base64" not in head["params"] or not (head["type"] or "").startswith("image/"):
            raise BadRequest("a data URL image must be data:image/<type>;base64,<data>", param=param)
        encoded = url[head.end():]
        if len(encoded) // 4 * 3 > self.options.max_image_bytes:
            raise self._too_large(param)
        try:
            return base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the data URL's image is not valid base64", param=param) from None

    async def _fetched(self, url: str, param: str, pixels_left: int) -> Image.Image:
        """`http_get` decodes the image it fetched, so its pixels are counted once decoded: the budget
        can be passed by that one image (at most `MAX_IMAGE_PIXELS`) until it is refused."""
        try:
            result = await asyncio.to_thread(self._fetch_on_own_loop, url)
        except ToolFailed as exc:
            raise BadRequest(f"could not fetch the image: {exc}", param=param) from None
        if not isinstance(result, Image.Image):
            raise BadRequest(f"{url} did not return an image", param=param)
        if result.width * result.height > pixels_left:
            raise self._over_budget(param)
        return result

    def _fetch_on_own_loop(self, url: str) -> Any:
        """`http_get` decodes inside its coroutine; run there, it would stall the server's event loop for
        as long as a large image takes. A cancelled request's fetch ends at its own deadline."""
        return asyncio.run(self._fetch(url))

    def _decoded(self, data: bytes, param: str, pixels_left: int) -> Image.Image:
        if _declared_pixels(data) > pixels_left:
            raise self._over_budget(param)
        try:
            return decode_image(data, param)
        except ImageError as exc:
            raise BadRequest(str(exc), param=param, code="invalid_image") from None

    def _too_large(self, param: str) -> BadRequest:
        return BadRequest(f"the image is larger than this server's limit of {self.options.max_image_bytes} bytes",
                          param=param, code="image_too_large")

    def _over_budget(self, param: str) -> BadRequest:
        return BadRequest(f"the request's images would decode to more than this server's limit of "
                          f"{self.options.max_request_pixels} pixels together; send fewer or smaller images",
                          param=param, code="image_too_large")


def _declared_pixels(data: bytes) -> int:
    """The most pixels `decode_image` may decode `data` to, from its header alone; 0 where Pillow cannot
    read one (`decode_image` then says what is wrong)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Exception:  # Pillow's plugins raise OSError, ValueError, SyntaxError, struct.error, ...
        return 0
    return min(width * height, MAX_IMAGE_PIXELS)
