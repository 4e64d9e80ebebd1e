"""Error classes every layer raises; the command line maps them to exit codes."""
from __future__ import annotations


class BadInput(Exception):
    """Input hwgen cannot use (a config, a workload, a model, an option): one line for
    the user, exit code 2."""


class WorkloadError(BadInput, ValueError):
    """A workload that this accelerator cannot run as asked (one-line message)."""
