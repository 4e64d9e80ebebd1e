"""``python -m hwgen`` and the installed ``hwgen`` command.

Importing the command line (numpy, Amaranth, torch behind it) takes a noticeable time,
longer on a loaded machine. A SIGINT, SIGTERM or SIGHUP that arrives in that window
would otherwise end the run with a traceback from inside some import; here it ends it at
once with 128 + the signal's number (130 for Ctrl-C), as the command's own handlers do
later. Nothing has been read or written by then, so there is nothing to clean up.
"""
import os
import signal
import sys

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _exit_now(signum, frame):
    os._exit(128 + signum)


def launch() -> None:
    for s in _SIGNALS:
        signal.signal(s, _exit_now)
    from hwgen.cli import entry  # installs the command's own handlers before any work
    entry()


if __name__ == "__main__":
    sys.exit(launch())
