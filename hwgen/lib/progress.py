"""Progress of long-running commands, on stderr.

A command that can run for more than a few seconds (``hwgen generate``, ``sim``,
``fpga``, ``asic``) opens a :class:`Progress`. Each stage it starts is one permanent line
(``hwgen: synth: yosys``). While a stage runs:

* on a terminal, a live line (drawn with ``rich``) shows the stage, how long it has
  run and what the tool is doing (a Yosys pass, nextpnr's placer or router iteration
  and overused wires, Verilator's compile step, simulated cycles of the total);
* when stderr is not a terminal (a log file, CI), the same is printed as a plain line
  every :data:`PLAIN_EVERY` seconds once a stage has run that long;
* with ``--quiet``, nothing.

The flows do not take the progress object as an argument: they call
:func:`current` (a do-nothing progress unless a command opened one) and watch the tool's
log file while the tool runs (:meth:`Progress.watch`) with a parser from this module
that turns a log line into a few words (:func:`yosys_log`, :func:`nextpnr_log`,
:func:`verilator_build_log`, :func:`sim_cycles`).
"""
from __future__ import annotations

import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, TextIO

QUIET, LIVE, PLAIN = "quiet", "live", "plain"

#: Seconds between the plain progress lines (``$HWGEN_PROGRESS_EVERY`` overrides it).
PLAIN_EVERY = 15.0
#: Seconds between two looks at a watched log file.
POLL = 0.25


def _every() -> float:
    try:
        value = float(os.environ.get("HWGEN_PROGRESS_EVERY", PLAIN_EVERY))
    except ValueError:
        return PLAIN_EVERY
    return value if 0.05 <= value <= 3600 else PLAIN_EVERY


