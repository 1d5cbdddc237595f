"""A hang guard for calls that must not block: run one in a thread and give up on it after a generous wait."""

import threading


def finished(call, guard_s=60):
    """What `call` raised (None if nothing), or a test failure if it still runs after `guard_s`."""
    outcome = []

    def run():
        try:
            call()
            outcome.append(None)
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)  # a blocked call is left behind, not waited for
    thread.start()
    thread.join(guard_s)
    assert outcome, f"still blocked after {guard_s} s"
    return outcome[0]
