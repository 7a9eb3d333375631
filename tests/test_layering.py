"""The import rule: Qt only under pingmos/gui/, scapy only in the engine's packet module, and lower layers never
import higher ones (engine and stats know nothing of Qt, scoring nothing of the engine)."""

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "pingmos"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules():
    for path in sorted(PKG.rglob("*.py")):
        yield path.relative_to(PKG).as_posix(), imports_of(path)


def uses(names, top):
    return any(n == top or n.startswith(top + ".") for n in names)


def test_qt_only_in_gui():
    bad = [
        m for m, names in modules() if not m.startswith("gui/") and (uses(names, "PySide6") or uses(names, "pyqtgraph"))
    ]
    assert bad == []


def test_scapy_only_in_the_packet_module():
    bad = [m for m, names in modules() if m != "engine/packets.py" and uses(names, "scapy")]
    assert bad == []


def test_lower_layers_do_not_import_higher_ones():
    rules = {
        "engine/": (
            "pingmos.gui",
            "pingmos.scoring",
            "pingmos.report",
            "pingmos.stats",
            "pingmos.state",
        ),
        "stats.py": ("pingmos.engine", "pingmos.gui", "pingmos.scoring", "pingmos.report"),
        "scoring/": ("pingmos.engine", "pingmos.gui", "pingmos.report", "pingmos.state"),
    }
    bad = []
    for module, names in modules():
        for prefix, forbidden in rules.items():
            if module.startswith(prefix):
                bad += [(module, n) for n in names for f in forbidden if uses({n}, f)]
    assert bad == []


def test_alert_rules_load_without_the_session_store():
    import subprocess
    import sys

    code = "import sys, pingmos.alerts; print([m for m in sys.modules if m.split('.')[:2] == ['pingmos', 'session']])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
