"""JSON Schema -> lark: each keyword's exact language, each refusal, and MaskBench conformance.

The oracle is lark's Earley parser (`schema_oracle.parser`): a schema's grammar must accept a
value (in json.dumps default and compact separators) exactly when the schema does.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from pathlib import Path

import interegular
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.lexer import PatternRE

from a3agent.errors import UnsatisfiableSchema, UnsupportedSchema
from a3agent.grammars.engine.limits import limits
from a3agent.grammars.schema.json_schema import SchemaRules, check_schema, schema_to_grammar
from a3agent.grammars.regex.char_regex import char_set, complement, to_pattern
from a3agent.grammars.schema.json_text import ANY_JSON_STRING, json_char_spellings
from a3agent.grammars.schema.lark_text import load_lark
from a3agent.grammars.regex.matching import matches
from a3agent.grammars.schema.number_text import INTEGER_TEXT, NUMBER_TEXT, number_texts
from schema_oracle import MASKBENCH, accepts, check_file, instance_texts, parser


def accepted(schema: object, value: object) -> bool:
    """Whether the schema's grammar accepts `value`; both serialisations must agree."""
    p = parser(schema_to_grammar(schema))
    verdicts = {accepts(p, text) for text in instance_texts(value)}
    assert len(verdicts) == 1, f"separators changed the verdict for {value!r}"
    return verdicts.pop()


def accepts_text(schema: object, text: str) -> bool:
    return accepts(parser(schema_to_grammar(schema)), text)


def refusal(schema: object) -> UnsupportedSchema:
    with pytest.raises(UnsupportedSchema) as caught:
        check_schema(schema)
    return caught.value


# -- per keyword: (schema, values in the language, values not in it) ------------------------------

