"""What the REPL prints from outside: control characters shown as text, any image mode saved, no blocking file."""

import io
import json
import os
import re

import pytest
from hang_guard import finished
from PIL import Image
from rich.console import Console

from a3agent.agent.events import TextDelta, ThinkingDelta, ToolResultEvent
from a3agent.agent.messages import ImagePart, TextPart, ToolResultPart
from a3agent.cli.commands import run_command
from a3agent.cli.consoles import err_console, out_console
from a3agent.cli.exchange import send
from a3agent.cli.failures import report
from a3agent.cli.home import SessionFolder
from a3agent.cli.render import RunView
from a3agent.cli.session import ChatSession
from a3agent.cli.settings import AgentSettings
from a3agent.cli.safe_console import SafeConsole
from a3agent.cli.visible import visible
from a3agent.errors import ImageError, ToolFailed
from a3agent.model.scripted import load_scripted
from a3agent.tools import ImageStore, Toolbox, tool

HOSTILE = "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\\x1b[2J\x1b]0;owned\x1b\\ and \x9b31m, \x7f, \r, \x00"
"""A page's clipboard write (OSC 52), clear screen and window title; a C1 CSI, DEL, CR and NUL."""
SHOWN = "\\x1b]52;c;ZWNobyBwd25lZA==\\x1b\\\\x1b[2J\\x1b]0;owned\\x1b\\ and \\x9b31m, \\x7f, \\x0d, \\x00"
OBEYED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""What a terminal would act on: every control character but newline and tab."""
THINK = "I will read the page.\n</think>\n\n"


def console():
    return SafeConsole(file=io.StringIO(), width=100, color_system=None)


def test_visible_writes_out_every_control_character_but_newline_and_tab():
    assert visible(HOSTILE) == SHOWN
    assert visible("line\r\nnext\tcolumn\n") == "line\nnext\tcolumn\n"
    assert visible("café, 東京, ✓") == "café, 東京, ✓"


def test_the_repls_consoles_show_control_characters():
    assert isinstance(out_console(), SafeConsole) and isinstance(err_console(), SafeConsole)


def test_tool_results_model_text_and_error_lines_reach_the_terminal_as_text(tmp_path):
    shown = console()
    view = RunView(shown, ImageStore(), SessionFolder())
    view.show(ThinkingDelta(step=1, text=HOSTILE))
    view.show(TextDelta(step=1, text=HOSTILE))
    view.show(ToolResultEvent(step=1, result=ToolResultPart(call_id="call_0", name="http_get",
                                                            parts=[TextPart(HOSTILE)])))
    view.show(ToolResultEvent(step=1, result=ToolResultPart(call_id=None, name=HOSTILE, parts=[TextPart("bad")],
                                                            is_error=True)))
    view.close()
    report(shown, ToolFailed(f"the MCP server said: {HOSTILE}"), debug=False)
    output = shown.file.getvalue()
    assert OBEYED.search(output) is None
    assert output.count("\\x1b]52;c;ZWNobyBwd25lZA==") == 5


def test_run_prints_an_answer_that_repeats_a_page_as_text(tools_dir, monkeypatch):
    from typer.testing import CliRunner

    from a3agent.agent.agent import Agent
    from a3agent.agent.result import RunResult
    from a3agent.cli.app import app
    from a3agent.model.decode import DecodeCounters

    answer = RunResult(text=HOSTILE, thinking="", steps=[], stop_reason="answer", finish_reason="stop",
                       counters=DecodeCounters())
    monkeypatch.setattr(Agent, "run", lambda self, *args, **kwargs: answer)
    monkeypatch.chdir(tools_dir)
    result = CliRunner().invoke(app, ["run", "Read the page.", "--model", "scripted:weather_episode"])
    assert result.exit_code == 0, result.output
    assert result.stdout == SHOWN + "\n"


def test_a_runs_view_escapes_its_text_on_any_console():
    plain = Console(file=io.StringIO(), width=100, color_system=None)
    view = RunView(plain, ImageStore(), SessionFolder())
    view.show(ThinkingDelta(step=1, text=HOSTILE))
    view.show(TextDelta(step=1, text=HOSTILE))
    view.show(ToolResultEvent(step=1, result=ToolResultPart(call_id="call_0", name="http_get",
                                                            parts=[TextPart(HOSTILE)])))
    output = plain.file.getvalue()
    assert OBEYED.search(output) is None and output.count("\\x1b]52;c;ZWNobyBwd25lZA==") == 3


def test_a_hostile_page_a_tool_returns_is_shown_as_text_in_an_exchange(a_series_tokenizer):
    @tool
    def read_page() -> str:
        """Read the page."""
        return HOSTILE

    call = json.dumps({"name": "read_page", "arguments": {}})
    turns = [f"{THINK}<tool_call>\n{call}\n</tool_call>", "Read.\n</think>\n\nThe page says nothing."]
    session = ChatSession(load_scripted(turns, a_series_tokenizer), Toolbox([read_page]), AgentSettings(), None)
    shown = console()
    send(session, "Read the page.", shown)
    output = shown.file.getvalue()
    assert "\\x1b]52;c;ZWNobyBwd25lZA==" in output and OBEYED.search(output) is None


@pytest.mark.parametrize("mode", ["CMYK", "I", "F", "LAB", "YCbCr", "RGBX", "PA", "I;16L", "RGBa"])
def test_a_result_image_in_a_mode_png_cannot_hold_is_saved_as_rgb(mode):
    images = ImageStore()
    image_id = images.add(Image.new(mode, (8, 6)))
    shown, folder = console(), SessionFolder()
    result = ToolResultPart(call_id="call_0", name="http_get", parts=[ImagePart(image_id)])
    RunView(shown, images, folder).show(ToolResultEvent(step=1, result=result))
    assert "saved to" in shown.file.getvalue()
    (saved,) = folder.path.glob(f"*-{image_id}.png")
    with Image.open(saved) as png:
        assert png.size == (8, 6) and png.mode == "RGB"


def test_attaching_a_fifo_is_refused_before_it_is_opened(a_series_tokenizer, tmp_path):
    fifo = tmp_path / "photo.png"
    os.mkfifo(fifo)
    session = ChatSession(load_scripted(["Hi.\n</think>\n\nHi."], a_series_tokenizer), Toolbox([]), AgentSettings(),
                          None)
    error = finished(lambda: run_command(session, f"/image {fifo}", console()))
    assert isinstance(error, ImageError) and "not a regular file" in str(error)
    assert session.pending == []


def test_run_json_escapes_the_controls_json_leaves_raw(tools_dir, monkeypatch):
    from typer.testing import CliRunner

    from a3agent.agent.agent import Agent
    from a3agent.agent.result import RunResult
    from a3agent.cli.app import app
    from a3agent.model.decode import DecodeCounters

    text = "clear\x9b2J del\x7f esc\x1b[2J"  # U+009B is CSI to a terminal that reads C1 controls
    answer = RunResult(text=text, thinking="", steps=[], stop_reason="answer", finish_reason="stop",
                       counters=DecodeCounters())
    monkeypatch.setattr(Agent, "run", lambda self, *args, **kwargs: answer)
    monkeypatch.chdir(tools_dir)
    result = CliRunner().invoke(app, ["run", "Read the page.", "--model", "scripted:weather_episode", "--json"])
    assert result.exit_code == 0, result.output
    assert not OBEYED.search(result.stdout.replace("\n", ""))
    assert json.loads(result.stdout)["text"] == text
