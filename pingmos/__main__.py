"""``python -m pingmos`` and the ``pingmos`` command (pyproject's entry point): ``pingmos.cli.main``, with Ctrl+C
during the start-up imports of pingmos's own modules an exit 130 with one line, not a traceback."""


def run() -> int:
    try:
        from pingmos.cli import main  # imports the engine and the scoring registry: a Ctrl+C can land here

        return main()
    except KeyboardInterrupt:
        import signal
        import sys

        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl+C while saying so is no traceback either
        print("pingmos: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(run())