CASES = {
    "integer": ({"type": "integer"}, [0, -7, 12345678901234567890], [1.5, "1", True, None]),
    "number": ({"type": "number"}, [0, -1.5, 1e-05, 1e20, 3], ["3", False]),
    "string": ({"type": "string"}, ["", "a\"b\\c\n\t", "é中😀", "\u2028\x7f\x00"], [1, None]),
    "boolean": ({"type": "boolean"}, [True, False], [0, "true"]),
    "null": ({"type": "null"}, [None], [0, ""]),
    "type list": ({"type": ["integer", "string"]}, [1, "x"], [1.5, None]),
    "bfcl dict": ({"type": "dict", "properties": {"a": {"type": "float"}}}, [{"a": 1}, {"a": 1.5}], [{"a": "x"}]),
    "bfcl tuple": ({"type": "tuple", "items": {"type": "integer"}}, [[1, 2]], [[1.5]]),
    "bfcl any": ({"type": "any"}, [1, "x", None, [{}]], []),
    "empty schema": ({}, [1, "x", None, [{"a": [True]}], {"b": {"c": -0.5}}], []),
    "true schema": (True, [{"k": []}], []),
    "annotations": ({"type": "integer", "title": "t", "description": "d", "examples": [1], "default": 2,
                     "$comment": "c", "deprecated": True, "readOnly": True}, [1], ["1"]),
    "properties": ({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"}},
                    "required": ["a"]}, [{"a": 1}, {"a": 1, "b": "x"}, {"a": 1, "z": [1]}],
                   [{}, {"b": "x"}, {"a": "1"}, {"a": 1, "b": 2}]),
    "additionalProperties false": ({"type": "object", "properties": {"a": {"type": "integer"}},
                                    "additionalProperties": False}, [{}, {"a": 1}], [{"b": 1}, {"a": 1, "b": 1}]),
    "additionalProperties schema": ({"type": "object", "properties": {"a": {"type": "integer"}},
                                     "additionalProperties": {"type": "string"}},
                                    [{"a": 1, "ab": "x"}, {"x": "y", "a": 2}, {"": "x"}], [{"a": "x"}, {"b": 1}]),
    "patternProperties": ({"type": "object", "patternProperties": {"^x_": {"type": "integer"}},
                           "additionalProperties": False}, [{"x_a": 1}, {}], [{"x_a": "1"}, {"y": 1}]),
    "propertyNames": ({"type": "object", "propertyNames": {"maxLength": 2}}, [{"ab": 1}], [{"abc": 1}]),
    "min/maxProperties": ({"type": "object", "minProperties": 1, "maxProperties": 2},
                          [{"a": 1}, {"a": 1, "b": 2}], [{}, {"a": 1, "b": 2, "c": 3}]),
    "items": ({"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
              [[1], [1, 2, 3]], [[], [1, 2, 3, 4], ["1"]]),
    "prefixItems": ({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": False},
                    [[], [1], [1, "a"]], [[1, "a", 2], ["a"]]),
    "items array + additionalItems": ({"type": "array", "items": [{"type": "integer"}], "additionalItems": {"type": "string"}},
                                      [[1, "a", "b"]], [[1, 2]]),
    "length counts characters": ({"type": "string", "minLength": 2, "maxLength": 2},
                                 ["ab", "\n\t", "😀é"], ["a", "abc", "😀"]),
    "pattern anchored": ({"type": "string", "pattern": "^[A-Z]{2}\\d+$"}, ["AB12"], ["AB", "ab12", "xAB12"]),
    "pattern searched": ({"type": "string", "pattern": "99"}, ["a99b", "99"], ["9a9"]),
    "pattern and maxLength": ({"type": "string", "pattern": "^a+$", "maxLength": 3}, ["a", "aaa"], ["aaaa", ""]),
    "format date": ({"type": "string", "format": "date"}, ["2024-02-29", "2023-12-31"], ["2023-02-29", "2023-13-01", "x"]),
    "format time": ({"type": "string", "format": "time"}, ["12:00:00Z", "23:59:60.5Z"],
                    ["24:00:00Z", "12:00:00", "23:59:60.5+01:00"]),
    "format date-time": ({"type": "string", "format": "date-time"}, ["2022-01-01T12:00:00Z"], ["2022-01-01 12:00"]),
    "format email": ({"type": "string", "format": "email"}, ["a.b@example.com"], ["a@", "a b@c.d"]),
    "format uuid": ({"type": "string", "format": "uuid"}, ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567"]),
    "format uri": ({"type": "string", "format": "uri"}, ["https://example.com/a?b#c", "urn:x:y"], ["/relative", "a b"]),
    "format ipv4": ({"type": "string", "format": "ipv4"}, ["192.168.0.1"], ["256.0.0.1", "01.2.3.4"]),
    "integer range": ({"type": "integer", "minimum": -5, "exclusiveMaximum": 12}, [-5, 0, 11], [-6, 12, 100]),
    "draft-04 exclusive bounds": ({"type": "number", "minimum": 1, "exclusiveMinimum": True}, [1.5, 2], [1, 0]),
    "decimal range": ({"type": "number", "minimum": 2.5, "maximum": 7.25}, [2.5, 2.50001, 7, 7.25], [2.49, 7.26, 8]),
    "inclusive decimal bounds": ({"type": "number", "minimum": -0.5, "maximum": 1.5}, [-0.5, 1.5, 1.49, 0],
                                 [1.51, 1.500001, -0.5000001, -0.51, 99.99]),
    "bounded number exponent forms": ({"type": "number", "minimum": 0, "maximum": 1}, [1e-05, 0.5], [-1e-05]),
    "multipleOf integer": ({"type": "integer", "multipleOf": 7}, [0, 7, -14, 700000007], [1, 8]),
    "multipleOf decimal": ({"type": "number", "multipleOf": 0.01}, [0.07, 1.5, 3], [0.005, 1.001]),
    "multipleOf in range": ({"type": "number", "multipleOf": 2.5, "minimum": 1, "maximum": 10}, [2.5, 5, 10], [0, 12.5, 3]),
    "enum": ({"enum": ["a", 1, None, [1, {"x": True}], {"k": "v"}]},
             ["a", 1, 1.0, None, [1, {"x": True}], {"k": "v"}], ["b", True, [1], {}]),
    "const": ({"const": {"a": [1, 2]}}, [{"a": [1, 2]}], [{"a": [2, 1]}]),
    "enum with sibling keywords": ({"type": "string", "enum": ["a", "bb", 3], "maxLength": 1}, ["a"], ["bb", 3]),
    "anyOf": ({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 1}]}, [1, "a"], ["ab", None]),
    "oneOf disjoint types": ({"oneOf": [{"type": "integer"}, {"type": "string"}]}, [1, "a"], [None]),
    "oneOf const discriminator": ({"oneOf": [
        {"type": "object", "properties": {"kind": {"const": "a"}, "x": {"type": "integer"}}, "required": ["kind"]},
        {"type": "object", "properties": {"kind": {"const": "b"}}, "required": ["kind"]}]},
        [{"kind": "a", "x": 1}, {"kind": "b"}], [{"kind": "c"}, {"kind": "a", "x": "1"}]),
    "oneOf of required lists": ({"type": "object", "properties": {"a": {}, "b": {}, "c": {}},
                                 "oneOf": [{"required": ["a"]}, {"required": ["b", "c"]}]},
                                [{"a": 1}, {"b": 1, "c": 1}, {"a": 1, "b": 1}], [{}, {"a": 1, "b": 1, "c": 1}, {"b": 1}]),
    "anyOf of required lists": ({"type": "object", "properties": {"a": {}, "b": {}},
                                 "anyOf": [{"required": ["a"]}, {"required": ["b"]}]},
                                [{"a": 1}, {"a": 1, "b": 2}], [{}]),
    "dependencies": ({"type": "object", "properties": {"a": {}, "b": {}}, "dependencies": {"a": ["b"]}},
                     [{}, {"b": 1}, {"a": 1, "b": 1}], [{"a": 1}]),
    "dependentSchemas": ({"type": "object", "properties": {"a": {}, "b": {"type": "integer"}},
                          "dependentSchemas": {"a": {"properties": {"b": {"minimum": 5}}, "required": ["b"]}}},
                         [{"b": 1}, {"a": 0, "b": 5}], [{"a": 0, "b": 4}, {"a": 0}]),
    "allOf merges objects": ({"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                                        {"properties": {"b": {"type": "string"}}, "required": ["b"]}]},
                             [{"a": 1, "b": "x"}], [{"a": 1}, {"a": "1", "b": "x"}]),
    "allOf closed part bars other keys": ({"allOf": [{"properties": {"a": {}}, "additionalProperties": False},
                                                     {"properties": {"b": {}}}]}, [{"a": 1}], [{"b": 1}]),
    "$ref and $defs": ({"$defs": {"pos": {"type": "integer", "minimum": 0}}, "type": "array",
                        "items": {"$ref": "#/$defs/pos"}}, [[0, 1]], [[-1]]),
    "definitions with pointer escapes": ({"definitions": {"a/b": {"const": 1}}, "$ref": "#/definitions/a~1b"}, [1], [2]),
    "percent-encoded pointer": ({"$defs": {"a b": {"const": 1}, "\u00fc": {"const": 2}, "%25": {"const": 3}},
                                 "anyOf": [{"$ref": "#/$defs/a%20b"}, {"$ref": "#/$defs/%C3%BC"}, {"$ref": "#/$defs/%2525"}]},
                                [1, 2, 3], [4]),
    "a percent-encoded slash separates": ({"$defs": {"a/b": {"type": "string"}, "a": {"b": {"type": "integer"}}},
                                           "$ref": "#/$defs/a%2Fb"}, [3], ["x"]),
    "recursion through #": ({"type": "object", "properties": {"child": {"$ref": "#"}, "v": {"type": "integer"}},
                             "additionalProperties": False}, [{"child": {"child": {"v": 1}}}], [{"child": {"v": "x"}}]),
    "not type": ({"not": {"type": "string"}}, [1, None, [], {}], ["x"]),
    "not enum": ({"type": "string", "not": {"enum": ["a", "b"]}}, ["c", "ab", ""], ["a", "b"]),
    "not const integer": ({"type": "integer", "not": {"const": 3}}, [2, 4], [3]),
    "not pattern": ({"type": "string", "not": {"pattern": "^a"}}, ["ba", ""], ["a", "ab"]),
    "not multipleOf": ({"type": "integer", "not": {"multipleOf": 3}}, [1, 2, 4], [0, 3, 6]),
    "not integer, exponent forms": ({"not": {"type": "integer"}}, [1e-07, -1e-09, 1.5e-05, 0.5], [2, 1e16, -3e20]),
    "not a tiny step, exponent forms": ({"not": {"multipleOf": 0.00001}}, [0.123456], [1e-05, 3e-05, 0.5]),
    "not minimum": ({"type": "number", "not": {"minimum": 3}}, [2.9, -1], [3, 4]),
    "not required": ({"type": "object", "not": {"required": ["a"]}}, [{}, {"b": 1}], [{"a": 1}]),
    "not properties": ({"type": "object", "properties": {"a": {}}, "not": {"properties": {"a": {"type": "string"}}}},
                       [{"a": 1}], [{}, {"a": "x"}]),
    "if then else": ({"type": "integer", "if": {"minimum": 10}, "then": {"multipleOf": 2}, "else": {"maximum": 3}},
                     [10, 12, 3, -1], [11, 5]),
}


@pytest.mark.parametrize("name", CASES)
def test_keyword_language(name: str) -> None:
    schema, inside, outside = CASES[name]
    for value in inside:
        assert accepted(schema, value), f"{name}: {value!r} should be accepted"
    for value in outside:
        assert not accepted(schema, value), f"{name}: {value!r} should be rejected"


# -- text forms -----------------------------------------------------------------------------------


def test_integers_are_written_canonically() -> None:
    schema = {"type": "integer"}
    assert accepts_text(schema, "12")
    assert not any(accepts_text(schema, t) for t in ["1.0", "-0", "01", "1e2", " 1"])


def test_numbers_accept_json_dumps_exponents() -> None:
    assert all(accepts_text({"type": "number"}, t) for t in ["1e-05", "1e+20", "-2.5E3", "0.1"])


def test_strings_accept_every_escape_but_ascii_as_unicode_escapes() -> None:
    schema = {"type": "string", "maxLength": 1}
    assert all(accepts_text(schema, t) for t in ['"\\u00e9"', '"\\u00E9"', '"\\ud83d\\ude00"', '"\\/"', '"\\n"'])
    assert not accepts_text(schema, '"\\u0041"'), "printable ASCII is never written as \\uXXXX"
    assert not accepts_text(schema, '"\\ud800"'), "a lone surrogate is not a character"


def test_character_sets_that_escape_alike_share_their_escape_trees() -> None:
    """The compiler's memo caches keep a tree per character set; sets that escape alike must
    hold one escape tree between them, not a copy each for the garbage collector to walk."""
    first, second = json_char_spellings(complement(char_set("x"))), json_char_spellings(complement(char_set("y")))
    assert first[0] != second[0], "the raw characters differ"
    assert len(first) == len(second) > 1 and all(a is b for a, b in zip(first[1:], second[1:]))
    assert json_char_spellings(complement(char_set('"x')))[1:] != first[1:], "without the quote, no \\\" escape"


def test_literals_accept_ensure_ascii_spelling() -> None:
    schema = {"enum": ["café"]}
    assert accepts_text(schema, '"café"') and accepts_text(schema, '"caf\\u00e9"')


def test_whitespace_only_after_separators() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "array"}}}
    assert accepts_text(schema, '{"a": [1, 2]}') and accepts_text(schema, '{"a":[1,2]}')
    assert not any(accepts_text(schema, t) for t in ['{ "a": [1]}', '{"a" : [1]}', '{"a":  [1]}', '{"a": [1]}\n'])


