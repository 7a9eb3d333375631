"""The probe engine: sends probes, matches replies, emits one Sample per probe. Knows nothing of Qt or MOS."""