def elapsed(seconds: float) -> str:
    """``7 s``, ``3m05s``, ``1h02m``."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class Progress:
    """Stage lines and a live (or periodic) status line on ``stream``.

    ``mode``: :data:`LIVE`, :data:`PLAIN`, :data:`QUIET`, or None for live on a terminal
    and plain otherwise. Use it as a context manager: inside, it is :func:`current`.
    """

    def __init__(self, mode: Optional[str] = None, stream: Optional[TextIO] = None,
                 every: Optional[float] = None, prefix: str = "hwgen: "):
        self.stream = stream if stream is not None else sys.stderr
        if mode is None:
            isatty = getattr(self.stream, "isatty", None)
            mode = LIVE if isatty is not None and isatty() else PLAIN
        self.mode = mode
        self.every = every if every is not None else _every()
        self.prefix = prefix
        self._lock = threading.Lock()
        self._stage: Optional[str] = None
        self._stage_t0 = 0.0
        self._detail = ""
        self._stop = threading.Event()
        self._ticker: Optional[threading.Thread] = None
        self._live = None
        self._console = None
        self._previous: Optional[Progress] = None

    # ---- what the command says -----------------------------------------------------------
    def log(self, msg: str) -> None:
        """A permanent line (not with --quiet)."""
        if self.mode == QUIET:
            return
        line = f"{self.prefix}{msg}"
        if self._console is not None:
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)

    def stage(self, msg: str) -> None:
        """A new stage: its line, and the status line follows it from now on."""
        self.log(msg)
        with self._lock:
            self._stage, self._stage_t0, self._detail = msg, time.monotonic(), ""
        self._start()

    def detail(self, text: str) -> None:
        """What the tool of the current stage is doing now (a few words)."""
        with self._lock:
            self._detail = text

    def done(self) -> None:
        """The current stage is over (the status line goes away until the next one)."""
        with self._lock:
            self._stage, self._detail = None, ""

    def status(self) -> Optional[str]:
        """The status line's text, or None between stages."""
        with self._lock:
            if self._stage is None:
                return None
            text = f"{elapsed(time.monotonic() - self._stage_t0)}  {self._stage}"
            return text + (f" · {self._detail}" if self._detail else "")

    @contextmanager
    def watch(self, path: Path, parse: Callable[[str], Optional[str]],
              whole: bool = False) -> Iterator[None]:
        """While the body runs, read the lines ``path`` gains (``whole``: the whole file,
        each time it changes) and show what ``parse`` makes of them. The file need not
        exist yet."""
        if self.mode == QUIET:
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(target=self._follow, args=(Path(path), parse, whole, stop),
                                  name="hwgen-progress-watch", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=2)

    def _follow(self, path: Path, parse, whole: bool, stop: threading.Event) -> None:
        pos, rest, seen = 0, "", None
        while True:
            final = stop.is_set()  # one more read after the tool has stopped
            try:
                if whole:
                    st = path.stat()
                    if (st.st_mtime_ns, st.st_size) != seen:
                        seen = (st.st_mtime_ns, st.st_size)
                        text = parse(path.read_text(errors="replace")[:4096])
                        if text:
                            self.detail(text)
                else:
                    with open(path, "rb") as f:
                        f.seek(pos)
                        chunk = f.read(1 << 20)
                        pos += len(chunk)
                    lines = (rest + chunk.decode(errors="replace")).split("\n")
                    rest = lines.pop()[-4096:]
                    found = None
                    for line in lines:
                        found = parse(line[:4096]) or found
                    if found:
                        self.detail(found)
            except (OSError, ValueError):
                pass
            if final:
                return
            stop.wait(POLL)

    # ---- drawing -------------------------------------------------------------------------
    def _start(self) -> None:
        if self.mode == QUIET or self._ticker is not None or self._live is not None:
            return
        if self.mode == LIVE:
            from rich.console import Console
            from rich.live import Live
            from rich.spinner import Spinner
            from rich.text import Text

            progress = self

            class _Line:
                def __init__(self):
                    self.spinner = Spinner("dots")

                def __rich__(self):
                    text = progress.status()
                    if text is None:
                        return Text("")
                    self.spinner.update(text=Text(text, no_wrap=True, overflow="ellipsis"))
                    return self.spinner

            self._console = Console(file=self.stream, stderr=self.stream is sys.stderr)
            self._live = Live(_Line(), console=self._console, refresh_per_second=4,
                              transient=True, redirect_stdout=False, redirect_stderr=False)
            self._live.start()
        else:
            self._ticker = threading.Thread(target=self._tick, name="hwgen-progress",
                                            daemon=True)
            self._ticker.start()

    def _tick(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(min(1.0, self.every)):
            now = time.monotonic()
            with self._lock:
                running = self._stage is not None and now - self._stage_t0 >= self.every
            if running and now - last >= self.every:
                text = self.status()
                if text:
                    print(f"{self.prefix}... {text}", file=self.stream, flush=True)
                last = now

    def close(self) -> None:
        self.done()
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None
            self._console = None
        if self._ticker is not None:
            self._ticker.join(timeout=2)
            self._ticker = None

    def __enter__(self) -> "Progress":
        global _current
        self._previous, _current = _current, self
        return self

    def __exit__(self, *exc) -> None:
        global _current
        self.close()
        _current = self._previous


_current = Progress(QUIET)


def current() -> Progress:
    """The progress the running command opened (a quiet one when none is open)."""
    return _current


# ---- what the tools are doing, from their logs ---------------------------------------------
_YOSYS_PASS = re.compile(r"^\s*(\d+(?:\.\d+)*)\.\s+Executing (.+?) pass\b")


def yosys_log() -> Callable[[str], Optional[str]]:
    """Yosys's log (``-l`` or ``tee -o``): the pass it is in."""
    def parse(line: str) -> Optional[str]:
        m = _YOSYS_PASS.match(line)
        return f"yosys: {m.group(2)} pass ({m.group(1)})" if m else None
    return parse


_NP_INITIAL = re.compile(r"at initial placer iter (\d+), wirelen = (\d+)")
_NP_HEAP = re.compile(r"at iteration #(\d+), type (\S+): wirelen solved = (\d+), "
                      r"spread = (\d+), legal = (\d+)")
_NP_SA = re.compile(r"at iteration #(\d+): temp = ([\d.]+), timing cost = (\d+), wirelen = (\d+)")
_NP_ARCS = re.compile(r"Routing (\d+) arcs")
_NP_ROUTER1 = re.compile(r"^Info:\s+(\d+) \|\s*\d+\s+\d+ \|\s*\d+\s+\d+ \|\s*(\d+)\|")
_NP_ROUTER2 = re.compile(r"iter=(\d+)\s+wires=\s*(\d+)\s+overused=\s*(\d+)\s+overuse=\s*(\d+)")


def nextpnr_log() -> Callable[[str], Optional[str]]:
    """nextpnr's log (``--log``): packing, the placer's iteration and wirelength, the
    router's iteration with the arcs left (router1) or the overused wires (router2)."""
    arcs = [0]

    def parse(line: str) -> Optional[str]:
        if m := _NP_ROUTER2.search(line):
            return (f"routing: iteration {m.group(1)}, {m.group(3)} overused wires "
                    f"of {m.group(2)}")
        if m := _NP_ROUTER1.match(line):
            of = f" of {arcs[0]}" if arcs[0] else ""
            return f"routing: iteration {m.group(1)}, {m.group(2)}{of} arcs left"
        if m := _NP_ARCS.search(line):
            arcs[0] = int(m.group(1))
            return f"routing {m.group(1)} arcs"
        if m := _NP_HEAP.search(line):
            return (f"placement (analytic): iteration {m.group(1)}, legal wirelength "
                    f"{m.group(5)}")
        if m := _NP_SA.search(line):
            return (f"placement (annealing): iteration {m.group(1)}, wirelength "
                    f"{m.group(4)}")
        if m := _NP_INITIAL.search(line):
            return f"placement: initial placer iteration {m.group(1)}"
        if "Packing" in line and line.startswith("Info:"):
            return "packing cells"
        if "Max frequency for clock" in line:
            return "timing analysis"
        return None
    return parse


_VL_BUILT = re.compile(r"Verilator: Built from .* in (\d+) C\+\+ files")
_CC_OUT = re.compile(r"^(?:c\+\+|g\+\+|clang\+\+|ccache)\s.*\s-o\s+(\S+)")


def verilator_build_log() -> Callable[[str], Optional[str]]:
    """A Verilator build's log (cocotb's build.log: verilator, then make): translating
    to C++, then each object make compiles, then linking."""
    objects = [0]

    def parse(line: str) -> Optional[str]:
        if m := _VL_BUILT.search(line):
            return f"verilator: {m.group(1)} C++ files written; compiling them"
        if "verilator_includer" in line:
            return "make: collecting the C++ files"
        if m := _CC_OUT.match(line):
            target = Path(m.group(1)).name
            if target.endswith(".o"):
                objects[0] += 1
                return f"make: compiling {target[:-2]}.cpp (object {objects[0]})"
            return f"make: linking {target}"
        return None
    return parse


def sim_cycles(total: Optional[int]) -> Callable[[str], Optional[str]]:
    """The testbench's progress file (the cycles simulated so far) against ``total``,
    the cycle model's count."""
    def parse(text: str) -> Optional[str]:
        try:
            cycles = int(text.split()[0])
        except (IndexError, ValueError):
            return None
        if total:
            return f"simulated {cycles:,} of ~{total:,} cycles ({100 * cycles / total:.0f}%)"
        return f"simulated {cycles:,} cycles"
    return parse
