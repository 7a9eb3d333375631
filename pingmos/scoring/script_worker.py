"""The worker process that runs user and installed formula files (started by ``script_model.ScriptModel``).

Protocol: one JSON object per line. The parent sends ``{"op": "load", "key", "path", "source", "module"}`` (answer
``{"ok": true}`` or ``{"error": {...}}``) and ``{"op": "score", "key", "settings", "windows": [...]}`` (one answer
line per window: ``{"r", "mos", "detail"}`` or ``{"error": {"file", "line", "message"}}``). The worker says
``{"ready": true}`` once started, and ends when its input closes.

Why a process: a formula with an endless loop, a ``10 ** 10 ** 10`` or a call into C that never returns cannot be
stopped from inside a thread of the program that runs it; a process can always be killed. Each request is armed
with ``faulthandler.dump_traceback_later(timeout, exit=True)``: when a formula overruns, the worker's C watchdog
thread writes where it was stuck (file and line) to stderr and ends the process, even if the formula never gives
the interpreter back; the parent kills it anyway after its own deadline.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from collections import OrderedDict

# Modules kept loaded: the current version of a file and the last good one (shown beside a broken edit).
KEEP_LOADED = 4


def _error_dict(error) -> dict[str, object]:
    return {"error": {"file": error.file, "line": error.line, "message": error.message}}


def main() -> None:
    # The protocol gets its own copies of stdin and stdout; fd 1 and sys.stdout go to stderr and fd 0 reads
    # nothing, so that a print() or an input() in a formula (or a C library using fd 0/1) cannot corrupt it.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    requests = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the life of the process

    from pingmos.scoring.model import ModelError
    from pingmos.scoring.script_loader import load_script
    from pingmos.scoring.window import HopWindow

    def send(obj: object) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    loaded: OrderedDict[str, object] = OrderedDict()
    send({"ready": True, "pid": os.getpid()})
    for line in requests:
        msg = json.loads(line)
        timeout_s = float(msg.get("timeout_s", 1.0))
        if msg["op"] == "load":
            faulthandler.dump_traceback_later(timeout_s, exit=True)
            result = load_script(msg["path"], msg["source"], msg.get("module"))
            faulthandler.cancel_dump_traceback_later()
            if isinstance(result, ModelError):
                send(_error_dict(result))
            else:
                loaded[msg["key"]] = result
                while len(loaded) > KEEP_LOADED:
                    loaded.popitem(last=False)
                send({"ok": True})
        elif msg["op"] == "score":
            script = loaded.get(msg["key"])
            for data in msg["windows"]:
                if script is None:
                    send(_error_dict(ModelError(msg.get("path", "?"), None, "the formula is not loaded")))
                    continue
                hop = HopWindow.from_dict(data).for_model(msg["settings"])
                faulthandler.dump_traceback_later(timeout_s, exit=True)
                result = script.score(hop)  # type: ignore[attr-defined]
                faulthandler.cancel_dump_traceback_later()
                if isinstance(result, ModelError):
                    send(_error_dict(result))
                else:
                    send({"r": result.r, "mos": result.mos, "detail": result.detail})


if __name__ == "__main__":
    main()
