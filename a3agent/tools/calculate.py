"""`calculate`: arithmetic for the model, which is unreliable at it, evaluated safely.

The expression is parsed with `ast` and only numbers, `+ - * / // % **`, unary signs, parentheses and a
few `math` functions and constants are evaluated; `eval` is never called, so there are no names,
attributes or calls beyond that list. Integer results are capped at `MAX_DIGITS` digits (`9**9**9`
is refused before it is computed); every value on the way must be a finite real number, so an
overflow to `inf` (`1e308*10`) or a complex power (`(-8)**(1/3)`) is an error, not an answer. Does not
handle variables, comparisons, bitwise operators or complex numbers.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

from a3agent.errors import ToolFailed
from a3agent.tools.definition import tool

__all__ = ["calculate"]

MAX_LENGTH = 500
MAX_DIGITS = 1000
_LIMIT = 10**MAX_DIGITS
_MAX_BITS = _LIMIT.bit_length()
_MAX_FACTORIAL = 450  # 450! has 1001 digits

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(math, name)
    for name in ("sqrt", "exp", "log", "log10", "log2", "sin", "cos", "tan", "asin", "acos", "atan", "atan2",
                 "hypot", "degrees", "radians", "floor", "ceil")
} | {"abs": abs, "round": lambda x, ndigits=None: round(x, _digits(ndigits)), "min": min, "max": max,
     "factorial": math.factorial}
_CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}


@tool
def calculate(expression: str) -> str:
    """Evaluate an arithmetic expression exactly as Python would, e.g. "(2 + 3) * sqrt(16) / 7".

    Args:
        expression: Numbers, + - * / // % ** (power), parentheses, the constants pi, e, tau and the
            functions sqrt exp log log10 log2 sin cos tan asin acos atan atan2 hypot degrees radians
            floor ceil abs round min max factorial.
    """
    if len(expression) > MAX_LENGTH:
        raise ToolFailed(f"the expression is longer than {MAX_LENGTH} characters; split it into steps")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:  # ValueError: a lone surrogate, which cannot be read as source
        reason = exc.msg if isinstance(exc, SyntaxError) else exc
        raise ToolFailed(f"cannot parse {expression!r} ({reason}); write one arithmetic expression") from None
    try:
        return str(_evaluate(tree.body))
    except OverflowError:
        raise ToolFailed(f"{expression!r} cannot be computed: the result is too large") from None
    except (ArithmeticError, ValueError) as exc:
        raise ToolFailed(f"{expression!r} cannot be computed: {exc}") from None


def _evaluate(node: ast.expr) -> int | float:
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return _checked(node.value)  # 1e999 parses as inf
    if isinstance(node, ast.Name) and node.id in _CONSTANTS:
        return _CONSTANTS[node.id]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow):
            _check_power(left, right)
        return _checked(_BINARY[type(node.op)](left, right))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS:
        if node.keywords:
            raise ToolFailed(f"{node.func.id}() takes positional arguments only")
        args = [_evaluate(arg) for arg in node.args]
        if node.func.id == "factorial" and args and args[0] > _MAX_FACTORIAL:
            raise ToolFailed(f"factorial({args[0]}) would have more than {MAX_DIGITS} digits")
        try:
            return _checked(_FUNCTIONS[node.func.id](*args))
        except TypeError as exc:
            raise ToolFailed(f"{node.func.id}(): {exc}") from None
    raise ToolFailed(f"{_describe(node)} is not supported: only numbers, + - * / // % **, parentheses and the "
                     "listed functions and constants")


def _check_power(base: int | float, exponent: int | float) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        if exponent * (abs(base).bit_length() - 1) > _MAX_BITS:
            raise ToolFailed(f"{base} ** {exponent} would have more than {MAX_DIGITS} digits")


def _checked(value: Any) -> int | float:
    if isinstance(value, int) and abs(value) >= _LIMIT:
        raise ToolFailed(f"the result has more than {MAX_DIGITS} digits")
    if isinstance(value, complex):
        raise ToolFailed("the result is a complex number; only real results are computed")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolFailed(f"a step's result is {value}, beyond the range of floating-point numbers")
    return value


def _digits(ndigits: int | None) -> int | None:
    if ndigits is not None and abs(ndigits) > MAX_DIGITS:  # round(x, -10**9) would build 10**10**9
        raise ToolFailed(f"round() to {ndigits} digits is out of range")
    return ndigits


def _describe(node: ast.expr) -> str:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitXor):
        return "'^' (use ** for powers)"
    return f"{ast.unparse(node)!r}"
