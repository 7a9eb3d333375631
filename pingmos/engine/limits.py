"""The limits and choices of a trace's settings (interval, flows, protocols, probe modes), in a module that imports
nothing, so a command line can check its options without loading the engine."""

MIN_INTERVAL_S = 0.1
MAX_INTERVAL_S = 60.0
DEFAULT_TIMEOUT_FLOOR_S = 3.0  # a probe's default timeout: this, or the interval if that is longer
PROTOCOLS = ("icmp", "udp", "tcp")
MAX_FLOWS = 16
MODES = ("auto", "raw", "unprivileged", "helper")  # how probes are sent: see engine/mode.py
