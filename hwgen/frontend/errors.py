"""The error every importer raises: one line naming the file, node and reason."""
from __future__ import annotations

from ..lib.errors import BadInput


class ModelError(BadInput, ValueError):
    """A model hwgen cannot import or quantize (one line; exit code 2 at the CLI)."""
