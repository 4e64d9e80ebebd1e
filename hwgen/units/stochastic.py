"""Stochastic-computing (SC) units, from random sources up to a layer of SC neurons.

A value is the probability of a 1 in a bitstream. A binary code is turned into a stream
by comparing it with a fresh random number each cycle (:class:`Sng`), streams are
multiplied by one gate (:class:`ScMultiplier`), added by a multiplexer
(:class:`ScMuxAdder`, result scaled by 1/n) or by counting ones
(:class:`ParallelCounter`), and a counter turns a stream back into binary
(:class:`StreamCounter`). :class:`ScLayer` puts these together.

Everything here matches :mod:`hwgen.models.stochastic` bit for bit; the decorrelation
rule for the two operands of a multiplier is stated there and followed by
:class:`ScLayer`: with LFSRs operand B compares with the bit-reversed LFSR state, with
the van der Corput source it compares with the plain counter.
"""
from __future__ import annotations

import dataclasses

from amaranth.hdl import Cat, Const, Module, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..config.sc import ScConfig
from ..models.stochastic import LFSR_TAPS

__all__ = ["LFSR_TAPS", "Lfsr", "VdcSource", "Sng", "ScMultiplier", "ScMuxAdder",
           "ParallelCounter", "StreamCounter", "ScLayer", "ScNeuron", "popcount"]


def popcount(bits) -> Value:
    """Number of ones in ``bits`` as a balanced adder tree (depth log2 n)."""
    terms = [bits[i] for i in range(len(bits))]
    if not terms:
        return Const(0, 1)
    while len(terms) > 1:
        nxt = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    return terms[0]


def _reject(component, message: str):
    """Raise a parameter error from a constructor; the half-built component is never
    elaborated, so Amaranth is told not to warn about it."""
    component._MustUse__silence = True
    raise ValueError(message)


class Lfsr(wiring.Component):
    """Maximal-length Fibonacci LFSR.

    The state shifts left each enabled cycle; the new bit 0 is the XOR of the bits named
    by ``LFSR_TAPS[width]`` (1-based). It visits all 2^width - 1 nonzero states.

    Parameters
    ----------
    width : int
        State width, a key of ``LFSR_TAPS`` (3 to 32).
    seed : int
        Reset and ``load`` value, nonzero and below 2^width.
    lanes : int
        States produced per cycle: the register advances ``lanes`` steps per enabled
        cycle and lane j shows the state j steps ahead (the feedback is unrolled).

    Attributes
    ----------
    en : In
        Step this cycle.
    load : In
        Return to ``seed`` this cycle (wins over ``en``).
    state : Out
        Current state (the random number), lane 0.
    states : Out
        All lanes, lane j in bits ``[j*width, (j+1)*width)``.
    """

    def __init__(self, width: int, seed: int = 1, lanes: int = 1):
        if width not in LFSR_TAPS:
            _reject(self, f"Lfsr width must be between {min(LFSR_TAPS)} and "
                             f"{max(LFSR_TAPS)}, got {width}")
        if not 0 < seed < (1 << width):
            _reject(self, f"Lfsr seed must be between 1 and {(1 << width) - 1}, got {seed}")
        if lanes < 1:
            _reject(self, f"Lfsr lanes must be at least 1, got {lanes}")
        self.width, self.seed, self.lanes = width, seed, lanes
        super().__init__({"en": In(1), "load": In(1), "state": Out(width, init=seed),
                          "states": Out(width * lanes)})

    @staticmethod
    def _step(v, width):
        fb = 0
        for t in LFSR_TAPS[width]:
            fb = fb ^ v[t - 1]
        return Cat(fb, v[:-1])

    def elaborate(self, platform):
        m = Module()
        w = self.width
        s = Signal(w, init=self.seed)
        lane = [s]
        for j in range(1, self.lanes + 1):
            nxt = Signal(w, name=f"ahead{j}")
            m.d.comb += nxt.eq(self._step(lane[-1], w))
            lane.append(nxt)
        m.d.comb += [self.state.eq(s), self.states.eq(Cat(*lane[:self.lanes]))]
        with m.If(self.load):
            m.d.sync += s.eq(self.seed)
        with m.Elif(self.en):
            m.d.sync += s.eq(lane[self.lanes])
        return m


