"""The engines of a heterogeneous design side by side: the data path of a design with a
``subaccelerators:`` section.

Every engine is the single-array accelerator (:class:`hwgen.top.Accelerator`) of its own
array (shape and dataflow) and buffers, with the design's precision and host interface,
so all engines take the same command words and operand and result beats. Each has its
own command stream, operand port and result port (port e belongs to engine e, in the
order of ``subaccelerators:``): the layer scheduler (:mod:`hwgen.compiler.scaleout`)
emits one program per engine, and the engines run them concurrently. What sits in front
of the ports (one host link shared by all engines) is not part of this module.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig
from ..lib.checks import check_type, reject
from ..top import Accelerator
from .interconnect import PortsSignature

__all__ = ["Heterogeneous"]


class Heterogeneous(wiring.Component):
    """The engines of a heterogeneous design.

    Parameters
    ----------
    cfg : AcceleratorConfig
        A design with a ``subaccelerators:`` section.

    Attributes
    ----------
    cmd : In(PortsSignature(E, 64, with_dest=False))
        Each engine's command words.
    din : In(PortsSignature(E, DIN_BITS, with_dest=False))
        Each engine's operand beats.
    dout : Out(PortsSignature(E, DOUT_BITS, with_dest=False))
        Each engine's result beats.
    busy, compute_busy, error : Out(E)
        Each engine's status.
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        if not cfg.subaccelerators:
            reject(self, ValueError("Heterogeneous: the design needs a subaccelerators: "
                                    "section"))
        self.cfg = cfg
        self.engines = [engine for _, engine in cfg.engines]
        self.E = E = len(self.engines)
        widths = {(e.params()["DIN_BITS"], e.params()["DOUT_BITS"]) for e in self.engines}
        if len(widths) != 1:  # precision and host interface are the design's
            reject(self, ValueError(f"Heterogeneous: engines with different beat widths "
                                    f"{sorted(widths)}"))
        (self.din_bits, self.dout_bits), = widths
        super().__init__({
            "cmd": In(PortsSignature(E, 64, with_dest=False)),
            "din": In(PortsSignature(E, self.din_bits, with_dest=False)),
            "dout": Out(PortsSignature(E, self.dout_bits, with_dest=False)),
            "busy": Out(E), "compute_busy": Out(E), "error": Out(E),
        })

    def elaborate(self, platform):
        m = Module()
        busy, cbusy, error = [], [], []
        for e, (sub, engine_cfg) in enumerate(zip(self.cfg.subaccelerators, self.engines)):
            eng = Accelerator(engine_cfg)
            m.submodules[f"engine{e}_{sub.name.replace('-', '_')}"] = eng
            m.d.comb += [
                eng.cmd.valid.eq(self.cmd.valid[e]), eng.cmd.payload.eq(self.cmd.data[e]),
                self.cmd.ready[e].eq(eng.cmd.ready),
                eng.din.valid.eq(self.din.valid[e]), eng.din.payload.eq(self.din.data[e]),
                self.din.ready[e].eq(eng.din.ready),
                self.dout.valid[e].eq(eng.dout.valid),
                self.dout.data[e].eq(eng.dout.payload.as_value()),
                eng.dout.ready.eq(self.dout.ready[e]),
            ]
            busy.append(eng.busy)
            cbusy.append(eng.compute_busy)
            error.append(eng.error)
        m.d.comb += [self.busy.eq(Cat(*busy)), self.compute_busy.eq(Cat(*cbusy)),
                     self.error.eq(Cat(*error))]
        return m
