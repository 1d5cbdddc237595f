"""Typed messages: the template dicts of CONTRACTS.md, and conversations saved as JSONL + PNG."""

import json

import pytest
from PIL import Image

from a3agent.agent.conversation import Conversation
from a3agent.agent.messages import (
    AssistantMessage,
    ImagePart,
    SystemMessage,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolMessage,
    ToolResultPart,
    UserMessage,
    to_chat,
)
from a3agent.errors import ConversationFileError


def sample_conversation() -> Conversation:
    conversation = Conversation()
    photo = conversation.images.add(Image.new("RGB", (64, 48), (200, 30, 30)))
    crop = conversation.images.add(Image.new("RGBA", (16, 16), (0, 0, 255, 128)))
    call = ToolCallPart(id=conversation.next_call_id(), name="crop", arguments={"image": photo, "bbox": [0, 0, 1, 1]})
    for message in [
        SystemMessage(text="You look closely."),
        UserMessage(parts=[TextPart(text=f"{photo}:"), ImagePart(image_id=photo), TextPart(text="What fruit?")]),
        AssistantMessage(parts=[ThinkingPart(text="crop it"), call], raw="crop it\n</think>\n\n<tool_call>...",
                         token_ids=[1, 15, 16]),
        ToolMessage(results=[ToolResultPart(call_id=call.id, name="crop",
                                            parts=[TextPart(text=f"{crop}:"), ImagePart(image_id=crop)])]),
        AssistantMessage(parts=[ThinkingPart(text="apricots"), TextPart(text="Apricots.")], raw="..."),
    ]:
        conversation.append(message)
    return conversation


def test_messages_become_the_contract_dicts_with_images_in_part_order():
    conversation = sample_conversation()
    chat, images = to_chat(conversation.messages, conversation.images)
    assert chat[0] == {"role": "system", "content": "You look closely."}
    assert chat[1] == {"role": "user", "content": [{"type": "text", "text": "img_0:"}, {"type": "image"},
                                                   {"type": "text", "text": "What fruit?"}]}
    assert chat[2] == {"role": "assistant", "content": "", "reasoning_content": "crop it",
                       "tool_calls": [{"type": "function", "function": {
                           "name": "crop", "arguments": {"image": "img_0", "bbox": [0, 0, 1, 1]}}}],
                       "thinking": True, "raw": "crop it\n</think>\n\n<tool_call>...", "raw_ids": [1, 15, 16]}
    assert chat[3] == {"role": "tool", "name": "crop",
                       "content": [{"type": "text", "text": "img_1:"}, {"type": "image"}]}
    assert chat[4]["content"] == "Apricots." and chat[4]["tool_calls"] == []
    assert chat[4]["raw"] is None  # raw without its token ids is never rendered as trusted text
    assert images == [conversation.images.get("img_0"), conversation.images.get("img_1")]


def test_a_lone_text_part_renders_as_a_plain_string():
    chat, _ = to_chat([UserMessage(parts=[TextPart(text="hi")])], {})
    assert chat == [{"role": "user", "content": "hi"}]


def test_saved_conversation_reloads_with_the_same_messages_pixels_and_call_counter(tmp_path):
    conversation = sample_conversation()
    conversation.save(tmp_path / "chat.jsonl")
    assert sorted(p.name for p in (tmp_path / "chat.images").iterdir()) == ["img_0.png", "img_1.png"]
    loaded = Conversation.load(tmp_path / "chat.jsonl")
    assert loaded.messages == conversation.messages
    assert loaded.images.ids() == ["img_0", "img_1"]
    for image_id in conversation.images.ids():
        image, reloaded = conversation.images.get(image_id), loaded.images.get(image_id)
        assert (reloaded.mode, reloaded.tobytes()) == (image.mode, image.tobytes())
    assert loaded.next_call_id() == conversation.next_call_id() == "call_1"


def write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


HEADER = json.dumps({"format": "a3agent-conversation", "version": 1, "images": 0})


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([], "empty"),
        (["not json"], "not an a3agent conversation header"),
        ([json.dumps({"format": "a3agent-conversation", "version": 9, "images": 0})], "upgrade a3agent"),
        ([json.dumps({"format": "a3agent-conversation", "version": 1, "images": "x"})], "image count"),
        ([HEADER, '{"role": "wizard"}'], "line 2: not a conversation message"),
        ([HEADER, '{"role": "user", "parts": [{"kind": "text"}]}'], "line 2"),
        ([HEADER, '{"role": "user", "parts": [{"kind": "image", "image_id": "img_0"}]}'], "do not belong together"),
    ],
)
def test_bad_conversation_files_say_what_is_wrong(tmp_path, lines, expected):
    with pytest.raises(ConversationFileError, match=expected):
        Conversation.load(write(tmp_path / "chat.jsonl", lines))


def test_a_file_that_is_not_text_is_not_a_saved_conversation(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "photo.png")
    with pytest.raises(ConversationFileError, match="photo.png: not a saved a3agent conversation"):
        Conversation.load(tmp_path / "photo.png")


def test_missing_file_and_missing_image_say_what_to_do(tmp_path):
    with pytest.raises(ConversationFileError, match="no such file"):
        Conversation.load(tmp_path / "absent.jsonl")
    header = json.dumps({"format": "a3agent-conversation", "version": 1, "images": 1})
    with pytest.raises(ConversationFileError, match="image file missing; keep the folder chat.images"):
        Conversation.load(write(tmp_path / "chat.jsonl", [header]))


def test_corrupt_image_file_is_a_conversation_file_error(tmp_path):
    header = json.dumps({"format": "a3agent-conversation", "version": 1, "images": 1})
    (tmp_path / "chat.images").mkdir()
    (tmp_path / "chat.images" / "img_0.png").write_bytes(b"not a png")
    with pytest.raises(ConversationFileError, match="not a readable PNG"):
        Conversation.load(write(tmp_path / "chat.jsonl", [header]))
