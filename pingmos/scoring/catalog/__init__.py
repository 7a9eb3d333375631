"""The catalog of models: where they come from and loading one by name.

- ``registry.py``: the built-ins (``BUILTINS``), the user's scoring folder, installed packages' entry points;
  listing them without running code, loading one, the user's editable copies (``create_user_copy``).
- ``builtin.py``: a built-in formula run in-process (trusted: no worker, no deadline).

A formula from anywhere else runs in the sandbox (``pingmos.scoring.sandbox``).
"""
