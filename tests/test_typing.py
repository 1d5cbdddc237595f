"""Type checkers see the real types: mypy passes on the whole package and on a user's view of the flat
API (`tests/typing/flat_api.py`), and the flat API's lazy names are all declared for type checkers."""

import ast
import subprocess
import sys
from pathlib import Path

import a3agent

ROOT = Path(__file__).resolve().parent.parent
_CHECKED = ["a3agent", "tests/typing/flat_api.py"]


def test_mypy_passes_on_the_package_and_sees_the_flat_api_types():
    command = [sys.executable, "-m", "mypy", "--follow-imports=silent", *_CHECKED]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_lazily_served_name_is_imported_for_type_checkers():
    tree = ast.parse((ROOT / "a3agent" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    declared = {alias.name: node.module for node in block.body if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    assert declared == a3agent._HOMES


def test_the_package_ships_its_py_typed_marker():
    assert (ROOT / "a3agent" / "py.typed").is_file()
    assert '"a3agent" = ["py.typed"]' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_set_limits_accepts_exactly_the_limits_fields_with_their_types():
    from typing import get_type_hints

    from a3agent.grammars.engine.limits import LimitChanges, Limits

    assert get_type_hints(LimitChanges) == get_type_hints(Limits)
