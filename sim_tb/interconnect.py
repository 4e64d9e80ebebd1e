"""Traffic through an interconnect (:mod:`hwgen.scaleout.interconnect`) on the Amaranth
simulator, Icarus or Verilator, with one driver (:class:`Traffic`) for all three, so the
same seed gives the same cycles everywhere.

Every source has a queue of (destination, word); each cycle a source with a word not yet
offered offers it with probability ``p_valid`` and then holds it until it is taken
(stream rules), and every sink is ready with probability ``p_ready``, from one
``random.Random(seed)`` drawn in a fixed order. The result is, per sink, the (cycle,
word) it took, and per source the cycles its words were taken.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from .runner import run_unit

TOP = "hwgen_interconnect"


@dataclass
class TrafficResult:
    got: dict = field(default_factory=dict)       # sink -> [(cycle, word)]
    taken: dict = field(default_factory=dict)     # source -> [cycle]
    cycles: int = 0
    timed_out: bool = False

    def as_json(self) -> dict:
        return {"got": {str(k): v for k, v in self.got.items()},
                "taken": {str(k): v for k, v in self.taken.items()},
                "cycles": self.cycles, "timed_out": self.timed_out}

    @classmethod
    def from_json(cls, d: dict) -> "TrafficResult":
        return cls({int(k): [tuple(x) for x in v] for k, v in d["got"].items()},
                   {int(k): v for k, v in d["taken"].items()}, d["cycles"], d["timed_out"])


class Traffic:
    """The per-cycle driver: :meth:`inputs` gives what to drive, :meth:`step` takes
    what the design answered and advances one cycle."""

    def __init__(self, ports: int, width: int, queues: dict, p_valid: float = 1.0,
                 p_ready: float = 1.0, seed: int = 1, max_cycles: int = 100_000):
        self.P, self.W = ports, width
        self.queues = [list(queues.get(x, [])) for x in range(ports)]
        self.heads = [0] * ports
        self.offer = [False] * ports
        self.p_valid, self.p_ready = p_valid, p_ready
        self.rng = random.Random(seed)
        self.total = sum(len(q) for q in self.queues)
        self.max_cycles = max_cycles
        self.res = TrafficResult({o: [] for o in range(ports)}, {x: [] for x in range(ports)})
        self.cycle = 0
        self.received = 0
        self.ready = [False] * ports

    def done(self) -> bool:
        if self.received == self.total:
            return True
        if self.cycle >= self.max_cycles:
            self.res.timed_out = True
            return True
        return False

    def inputs(self) -> tuple[int, int, int, int]:
        """(valid, data, dest, ready) vectors to drive this cycle."""
        valid = data = dest = 0
        dbits = max(1, (self.P - 1).bit_length())
        for x in range(self.P):
            q, h = self.queues[x], self.heads[x]
            if not self.offer[x] and h < len(q):
                self.offer[x] = self.rng.random() < self.p_valid
            if self.offer[x]:
                d, w = q[h]
                valid |= 1 << x
                data |= w << (x * self.W)
                dest |= d << (x * dbits)
        ready = 0
        for o in range(self.P):
            self.ready[o] = self.rng.random() < self.p_ready
            ready |= int(self.ready[o]) << o
        return valid, data, dest, ready

    def step(self, in_ready: int, out_valid: int, out_data: int) -> None:
        mask = (1 << self.W) - 1
        for x in range(self.P):
            if self.offer[x] and in_ready >> x & 1:
                self.offer[x] = False
                self.heads[x] += 1
                self.res.taken[x].append(self.cycle)
        for o in range(self.P):
            if self.ready[o] and out_valid >> o & 1:
                self.res.got[o].append((self.cycle, out_data >> (o * self.W) & mask))
                self.received += 1
        self.cycle += 1
        self.res.cycles = self.cycle


def run_traffic_amaranth(dut, queues: dict, *, p_valid: float = 1.0, p_ready: float = 1.0,
                         seed: int = 1, max_cycles: int = 100_000) -> TrafficResult:
    """Send ``queues`` ({source: [(destination, word)]}) through ``dut``."""
    from .amaranth_sim import simulate
    tr = Traffic(dut.ports, dut.width, queues, p_valid, p_ready, seed, max_cycles)

    async def bench(ctx):
        while not tr.done():
            valid, data, dest, ready = tr.inputs()
            ctx.set(dut.i.valid, valid)
            ctx.set(dut.i.data.as_value(), data)
            ctx.set(dut.i.dest.as_value(), dest)
            ctx.set(dut.o.ready, ready)
            tr.step(ctx.get(dut.i.ready), ctx.get(dut.o.valid), ctx.get(dut.o.data.as_value()))
            await ctx.tick()

    simulate(dut, bench)
    return tr.res


def run_traffic_rtl(verilog: str, ports: int, width: int, queues: dict, work: Path, *,
                    sim: str = "verilator", p_valid: float = 1.0, p_ready: float = 1.0,
                    seed: int = 1, max_cycles: int = 100_000) -> TrafficResult:
    """The same on the interconnect's Verilog (module :data:`TOP`) through cocotb
    (``sim_tb/test_interconnect.py``)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    spec = work / "traffic.json"
    result = work / "result.json"
    spec.write_text(json.dumps({"ports": ports, "width": width, "p_valid": p_valid,
                                "p_ready": p_ready, "seed": seed, "max_cycles": max_cycles,
                                "queues": {str(k): v for k, v in queues.items()}}))
    run_unit(verilog, TOP, "sim_tb.test_interconnect", work, sim=sim,
             plusargs=[f"+traffic_file={spec}", f"+result_file={result}"])
    return TrafficResult.from_json(json.loads(result.read_text()))
