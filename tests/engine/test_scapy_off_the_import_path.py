"""scapy is imported only where probe templates are built (issue 11): the matcher, the wire parser, the tracer
module and `pingmos score` never load it; building a template does."""

import subprocess
import sys

CHECK = """
import sys
{body}
loaded = sorted(m for m in sys.modules if m == "scapy" or m.startswith("scapy."))
print(len(loaded))
"""


def scapy_modules_after(body: str) -> int:
    out = subprocess.run([sys.executable, "-c", CHECK.format(body=body)], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def test_importing_the_engine_and_the_cli_loads_no_scapy():
    assert scapy_modules_after("import pingmos.engine.matcher, pingmos.engine.wire, pingmos.engine.tracer") == 0
    assert scapy_modules_after("import pingmos.engine.packets, pingmos.engine.path_end, pingmos.cli") == 0


def test_pingmos_score_loads_no_scapy():
    body = "from pingmos import cli\nimport contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n"
    body += "    assert cli.main(['score', '--latency', '80']) == 0"
    assert scapy_modules_after(body) == 0


def test_building_a_template_does_load_it():
    # The check above could pass by never looking: this one shows it sees scapy when it is there.
    body = "from pingmos.engine.packets import IcmpEchoTemplate\nIcmpEchoTemplate('198.18.0.1', '198.18.0.9', 7)"
    assert scapy_modules_after(body) > 0
