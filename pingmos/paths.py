"""Where pingmos keeps things on disk: its configuration folder (the user's scoring formulas, the window's alert
rules) and its data folder (recorded sessions). Every front end asks here, so they agree.

``$PINGMOS_CONFIG_DIR`` and ``$PINGMOS_DATA_DIR`` override the platform's folders (tests, portable installs).
Nothing here creates a folder: each may not exist yet.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

CONFIG_DIR_ENV = "PINGMOS_CONFIG_DIR"
DATA_DIR_ENV = "PINGMOS_DATA_DIR"
ALERT_RULES_FILE = "alerts.json"


def config_dir() -> Path:
    """pingmos's configuration folder: ``$PINGMOS_CONFIG_DIR`` if set, else the platform's user config folder
    (``~/.config/pingmos`` on Linux)."""
    env = os.environ.get(CONFIG_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_config_dir("pingmos"))


def data_dir() -> Path:
    """pingmos's data folder: ``$PINGMOS_DATA_DIR`` if set, else the platform's user data folder
    (``~/.local/share/pingmos`` on Linux)."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else Path(platformdirs.user_data_dir("pingmos"))


def scoring_dir() -> Path:
    """The user's scoring formulas: ``<config dir>/scoring``."""
    return config_dir() / "scoring"


def alert_rules_file() -> Path:
    """The window's alert rules: ``<config dir>/alerts.json`` (the seeds' defaults when it does not exist)."""
    return config_dir() / ALERT_RULES_FILE


def sessions_dir() -> Path:
    """Where the window records sessions: ``<data dir>/sessions``."""
    return data_dir() / "sessions"
