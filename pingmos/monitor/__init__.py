"""``pingmos monitor``: one process traces many targets indefinitely and serves Prometheus metrics.

config.py   the TOML configuration (agent-wide settings, one [[target]] per target), checked with line numbers
agent.py    the targets' traces, sessions, alerts and retention; reload on SIGHUP
metrics.py  what is counted per sample and what /metrics shows
sip.py      SIP OPTIONS probes beside the trace of a sip: target
serve.py    the command: the agent, the HTTP server for /metrics, signals
"""
