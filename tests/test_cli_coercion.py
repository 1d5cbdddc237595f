"""`a3agent/cli/coercion.py` turns option values into Python values exactly as typer's own (pydantic)
coercion does: the same value of the same type, or a `BadParameter` with the same message, for every
option of every command."""

from pathlib import Path

import pytest
import typer.main
from hypothesis import given, settings
from hypothesis import strategies as st
from typer._click.core import Context
from typer._click.exceptions import BadParameter
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from a3agent.cli.app import app
from a3agent.cli.coercion import LightParam

TEXTS = [
    "", " ", "x", "abc", "0", "1", "-1", "+1", "-0", "007", " 1", "1 ", "\t1", "1\n", "1_000", "1.0", "-1.0", "1.5",
    "1.", ".5", "+.5", "-.5e-3", "1e3", "1E3", "1e", "e5", "1e400", "-1e400", "0x10", "0b1", "1..2", "--1", "+-1",
    "1 2", "1,5", "½", "١٢", "inf", "-inf", "nan", "NaN", "Infinity", "65535", "65536", "-65536", "9" * 30,
    "9" * 200,
    "0.0000001", "hermes-json", "qwen3-xml", "HERMES-JSON", "bfloat16", "float16", "foo", "bar\x1b[31m", "jsonl",
    "markdown", "json", "csv", "builtin", "-", "a.png", "./dir/b.jpg", "~/x",
]  # fmt: skip
VALUES = [*TEXTS, None, 0, 1, -1, 0.0, 1.0, -1.5, 2**60, True, False, Path("a.png"), ["a.png", "b.png"], ("c",), []]


def parameters() -> list[tuple[str, _TyperParameter, Context]]:
    """Every typer parameter of the command and its subcommands, help options included, with a context."""
    group = typer.main.get_command(app)
    found = []
    for name, command in [("a3agent", group), *group.commands.items()]:  # type: ignore[attr-defined]
        ctx = Context(command, info_name=name)
        found += [(f"{name} {param.name}", param, ctx) for param in command.get_params(ctx)
                  if isinstance(param, _TyperParameter)]
    return found


PARAMETERS = parameters()


def outcome(coercion, value, param, ctx):
    try:
        result = coercion._coerce_value(value, param=param, ctx=ctx)
    except BadParameter as exc:
        return "bad", exc.message
    except Exception as exc:  # noqa: BLE001 (the same unexpected error on both sides is agreement too)
        return "raised", type(exc).__name__, str(exc)
    return "ok", result, type(result), [type(item) for item in result] if isinstance(result, list) else None


def agree(param: _TyperParameter, ctx: Context, value: object) -> None:
    descriptor = param.type_descriptor
    light = LightParam(descriptor.parameter_info, descriptor.annotation, descriptor)
    theirs = outcome(build_runtime_param(descriptor), value, param, ctx)
    ours = outcome(light, value, param, ctx)
    same_nan = theirs[0] == ours[0] == "ok" and theirs[1] != theirs[1] and ours[1] != ours[1]
    assert same_nan or ours == theirs, (param.name, value)


def test_every_parameter_of_the_command_gets_the_light_coercion():
    names = {name for name, _, _ in PARAMETERS}
    assert {"run temperature", "run dialect", "run image", "serve port", "export format", "run help"} <= names
    for name, param, ctx in PARAMETERS:
        assert isinstance(param.get_runtime_param(), LightParam), name


@pytest.mark.parametrize(("name", "param", "ctx"), PARAMETERS, ids=[name for name, _, _ in PARAMETERS])
def test_light_coercion_agrees_with_typers_own(name, param, ctx):
    for value in VALUES:
        agree(param, ctx, value)


NUMBERS = [(name, param, ctx) for name, param, ctx in PARAMETERS if param.type_descriptor.annotation in (int, float)]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(NUMBERS), st.one_of(st.text(alphabet="0123456789+-._eE infaINFA\t", max_size=12), st.text(),
                                           st.integers(), st.floats()))
def test_light_coercion_agrees_on_any_number_text(number, value):
    _, param, ctx = number
    agree(param, ctx, value)
