"""Type checkers see the real types: mypy passes on the agent, model and dialect rooms and on a user's
view of the flat API (`tests/typing/flat_api.py`), and the flat API's lazy names are all declared for
type checkers. The other rooms join `_CHECKED` as their owners bring them to zero errors."""

import ast
import subprocess
import sys
from pathlib import Path

import a3agent

ROOT = Path(__file__).resolve().parent.parent
_CHECKED = [
    "a3agent/__init__.py",
    "a3agent/agent",
    "a3agent/collect",
    "a3agent/grammars/dialects",
    "a3agent/model/decode.py",
    "a3agent/model/loading.py",
    "a3agent/model/prompt.py",
    "a3agent/model/template.py",
    "a3agent/model/tiny.py",
    "a3agent/model/tokenizer.py",
    "tests/typing/flat_api.py",
]


def test_mypy_passes_on_the_checked_rooms_and_sees_the_flat_api_types():
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
