"""Issue 9's hostile schemas: compile time, then the worst mask/forced/completion step over an instance.

    python benchmarks/hostile.py              # every case, each in a fresh process
    python benchmarks/hostile.py maxLength-400

Each case runs in its own interpreter (so one case's caches do not help another) under a 60 s
guard; a typed refusal is a result, printed with its limit. The process's peak memory is printed
with each result (the tokenizer and its tables are about 600 MB of it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

CASES = {
    "maxLength-400": ({"type": "string", "maxLength": 400}, '"' + "hello world " * 30 + '"'),
    "maxLength-1e18": ({"type": "string", "maxLength": 10**18}, '"' + "lorem ipsum " * 40 + '"'),
    "minLength-200": ({"type": "string", "minLength": 200}, '"' + "x" * 210 + '"'),
    "pattern-a100x100": ({"type": "string", "pattern": "^(a{100}){100}$"}, '"' + "a" * 300),
    "pattern-ab20": ({"type": "string", "pattern": "^[ab]*a[ab]{20}$"}, '"' + "ab" * 20 + '"'),
    "pattern-dot16": ({"type": "string", "pattern": "^.*a.{16}$"}, '"' + "za" + "q" * 16 + '"'),
    "const-100k": ({"const": "x" * 100_000}, '"' + "x" * 2000),
    "enum-1000": ({"enum": [f"value-{i}" for i in range(1000)]}, '"value-777"'),
    "enum-10000": ({"enum": [f"value-{i}" for i in range(10000)]}, '"value-7777"'),
    "key-16": ({"type": "object", "properties": {"k" * 16: {"type": "string"}}, "required": ["k" * 16]},
               '{"' + "k" * 16 + '": "v"}'),
    "key-200": ({"type": "object", "properties": {"k" * 200: {"type": "string"}}, "required": ["k" * 200]},
                '{"' + "k" * 200 + '": "v"}'),
    "deep-1000": (None, "{}"),
    "optional-100": ({"type": "object", "properties": {f"customer_address_line_{i}": {"type": "string"}
                                                       for i in range(100)}},
                     '{"customer_address_line_7": "a", "customer_address_line_93": "b"}'),
    "optional-200": ({"type": "object", "properties": {f"customer_address_line_{i}": {"type": "string"}
                                                       for i in range(200)}},
                     '{"customer_address_line_7": "a", "customer_address_line_193": "b"}'),
    "optional-1000": ({"type": "object", "properties": {f"customer_address_line_{i}": {"type": "string"}
                                                        for i in range(1000)}},
                      '{"customer_address_line_7": "a", "customer_address_line_993": "b"}'),
    "nested-2000": ({"type": "object", "properties": {"x": {}}}, '{"x": ' + "[" * 2000 + "]" * 2000 + "}"),
    "array-depth-100": ({"type": "array", "items": __import__("functools").reduce(
        lambda s, _: {"type": "array", "items": s}, range(99), {"type": "integer"})}, "[[[[1]]]]"),
    "not-ref-root": ({"properties": {"a": {"not": {"$ref": "#"}}}}, '{"a": 1}'),
    "enum-items-2e63": ({"type": "array", "items": {"enum": ["average_review_rating", "age_range", "genre"]},
                         "minItems": 2**63}, '["genre"'),
    "enum-value-backtracking": ({"enum": ["a" * 40 + "!", "ab cd"], "pattern": "^(\\w+\\s?)*$"}, '"ab cd"'),
    "not-format-email": ({"not": {"format": "email"}}, '"not an address"'),
    "price-max-99.9": ({"type": "number", "maximum": 99.9}, "99.9"),
}

_CHILD = """
import gc, json, resource, sys, time
from a3agent.errors import A3AgentError
from a3agent.grammars import compile_json_schema
from a3agent.model.tokenizer import offline_tokenizer
schema, text = json.loads(sys.stdin.read())
if schema is None:
    schema = {"type": "integer"}
    for _ in range(1000):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
tok = offline_tokenizer()
compile_json_schema({"type": "integer"}, tok)  # first-use work (vocabulary, lark) outside the timing
gc.collect()
gc.freeze()  # the start-up heap, as the a3agent commands do once the model is loaded
start = time.perf_counter()
try:
    grammar = compile_json_schema(schema, tok)
except A3AgentError as e:
    print(json.dumps({"compile_s": time.perf_counter() - start, "refused": type(e).__name__,
                      "limit": getattr(e, "limit", None)}))
    sys.exit()
compile_s = time.perf_counter() - start
m = grammar.matcher()
worst = {"mask": 0.0, "forced": 0.0, "completion": 0.0}
for token in tok.encode(text, add_special_tokens=False) + [None]:
    for name, call in (("mask", m.mask), ("forced", m.forced), ("completion", m.completion)):
        t = time.perf_counter()
        call()
        worst[name] = max(worst[name], time.perf_counter() - t)
    if token is None or not m.advance(token):
        break
print(json.dumps({"compile_s": compile_s, **{f"worst_{k}_ms": v * 1000 for k, v in worst.items()},
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(name: str) -> str:
    schema, text = CASES[name]
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, "-c", _CHILD], input=json.dumps([schema, text]), text=True,
                              capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        return f"{name:18s} did not finish within 60 s"
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return f"{name:18s} crashed: {done.stderr.strip().splitlines()[-1:]}"
    out = json.loads(lines[-1])
    if "refused" in out:
        return f"{name:18s} refused in {out['compile_s']:.2f} s: {out['refused']} ({out['limit']})"
    return (f"{name:18s} compile {out['compile_s']:.2f} s; worst step: mask {out['worst_mask_ms']:.1f} ms, "
            f"forced {out['worst_forced_ms']:.1f} ms, completion {out['worst_completion_ms']:.1f} ms "
            f"(process {time.perf_counter() - started:.0f} s, max RSS {out['max_rss_mb']:.0f} MB)")


def main() -> None:
    for name in sys.argv[1:] or CASES:
        print(run(name), flush=True)


if __name__ == "__main__":
    main()
