"""P pods behind two interconnects (:mod:`hwgen.scaleout.interconnect`): the data path of
a multi-pod design.

Every pod is the single-array accelerator of the design's ``array:`` and ``buffers:``
(:class:`hwgen.top.Accelerator`) with its own command stream. Operand beats come from P
bank ports through one interconnect and results leave through another to P result
ports: with ``phase`` = c, bank b feeds pod b XOR c and pod p's results go to result
port p XOR c, a permutation the butterfly passes without a collision, so neither network
ever stalls a pod on another's traffic. What is in front of the ports (the shared banks
and the controller that fills them with each pod's slice, :mod:`hwgen.compiler.scaleout`
cuts the GEMMs) is not part of this module.
"""
from __future__ import annotations

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config import AcceleratorConfig
from ..lib.checks import check_type, reject
from ..top import Accelerator
from .interconnect import PortsSignature, interconnect

__all__ = ["MultiPod"]


class MultiPod(wiring.Component):
    """The pods and their interconnects.

    Parameters
    ----------
    cfg : AcceleratorConfig
        A design with a ``pods:`` section (P > 1).

    Attributes
    ----------
    cmd : In(PortsSignature(P, 64, with_dest=False))
        Each pod's command words.
    din : In(PortsSignature(P, DIN_BITS, with_dest=False))
        Bank b's operand beats (to pod b XOR phase).
    dout : Out(PortsSignature(P, DOUT_BITS, with_dest=False))
        Result port r's beats (from pod r XOR phase).
    phase : In(range(P))
        The XOR that places banks on pods; change it only while no beat is in flight.
    busy, compute_busy, error : Out(P)
        Each pod's status.
    """

    def __init__(self, cfg: AcceleratorConfig):
        check_type(self, "cfg", cfg, AcceleratorConfig)
        if cfg.pods is None or cfg.pods.count < 2:
            reject(self, ValueError("MultiPod: the design needs a pods: section with a "
                                    "count of at least 2"))
        self.cfg = cfg
        self.P = P = cfg.pods.count
        self.pod_cfg = cfg.pod
        p = self.pod_cfg.params()
        self.din_bits, self.dout_bits = p["DIN_BITS"], p["DOUT_BITS"]
        kind = cfg.pods.interconnect.value
        self.in_net = interconnect(kind, P, self.din_bits)
        self.out_net = interconnect(kind, P, self.dout_bits)
        self.latency = self.in_net.latency
        super().__init__({
            "cmd": In(PortsSignature(P, 64, with_dest=False)),
            "din": In(PortsSignature(P, self.din_bits, with_dest=False)),
            "dout": Out(PortsSignature(P, self.dout_bits, with_dest=False)),
            "phase": In(range(P)),
            "busy": Out(P), "compute_busy": Out(P), "error": Out(P),
        })

    def elaborate(self, platform):
        m = Module()
        P = self.P
        m.submodules.in_net = inn = self.in_net
        m.submodules.out_net = outn = self.out_net
        busy, cbusy, error = [], [], []
        for p in range(P):
            pod = Accelerator(self.pod_cfg)
            m.submodules[f"pod{p}"] = pod
            m.d.comb += [
                pod.cmd.valid.eq(self.cmd.valid[p]), pod.cmd.payload.eq(self.cmd.data[p]),
                self.cmd.ready[p].eq(pod.cmd.ready),
                # bank p's beats go to pod p ^ phase
                inn.i.valid[p].eq(self.din.valid[p]), inn.i.data[p].eq(self.din.data[p]),
                inn.i.dest[p].eq(self.phase ^ p), self.din.ready[p].eq(inn.i.ready[p]),
                pod.din.valid.eq(inn.o.valid[p]), pod.din.payload.eq(inn.o.data[p]),
                inn.o.ready[p].eq(pod.din.ready),
                # pod p's results go to result port p ^ phase
                outn.i.valid[p].eq(pod.dout.valid), outn.i.data[p].eq(pod.dout.payload.as_value()),
                outn.i.dest[p].eq(self.phase ^ p), pod.dout.ready.eq(outn.i.ready[p]),
                self.dout.valid[p].eq(outn.o.valid[p]), self.dout.data[p].eq(outn.o.data[p]),
                outn.o.ready[p].eq(self.dout.ready[p]),
            ]
            busy.append(pod.busy)
            cbusy.append(pod.compute_busy)
            error.append(pod.error)
        m.d.comb += [self.busy.eq(Cat(*busy)), self.compute_busy.eq(Cat(*cbusy)),
                     self.error.eq(Cat(*error))]
        return m
