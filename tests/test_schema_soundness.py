"""Soundness rules of the schema compiler, each found by a wrong verdict and pinned by its rule.

Each instance goes through the token-mask engine on Tekken (mask, then advance), and `jsonschema`
is asked too, so every expectation here is also the reference validator's.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

import json_schema_suite as suite
from a3agent.errors import UnsupportedSchema

COMPILE, ENCODE = suite.tekken_engine()


def accepted(schema: object, value: object) -> bool:
    """The engine's verdict on json.dumps(value); asserts jsonschema (formats asserted) agrees."""
    verdict = suite.accepts(COMPILE(schema).matcher(), ENCODE(json.dumps(value, ensure_ascii=False)))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    assert verdict == jsonschema.Draft202012Validator(schema, format_checker=checker).is_valid(value), value
    return verdict


def accepted_text(schema: object, text: str) -> bool:
    return suite.accepts(COMPILE(schema).matcher(), ENCODE(text))


# -- presence rules reach objects hidden behind "any value" or a $ref ----------------------------

ANY_OF_REQUIRED = {"anyOf": [{"required": ["x"]}, {"required": ["y"]}, {"required": ["z"]}]}


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {}, "x": {}, "y": {}, "z": {}},
     "allOf": [{"required": ["a"]}, ANY_OF_REQUIRED]},
    {"type": "object", "properties": {"a": {}, "x": {}, "y": {}, "z": {}}, "required": ["a"], "allOf": [ANY_OF_REQUIRED]},
    {"$defs": {"o": {"type": "object", "required": ["a"]}}, "$ref": "#/$defs/o", **ANY_OF_REQUIRED},
    {"allOf": [{"required": ["a"]}, {"oneOf": [{"required": ["x"]}, {"required": ["y"]}]}]},
], ids=["allOf-anyOf", "required-allOf-anyOf", "ref-anyOf", "allOf-oneOf"])
def test_required_only_branches_bind_an_object_that_allOf_or_ref_brings(schema):
    assert not accepted(schema, {"a": 1})
    assert accepted(schema, {"a": 1, "y": 2})


def test_dependent_schema_without_a_type_still_binds_objects():
    schema = {"dependentSchemas": {"bar": {"properties": {"foo": {"type": "integer"}}}}}
    assert not accepted(schema, {"bar": 1, "foo": "x"})
    assert accepted(schema, {"bar": 1, "foo": 2})
    assert accepted(schema, {"foo": "x"})


# -- which keys keep schema order, and which may come anywhere ------------------------------------


def test_allOf_of_references_keeps_the_order_of_its_parts():
    schema = {"$defs": {"A": {"type": "object", "properties": {"a": {"type": "string"}}},
                        "B": {"type": "object", "properties": {"b": {"type": "integer"}}}},
              "allOf": [{"$ref": "#/$defs/A"}, {"$ref": "#/$defs/B"}]}
    assert accepted(schema, {"a": "s", "b": 1})
    assert accepted(schema, {"b": 1})
    assert not accepted(schema, {"a": "s", "b": "t"})


THEN_DECLARES_B = {"type": "object", "properties": {"a": {"type": "string"}, "c": {"type": "integer"}},
                   "if": {"properties": {"a": {"const": "x"}}}, "then": {"properties": {"b": {"type": "string"}}}}


@pytest.mark.parametrize("value", [{"b": "s", "a": "x"}, {"a": "x", "b": "s", "c": 1}, {"a": "x", "c": 1, "b": "s"}])
def test_a_key_only_a_then_branch_declares_may_come_anywhere(value):
    assert accepted(THEN_DECLARES_B, value)


def test_a_then_branch_still_constrains_its_key():
    assert not accepted(THEN_DECLARES_B, {"b": 5, "a": "x"})
    assert accepted(THEN_DECLARES_B, {"b": 5, "a": "y"})


@pytest.mark.parametrize("schema, value", [
    ({"required": ["foo\nbar", 'foo"bar', "b"]}, {"b": 1, "foo\nbar": 1, 'foo"bar': 1}),
    ({"dependentRequired": {"bar": ["foo"]}}, {"foo": 1, "bar": 2}),
    ({"properties": {"a": {}}, "required": ["z", "a"]}, {"z": 1, "a": 2}),
])
def test_keys_named_only_outside_properties_may_come_in_any_order(schema, value):
    assert accepted(schema, value)
    assert accepted(schema, dict(reversed(list(value.items()))))


def test_keys_named_only_outside_properties_are_still_required():
    schema = {"required": ["foo", "bar"]}
    assert not accepted(schema, {"bar": 1})
    assert not accepted(schema, {"foo": 1, "baz": 2})


def test_a_key_named_only_outside_properties_comes_once():
    assert not accepted_text({"required": ["b"]}, '{"b": 1, "b": 2}')


