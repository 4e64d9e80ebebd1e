"""Programs on a multi-pod design's data path (:class:`hwgen.scaleout.pods.MultiPod`), or
on the engines of a heterogeneous design (:class:`hwgen.scaleout.hetero.Heterogeneous`:
the same ports without ``phase``), on the Amaranth simulator, Icarus or Verilator, with
one driver (:class:`PodsDriver`) for all three: each pod's command words straight to the
pod, its operand beats from the bank that ``phase`` places on it, its results from the
result port they reach. Every source offers its next beat whenever it has one and every
result port is always ready (the rate the cycle model assumes)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .runner import run_unit

TOP = "hwgen_pods_top"


@dataclass
class PodsResult:
    dout: list = field(default_factory=list)    # per pod: its result beats
    cycles: int = 0                             # first cycle .. all beats out, pods idle
    timed_out: bool = False


class PodsDriver:
    """The per-cycle driver: :meth:`inputs` gives what to drive, :meth:`step` takes
    what the design answered and advances one cycle; :meth:`done` before driving."""

    def __init__(self, P: int, din_bits: int, dout_bits: int, programs: list, phase: int,
                 max_cycles: int):
        if len(programs) != P:
            raise ValueError(f"{len(programs)} programs for {P} pods")
        self.P, self.din_bits, self.dout_bits = P, din_bits, dout_bits
        self.cmds = [list(p[0]) for p in programs]
        self.banks = [list(programs[b ^ phase][1]) for b in range(P)]  # bank b -> pod b^phase
        self.want = sum(p[2] for p in programs)
        self.phase, self.max_cycles = phase, max_cycles
        self.ci, self.di = [0] * P, [0] * P
        self.got = 0
        self.res = PodsResult([[] for _ in range(P)])

    def inputs(self) -> tuple[int, int, int, int]:
        """(cmd valid, cmd data, din valid, din data) vectors."""
        cv = cd = dv = dd = 0
        for p in range(self.P):
            if self.ci[p] < len(self.cmds[p]):
                cv |= 1 << p
                cd |= self.cmds[p][self.ci[p]] << (64 * p)
            if self.di[p] < len(self.banks[p]):
                dv |= 1 << p
                dd |= self.banks[p][self.di[p]] << (self.din_bits * p)
        return cv, cd, dv, dd

    def done(self, busy: int) -> bool:
        if (self.got == self.want and all(self.ci[p] == len(self.cmds[p])
                                          for p in range(self.P)) and not busy):
            return True
        if self.res.cycles >= self.max_cycles:
            self.res.timed_out = True
            return True
        return False

    def step(self, cv: int, dv: int, cmd_ready: int, din_ready: int, out_valid: int,
             out_data: int) -> None:
        mask = (1 << self.dout_bits) - 1
        for p in range(self.P):
            self.ci[p] += cv >> p & cmd_ready >> p & 1
            self.di[p] += dv >> p & din_ready >> p & 1
            if out_valid >> p & 1:   # result port p carries pod p ^ phase's beats
                self.res.dout[p ^ self.phase].append(out_data >> (self.dout_bits * p) & mask)
                self.got += 1
        self.res.cycles += 1


def run_pods_amaranth(cfg, programs: list, phase: int = 0,
                      max_cycles: int = 200_000) -> PodsResult:
    """Run ``programs`` ([(cmd words, din beats, result beats expected)] per pod, or per
    engine of a heterogeneous design, whose ports have no ``phase``: it must be 0)."""
    from hwgen.emit import design_top

    from .amaranth_sim import simulate
    has_phase = not cfg.subaccelerators
    if phase and not has_phase:
        raise ValueError("a heterogeneous design's ports have no phase")
    dut = design_top(cfg)
    P = len(programs)
    drv = PodsDriver(P, dut.din_bits, dut.dout_bits, programs, phase, max_cycles)

    async def bench(ctx):
        if has_phase:
            ctx.set(dut.phase, phase)
        ctx.set(dut.dout.ready, (1 << P) - 1)
        while True:
            cv, cd, dv, dd = drv.inputs()
            ctx.set(dut.cmd.valid, cv)
            ctx.set(dut.cmd.data.as_value(), cd)
            ctx.set(dut.din.valid, dv)
            ctx.set(dut.din.data.as_value(), dd)
            if drv.done(ctx.get(dut.busy)):
                break
            drv.step(cv, dv, ctx.get(dut.cmd.ready), ctx.get(dut.din.ready),
                     ctx.get(dut.dout.valid), ctx.get(dut.dout.data.as_value()))
            await ctx.tick()

    simulate(dut, bench)
    return drv.res


def run_pods_rtl(verilog: str, P: int, din_bits: int, dout_bits: int, programs: list,
                 work: Path, *, phase: int = 0, sim: str = "verilator",
                 max_cycles: int = 200_000, top: str = TOP) -> PodsResult:
    """The same on the data path's Verilog (module ``top``) through cocotb
    (``sim_tb/test_pods.py``)."""
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    spec, result = work / "programs.json", work / "result.json"
    spec.write_text(json.dumps({"P": P, "din_bits": din_bits, "dout_bits": dout_bits,
                                "phase": phase, "max_cycles": max_cycles,
                                "programs": [[list(c), list(d), n] for c, d, n in programs]}))
    run_unit(verilog, top, "sim_tb.test_pods", work, sim=sim,
             plusargs=[f"+programs_file={spec}", f"+result_file={result}"])
    d = json.loads(result.read_text())
    return PodsResult(d["dout"], d["cycles"], d["timed_out"])
