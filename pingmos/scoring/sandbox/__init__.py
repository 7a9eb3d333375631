"""The sandbox: running formula files pingmos does not ship (the user's, installed packages') in a worker process.

- ``parent.py`` (this process): ``ScriptModel`` starts the worker, sends it a formula and windows, enforces the
  deadlines, kills and restarts it, reloads a changed file.
- ``worker.py`` (the child process): gives up root, capabilities and resources, then serves load/score requests.
- ``loader.py`` (inside the child, and for built-ins in-process): compile a formula file into a fresh module and
  call its ``score_hop``, turning every failure into a ``ModelError`` with file and line.
- ``check.py``: dry-run an editor's unsaved text in the worker (``check_formula``).

What a formula file may declare is read without running it by ``pingmos.scoring.declared``.
"""
