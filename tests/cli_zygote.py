"""Start `a3agent` CLI processes without paying torch's and transformers' import each time.

A CLI test used to start `python -c "from a3agent.cli.app import main; main()" ARGS` and wait, before
the command did anything, for the interpreter to import torch, transformers and a3agent's model and
agent packages (5-10 s on a 2-core machine, most of a REPL test). `CliZygote` starts one interpreter
per session that imports those once and then waits; each CLI run is a fork of it:

- the test starts the small launcher (`argv`) where it started the CLI: in the same pseudo-terminal
  (pexpect) or with the same pipes (subprocess), cwd and environment;
- the launcher hands its stdin, stdout and stderr (the descriptors themselves), its cwd and its
  environment to the zygote, which forks: the child takes those as its own, sets `sys.argv` as
  `python -c` would (`["-c", ARGS...]`) and runs the same code string at the top of `__main__`,
  so the command runs from `main()` as before, reads the terminal, writes its output and exits
  with its own status;
- the launcher forwards the signals a terminal or a test sends it (Ctrl-C's SIGINT, SIGHUP, SIGTERM,
  SIGWINCH) to the child's process group, then exits with the child's exit status (or dies of the
  same signal), so pexpect and subprocess see the status of the command itself.

What is shared is only what importing those packages does; the a3agent CLI modules (consoles,
line editing, readline) are not imported before the fork, so they see the child's terminal as a
fresh process would. Where the environment differs from the zygote's (beyond RUNTIME_ONLY's variables), or the zygote cannot be reached, the
launcher runs the command in a fresh interpreter instead (`exec`), exactly as before.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

CLI_CODE = "from a3agent.cli.app import main; main()"

# Imported once, before any fork: everything the CLI imports that is slow and reads no terminal.
PRELOAD = ("a3agent.model", "a3agent.model.scripted", "a3agent.model.images", "a3agent.agent", "a3agent.tools",
           "a3agent.grammars", "transformers.utils.logging")

# Environment variables the child may take from the launcher although the zygote started with other
# values: nothing reads them at import (COLUMNS and LINES only when a terminal's size is asked for;
# pytest sets PYTEST_CURRENT_TEST anew for every test phase).
RUNTIME_ONLY = ("COLUMNS", "LINES", "PYTEST_CURRENT_TEST")

_ZYGOTE = '''
import json, os, select, signal, socket, sys
_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
_listener.bind(sys.argv[1])
_listener.listen(64)
_env = dict(os.environ)
for _name in sys.argv[2].split(","):
    __import__(_name)
del _name


def _same_env(env):
    ignored = set(RUNTIME_ONLY)
    return {k: v for k, v in env.items() if k not in ignored} == {k: v for k, v in _env.items() if k not in ignored}


def _receive(conn):
    header, fds = b"", []
    while len(header) < 8:
        data, more, _, _ = socket.recv_fds(conn, 8 - len(header), 3)
        if not data:
            raise ConnectionError("the launcher left before its request")
        header, fds = header + data, fds + list(more)
    size, payload = int.from_bytes(header, "big"), b""
    while len(payload) < size:
        data = conn.recv(size - len(payload))
        if not data:
            raise ConnectionError("the launcher left during its request")
        payload += data
    return json.loads(payload), fds


def _send(conn, message):
    try:
        conn.sendall((json.dumps(message) + "\\n").encode())
    except OSError:
        pass


_wake_read, _wake_write = os.pipe()
os.set_blocking(_wake_read, False)
os.set_blocking(_wake_write, False)
signal.set_wakeup_fd(_wake_write)
signal.signal(signal.SIGCHLD, lambda *_: None)
_children = {}  # pid -> the launcher's connection
_request = None
while _request is None:
    _ready = select.select([_listener, _wake_read, *_children.values()], [], [])[0]
    if _wake_read in _ready:
        while True:
            try:
                if not os.read(_wake_read, 4096):
                    break
            except BlockingIOError:
                break
    while _children:  # report every child that has exited to its launcher
        _pid, _status = os.waitpid(-1, os.WNOHANG)
        if _pid == 0:
            break
        _conn = _children.pop(_pid, None)
        if _conn is not None:
            _send(_conn, {"status": _status})
            _conn.close()
    for _pid, _conn in list(_children.items()):
        if _conn in _ready:  # the launcher is gone (it never writes after its request): end its command
            try:
                os.killpg(_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            del _children[_pid]
            _conn.close()
    if _listener not in _ready:
        continue
    _conn = _listener.accept()[0]
    try:
        _asked, _fds = _receive(_conn)
    except (OSError, ValueError):
        _conn.close()
        continue
    if not _same_env(_asked["env"]):
        _send(_conn, {"fallback": "environment"})
        _conn.close()
        for _fd in _fds:
            os.close(_fd)
        continue
    sys.stdout.flush()
    sys.stderr.flush()
    _pid = os.fork()
    if _pid == 0:  # the command's process
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # Ctrl-C as a terminal gives it to a fresh Python: a test run started in the background
        # inherits SIGINT ignored, and Python then leaves it ignored, so no command could be stopped
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)
        for _other in (_listener, _conn, *_children.values()):
            _other.close()
        os.close(_wake_read)
        os.close(_wake_write)
        for _number, _fd in enumerate(_fds):
            os.dup2(_fd, _number)
        for _fd in _fds:
            os.close(_fd)
        os.chdir(_asked["cwd"])
        os.environ.clear()
        os.environ.update(_asked["env"])
        sys.argv = ["-c", *_asked["args"]]
        sys.stdout.reconfigure(line_buffering=sys.stdout.isatty())  # as Python sets it up at start
        _request = _asked
        break
    try:
        os.setpgid(_pid, _pid)
    except (PermissionError, ProcessLookupError):
        pass  # the child set it itself already
    for _fd in _fds:
        os.close(_fd)
    _children[_pid] = _conn
    _send(_conn, {"pid": _pid})

# from here on: the command's process, at the top of __main__ with nothing of the zygote's left in it
_code = _request["code"]
for _name in [name for name in globals() if not name.startswith("__") and name != "_code"]:
    del globals()[_name]
del _name
exec(globals().pop("_code"))
'''.replace("RUNTIME_ONLY", repr(RUNTIME_ONLY))

_LAUNCHER = '''
import json, os, signal, socket, sys
_path, _code, _args = sys.argv[1], sys.argv[2], sys.argv[3:]


def _fresh():  # a fresh interpreter, exactly as the test would have started it
    os.execv(sys.executable, [sys.executable, "-c", _code, *_args])


_child, _pending = None, []


def _forward(number, _frame):
    if _child is None:
        _pending.append(number)
        return
    try:
        os.killpg(_child, number)
    except ProcessLookupError:
        pass


for _number in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT, signal.SIGWINCH):
    signal.signal(_number, _forward)
try:
    _sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    _sock.connect(_path)
    _payload = json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "code": _code, "args": _args}).encode()
    socket.send_fds(_sock, [len(_payload).to_bytes(8, "big")], [0, 1, 2])
    _sock.sendall(_payload)
    _replies = _sock.makefile("rb")
    _reply = json.loads(_replies.readline() or b'{"fallback": "no zygote"}')
except OSError:
    _reply = {"fallback": "no zygote"}
if "fallback" in _reply:
    _fresh()  # exec puts the signals this launcher handles back to their defaults
_child = _reply["pid"]
for _number in _pending:
    _forward(_number, None)
_line = _replies.readline()
if not _line:
    os.write(2, b"cli zygote: the zygote went away before the command ended\\n")
    os._exit(70)
_status = os.waitstatus_to_exitcode(json.loads(_line)["status"])
if _status < 0:
    signal.signal(-_status, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [-_status])
    os.kill(os.getpid(), -_status)
os._exit(_status & 0xFF)
'''


class CliZygote:
    """One pre-imported interpreter for the session's CLI runs (see the module docstring)."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.socket = str(folder / "zygote.sock")
        self.log_path = folder / "zygote.log"
        self._log = self.log_path.open("wb")
        quiet = folder / "cwd"  # nothing on sys.path[0] ('') while it imports
        quiet.mkdir()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE, self.socket, ",".join(PRELOAD)], env=env, cwd=quiet,
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not os.path.exists(self.socket) and self.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # it listens before importing: a launcher waits in accept, not in connect

    def argv(self, *cli_args: str) -> list[str]:
        """Arguments for `sys.executable` in place of `["-c", CLI_CODE, *cli_args]`."""
        return ["-c", _LAUNCHER, self.socket, CLI_CODE, *cli_args]

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        self._log.close()
