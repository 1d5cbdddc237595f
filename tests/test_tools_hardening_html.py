"""HTML to text in linear time: the inputs that made the stdlib parser quadratic, and deep nesting.

Each 2 MB input runs in a child process under a hang guard: the old extractor needed minutes to hours
for these (3.9 s at 100 KB of `<a`, four times that per doubling). Speed itself is measured by
`benchmarks/html.py`, not asserted here.
"""

import json
import subprocess
import sys

import pytest

from a3agent.tools.html_text import html_to_text

ADVERSARIAL = {  # name: (input, its text)
    "repeated <a": ("<a" * 1_000_000, ""),  # one unfinished tag
    "repeated <!--": ("<!--" * 500_000, ""),  # one unfinished comment
    "repeated <![<![": ("<![<![" * 330_000, ""),  # one bogus comment
    "nested <div>": ("<div>" * 400_000 + "deep", "deep"),
    "nested <ul><li>": ("<ul><li>" * 250_000 + "deep", "deep"),
    "nested formatting": ("".join(f"<b {i}>" for i in range(40_000)) + "<i>" * 40_000 + "x</b>" * 40_000, "x" * 40_000),
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_html_of_2_mb_is_turned_into_text_within_a_hang_guard(name):
    script = (
        "import json\n"
        "from a3agent.tools.html_text import html_to_text\n"
        "from test_tools_hardening_html import ADVERSARIAL\n"
        f"print(json.dumps(html_to_text(ADVERSARIAL[{name!r}][0])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, cwd=__file__.rsplit("/", 1)[0]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == ADVERSARIAL[name][1]


def test_the_bracket_sequence_that_broke_the_stdlib_parser_is_text_not_an_assertion_error():
    assert html_to_text("<p>a</p><![<![ b") == "a"


def test_blocks_become_lines_and_non_text_elements_are_dropped():
    html = (
        "<title>T</title><style>p{}</style><p>a <b>b</b></p><script>x()</script><ul><li>one</li><li>two</li></ul>"
        "<template>hidden</template><svg><text>svg</text></svg><noscript>ns</noscript>c<br>d<!-- note -->"
    )
    assert html_to_text(html) == "T\na b\none\ntwo\nc\nd"
