"""HTML to text (`http_get`'s extractor): milliseconds per MB on adversarial inputs and a normal page.

    python benchmarks/html.py [--runs 20] [--sizes 0.5,1,2]

Rows are the inputs that made the old stdlib-based extractor quadratic (repeated `<a`, `<!--`,
`<![<![`), deep nesting that is quadratic in any HTML5 tree builder without a depth cap, nested
formatting elements (lexbor issue 340) and an ordinary article page. A linear extractor shows the
same ms/MB at every size. A benchmark, not a test: these machines are noisy, so compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from a3agent.tools.html_text import html_to_text

ARTICLE = (
    "<div class='post'><h2>Apricots</h2><p>Ripe <b>figs</b> &amp; apricots, <a href='/more'>more</a> and "
    "<em>notes</em>.</p><ul><li>one</li><li>two</li></ul><table><tr><td>a</td><td>b</td></tr></table></div>\n"
)

INPUTS: dict[str, Callable[[int], str]] = {
    "repeated <a": lambda n: "<a" * (n // 2),
    "repeated <!--": lambda n: "<!--" * (n // 4),
    "repeated <![<![": lambda n: "<![<![" * (n // 6),
    "nested <div>": lambda n: "<div>" * (n // 5),
    "nested <ul><li>": lambda n: "<ul><li>" * (n // 8),
    "nested formatting": lambda n: "".join(f"<b {i}>" for i in range(n // 24)) + "<i>" * (n // 24) + "x</b>" * (n // 24),
    "normal page": lambda n: (ARTICLE * (n // len(ARTICLE) + 1))[:n],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sizes", default="0.5,1,2", help="input sizes in MB, comma-separated")
    args = parser.parse_args()
    sizes = [float(size) for size in args.sizes.split(",")]
    print(f"{'input':<20}{'MB':>6}{'median ms/MB':>15}{'p99 ms/MB':>12}")
    for name, make in INPUTS.items():
        for megabytes in sizes:
            html = make(int(megabytes * 1_000_000))
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                html_to_text(html)
                times.append((time.perf_counter() - started) * 1000 / (len(html) / 1e6))
            p99 = statistics.quantiles(times, n=100)[98] if len(times) > 1 else times[0]
            print(f"{name:<20}{len(html) / 1e6:>6.2f}{statistics.median(times):>15.1f}{p99:>12.1f}")


if __name__ == "__main__":
    main()
