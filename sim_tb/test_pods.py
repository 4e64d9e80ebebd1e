"""cocotb test for a multi-pod data path (`hwgen.scaleout.pods.MultiPod`, module
hwgen_pods_top): drives the jobs of the JSON file named by `+programs_file=` with the
driver of `sim_tb.pods` (the one the Amaranth simulator runs) and writes every pod's
result beats and the cycles to `+result_file=`."""
import json

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, ReadOnly

from sim_tb.pods import Job, PodsDriver

CLOCK_PERIOD_NS = 10


def _bits(value) -> int:
    """A vector as an integer, unknown bits (Icarus: a pod's result word before its
    first READ, on a port that is not valid) as 0."""
    text = str(value)
    return int("".join(c if c in "01" else "0" for c in text), 2)


@cocotb.test()
async def programs(dut):
    with open(cocotb.plusargs["programs_file"]) as f:  # noqa: ASYNC230
        spec = json.load(f)
    P = spec["P"]
    jobs = [Job(port, tuple(c), tuple(d), n, tuple(after))
            for port, c, d, n, after in spec["jobs"]]
    drv = PodsDriver(P, spec["din_bits"], spec["dout_bits"], jobs, spec["phase"],
                     spec["max_cycles"])
    dut.rst.value = 1
    dut.cmd__valid.value = 0
    dut.din__valid.value = 0
    if hasattr(dut, "phase"):   # a heterogeneous design's ports have none
        dut.phase.value = spec["phase"]
    dut.dout__ready.value = (1 << P) - 1
    Clock(dut.clk, CLOCK_PERIOD_NS, unit="ns", impl="gpi").start(start_high=False)
    await ClockCycles(dut.clk, 3)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    last = [0, None, 0, None]   # what cmd valid, cmd data, din valid, din data hold
    while True:
        # busy is a function of the pods' state, settled since the rising edge
        if drv.done(int(dut.busy.value)):
            break
        cv, cd, dv, dd = drv.inputs()
        if cv != last[0]:   # a write costs as much as a change: only the changes
            dut.cmd__valid.value = last[0] = cv
        if cv and cd != last[1]:
            dut.cmd__data.value = last[1] = cd
        if dv != last[2]:
            dut.din__valid.value = last[2] = dv
        if dv and dd != last[3]:
            dut.din__data.value = last[3] = dd
        await ReadOnly()
        ov = int(dut.dout__valid.value)
        drv.step(cv, dv, int(dut.cmd__ready.value) if cv else 0,
                 int(dut.din__ready.value) if dv else 0, ov,
                 _bits(dut.dout__data.value) if ov else 0)
        await FallingEdge(dut.clk)
    with open(cocotb.plusargs["result_file"], "w") as f:  # noqa: ASYNC230
        r = drv.res
        json.dump({"dout": r.dout, "cycles": r.cycles, "timed_out": r.timed_out,
                   "job_dout": r.job_dout, "start": r.start, "end": r.end}, f)
