"""Rewrite tests/golden/designs.json from the designs hwgen generates now.

    python -m tests.golden.update      (or: make golden)

Run it when a change to the generated hardware is intended, and commit the file with
that change: its diff says which designs changed.
"""
from __future__ import annotations

import sys

from .designs import GOLDEN, current, load, write


def main() -> int:
    old = load() if GOLDEN.exists() else {}
    new = current()
    write(new)
    changed = sorted(k for k in new if old.get(k) != new[k])
    gone = sorted(set(old) - set(new))
    for name in changed:
        print(f"{'new' if name not in old else 'changed'}: {name}")
    for name in gone:
        print(f"removed: {name}")
    print(f"{GOLDEN}: {len(new)} designs, {len(changed)} changed, {len(gone)} removed",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
