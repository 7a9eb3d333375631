"""``python -m pingmos`` and the ``pingmos`` command (pyproject's entry point): ``pingmos.cli.main``, with Ctrl+C at
any moment pingmos's code can reach an exit 130 with one line (``pingmos: interrupted``), never a traceback.

Three phases. From the import of this module (the console script's ``from pingmos.__main__ import run``, or runpy
for ``-m``) until ``run`` is in its ``try``: a handler that says the line and exits 130 (``SystemExit``: the
interpreter then exits as usual). In ``run``: KeyboardInterrupt as ever, which ``main`` and ``run`` turn into the
line and 130 (a live report still prints what it measured); ``run`` also knows one that Python 3.11 wrapped in a
RuntimeError (raised while a class was created, during an import). Once ``main`` has returned, SIGINT is
ignored: the status is decided and the interpreter's exit (flushing the output, finalizers that remove temporary
folders and stop the formula sandbox) is not cut short by a traceback. In the first two phases a Ctrl+C that
lands in the import system's module-lock callback, where an exception is "ignored" (a traceback printed, the
Ctrl+C lost), is held back 5 ms and handled out of it.

What no code here can close: a Ctrl+C before this module's first lines run, that is during the interpreter's own
start-up (``site`` and the installation's .pth files: an editable install's finder imports pathlib, tens of ms;
reading the console script), runpy finding and compiling this module for ``-m``, and the import of the package's
``__init__`` (kept free of side effects for library users). Python prints its traceback there (or a bare
"KeyboardInterrupt"); before Python installs its handler at all, the signal simply ends the process (exit -2, no
output). ``scripts/bench_start_interrupts.py`` counts each kind.
"""

import signal
import sys


def _is_the_program() -> bool:
    """Whether this module starts the process (``python -m pingmos``, or the ``pingmos`` console script), and not
    a program or test that imports it: only then are the process's signals this module's to set."""
    if __name__ == "__main__":
        return True
    name = (sys.argv[0] if sys.argv else "").replace("\\", "/").rsplit("/", 1)[-1]
    return name.removesuffix(".exe").removesuffix("-script.py") == "pingmos"


def _in_import_callback(frame) -> bool:
    """Whether ``frame`` runs in the import system's weakref callback that drops a module lock (or in a handler
    called there): an exception raised there is "ignored" (Python prints its traceback, and the Ctrl+C is lost:
    the command went on to exit 0)."""
    depth = 0
    while frame is not None and depth < 100:
        code = frame.f_code
        if code.co_name == "cb" and code.co_filename.startswith("<frozen importlib"):
            return True
        frame, depth = frame.f_back, depth + 1
    return False


def _again_later(signum) -> None:
    """Hold this Ctrl+C back for 5 ms (SIGALRM), out of the callback. Not at once (``_thread.interrupt_main``):
    the handler would run again at the next instruction, still inside the callback."""
    if not hasattr(signal, "setitimer"):  # (Windows) no timer signal: as Python would
        raise KeyboardInterrupt
    signal.signal(signal.SIGALRM, _held_back)
    signal.setitimer(signal.ITIMER_REAL, 0.005)


def _held_back(signum, frame) -> None:
    """SIGALRM: the Ctrl+C held back, to the SIGINT handler of now (once out of the callback)."""
    if _in_import_callback(frame):
        signal.setitimer(signal.ITIMER_REAL, 0.005)
        return
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)


def _interrupted_at_start(signum, frame) -> None:
    if _in_import_callback(frame):  # SystemExit there would be "ignored" too
        return _again_later(signum)
    import contextlib
    import os

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C while leaving is no traceback either
    with contextlib.suppress(OSError):
        os.write(2, b"pingmos: interrupted\n")  # not sys.stderr: a handler must not re-enter its buffer
    raise SystemExit(130)


# SIGINT inherited as ignored (nohup, a shell's background job) stays ignored, as Python itself leaves it.
_GUARDED = _is_the_program() and signal.getsignal(signal.SIGINT) is signal.default_int_handler
if _GUARDED:
    signal.signal(signal.SIGINT, _interrupted_at_start)  # (tests find this line: the start of pingmos's reach)


def _ctrl_c(signum, frame) -> None:
    """Python's own handler (KeyboardInterrupt), except in the import system's callback (``_in_import_callback``):
    there it is raised a moment later, where ``run`` and ``main`` catch it."""
    if _in_import_callback(frame):
        return _again_later(signum)
    raise KeyboardInterrupt


def _caused_by_ctrl_c(exc: BaseException) -> bool:
    """Whether ``exc`` is a KeyboardInterrupt in another exception's clothes: Python 3.11 wraps one raised while a
    class is created (a dataclass field's ``__set_name__``, during an import) in a RuntimeError."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def _interrupted() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C while saying so is no traceback either
    print("pingmos: interrupted", file=sys.stderr)
    return 130


def run() -> int:
    try:
        if _GUARDED:
            signal.signal(signal.SIGINT, _ctrl_c)  # KeyboardInterrupt: main's to handle
        from pingmos.cli import main  # imports the engine and the scoring registry: a Ctrl+C can land here

        return main()
    except Exception as exc:
        if not _caused_by_ctrl_c(exc):
            raise
        return _interrupted()
    except KeyboardInterrupt:
        return _interrupted()
    finally:
        if _GUARDED:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the status is decided: the exit is not interrupted


if __name__ == "__main__":
    raise SystemExit(run())
