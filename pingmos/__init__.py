"""pingmos: trace a route, probe every hop each second, and estimate per hop the VoIP call quality (MOS)."""

__version__ = "0.1.0"
