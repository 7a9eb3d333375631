"""The MOS formulas: one file per built-in model, each the file a user copies and edits.

``g107_jb.py`` is the default (``g107-jb``: ITU-T G.107 behind a predicted jitter buffer); ``pingplotter.py``,
``asterisk.py``, ``g107.py`` and ``g107_playout.py`` are the formulas other tools use. Every file is a formula
file as ``pingmos.scoring.formula_api`` describes it (an optional ``SETTINGS`` and a ``score_hop(hop)``), imports
only that API and its sibling formulas, and is what ``pingmos models --copy <name>`` and the window's "Edit the
formula" copy into the user's scoring folder. Which name is which file: ``catalog.registry.BUILTINS``.
"""