def test_declared_properties_follow_schema_order() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    assert accepted(schema, {"a": 1, "b": 2})
    assert not accepted(schema, {"b": 2, "a": 1})


def _many_optional(extra: int, **schema: object) -> tuple[dict, list[str]]:
    names = [f"k{i}" for i in range(limits().ordered_optional_keys + extra)]
    return {"type": "object", "properties": {n: {"type": "integer"} for n in names}, **schema}, names


def test_optional_keys_past_the_ordered_limit_may_come_in_any_order() -> None:
    schema, names = _many_optional(3, required=["k0"])  # the last two optional keys are past the limit
    late, early = names[-2:], names[1:3]
    assert accepted(schema, {n: i for i, n in enumerate(names)})
    assert accepted(schema, {"k0": 0, late[1]: 1, late[0]: 2})
    assert accepted(schema, {late[1]: 1, "k0": 0, early[0]: 2})
    assert accepts_text(schema, f'{{"k0": 0, "{late[0]}": 1, "{late[0]}": 2}}')  # as undeclared keys may
    assert not accepted(schema, {"k0": 0, early[1]: 1, early[0]: 2})  # the first ones keep schema order
    assert not accepts_text(schema, f'{{"k0": 0, "{early[0]}": 1, "{early[0]}": 2}}')
    assert not accepted(schema, {late[0]: 1})  # k0 is still required
    assert not accepted(schema, {"k0": 0, late[0]: "one"})


