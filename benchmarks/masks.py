"""MaskBench on the shared data: this engine beside llguidance and xgrammar, in one process run.

    python benchmarks/masks.py                 # Tekken, all 1,860 schemas, default separators
    python benchmarks/masks.py --compact       # compact separators
    python benchmarks/masks.py --sentencepiece --limit 200
    python benchmarks/masks.py --engines a3agent --every 4
    python benchmarks/masks.py --no-freeze     # leave the start-up heap in the collector's view

Prints per engine: schemas compiled, crashes, invalid accepted, valid rejected, compile median/p99,
per-token mask mean/median/p99/max, and per token the forced continuation and the shortest
completion (median/mean/p99/max, and the max of the calls no full garbage collection ran inside)
where the engine has them (llguidance: `compute_ff_tokens`; xgrammar: `find_jump_forward_string`,
untokenised; neither has a completion: "n/a"); for a3agent
also vocabulary preprocessing cold and cached, and the share of tokens forced over the BFCL simple
ground-truth calls. Peers need the `bench` extra (`pip install -e '.[bench]'`); a missing peer is
skipped with a note. `--mask-only` skips the forced/completion timings.

Once the tokenizer and every engine are loaded, the start-up heap (transformers, tokenizers, the
peers' modules: about 100k objects) is frozen out of the garbage collector's view, as the `a3agent`
commands do once the model is loaded: otherwise each full collection walks it again, 50-250 ms
here, whichever engine's call it lands in. `--no-freeze` measures without that.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from array import array
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import maskbench  # noqa: E402


class _Timed:
    """A compiled grammar whose matchers time `forced()` and `completion()` (where the engine has
    them) inside `advance`, at the configuration the harness has just masked: the decode loop's
    order (mask, then what to dictate, then commit), and the mask timings stay the mask's own."""

    def __init__(self, compiled, times: dict[str, array], undisturbed: dict[str, float]) -> None:
        self.compiled = compiled
        self.times = times
        self.undisturbed = undisturbed
        """Per timing, the longest call no full garbage collection ran inside."""

    def matcher(self):
        inner, times, undisturbed = self.compiled.matcher(), self.times, self.undisturbed
        timed = [(name, fn) for name in ("forced", "completion") if (fn := getattr(inner, name, None))]

        class M:
            def mask(self):
                return inner.mask()

            def accepting(self):
                return inner.accepting()

            def advance(self, tid):
                for name, fn in timed:
                    full = gc.get_stats()[2]["collections"]
                    t0 = time.perf_counter()
                    fn()
                    spent = time.perf_counter() - t0
                    times[name].append(spent)
                    if gc.get_stats()[2]["collections"] == full:
                        undisturbed[name] = max(undisturbed.get(name, 0.0), spent)
                return inner.advance(tid)

        return M()


def _per_token(xs, undisturbed: float) -> str:
    if not xs:
        return "n/a (no equivalent)"
    return (f"us median {np.percentile(xs, 50) * 1e6:.0f} mean {np.mean(xs) * 1e6:.0f} "
            f"p99 {np.percentile(xs, 99) * 1e6:.0f} max {max(xs) * 1e3:.1f} ms "
            f"({undisturbed * 1e3:.1f} ms without a full collection inside) over {len(xs)} tokens")


class _Bits:
    """A packed bitmask readable as `mask[token_id]` without unpacking (fair to the peers)."""

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def __getitem__(self, tid: int) -> bool:
        return bool((int(self.words[tid >> 5]) >> (tid & 31)) & 1)


def a3agent_engine(tokenizer):
    from a3agent.errors import GrammarError
    from a3agent.grammars import compile_json_schema

    def refusal(e: Exception) -> str | None:
        if isinstance(e, GrammarError):
            return f"{type(e).__name__}:{getattr(e, 'keyword', '')}"
        return None

    return (lambda schema: compile_json_schema(schema, tokenizer)), refusal


