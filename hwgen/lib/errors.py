"""Error classes every layer raises; the command line maps them to exit codes."""
from __future__ import annotations


class BadInput(Exception):
    """Input hwgen cannot use (a config, a workload, a model, an option): one line for
    the user, exit code 2."""


class WorkloadError(BadInput, ValueError):
    """A workload that this accelerator cannot run as asked (one-line message)."""


def read_text(path) -> str:
    """A small text file the user named (a space file, a list): its text, or BadInput in
    one line when it cannot be read or is not text."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise BadInput(f"{path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not a text file") from None
