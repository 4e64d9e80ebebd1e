"""Flow scripts rendered from ``rtl_templates/asic/*.tmpl`` (package data; see
:mod:`rtl_templates`), so they can be tested as text."""
from __future__ import annotations

import rtl_templates


def render(name: str, **values) -> str:
    """Render template ``asic/name``; every placeholder must be given (KeyError
    otherwise)."""
    return rtl_templates.render(f"asic/{name}", **values)
