"""Flow scripts rendered from ``rtl_templates/asic/*.tmpl`` (``string.Template``:
``${name}`` is substituted, ``$$`` is a literal ``$``), so they can be tested as text."""
from __future__ import annotations

from pathlib import Path
from string import Template

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "rtl_templates" / "asic"


def render(name: str, **values) -> str:
    """Render template ``name``; every placeholder must be given (KeyError otherwise)."""
    text = (TEMPLATE_DIR / name).read_text()
    return Template(text).substitute({k: str(v) for k, v in values.items()})
