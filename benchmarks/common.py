"""Shared bits of the benchmark scripts."""
import json
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "benchmarks" / "results"


def save(name: str, data) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                                "results": data}, indent=2) + "\n")
    return path


def table(rows: list[dict], float_format: str = ".4f") -> str:
    keys = list(rows[0])
    out = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        out.append("| " + " | ".join(format(r[k], float_format) if isinstance(r[k], float)
                                      else str(r[k]) for k in keys) + " |")
    return "\n".join(out)


def save_figure(fig, name: str) -> Path:
    """Write a matplotlib figure to docs/img/NAME.png (where the docs show it)."""
    fig.tight_layout()
    out = ROOT / "docs" / "img" / f"{name}.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
    return out