def llguidance_engine(tokenizer):
    import llguidance
    import llguidance.hf

    ll_tok = llguidance.hf.from_tokenizer(tokenizer)

    class Compiled:
        def __init__(self, schema):
            self.grammar = llguidance.LLMatcher.grammar_from_json_schema(schema)
            probe = llguidance.LLMatcher(ll_tok, self.grammar)
            if probe.is_error():
                raise ValueError(probe.get_error())

        def matcher(self):
            m = llguidance.LLMatcher(ll_tok, self.grammar)

            class M:
                def mask(self):
                    return _Bits(np.frombuffer(m.compute_bitmask(), dtype=np.uint32))

                def advance(self, tid):
                    return m.consume_token(tid)

                def accepting(self):
                    return m.is_accepting()

                def forced(self):
                    return m.compute_ff_tokens()

            return M()

    return Compiled, (lambda e: "refused")


def xgrammar_engine(tokenizer):
    import xgrammar

    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer))
    compiler = xgrammar.GrammarCompiler(info)

    class Compiled:
        def __init__(self, schema):
            self.compiled = compiler.compile_json_schema(json.dumps(schema), any_whitespace=True)

        def matcher(self):
            m = xgrammar.GrammarMatcher(self.compiled)
            bitmask = xgrammar.allocate_token_bitmask(1, info.vocab_size)

            class M:
                def mask(self):
                    m.fill_next_token_bitmask(bitmask)
                    return _Bits(bitmask[0].numpy().view(np.uint32))

                def advance(self, tid):
                    return m.accept_token(tid)

                def accepting(self):
                    return m.is_completed() or m.is_terminated()

                def forced(self):
                    return m.find_jump_forward_string()

            return M()

    return Compiled, (lambda e: "refused")


ENGINES = {"a3agent": a3agent_engine, "llguidance": llguidance_engine, "xgrammar": xgrammar_engine}


def preprocessing_times(tokenizer) -> tuple[float, float]:
    """Vocabulary preprocessing, cold (empty cache dir, fresh process state) and cached."""
    from a3agent.grammars.engine import vocab as vocab_module

    saved = os.environ.get("A3AGENT_HOME")
    with tempfile.TemporaryDirectory() as home:
        os.environ["A3AGENT_HOME"] = home
        vocab_module._MEMO.clear()
        t0 = time.perf_counter()
        vocab_module.vocabulary_for(tokenizer)
        cold = time.perf_counter() - t0
        vocab_module._MEMO.clear()
        t0 = time.perf_counter()
        vocab_module.vocabulary_for(tokenizer)
        cached = time.perf_counter() - t0
    if saved is None:
        os.environ.pop("A3AGENT_HOME", None)
    else:
        os.environ["A3AGENT_HOME"] = saved
    vocab_module._MEMO.clear()
    return cold, cached