# -- how strings are written --------------------------------------------------------------------


def test_an_escaped_quote_inside_a_pattern_terminal_stays_escaped():
    schema = {"type": "string", "pattern": '^(?:a|")+$'}
    assert accepted(schema, 'a"')
    assert accepted(schema, '"')
    assert not accepted_text(schema, '"a""')


# -- formats are exact or refused ----------------------------------------------------------------


@pytest.mark.parametrize("text, valid", [
    ("23:59:60Z", True), ("23:59:60.5+00:00", True), ("22:59:60Z", False), ("23:58:60Z", False),
    ("23:59:60+01:00", False), ("12:00:00-08:00", True), ("24:00:00Z", False),
])
def test_time_leap_seconds_only_at_the_last_utc_minute(text, valid):
    assert suite.accepts(COMPILE({"type": "string", "format": "time"}).matcher(), ENCODE(json.dumps(text))) is valid


@pytest.mark.parametrize("text, valid", [
    ("joe.bloggs@example.com", True), ('"joe bloggs"@example.com', True), ('"a\\"b"@c.d', True),
    ("joe@[127.0.0.1]", True), ("joe@[IPv6:::1]", True), ("te~st@example.com", True),
    (".test@example.com", False), ("test.@example.com", False), ("te..st@example.com", False),
    ("joe@[127.0.0.300]", False), ("joe@-a.com", False), ("joe bloggs@example.com", False),
])
def test_email_is_the_rfc_5321_mailbox(text, valid):
    assert suite.accepts(COMPILE({"type": "string", "format": "email"}).matcher(), ENCODE(json.dumps(text))) is valid


def test_enum_values_meet_format_by_the_grammar_language():
    schema = {"enum": [".a@b.c", "a@b.c"], "format": "email"}
    assert not accepted_text(schema, json.dumps(".a@b.c"))
    assert accepted_text(schema, json.dumps("a@b.c"))
    assert not accepted_text({"enum": ["22:59:60Z", "23:59:60Z"], "format": "time"}, json.dumps("22:59:60Z"))


def test_a_constant_under_an_unknown_format_is_refused():
    with pytest.raises(UnsupportedSchema, match="format"):
        COMPILE({"const": "-x-", "format": "hostname"})


def test_an_anchor_reference_is_refused_not_read_as_a_property_name():
    schema = {"type": "array", "items": {"$ref": "#items"}, "$defs": {"foo": {"$anchor": "items", "type": "string"}}}
    with pytest.raises(UnsupportedSchema, match="anchor"):
        COMPILE(schema)


@pytest.mark.parametrize("schema, inside, outside", [
    ({"maxProperties": 2.0}, {"a": 1, "b": 2}, {"a": 1, "b": 2, "c": 3}),
    ({"minLength": 2.0}, "ab", "a"),
    ({"maxItems": 1.0}, [1], [1, 2]),
])
def test_count_keywords_written_as_integral_floats_count(schema, inside, outside):
    assert accepted(schema, inside)
    assert not accepted(schema, outside)


# -- counts written as counted repeats, not a state per count ------------------------------------

INT, STR = {"type": "integer"}, {"type": "string"}


@pytest.mark.parametrize("schema", [
    {"type": "array", "prefixItems": [INT, INT, INT, STR, STR, INT], "items": False},
    {"type": "array", "prefixItems": [INT, INT, INT, STR, STR, INT], "minItems": 4},
    {"type": "array", "prefixItems": [INT, INT, INT, STR, STR, INT], "minItems": 2, "maxItems": 5},
    {"type": "array", "prefixItems": [STR, INT, INT, INT, INT], "minItems": 3, "items": STR},
    {"type": "array", "prefixItems": [INT, INT, INT, INT], "maxItems": 2},
], ids=["closed", "minItems-in-a-run", "min-and-max", "run-then-items", "maxItems-inside-a-run"])
def test_runs_of_equal_prefix_items_end_where_the_counts_allow(schema):
    """A run of equal prefix items is one counted repeat; the array may still end inside it."""
    for length in range(9):
        for value in ([1] * length, ["x"] * length, [1, 1, 1, "x", "x", 1, 1, 1][:length], ["x"] + [1] * (length - 1)):
            accepted(schema, value)  # asserts the engine agrees with jsonschema


@pytest.mark.parametrize("schema", [
    {"type": "object", "minProperties": 2, "maxProperties": 3},
    {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}},
    {"type": "object", "maxProperties": 0},
    {"type": "object", "patternProperties": {"^a": INT}, "additionalProperties": False, "maxProperties": 2},
])
def test_property_counts_over_undeclared_keys_only(schema):
    for count in range(6):
        for value in (1, "x"):
            accepted(schema, {f"a{i}": value for i in range(count)})