class VdcSource(wiring.Component):
    """Base-2 van der Corput (radical-inverse) source: a ``bits``-wide counter read with
    its bits reversed. Every 2^bits consecutive outputs are a permutation of the codes,
    and every prefix is spread evenly, so streams converge as 1/L rather than 1/sqrt(L).

    With ``lanes`` = P (a power of two) the counter steps by P and lane j shows t + j;
    its low log2(P) bits are then the constant j, so the lanes cost only wiring.

    Attributes
    ----------
    en, load : In
        Count this cycle; return to 0 (wins).
    value : Out
        The counter bit-reversed (lane 0).
    count : Out
        The counter itself (the second operand's source, see the module docstring).
    values, counts : Out
        All lanes, lane j in bits ``[j*bits, (j+1)*bits)``.
    """

    def __init__(self, bits: int, lanes: int = 1):
        if bits < 1:
            _reject(self, f"VdcSource bits must be at least 1, got {bits}")
        if lanes < 1 or lanes & (lanes - 1) or lanes > (1 << bits):
            _reject(self, f"VdcSource lanes must be a power of two up to 2^bits, got {lanes}")
        self.bits, self.lanes = bits, lanes
        super().__init__({"en": In(1), "load": In(1), "value": Out(bits), "count": Out(bits),
                          "values": Out(bits * lanes), "counts": Out(bits * lanes)})

    def elaborate(self, platform):
        m = Module()
        b, k = self.bits, (self.lanes - 1).bit_length()
        hi = Signal(b - k)  # the counter's bits above the lane index
        counts = [Cat(Const(j, k), hi) if k else hi for j in range(self.lanes)]
        m.d.comb += [self.count.eq(counts[0]), self.value.eq(counts[0][::-1]),
                     self.counts.eq(Cat(*counts)),
                     self.values.eq(Cat(*[c[::-1] for c in counts]))]
        with m.If(self.load):
            m.d.sync += hi.eq(0)
        with m.Elif(self.en):
            m.d.sync += hi.eq(hi + 1)
        return m


