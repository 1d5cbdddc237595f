"""The flat public API: every name in `a3agent.__all__` exists and is documented."""

import a3agent


def test_every_exported_member_exists_and_has_a_docstring():
    for name in a3agent.__all__:
        member = getattr(a3agent, name)
        assert getattr(member, "__doc__", None), f"a3agent.{name} has no docstring"


def test_all_lists_each_name_once():
    assert len(a3agent.__all__) == len(set(a3agent.__all__))