def test_hundreds_of_properties_are_counted_without_a_state_each():
    """(5,000 compile too: tests/test_engine_bounds.py; feeding them token by token is slow.)"""
    schema = {"type": "object", "minProperties": 700}
    assert accepted_text(schema, json.dumps({f"k{i}": 0 for i in range(700)}))
    assert not accepted_text(schema, json.dumps({f"k{i}": 0 for i in range(699)}))


# -- values checked against a schema use the grammar's pattern dialect (ECMA-262), not Python's ---

@pytest.mark.parametrize("schema, kept, dropped", [
    ({"enum": ["a", "a\n"], "pattern": "^a$"}, "a", "a\n"),  # Python's `$` matches before a final newline
    ({"enum": ["3", "\u0663"], "pattern": "^\\d$"}, "3", "\u0663"),  # Python's `\d` takes any Unicode digit
    ({"enum": [{"x": 1}, {"\u00e9": 1}], "patternProperties": {"^\\w$": {}}, "additionalProperties": False},
     {"x": 1}, {"\u00e9": 1}),  # ECMA's `\w` is ASCII
    ({"enum": [{"x": 1}, {"\u00e9": 1}], "patternProperties": {"^\\w$": {"type": "string"}}}, {"\u00e9": 1}, {"x": 1}),
])
def test_enum_values_meet_patterns_as_ecma_262_reads_them(schema, kept, dropped):
    assert accepted_text(schema, json.dumps(kept))
    assert not accepted_text(schema, json.dumps(dropped))


@pytest.mark.parametrize("schema, path, keyword", [
    ({"const": {"a": 1}, "allOf": [{"$ref": "#/definitions/nowhere"}]}, "", "$ref"),
    ({"properties": {"a": {"enum": [1, 2], "$ref": "#/nope"}}}, "/properties/a", "$ref"),
    ({"const": 1, "allOf": [{"$ref": "http://127.0.0.1:9/remote.json"}]}, "", "$ref"),
    ({"const": 1, "allOf": [{"$ref": "#anchor"}]}, "", "$ref"),
    ({"const": "abc", "pattern": "\\p{L}+"}, "", "pattern"),
    ({"const": 5, "minimum": "x"}, "", "minimum"),
    ({"const": {"a": 1}, "required": 5}, "", "required"),
    ({"const": {"a": 1}, "properties": 5}, "", "properties"),
    ({"const": 1, "multipleOf": 0}, "", "multipleOf"),
    ({"const": {"a": 1}, "dependentRequired": {"a": 5}}, "", "dependentRequired"),
    ({"enum": [1, 2], "not": {"$ref": "#/$defs/a"}, "$defs": {"a": {"not": {"$ref": "#/$defs/a"}}}}, "/$defs/a", "$ref"),
    # a malformed keyword the compiler reads, with no value to check: the draft's meta-schema names it
    ({"type": "number", "allOf": True}, "", "allOf"),
    ({"type": "object", "dependentSchemas": 1e308}, "", "dependentSchemas"),
    ({"type": "object", "dependencies": None}, "", "dependencies"),
    ({"type": "object", "properties": {"a": {"type": "string"}}, "oneOf": True}, "", "oneOf"),
    ({"allOf": [{"$ref": "#/defs/p0"}], "defs": {"p0": {"allOf": 5}}}, "/defs/p0", "allOf"),  # under a key no draft knows
])
def test_a_malformed_schema_is_refused_with_its_keyword(schema, path, keyword):
    with pytest.raises(UnsupportedSchema) as refused:
        COMPILE(schema)
    assert (refused.value.path, refused.value.keyword) == (path, keyword)


def test_a_remote_ref_is_never_fetched_while_values_are_checked(schema_server):
    with pytest.raises(UnsupportedSchema) as refused:
        COMPILE({"const": 1, "allOf": [{"$ref": f"{schema_server.url}/integer.json"}]})
    assert refused.value.keyword == "$ref"
    assert schema_server.requests == []


def test_a_panic_of_jsonschemas_maps_at_the_recursion_limit_is_refused_as_too_deep(monkeypatch):
    """rpds, under jsonschema, panics (a BaseException) where Python's recursion limit strikes inside it."""
    from a3agent.errors import GrammarTooComplex
    from a3agent.grammars.schema import normalizer

    class PanicException(BaseException):
        pass

    class Panicking:
        def evolve(self, schema):
            return self

        def is_valid(self, value):
            raise PanicException("__eq__ failed!: RecursionError")

    monkeypatch.setattr(normalizer, "reference_validator", lambda schema, formats: Panicking())
    with pytest.raises(GrammarTooComplex) as refused:
        COMPILE({"enum": [1, 2, 3], "minimum": 0, "title": "panics"})
    assert refused.value.limit == "schema_depth"
