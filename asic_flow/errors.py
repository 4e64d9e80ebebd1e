"""The flow's exceptions. Each carries one line for the user."""
from hwgen.tools import ToolMissing as _ToolMissing


class AsicFlowError(Exception):
    """Base of the flow's errors."""


class UnknownPdk(AsicFlowError):
    """A PDK name the flow does not know, or whose files are not installed."""


class ToolMissing(AsicFlowError, _ToolMissing):
    """Yosys or OpenSTA is not installed (or its environment variable is wrong)."""


class BadLiberty(AsicFlowError):
    """A Liberty file that cannot be read or lacks what the flow needs."""


class ToolFailed(AsicFlowError):
    """A tool ran but failed; the message names its log."""


class BadWorkload(AsicFlowError, ValueError):
    """A workload spec the flow cannot run (bad syntax, or too big for the config)."""
