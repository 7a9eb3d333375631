"""The headless report: run a trace for N rounds and print its hop table as text, JSON or CSV."""
