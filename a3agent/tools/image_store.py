"""The conversation's images, by id: what the image tools look at and where produced images go.

Ids are `img_0`, `img_1`, ... in the order images enter the conversation (the user's and the tools'
alike), so the model can name any image it has seen. The store keeps images at full resolution: the
point of cropping is detail that the vision encoder's own size cap would lose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from PIL import Image
from pydantic import Field

from a3agent.errors import ToolFailed

__all__ = ["IMAGE_ID_KEYWORD", "ImageId", "ImageStore"]

IMAGE_ID_KEYWORD = "x-image-id"
"""The JSON Schema keyword (`true`) that marks a parameter as an image id; the agent constrains it."""

ImageId = Annotated[str, Field(json_schema_extra={IMAGE_ID_KEYWORD: True})]
"""A tool parameter naming one of the conversation's images (`img_0`, ...). Under the grammar the
agent lets the model write only ids the conversation holds."""


class ImageStore:
    """Images by id, in the order they were added."""

    def __init__(self, images: Iterable[Image.Image] = ()) -> None:
        self._images: dict[str, Image.Image] = {}
        for image in images:
            self.add(image)

    def add(self, image: Image.Image) -> str:
        """Store an image and return its new id."""
        image_id = f"img_{len(self._images)}"
        self._images[image_id] = image
        return image_id

    def get(self, image_id: str) -> Image.Image:
        """The image with this id; an unknown id raises ToolFailed naming the known ones."""
        try:
            return self._images[image_id]
        except KeyError:
            known = ", ".join(self._images) or "none yet"
            raise ToolFailed(f"there is no image {image_id!r}; known images: {known}") from None

    def ids(self) -> list[str]:
        """The ids, in the order the images were added."""
        return list(self._images)

    def __repr__(self) -> str:
        return f"ImageStore({', '.join(self._images) or 'empty'})"

    def __contains__(self, image_id: object) -> bool:
        return image_id in self._images

    def __len__(self) -> int:
        return len(self._images)