class Sng(wiring.Component):
    """Comparator stochastic number generator: ``bit = x > r``. With r uniform over the
    ``bits``-wide codes, P(bit) = x / 2^bits.

    Attributes
    ----------
    x, r : In
        Binary value and random number.
    bit : Out
        Stream bit (combinational).
    """

    def __init__(self, bits: int):
        self.bits = bits
        super().__init__({"x": In(bits), "r": In(bits), "bit": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.d.comb += self.bit.eq(self.x > self.r)
        return m


class ScMultiplier(wiring.Component):
    """Stream multiplier: AND for unipolar streams (p_a p_b), XNOR for bipolar ones
    (v_a v_b with v = 2p - 1). The operands must come from decorrelated sources.

    Attributes
    ----------
    a, b : In
        Stream bits.
    y : Out
        Product bit (combinational).
    """

    def __init__(self, encoding: str):
        if encoding not in ("unipolar", "bipolar"):
            _reject(self, f"ScMultiplier encoding must be unipolar or bipolar, got {encoding!r}")
        self.encoding = encoding
        super().__init__({"a": In(1), "b": In(1), "y": Out(1)})

    def elaborate(self, platform):
        m = Module()
        if self.encoding == "unipolar":
            m.d.comb += self.y.eq(self.a & self.b)
        else:
            m.d.comb += self.y.eq(~(self.a ^ self.b))
        return m


class ScMuxAdder(wiring.Component):
    """Scaled adder: passes one of ``n`` streams each cycle, chosen by the low log2(n)
    bits of its own LFSR, so the output encodes the mean of the inputs.

    Parameters
    ----------
    n : int
        Inputs, a power of two.
    width, seed : int
        The select LFSR (``width`` >= log2 n); its seed must differ from the operand
        LFSR's, or the select follows the operand streams.
    lanes : int
        Stream bits per cycle; lane j uses the select LFSR's lane j.

    Attributes
    ----------
    i : In
        The n input stream bits of each lane, lane j in bits ``[j*n, (j+1)*n)``.
    en, load : In
        Step / reload the select LFSR.
    sel : Out
        The select value of lane 0.
    y : Out
        The chosen bit of each lane (combinational).
    """

    def __init__(self, n: int, width: int, seed: int, lanes: int = 1):
        if n < 1 or n & (n - 1):
            _reject(self, f"ScMuxAdder n must be a power of two, got {n}")
        self.n = n
        self.sel_bits = (n - 1).bit_length()
        if self.sel_bits > width:
            _reject(self, f"ScMuxAdder needs {self.sel_bits} select bits, more than the "
                             f"{width}-bit LFSR")
        self.width, self.seed, self.lanes = width, seed, lanes
        super().__init__({"i": In(n * lanes), "en": In(1), "load": In(1),
                          "sel": Out(max(1, self.sel_bits)), "y": Out(lanes)})

    def elaborate(self, platform):
        m = Module()
        n, w, sb = self.n, self.width, self.sel_bits
        m.submodules.lfsr = lfsr = Lfsr(w, self.seed, self.lanes)
        m.d.comb += [lfsr.en.eq(self.en), lfsr.load.eq(self.load)]
        for j in range(self.lanes):
            ins = self.i[j * n:(j + 1) * n]
            if sb:
                sel = lfsr.states[j * w:j * w + sb]
                m.d.comb += self.y[j].eq(ins.bit_select(sel, 1))
            else:
                m.d.comb += self.y[j].eq(ins[0])
        m.d.comb += self.sel.eq(lfsr.state[:sb] if sb else 0)
        return m


class ParallelCounter(wiring.Component):
    """Accumulative parallel counter (APC): adds the number of ones among ``n`` stream
    bits to a ``count_bits``-wide count each enabled cycle. Exact (no 1/n scaling), at
    the cost of a popcount tree.

    Attributes
    ----------
    i : In
        The n stream bits.
    en : In
        Accumulate this cycle.
    clear : In
        Restart from 0 (wins over ``en``).
    count : Out
        Ones counted so far (wraps at 2^count_bits).
    """

    def __init__(self, n: int, count_bits: int):
        if n < 1:
            _reject(self, f"{type(self).__name__} n must be at least 1, got {n}")
        self.n, self.count_bits = n, count_bits
        super().__init__({"i": In(n), "en": In(1), "clear": In(1), "count": Out(count_bits)})

    def elaborate(self, platform):
        m = Module()
        with m.If(self.clear):
            m.d.sync += self.count.eq(0)
        with m.Elif(self.en):
            m.d.sync += self.count.eq(self.count + popcount(self.i))
        return m


class StreamCounter(ParallelCounter):
    """Stream-to-binary converter: counts the ones of one stream (``i`` is 1 bit wide).
    After L enabled cycles ``count`` / L is the stream's probability."""

    def __init__(self, count_bits: int):
        super().__init__(1, count_bits)


class ScLayer(wiring.Component):
    """A layer of ``cfg.neurons`` SC neurons, each a dot product of length ``cfg.fan_in``
    followed by an activation, over one stream of ``cfg.length`` bits.

    The input streams are generated once and shared by all neurons; each neuron has its
    own weight streams, multipliers and adder. Operand A (inputs) compares with the LFSR
    state or the van der Corput value, operand B (weights) with the bit-reversed LFSR
    state or the plain counter (see :mod:`hwgen.models.stochastic`). Codes are
    ``cfg.value_bits`` wide and packed little-end first: input i is
    ``x[i*b:(i+1)*b]``, weight i of neuron j is ``w[(j*n+i)*b:...]``.

    With ``cfg.parallelism`` = P the sources, multipliers and adders are replicated P
    times and produce stream bits P t .. P t + P - 1 in cycle t, so the counts are the
    same as with P = 1 after L / P cycles.

    A ``start`` pulse reloads every source and clears the counts; ``busy`` is then high
    for ``cfg.cycles`` = L / P cycles, during which ``x`` and ``w`` must be held; ``done`` rises
    after the last stream bit and stays high, with ``count`` and ``y`` valid, until the
    next ``start``.

    Activations on a neuron's ones count c out of T possible (T = n L for the counter
    adder, L for the MUX): ``none`` gives c, ``sign`` 1 when 2c >= T, ``relu``
    max(0, 2c - T), the bipolar sum in units of 1/L clipped at zero.

    Attributes
    ----------
    start : In
        Begin a stream.
    x : In
        ``fan_in`` input codes.
    w : In
        ``neurons * fan_in`` weight codes.
    busy, done : Out
        Status.
    count : Out
        ``neurons`` ones counts, ``cfg.count_width`` bits each.
    y : Out
        ``neurons`` activations, ``cfg.count_width`` bits each.
    """

    def __init__(self, cfg: ScConfig):
        self.cfg = cfg
        b, n, k, cw = cfg.value_bits, cfg.fan_in, cfg.neurons, cfg.count_width
        super().__init__({
            "start": In(1), "x": In(n * b), "w": In(k * n * b),
            "busy": Out(1), "done": Out(1),
            "count": Out(k * cw), "y": Out(k * cw),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        b, n, k, cw, L = cfg.value_bits, cfg.fan_in, cfg.neurons, cfg.count_width, cfg.length
        P = cfg.parallelism
        run = Signal()
        m.d.comb += run.eq(self.busy & ~self.start)

        # Random sources: one pair per lane for the whole layer; lane j carries stream
        # bit P*t + j in cycle t.
        if cfg.generator == "lfsr":
            w = cfg.lfsr_width
            m.submodules.src = src = Lfsr(w, cfg.seed, P)
            ra = [src.states[j * w:(j + 1) * w] for j in range(P)]
            rb = [r[::-1] for r in ra]
        else:
            m.submodules.src = src = VdcSource(b, P)
            ra = [src.values[j * b:(j + 1) * b] for j in range(P)]
            rb = [src.counts[j * b:(j + 1) * b] for j in range(P)]
        m.d.comb += [src.en.eq(run), src.load.eq(self.start)]

        # Input streams, shared by the neurons: bit j*n + i is input i in lane j.
        xs = Signal(n * P)
        for j in range(P):
            for i in range(n):
                m.d.comb += xs[j * n + i].eq(self.x[i * b:(i + 1) * b] > ra[j])

        total = L * (n if cfg.adder == "counter" else 1)
        for q in range(k):
            prods = Signal(n * P, name=f"prod{q}")
            for j in range(P):
                for i in range(n):
                    wi = self.w[(q * n + i) * b:(q * n + i + 1) * b]
                    wbit = wi > rb[j]
                    xb = xs[j * n + i]
                    if cfg.encoding == "unipolar":
                        m.d.comb += prods[j * n + i].eq(xb & wbit)
                    else:
                        m.d.comb += prods[j * n + i].eq(~(xb ^ wbit))
            if cfg.adder == "counter":
                cnt = ParallelCounter(n * P, cw)
                m.d.comb += cnt.i.eq(prods)
            else:
                # Every neuron draws its select from an LFSR with the same seed; they
                # could share one, but a separate one keeps the neuron self-contained
                # and Yosys merges the duplicates.
                mux = ScMuxAdder(n, cfg.lfsr_width, cfg.select_seed, P)
                m.submodules[f"mux{q}"] = mux
                m.d.comb += [mux.i.eq(prods), mux.en.eq(run), mux.load.eq(self.start)]
                cnt = StreamCounter(cw) if P == 1 else ParallelCounter(P, cw)
                m.d.comb += cnt.i.eq(mux.y)
            m.submodules[f"count{q}"] = cnt
            m.d.comb += [cnt.en.eq(run), cnt.clear.eq(self.start)]
            c = cnt.count
            m.d.comb += self.count[q * cw:(q + 1) * cw].eq(c)
            yq = self.y[q * cw:(q + 1) * cw]
            if cfg.activation == "none":
                m.d.comb += yq.eq(c)
            elif cfg.activation == "sign":
                m.d.comb += yq.eq(Cat(c, Const(0, 1)) * 2 >= total)
            else:
                twice = Signal(cw + 2, name=f"twice{q}")
                m.d.comb += twice.eq(c * 2)
                with m.If(twice > total):
                    m.d.comb += yq.eq(twice - total)

        t = Signal(range(cfg.cycles))
        with m.If(self.start):
            m.d.sync += [self.busy.eq(1), self.done.eq(0), t.eq(0)]
        with m.Elif(self.busy):
            m.d.sync += t.eq(t + 1)
            with m.If(t == cfg.cycles - 1):
                m.d.sync += [self.busy.eq(0), self.done.eq(1)]
        return m


class ScNeuron(ScLayer):
    """One SC neuron: :class:`ScLayer` with a single neuron (``cfg.neurons`` ignored)."""

    def __init__(self, cfg: ScConfig):
        super().__init__(dataclasses.replace(cfg, neurons=1))


def sc_top(cfg: ScConfig) -> wiring.Component:
    """The stand-alone SC module ``hwgen generate`` writes for a config's ``sc:`` section."""
    return ScLayer(cfg)
