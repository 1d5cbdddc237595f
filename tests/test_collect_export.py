"""`export`: rows of a scripted collection through artemis-vlm's real collator with the tiny checkpoint's
processor (labels decode to exactly each step's target), the length filter, and preference pairs."""

import json
from pathlib import Path

import pytest
from artemis_vlm import ArtemisDataCollator, ArtemisVLMProcessor
from PIL import Image

from a3agent.collect import (
    CollectOptions,
    TrajectoryStore,
    artemis_rows,
    collect_trajectories,
    export_artemis,
    write_examples,
)
from a3agent.collect.length import RowMeasure
from a3agent.collect.pairs import export_pairs

PASSING = {"crate-fruits", "crate-top-left", "two-images"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    from a3agent.model.scripted import load_scripted

    tasks = write_examples(tmp_path_factory.mktemp("tasks"))
    out = tmp_path_factory.mktemp("run")
    options = CollectOptions(modes=("constrained", "unconstrained"), tool_choice="crop", max_steps=4,
                             max_new_tokens=128)
    collect_trajectories(tasks, out, load_scripted("image_drift"), options=options, model_name="scripted:image_drift")
    return out


@pytest.fixture(scope="module")
def collator(tiny_loaded):
    processor = ArtemisVLMProcessor(tiny_loaded.tokenizer, tiny_loaded.model.config.vision_config)
    return ArtemisDataCollator(processor)


@pytest.fixture(scope="module")
def rows(folder, tiny_loaded, tmp_path_factory):
    out = tmp_path_factory.mktemp("rows") / "rows.jsonl"
    summary = export_artemis(folder, out, tiny_loaded)
    return summary, [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_rows_come_from_passed_episodes_one_per_step(rows):
    summary, written = rows
    assert summary.episodes == 20 and summary.not_passed == 20 - len(PASSING)
    assert summary.rows == len(written) == 2 * len(PASSING)  # each passing episode: crop, then answer
    targets = [row["messages"][-1]["content"] for row in written]
    assert all(t.startswith("<think>\n") and "</think>" in t for t in targets)
    assert sum("<tool_call>" in t for t in targets) == len(PASSING)
    assert all(set(row) == {"images", "messages"} for row in written)
    assert max(len(row["images"]) for row in written) >= 2  # an answer step's context holds the crop


def test_every_row_goes_through_the_collator_and_its_labels_are_exactly_the_target(rows, collator, tiny_loaded):
    tokenizer = tiny_loaded.tokenizer
    pad = tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for row in rows[1]:
        batch = collator([row])
        ids, labels = batch["input_ids"][0], batch["labels"][0]
        target = row["messages"][-1]["content"].removeprefix("<think>\n")  # "<think>\n" is the generation prompt
        assert tokenizer.decode(ids[labels != -100], skip_special_tokens=False) == target + "<|im_end|>\n"
        assert not (labels[ids == pad] != -100).any()
        parts = [p for m in row["messages"] if isinstance(m["content"], list) for p in m["content"] if p["type"] == "image"]
        assert batch["image_grid_thw"].shape[0] == len(row["images"]) == len(parts) >= 1
        assert int((ids == pad).sum()) == int(batch["image_grid_thw"].prod(dim=1).sum()) // 4


def test_the_measured_length_is_the_collators(rows, collator, tiny_loaded):
    measure = RowMeasure(tiny_loaded)
    for row in rows[1]:
        assert measure.tokens(row) == collator([row])["input_ids"].shape[1]


def test_rows_longer_than_max_tokens_are_dropped_and_counted(folder, tiny_loaded, tmp_path):
    measure = RowMeasure(tiny_loaded)
    lengths = sorted(measure.tokens(row) for episode in TrajectoryStore(folder).episodes()
                     if episode.checks.passed for _, row in artemis_rows(episode, folder, tiny_loaded))
    limit = lengths[len(lengths) // 2]
    summary = export_artemis(folder, tmp_path / "rows.jsonl", tiny_loaded, max_tokens=limit)
    longer = [n for n in lengths if n > limit]
    assert 0 < summary.too_long == len(longer) and summary.rows == len(lengths) - len(longer)
    assert sorted(row.tokens for row in summary.long_rows) == longer
    kept = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(measure.tokens(row) <= limit for row in kept)


def test_without_the_passed_filter_drifted_steps_are_still_dropped_as_invalid(folder, tiny_loaded, tmp_path):
    summary = export_artemis(folder, tmp_path / "rows.jsonl", tiny_loaded, passed_only=False)
    assert summary.not_passed == 0
    assert summary.invalid_steps == 10  # every unconstrained episode's first step drafted a request
    assert summary.rows == 2 * 10 + 10  # constrained: both steps; unconstrained: the answer only
    everything = export_artemis(folder, tmp_path / "all.jsonl", tiny_loaded, passed_only=False, valid_only=False)
    assert everything.invalid_steps == 0 and everything.rows == 40


def test_pairs_hold_chosen_and_rejected_for_the_same_prompt(folder, tiny_loaded, tmp_path):
    count = export_pairs(folder, tmp_path / "pairs.jsonl", tiny_loaded.template)
    pairs = [json.loads(line) for line in (tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert count == len(pairs) == len(PASSING)
    for pair in pairs:
        assert [turn["role"] for turn in pair["prompt"]] == ["system", "user"]
        images = sum(part.get("type") == "image" for part in pair["prompt"][1]["content"])
        assert images == len(pair["images"]) >= 1
        (chosen,), (rejected,) = pair["chosen"], pair["rejected"]
        assert chosen["role"] == rejected["role"] == "assistant"
        assert "<tool_call>" in chosen["content"] and not chosen["content"].startswith("<think>\n</think>")
        assert rejected["content"].startswith("<think>\n</think>") and "GET https://" in rejected["content"]


def test_pair_prompts_go_through_the_template_with_their_turns(folder, tiny_loaded, tmp_path):
    export_pairs(folder, tmp_path / "pairs.jsonl", tiny_loaded.template)
    pair = json.loads((tmp_path / "pairs.jsonl").read_text(encoding="utf-8").splitlines()[0])
    text = tiny_loaded.template.render(pair["prompt"] + pair["chosen"], None, add_generation_prompt=False)
    assert f"<|im_start|>assistant\n{pair['chosen'][0]['content']}<|im_end|>" in text and "# Tools" in text


def test_rows_exported_from_a_relative_folder_open_their_images_from_another_directory(folder, tiny_loaded,
                                                                                      tmp_path, monkeypatch):
    monkeypatch.chdir(folder.parent)
    export_artemis(folder.name, tmp_path / "rows.jsonl", tiny_loaded, passed_only=False, valid_only=False)
    export_pairs(folder.name, tmp_path / "pairs.jsonl", tiny_loaded.template)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    paths = [path for name in ("rows.jsonl", "pairs.jsonl")
             for line in (tmp_path / name).read_text(encoding="utf-8").splitlines() for path in json.loads(line)["images"]]
    assert len(paths) > 40 and all(Path(path).is_absolute() for path in paths)
    for path in paths:
        with Image.open(path) as image:
            image.load()