def forced_share() -> tuple[int, int]:
    """(forced tokens, total tokens) over BFCL simple ground-truth calls in hermes-json turns:
    a token counts as forced when the matcher's forced continuation starts with it.

    Uses the offline A-series tokenizer (Tekken plus the `<think>`/`<tool_call>` specials).
    """
    from bfcl import ground_truth_turns

    from a3agent.model.tokenizer import offline_tokenizer

    tokenizer = offline_tokenizer()
    forced = total = 0
    for grammar, text in ground_truth_turns(tokenizer, dialect="hermes-json"):
        m = grammar.matcher()
        for tid in tokenizer.encode(text, add_special_tokens=False):
            ff = m.forced()
            forced += bool(ff) and ff[0] == tid  # the grammar alone would have written this token
            total += 1
            if not m.advance(tid):
                raise AssertionError(f"ground truth left the grammar: {text!r}")
    return forced, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default="a3agent,llguidance,xgrammar")
    parser.add_argument("--compact", action="store_true", help="compact JSON separators")
    parser.add_argument("--sentencepiece", action="store_true", help="mistral-common's tokenizer.model.v1")
    parser.add_argument("--limit", type=int, default=None, help="at most this many schemas")
    parser.add_argument("--every", type=int, default=1, help="take every n-th schema")
    parser.add_argument("--json", action="store_true", help="print the summaries as JSON lines")
    parser.add_argument("--mask-only", action="store_true", help="skip the forced/completion timings")
    parser.add_argument(
        "--no-freeze", action="store_true",
        help="do not gc.freeze() the start-up heap (tokenizer, engines' modules) before the run",
    )
    args = parser.parse_args()

    if not maskbench.MASKBENCH.is_dir():
        sys.exit(f"no MaskBench data at {maskbench.MASKBENCH}")
    cases = maskbench.load_cases(limit=args.limit, every=args.every)
    if args.sentencepiece:
        tokenizer = maskbench.sentencepiece_tokenizer()
        encode = maskbench.sentencepiece_encoder(tokenizer)
        engines = ["a3agent"]
        print("peers skipped: they take Hugging Face tokenizers; this run uses raw SentencePiece")
    else:
        tokenizer = maskbench.tekken_tokenizer()
        encode = maskbench.hf_encoder(tokenizer)
        engines = args.engines.split(",")
    separators = maskbench.COMPACT_SEPARATORS if args.compact else maskbench.DEFAULT_SEPARATORS

    adapters: dict[str, tuple] = {}

    def adapter(name: str) -> tuple:
        if name not in adapters:
            adapters[name] = ENGINES[name](tokenizer)
        return adapters[name]

    if not args.no_freeze:
        for name in engines:
            try:
                adapter(name)  # imports and tokenizer tables, before the freeze
            except ImportError:
                pass
        gc.collect()
        gc.freeze()
    if "a3agent" in engines:
        cold, cached = preprocessing_times(tokenizer)
        print(f"a3agent vocabulary preprocessing: cold {cold:.2f} s, cached {cached:.3f} s")
    for name in engines:
        try:
            compile_schema, refusal = adapter(name)
        except ImportError as e:
            print(f"{name}: skipped ({e}); install the bench extra")
            continue
        times = {"forced": maskbench.seconds(), "completion": maskbench.seconds()}
        undisturbed: dict[str, float] = {}
        if not args.mask_only:
            compile_schema = (lambda plain: lambda schema: _Timed(plain(schema), times, undisturbed))(compile_schema)
        report = maskbench.run(name, compile_schema, encode, cases, separators, refusal)
        summary = report.summary()
        for what, xs in times.items():
            if xs:
                summary.update({f"{what}_us_median": float(np.percentile(xs, 50)) * 1e6,
                                f"{what}_us_mean": float(np.mean(xs)) * 1e6,
                                f"{what}_us_p99": float(np.percentile(xs, 99)) * 1e6,
                                f"{what}_ms_max": max(xs) * 1e3})
        if args.json:
            print(json.dumps(summary))
        else:
            print(
                f"{name:10s} compiled {summary['compiled']}/{summary['schemas']}  crashed {summary['crashed']}  "
                f"invalid accepted {summary['invalid_accepted']}  valid rejected {summary['valid_rejected']}  "
                f"compile ms median {summary['compile_ms_median']:.2f} p99 {summary['compile_ms_p99']:.1f}  "
                f"mask us mean {summary['mask_us_mean']:.0f} median {summary['mask_us_median']:.0f} "
                f"p99 {summary['mask_us_p99']:.0f} max {summary['mask_ms_max']:.1f} ms  over {summary['tokens']} tokens"
            )
        if not args.mask_only and not args.json:
            print(f"  forced     {_per_token(times['forced'], undisturbed.get('forced', 0.0))}")
            print(f"  completion {_per_token(times['completion'], undisturbed.get('completion', 0.0))}")
        if summary["full_gcs"] and not args.json:
            print(f"  Python's full garbage collections during this run: {summary['full_gcs']}, longest "
                  f"{summary['full_gc_ms_max']:.0f} ms; {summary['mask_calls_with_full_gc']} inside a mask call; "
                  f"mask max without those calls: {summary['mask_ms_max_without_full_gc']:.1f} ms")
        if name == "a3agent":
            top = sorted(report.refused.items(), key=lambda kv: -kv[1])[:12]
            print("  refusals:", ", ".join(f"{k} {v}" for k, v in top))
            for line in (report.crashed + report.valid_rejected + report.invalid_accepted)[:20]:
                print("  !", line)
    if "a3agent" in engines and not args.sentencepiece and maskbench.BFCL.is_dir():
        forced, total = forced_share()
        print(f"a3agent forced tokens over BFCL simple calls (hermes-json turns): {forced}/{total} = {forced / total:.1%}")


if __name__ == "__main__":
    main()
