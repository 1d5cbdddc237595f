"""The tasks file: every kind of bad line reported with its number and skipped; the bounds hold; checks."""

import json

import pytest

from a3agent.collect import checks, read_tasks
from a3agent.collect import tasks as tasks_module
from a3agent.collect.checks import check_episode
from a3agent.collect.tasks import MAX_LINE_BYTES, Expect
from a3agent.errors import TasksFileError

GOOD = {"id": "t1", "prompt": "Look.", "images": ["a.png"]}


def write(tmp_path, lines):
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_each_bad_line_is_reported_with_its_number_and_the_good_ones_kept(tmp_path):
    path = write(tmp_path, [
        json.dumps(GOOD),
        "not json",
        json.dumps({"id": "t2"}),  # no prompt
        "",
        json.dumps(GOOD),  # duplicate id
        json.dumps({"id": "../escape", "prompt": "x"}),
        json.dumps({"id": "t3", "prompt": "x", "expect": {"answer_regex": "("}}),
        json.dumps({"id": "t4", "prompt": "x", "tools": ["crop", "teleport"]}),
        json.dumps({"id": "t5", "prompt": "x", "colour": "red"}),
        json.dumps({"id": "t6", "prompt": "x", "tools": ["crop"], "expect": {"calls": ["crop"], "answer_regex": "a+"}}),
    ])  # fmt: skip
    found = read_tasks(path, ["crop", "zoom"])
    assert [task.id for task in found.tasks] == ["t1", "t6"]
    numbers = {bad.number: bad.message for bad in found.bad_lines}
    assert sorted(numbers) == [2, 3, 5, 6, 7, 8, 9] and found.bad_count == 7
    assert numbers[2].startswith("not JSON") and numbers[3].startswith("prompt:")
    assert "already used on line 1" in numbers[5] and numbers[6].startswith("id:")
    assert "answer_regex does not compile" in numbers[7] and "'teleport'" in numbers[8]
    assert numbers[9].startswith("colour:")
    assert found.image_paths(found.tasks[0]) == [tmp_path / "a.png"]


def test_a_line_past_the_byte_cap_is_skipped_unread(tmp_path):
    huge = json.dumps({"id": "big", "prompt": "x" * (MAX_LINE_BYTES + 10)})
    found = read_tasks(write(tmp_path, [huge, json.dumps(GOOD)]))
    assert [task.id for task in found.tasks] == ["t1"]
    assert found.bad_lines[0].number == 1 and "longer than" in found.bad_lines[0].message


def test_more_tasks_than_the_bound_raise_a_typed_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks_module, "MAX_TASKS", 3)
    path = write(tmp_path, [json.dumps(GOOD | {"id": f"t{i}"}) for i in range(4)])
    with pytest.raises(TasksFileError, match="more than 3 tasks"):
        read_tasks(path)


def test_bad_lines_past_the_report_bound_are_counted_not_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(tasks_module, "MAX_REPORTED", 2)
    found = read_tasks(write(tmp_path, ["x"] * 5))
    assert len(found.bad_lines) == 2 and found.bad_count == 5


def test_a_missing_file_is_a_typed_error(tmp_path):
    with pytest.raises(TasksFileError, match="cannot be read"):
        read_tasks(tmp_path / "nowhere.jsonl")


def test_calls_are_checked_in_order_with_others_between():
    expect = Expect(calls=["grid", "crop"])
    assert check_episode(expect, ["grid", "zoom", "crop"], "").calls is True
    assert check_episode(expect, ["crop", "grid"], "").calls is False
    assert check_episode(None, [], "").passed is None
    both = check_episode(Expect(calls=["crop"], answer_regex="(?i)apricot"), ["crop"], "An Apricot.")
    assert both.passed is True and check_episode(Expect(answer_regex="fig"), [], "plum").passed is False


def test_a_backtracking_regex_fails_its_check_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(checks, "REGEX_TIMEOUT_S", 0.05)
    result = check_episode(Expect(answer_regex="(a|aa)+$"), [], "a" * 60 + "b")
    assert result.answer is False and "ran past" in result.note