def test_optional_keys_stay_in_order_where_a_repeat_could_count_towards_min_properties() -> None:
    schema, names = _many_optional(3, minProperties=2)
    assert accepted(schema, {names[-2]: 1, names[-1]: 2})
    assert not accepted(schema, {names[-1]: 1, names[-2]: 2})
    assert not accepts_text(schema, f'{{"{names[-1]}": 1, "{names[-1]}": 2}}')


def test_json_lark_primitives_match_the_generated_regexes() -> None:
    text = load_lark("a3agent.grammars.schema", "json.lark")
    for name, regex in [("STRING", ANY_JSON_STRING), ("NUMBER", NUMBER_TEXT), ("INTEGER", INTEGER_TEXT)]:
        assert f"{name}: /{to_pattern(regex)}/" in text


# -- refusals and unsatisfiable schemas -----------------------------------------------------------

REFUSALS = [
    ({"type": "array", "contains": {"type": "integer"}}, "", "contains"),
    ({"type": "array", "uniqueItems": True}, "", "uniqueItems"),
    ({"type": "object", "properties": {"f": {"type": "string", "format": "binary"}}}, "/properties/f", "format"),
    ({"type": "string", "pattern": "^(?=a)"}, "", "pattern"),
    ({"type": "string", "pattern": "(a)\\1"}, "", "pattern"),
    ({"type": "string", "pattern": "\\bword"}, "", "pattern"),
    ({"$ref": "https://example.com/schema.json"}, "", "$ref"),
    ({"$ref": "#/$defs/missing"}, "", "$ref"),
    ({"oneOf": [{"type": "integer"}, {"minimum": 3}]}, "", "oneOf"),
    ({"type": "object", "unevaluatedProperties": False}, "", "unevaluatedProperties"),
    ({"type": "object", "not": {"patternProperties": {"^a": {"type": "string"}}}}, "", "not"),
    ({"items": {"$dynamicRef": "#meta"}, "type": "array"}, "/items", "$dynamicRef"),
    ({"type": "integer", "multipleOf": 9973, "not": {"multipleOf": 9967}}, "", "multipleOf"),
    ({"type": "stringy"}, "", "type"),
]


