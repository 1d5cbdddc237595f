"""`load_model`: the tiny ArtemisVLM, a plain causal LM, cached hub ids, and every refusal."""

import json
import shutil

import pytest
import torch
from PIL import Image, ImageDraw
from transformers import MistralConfig, MistralForCausalLM, ViTConfig
from transformers.utils import logging as transformers_logging

from a3agent.errors import ImagesNotSupported, ModelNotFound, NotCachedLocally, UnsupportedArchitecture
from a3agent.model.loading import load_model
from a3agent.model.template import default_template, encode_prompt
from a3agent.model.tokenizer import offline_tokenizer


@pytest.fixture(scope="module")
def causal_lm_folder(tmp_path_factory):
    """A plain Mistral causal LM with the Tekken tokenizer and its own (non-ChatML) chat template."""
    folder = tmp_path_factory.mktemp("causal-lm")
    config = MistralConfig(
        vocab_size=131072, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, head_dim=8,
    )
    torch.manual_seed(0)
    MistralForCausalLM(config).save_pretrained(folder)
    tokenizer = offline_tokenizer()
    tokenizer.chat_template = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def causal_lm(causal_lm_folder):
    return load_model(causal_lm_folder)


def forward(loaded, prompt, with_images=True):
    images = prompt.images if with_images else []
    kwargs = {}
    if images:
        kwargs = {
            "pixel_values": torch.cat([span.pixel_values for span in images]),
            "image_grid_thw": torch.cat([span.image_grid_thw for span in images]),
        }
    with torch.no_grad():
        return loaded.model(input_ids=torch.tensor([prompt.input_ids]), **kwargs).logits[0]


def test_tiny_loads_as_an_artemis_model_ready_for_images(tiny_loaded):
    assert tiny_loaded.kind == "artemis"
    assert type(tiny_loaded.model).__name__ == "ArtemisVLMForConditionalGeneration"
    assert not tiny_loaded.model.training
    assert tiny_loaded.model.dtype == torch.float32
    assert tiny_loaded.image_processor.merge_size == 2
    assert tiny_loaded.special_ids["<|image_pad|>"] == tiny_loaded.model.config.image_token_id == 22
    assert tiny_loaded.stop_ids == [2, 25]
    assert tiny_loaded.template.origin == "checkpoint"
    assert tiny_loaded.template.source == default_template().source


def test_tiny_is_built_once_into_the_a3agent_home(tiny_loaded, a3agent_home_dir):
    assert tiny_loaded.source == str(a3agent_home_dir / "models" / "tiny-seed0")
    assert [p.name for p in (a3agent_home_dir / "models").iterdir()] == ["tiny-seed0"]


def test_an_image_changes_the_logits(tiny_loaded):
    image = Image.new("RGB", (96, 64), "white")
    ImageDraw.Draw(image).rectangle((10, 10, 50, 40), fill="red")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is it?"}]}]
    prompt = encode_prompt(tiny_loaded, messages, [image])
    with_image, without = forward(tiny_loaded, prompt), forward(tiny_loaded, prompt, with_images=False)
    assert with_image.shape == (len(prompt.input_ids), 131072)
    first_pad = prompt.images[0].start
    assert torch.equal(with_image[:first_pad], without[:first_pad])
    assert not torch.allclose(with_image[-1], without[-1])


def test_dtype_and_device_are_honoured():
    loaded = load_model("tiny", dtype=torch.bfloat16, device="cpu")
    assert loaded.model.dtype == torch.bfloat16
    assert loaded.model.device.type == "cpu"


def test_a_plain_causal_lm_loads_text_only_with_its_own_template(causal_lm):
    loaded = causal_lm
    assert loaded.kind == "causal-lm"
    assert loaded.image_processor is None
    assert loaded.template.origin == "checkpoint"
    prompt = encode_prompt(loaded, [{"role": "user", "content": "hi <|im_end|>"}])
    assert loaded.tokenizer.decode(prompt.input_ids) == "[user] hi <|im_end|>\n"
    assert 25 not in prompt.input_ids
    assert forward(loaded, prompt).shape == (len(prompt.input_ids), 131072)


@pytest.mark.parametrize("progress", [False, True])
def test_loading_weights_progress_bars_show_only_when_asked_and_the_global_setting_is_kept(
    causal_lm_folder, capfd, progress
):
    transformers_logging.enable_progress_bar()
    load_model(causal_lm_folder, progress=progress)
    assert ("Loading weights" in capfd.readouterr().err) == progress
    assert transformers_logging.is_progress_bar_enabled()


def test_an_image_for_a_text_only_model_is_refused(causal_lm):
    messages = [{"role": "user", "content": [{"type": "image"}]}]
    with pytest.raises(ImagesNotSupported, match="text-only model; drop the images"):
        encode_prompt(causal_lm, messages, [Image.new("RGB", (32, 32))])


def test_a_cached_hub_id_loads_from_the_local_cache(tiny_loaded, tmp_path, monkeypatch):
    revision = "0" * 40
    snapshot = tmp_path / "models--org--tiny-a3" / "snapshots" / revision
    shutil.copytree(tiny_loaded.source, snapshot)
    (tmp_path / "models--org--tiny-a3" / "refs").mkdir()
    (tmp_path / "models--org--tiny-a3" / "refs" / "main").write_text(revision)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    loaded = load_model("org/tiny-a3")
    assert loaded.kind == "artemis"
    assert loaded.source == str(snapshot)


def test_an_uncached_hub_id_says_how_to_download_it(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(NotCachedLocally, match="download it first with `hf download org/absent`"):
        load_model("org/absent")


def test_a_missing_path_raises_model_not_found(tmp_path):
    with pytest.raises(ModelNotFound, match="does not exist"):
        load_model(tmp_path / "absent")


def test_a_folder_without_a_checkpoint_raises_model_not_found(tmp_path):
    with pytest.raises(ModelNotFound, match="holds no config.json"):
        load_model(tmp_path)


def test_a_checkpoint_without_a_tokenizer_raises_model_not_found(tmp_path, causal_lm_folder):
    shutil.copy(causal_lm_folder / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelNotFound, match="no usable tokenizer"):
        load_model(tmp_path)


def test_a_non_causal_architecture_is_unsupported(tmp_path):
    ViTConfig().save_pretrained(tmp_path)
    with pytest.raises(UnsupportedArchitecture, match="holds a vit checkpoint"):
        load_model(tmp_path)


def test_an_unknown_architecture_is_unsupported(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "no-such-model"}))
    with pytest.raises(UnsupportedArchitecture, match="no-such-model"):
        load_model(tmp_path)
