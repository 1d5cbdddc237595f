"""Random bytes, nested JSON and random unicode at the four parsers of untrusted input: each either
succeeds or raises its documented typed error, nothing else.

`Conversation.load` -> ConversationFileError; the image decoder and `load_image` (which also reads the
EXIF orientation) -> ImageError; the HTML extractor never raises; `calculate` -> ToolFailed.
"""

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from a3agent.agent.conversation import Conversation
from a3agent.errors import ConversationFileError, ImageError, ToolFailed
from a3agent.model.images import load_image
from a3agent.tools import calculate
from a3agent.tools.html_text import html_to_text
from a3agent.tools.image_decoding import decode_image

HEADER = '{"format": "a3agent-conversation", "version": 1, "images": 0}'
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=30,
)


def deeply_nested(depth: int, big_int: bool) -> str:
    leaf = "9" * 5000 if big_int else "null"
    return "[" * depth + leaf + "]" * depth


@st.composite
def conversation_files(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "json", "unicode", "nested"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "unicode":
        return "\n".join(draw(st.lists(st.text(max_size=60), max_size=4))).encode("utf-8", "surrogatepass")
    if kind == "nested":
        line = deeply_nested(draw(st.integers(1, 50_000)), draw(st.booleans()))
        return "\n".join(draw(st.sampled_from([[line], [HEADER, line]]))).encode()
    lines = [json.dumps(value) for value in draw(st.lists(json_values, min_size=1, max_size=3))]
    return "\n".join(draw(st.sampled_from([lines, [HEADER, *lines]]))).encode()


@FUZZ
@given(data=conversation_files())
def test_conversation_load_raises_only_conversation_file_error(tmp_path, data):
    path = tmp_path / "chat.jsonl"
    path.write_bytes(data)
    try:
        Conversation.load(path)
    except ConversationFileError:
        pass


IMAGE_PREFIXES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP", b"BM", b"II*\x00"]


@FUZZ
@given(prefix=st.sampled_from(IMAGE_PREFIXES), body=st.binary(max_size=400))
def test_the_image_decoder_raises_only_image_error(prefix, body):
    try:
        decode_image(prefix + body, "fuzz")
    except ImageError:
        pass


def image_with_exif(format: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112], exif[0x0132] = 6, "2020:01:01 00:00:00"  # orientation, date
    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), (1, 2, 3)).save(buffer, format=format, exif=exif)
    return buffer.getvalue()


EXIF_IMAGES = [image_with_exif(format) for format in ("JPEG", "PNG", "WEBP", "TIFF")]


@FUZZ
@given(data=st.data())
def test_load_image_raises_only_image_error_on_mutated_images_with_exif(data):
    image = bytearray(data.draw(st.sampled_from(EXIF_IMAGES)))
    for _ in range(data.draw(st.integers(1, 6))):
        image[data.draw(st.integers(0, len(image) - 1))] = data.draw(st.integers(0, 255))
    try:
        load_image(bytes(image))
    except ImageError:
        pass


def test_an_exif_tag_of_the_wrong_type_is_an_image_error_not_a_struct_error():
    # the date's tag number turned into RowsPerStrip's, an integer tag: Pillow cannot write it back
    data = EXIF_IMAGES[0].replace(b"\x01\x32\x00\x02", b"\x01\x16\x00\x02")
    with pytest.raises(ImageError, match="its EXIF data cannot be read"):
        load_image(data)


html_text = st.text(alphabet=st.sampled_from(list("<>!-/[]&;#x =\"'abp ")) | st.characters(), max_size=400)


@FUZZ
@given(html=html_text | st.builds(lambda value: json.dumps(value), json_values))
def test_the_html_extractor_always_returns_text(html):
    assert isinstance(html_to_text(html), str)


TOKENS = [*"0123456789.e+-*/%(), ", "**", "//", "sqrt(", "factorial(", "log(", "round(", "pi", "1e308", "inf"]
arithmetic = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)
deep = st.lists(st.sampled_from(["(", "-", "**", "9"]), max_size=250).map("".join)


@FUZZ
@given(expression=arithmetic | deep | st.text(max_size=80))
def test_calculate_raises_only_tool_failed(expression):
    try:
        result = calculate(expression)
    except ToolFailed:
        return
    assert isinstance(result, str) and "inf" not in result and "nan" not in result and "j" not in result
