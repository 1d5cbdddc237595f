"""A conversation kept between runs, saved as JSONL with its images as PNG files beside it.

Layout of `chat.jsonl`: a header line `{"format": "a3agent-conversation", "version": 1, "images": N}`,
then one message per line; the images are `chat.images/img_0.png` ... `img_{N-1}.png`. PNG is lossless,
so a reloaded conversation renders to the same prompt tokens and pixel values as the original.

Not handled here: concurrent writers (the last save wins) and images PNG cannot hold losslessly
(CMYK and the like are saved as RGB, which is what the image processor feeds the model anyway;
`png_ready`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image
from pydantic import TypeAdapter, ValidationError

from a3agent.agent.messages import AssistantMessage, ImagePart, Message, ToolMessage, UserMessage
from a3agent.errors import ConversationFileError, ImageError
from a3agent.tools import ImageStore, ToolContext
from a3agent.tools.image_decoding import decode_image

__all__ = ["Conversation", "png_ready"]

_FORMAT, _VERSION = "a3agent-conversation", 1
_PNG_MODES = {"1", "L", "LA", "I;16", "P", "RGB", "RGBA"}
"""Modes Pillow writes as PNG (not "I": Pillow 13 refuses 32-bit integer PNGs)."""
_MESSAGE = TypeAdapter(Message)


class Conversation:
    """The messages of a chat and the images they refer to; hand it to `Agent.run` to continue."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        """Every message so far, system prompt first when there is one."""
        self.images = ImageStore()
        """The images, by id; tools read them from here and add what they produce."""
        self._calls = 0

    def tool_context(self) -> ToolContext:
        """What the tools of a run see: this conversation's images."""
        return ToolContext(images=self.images)

    def append(self, message: Message) -> None:
        """Add one message at the end."""
        self.messages.append(message)

    def next_call_id(self) -> str:
        """A call id not used before in this conversation. Example: `"call_3"`."""
        self._calls += 1
        return f"call_{self._calls - 1}"

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `path` (JSONL) and its images folder; a reload gives back the same prompt."""
        path = Path(path)
        folder = _images_folder(path)
        folder.mkdir(parents=True, exist_ok=True)
        for image_id in self.images.ids():
            image = self.images.get(image_id)
            png_ready(image).save(folder / f"{image_id}.png", format="PNG")
        header = {"format": _FORMAT, "version": _VERSION, "images": len(self.images)}
        lines = [json.dumps(header)] + [m.model_dump_json() for m in self.messages]
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temporary.replace(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Conversation:
        """Read a conversation written by `save`; a bad file raises `ConversationFileError`."""
        path = Path(path)
        lines = _read_lines(path)
        conversation = cls()
        for index in range(_read_header(path, lines[0])):
            conversation.images.add(_read_image(path, f"img_{index}"))
        for number, line in enumerate(lines[1:], start=2):
            conversation.append(_read_message(path, number, line, conversation.images))
        conversation._calls = sum(
            len(m.calls) for m in conversation.messages if isinstance(m, AssistantMessage)
        )
        return conversation


def png_ready(image: Image.Image) -> Image.Image:
    """`image` in a mode PNG can hold: as it is, or converted to RGB, which is what the model is shown
    of it anyway (`a3agent.model.images`). Example: a CMYK JPEG from the web -> its RGB image."""
    return image if image.mode in _PNG_MODES else image.convert("RGB")


def _images_folder(path: Path) -> Path:
    """`chat.jsonl` -> `chat.images`."""
    return path.with_suffix(".images")


def _read_lines(path: Path) -> list[str]:
    if path.exists() and not path.is_file():  # a FIFO would block until something writes to it
        raise ConversationFileError(f"{path}: not a regular file (a folder, a pipe or a device); load the "
                                    "JSONL file Conversation.save wrote")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConversationFileError(f"{path}: no such file; check the path, or start a new "
                                    "Conversation() and save it there") from None
    except UnicodeDecodeError:
        raise ConversationFileError(f"{path}: not a saved a3agent conversation (not UTF-8 text: an image, "
                                    "an archive?); load the JSONL file Conversation.save wrote") from None
    except OSError as exc:
        raise ConversationFileError(f"{path}: cannot be read ({exc}); check the file's "
                                    "permissions, or start a new Conversation()") from None
    lines = [line for line in text.split("\n") if line.strip()]  # not splitlines: U+2028 may sit in a string
    if not lines:
        raise ConversationFileError(f"{path}: the file is empty; it was not written by "
                                    "Conversation.save, start a new Conversation() instead")
    return lines


def _read_header(path: Path, line: str) -> int:
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, an int past 4300 digits, nesting past the stack
        header = None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise ConversationFileError(f"{path}, line 1: not an a3agent conversation header; the file "
                                    "was not written by Conversation.save")
    if header.get("version") != _VERSION:
        raise ConversationFileError(f"{path}: conversation format version {header.get('version')!r}, "
                                    f"this a3agent reads version {_VERSION}; upgrade a3agent")
    count = header.get("images")
    if type(count) is not int or count < 0:  # not isinstance: `true` is no count
        raise ConversationFileError(f"{path}, line 1: the header's image count {count!r} is not a "
                                    "count; restore the header line as Conversation.save wrote it")
    return count


def _read_image(path: Path, image_id: str) -> Image.Image:
    file = _images_folder(path) / f"{image_id}.png"
    if file.exists() and not file.is_file():
        raise ConversationFileError(f"{file}: not a regular file (a folder, a pipe or a device); restore "
                                    "it from the folder Conversation.save wrote")
    try:
        return decode_image(file, str(file))
    except FileNotFoundError:
        raise ConversationFileError(f"{file}: image file missing; keep the folder "
                                    f"{_images_folder(path).name} next to {path.name}") from None
    except (OSError, ImageError) as exc:
        raise ConversationFileError(f"{file}: not a readable PNG ({exc}); restore it from the "
                                    "folder Conversation.save wrote") from None


def _read_message(path: Path, number: int, line: str, images: ImageStore) -> Message:
    try:
        message = _MESSAGE.validate_json(line)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        detail = f"{where}: {first['msg']}" if where else first["msg"]  # no location: the line is not JSON
        raise ConversationFileError(f"{path}, line {number}: not a conversation message ({detail}); "
                                    "fix or delete that line") from None
    for image_id in _image_ids(message):
        if image_id not in images:
            raise ConversationFileError(f"{path}, line {number}: refers to image {image_id!r}, but "
                                        f"the header lists {len(images)} images; the file and its "
                                        "images folder do not belong together")
    return message


def _image_ids(message: Message) -> list[str]:
    if isinstance(message, UserMessage):
        parts = message.parts
    elif isinstance(message, ToolMessage):
        parts = [p for r in message.results for p in r.parts]
    else:
        parts = []
    return [p.image_id for p in parts if isinstance(p, ImagePart)]