@pytest.mark.parametrize("schema,path,keyword", REFUSALS)
def test_refusal_names_path_and_keyword(schema: object, path: str, keyword: str) -> None:
    error = refusal(schema)
    assert (error.path, error.keyword) == (path, keyword)
    assert keyword in str(error)


@pytest.mark.parametrize("schema", [
    False,
    {"type": "string", "minLength": 3, "maxLength": 2},
    {"type": "integer", "minimum": 5, "maximum": 4},
    {"type": "string", "enum": [1, 2]},
    {"type": "object", "required": ["a"], "additionalProperties": False},
    {"allOf": [{"type": "string"}, {"type": "integer"}]},
])
def test_unsatisfiable_schema(schema: object) -> None:
    with pytest.raises(UnsatisfiableSchema):
        check_schema(schema)


def test_many_schemas_share_one_grammar_without_clashes() -> None:
    rules = SchemaRules()
    first = rules.add({"type": "object", "properties": {"x": {"type": "integer"}}}, "tool")
    second = rules.add({"type": "object", "properties": {"x": {"type": "string"}}}, "tool")
    assert first != second
    grammar = f"start: {first} | {second}\n{rules.text()}\n{load_lark('a3agent.grammars.schema', 'json.lark')}"
    p = parser(grammar)
    assert accepts(p, '{"x": 1}') and accepts(p, '{"x": "a"}') and not accepts(p, '{"x": null}')


