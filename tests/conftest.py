"""Shared fixtures. Everything runs offline, on CPU."""

import pytest


# -- model room: a throwaway a3agent home, the offline tokenizer and the tiny checkpoint ----------


@pytest.fixture(scope="session", autouse=True)
def a3agent_home_dir(tmp_path_factory):
    """A fresh A3AGENT_HOME for the whole session, so no test reads or writes ~/.cache/a3agent."""
    home = tmp_path_factory.mktemp("a3agent-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("A3AGENT_HOME", str(home))
        yield home


@pytest.fixture(scope="session")
def a_series_tokenizer():
    """The offline A-series tokenizer (built once per session)."""
    from a3agent.model.tokenizer import offline_tokenizer

    return offline_tokenizer()


@pytest.fixture(scope="session")
def tiny_loaded():
    """The tiny A3-shaped checkpoint, built into the session's home and loaded through `load_model`."""
    from a3agent.model.loading import load_model

    return load_model("tiny", device="cpu")
