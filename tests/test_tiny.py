"""The offline tiny A3-shaped checkpoint: shape, determinism, size, atomic builds, and the CLI."""

import json

import pytest
from typer.testing import CliRunner

from a3agent.cli.app import app
from a3agent.model import tiny
from a3agent.model.tiny import build_tiny_model


@pytest.fixture(scope="module")
def seed0(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "seed0", seed=0)


def test_the_checkpoint_has_the_a3_shape(seed0):
    config = json.loads((seed0 / "config.json").read_text())
    text, vision = config["text_config"], config["vision_config"]
    assert config["model_type"] == "artemis_vlm"
    assert (config["image_token_id"], config["video_token_id"]) == (22, 23)
    assert (text["model_type"], text["vocab_size"], text["tie_word_embeddings"]) == ("mistral", 131072, False)
    assert (vision["patch_size"], vision["spatial_merge_size"], vision["temporal_patch_size"]) == (16, 2, 2)


def test_the_checkpoint_ships_tokenizer_template_and_stop_ids(seed0):
    names = {p.name for p in seed0.iterdir()}
    assert {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"} <= names
    assert json.loads((seed0 / "generation_config.json").read_text())["eos_token_id"] == [25, 2]


def test_the_checkpoint_is_under_100_mb(seed0):
    assert sum(p.stat().st_size for p in seed0.iterdir()) < 100 * 2**20


def test_the_same_seed_gives_identical_weights_and_another_seed_does_not(seed0, tmp_path):
    again, other = build_tiny_model(tmp_path / "again", seed=0), build_tiny_model(tmp_path / "other", seed=1)
    weights = (seed0 / "model.safetensors").read_bytes()
    assert (again / "model.safetensors").read_bytes() == weights
    assert (other / "model.safetensors").read_bytes() != weights


def test_a_failed_build_leaves_no_half_built_checkpoint(tmp_path, monkeypatch):
    def fail(folder, seed):
        (folder / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(tiny, "_write_tiny", fail)
    with pytest.raises(KeyboardInterrupt):
        build_tiny_model(tmp_path / "tiny")
    assert list(tmp_path.iterdir()) == []


def test_cli_tiny_model_writes_a_checkpoint_and_refuses_an_existing_folder(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["tiny-model", str(tmp_path / "t"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t" / "model.safetensors").is_file()
    result = runner.invoke(app, ["tiny-model", str(tmp_path / "t")], env={"COLUMNS": "300"})
    assert result.exit_code != 0
    assert "already exists" in result.output