# -- MaskBench ------------------------------------------------------------------------------------


def _sample() -> list[Path]:
    """Up to 3 files with tests per MaskBench feature, plus every 10th file: a cheap cross-section."""
    if not MASKBENCH.is_dir():
        return []
    files = sorted(MASKBENCH.glob("*.json"))
    picked, per_feature = set(files[::10]), {}
    for path in files:
        spec = json.loads(path.read_text())
        for feature in spec["meta"]["features"] if spec["tests"] else []:
            if per_feature.setdefault(feature, 0) < 3:
                per_feature[feature] += 1
                picked.add(path)
    return sorted(picked)


SAMPLE = _sample()
needs_data = pytest.mark.skipif(not MASKBENCH.is_dir(), reason=f"MaskBench data not found at {MASKBENCH}")


@needs_data
@pytest.mark.parametrize("path", SAMPLE, ids=[p.name for p in SAMPLE])
def test_maskbench_instances(path: Path) -> None:
    result = check_file(path)
    assert not result.invalid_accepted, result.invalid_accepted
    assert not result.valid_rejected, result.valid_rejected


@needs_data
def test_maskbench_grammars_stay_in_the_engine_subset() -> None:
    """Every terminal is a regex interegular can read, matching no empty string; no %ignore."""
    for path in SAMPLE[::4]:
        try:
            text = schema_to_grammar(json.loads(path.read_text())["schema"])
        except (UnsupportedSchema, UnsatisfiableSchema):
            continue
        assert not any(line.startswith("%") for line in text.splitlines()), "no %ignore, no %import"
        for term in Lark(text, parser="earley", lexer="dynamic").terminals:
            if isinstance(term.pattern, PatternRE):
                assert not term.pattern.flags, term.name
                assert not re.search(r"(?<!\\)[$^]", term.pattern.value.replace("[^", "[")), term.name
                fsm = interegular.parse_pattern(term.pattern.value).to_fsm()
                assert not fsm.accepts(""), term.name


_MAGNITUDES = st.builds(lambda m, e: m * 10.0**e, st.sampled_from([1, 1.5, 2, 3.14159, 9.99]),
                        st.one_of(st.integers(-14, -3), st.integers(-1, 2), st.integers(14, 20)))
_NUMBERS = st.builds(lambda sign, x: sign * x, st.sampled_from([1, -1]), _MAGNITUDES)
_BOUNDS = st.one_of(st.none(), st.tuples(_NUMBERS.map(lambda x: Fraction(repr(x))), st.booleans()))


@settings(max_examples=300, deadline=None, database=None, derandomize=True)
@given(_BOUNDS, _BOUNDS, st.lists(_NUMBERS, min_size=1, max_size=8))
def test_bounded_number_texts_hold_exactly_the_values_in_range(lo, hi, values):
    """json.dumps spells values below 1e-4 and from 1e16 with an exponent: those spellings are in
    the language exactly when the value is in range, like plain decimals (checked near the bounds too)."""
    assume(lo is not None or hi is not None)
    language = number_texts(lo, hi)
    near = [float(b[0]) * f for b in (lo, hi) if b is not None for f in (1, 1.0000001, 0.9999999)]
    for value in values + near:
        exact = Fraction(repr(value))
        inside = (lo is None or (exact > lo[0] if lo[1] else exact >= lo[0])) and (
            hi is None or (exact < hi[0] if hi[1] else exact <= hi[0]))
        assert matches(language, json.dumps(value)) == inside, (lo, hi, json.dumps(value))
