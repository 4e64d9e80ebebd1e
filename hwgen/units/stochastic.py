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

from amaranth.hdl import Array, Cat, Const, Module, Signal, Value, signed
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import ScConfig
from ..lib.checks import reject
from ..lib.lfsr import LFSR_TAPS

__all__ = ["LFSR_TAPS", "Lfsr", "VdcSource", "Sng", "ScMultiplier", "ScMuxAdder",
           "ParallelCounter", "StreamCounter", "ScLayer", "ScLayerHost", "ScNeuron", "popcount",
           "tree_sum", "sc_top"]


def tree_sum(terms) -> Value:
    """Sum of ``terms`` (a non-empty list) as a balanced adder tree (depth log2 n)."""
    terms = list(terms)
    while len(terms) > 1:
        nxt = [terms[i] + terms[i + 1] for i in range(0, len(terms) - 1, 2)]
        if len(terms) % 2:
            nxt.append(terms[-1])
        terms = nxt
    return terms[0]


def popcount(bits) -> Value:
    """Number of ones in ``bits`` as a balanced adder tree (depth log2 n)."""
    if len(bits) == 0:
        return Const(0, 1)
    return tree_sum(bits[i] for i in range(len(bits)))


def _reject(component, message: str):
    """Refuse a constructor's parameter with a one-line ValueError."""
    reject(component, ValueError(message))


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


class _Accumulator(ParallelCounter):
    """Adds a ``bits``-wide number each enabled cycle (the stanh path's count: the lane
    popcounts are computed for the FSM anyway, so the count adds them rather than
    building a second popcount tree)."""

    def __init__(self, bits: int, count_bits: int):
        super().__init__(bits, count_bits)

    def elaborate(self, platform):
        m = Module()
        with m.If(self.clear):
            m.d.sync += self.count.eq(0)
        with m.Elif(self.en):
            m.d.sync += self.count.eq(self.count + self.i)
        return m


class ScLayer(wiring.Component):
    """A layer of ``cfg.neurons`` SC neurons, each a dot product of length ``cfg.fan_in``
    followed by an activation, over one stream of ``cfg.length`` bits.

    The input streams are generated once and shared by all neurons; each neuron has its
    own weight streams, multipliers and adder. Operand A (inputs) compares with the LFSR
    state or the van der Corput value, operand B (weights) with the bit-reversed LFSR
    state or the plain counter (see :mod:`hwgen.models.stochastic`). With
    ``cfg.sharing = "per_operand"`` input position i has a source of its own (an LFSR at
    its own phase, or the van der Corput pair XOR-ed with per-position constants) that
    the weights of position i in every neuron pair with. Codes are
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
    max(0, 2c - T), the bipolar sum in units of 1/L clipped at zero. ``stanh`` works on
    the stream: a saturating up/down counter of ``cfg.fsm_states`` states is stepped by
    the adder's bipolar output of every stream bit (the P lanes of a cycle in order) and
    ``y`` counts the ones of its output stream.

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

    def _sources(self, m, run):
        """Random numbers per lane and input position: (ra, rb), ra[j][i] being what input
        i compares with in lane j, rb[j][i] what the weights of position i compare with."""
        cfg = self.cfg
        b, n, P = cfg.value_bits, cfg.fan_in, cfg.parallelism
        if cfg.generator == "lfsr":
            w = cfg.lfsr_width
            seeds = [cfg.seed] if cfg.sharing == "layer" else cfg.operand_seeds()
            lanes = []
            for i, seed in enumerate(seeds):
                src = Lfsr(w, seed, P)
                m.submodules["src" if cfg.sharing == "layer" else f"src{i}"] = src
                m.d.comb += [src.en.eq(run), src.load.eq(self.start)]
                lanes.append([src.states[j * w:(j + 1) * w] for j in range(P)])
            pick = (lambda i: lanes[0]) if cfg.sharing == "layer" else (lambda i: lanes[i])
            ra = [[pick(i)[j] for i in range(n)] for j in range(P)]
            rb = [[r[::-1] for r in row] for row in ra]
            return ra, rb
        m.submodules.src = src = VdcSource(b, P)
        m.d.comb += [src.en.eq(run), src.load.eq(self.start)]
        h, g = cfg.vdc_shifts() if cfg.sharing == "per_operand" else ([0] * n, [0] * n)
        # A digital shift is an XOR with a constant: inverters, no logic.
        ra = [[src.values[j * b:(j + 1) * b] ^ Const(h[i], b) for i in range(n)]
              for j in range(P)]
        rb = [[src.counts[j * b:(j + 1) * b] ^ Const(g[i], b) for i in range(n)]
              for j in range(P)]
        return ra, rb

    def _stanh(self, m, q, lane_ones, run):
        """The stream activation of neuron q: the saturating up/down counter stepped once
        per lane (lane order = stream order), and the count of its output ones."""
        cfg = self.cfg
        N, fb, P = cfg.fsm_states, cfg.fsm_bits, cfg.parallelism
        scale = cfg.fan_in if cfg.adder == "counter" else 1
        state = Signal(fb, init=N // 2, name=f"fsm{q}")
        s, outs = state, []
        for j, ones in enumerate(lane_ones):
            outs.append(s >= N // 2)
            v = Signal(signed(fb + max(1, scale.bit_length()) + 3), name=f"fsm{q}_sum{j}")
            m.d.comb += v.eq(s + ones * 2 - scale)
            nxt = Signal(fb, name=f"fsm{q}_next{j}")
            with m.If(v < 0):
                m.d.comb += nxt.eq(0)
            with m.Elif(v > N - 1):
                m.d.comb += nxt.eq(N - 1)
            with m.Else():
                m.d.comb += nxt.eq(v[:fb])
            s = nxt
        with m.If(self.start):
            m.d.sync += state.eq(N // 2)
        with m.Elif(run):
            m.d.sync += state.eq(s)
        ycnt = StreamCounter(cfg.count_width) if P == 1 else ParallelCounter(P, cfg.count_width)
        m.submodules[f"ycount{q}"] = ycnt
        m.d.comb += [ycnt.i.eq(Cat(*outs)), ycnt.en.eq(run), ycnt.clear.eq(self.start)]
        return ycnt.count

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        b, n, k, cw, L = cfg.value_bits, cfg.fan_in, cfg.neurons, cfg.count_width, cfg.length
        P = cfg.parallelism
        run = Signal()
        m.d.comb += run.eq(self.busy & ~self.start)

        # Lane j carries stream bit P*t + j in cycle t.
        ra, rb = self._sources(m, run)

        # Input streams, shared by the neurons: bit j*n + i is input i in lane j.
        xs = Signal(n * P)
        for j in range(P):
            for i in range(n):
                m.d.comb += xs[j * n + i].eq(self.x[i * b:(i + 1) * b] > ra[j][i])

        total = L * (n if cfg.adder == "counter" else 1)
        for q in range(k):
            prods = Signal(n * P, name=f"prod{q}")
            for j in range(P):
                for i in range(n):
                    wi = self.w[(q * n + i) * b:(q * n + i + 1) * b]
                    wbit = wi > rb[j][i]
                    xb = xs[j * n + i]
                    if cfg.encoding == "unipolar":
                        m.d.comb += prods[j * n + i].eq(xb & wbit)
                    else:
                        m.d.comb += prods[j * n + i].eq(~(xb ^ wbit))
            if cfg.adder == "counter":
                if cfg.activation == "stanh":
                    # per-lane sums feed the FSM; the count adds them up
                    lane_ones = [popcount(prods[j * n:(j + 1) * n]) for j in range(P)]
                    lane_sum = Signal(range(n * P + 1), name=f"ones{q}")
                    m.d.comb += lane_sum.eq(sum(lane_ones[1:], lane_ones[0]))
                    cnt = _Accumulator(len(lane_sum), cw)
                    m.d.comb += cnt.i.eq(lane_sum)
                else:
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
                lane_ones = [mux.y[j] for j in range(P)]
            m.submodules[f"count{q}"] = cnt
            m.d.comb += [cnt.en.eq(run), cnt.clear.eq(self.start)]
            c = cnt.count
            m.d.comb += self.count[q * cw:(q + 1) * cw].eq(c)
            yq = self.y[q * cw:(q + 1) * cw]
            if cfg.activation == "none":
                m.d.comb += yq.eq(c)
            elif cfg.activation == "sign":
                m.d.comb += yq.eq(Cat(c, Const(0, 1)) * 2 >= total)
            elif cfg.activation == "relu":
                twice = Signal(cw + 2, name=f"twice{q}")
                m.d.comb += twice.eq(c * 2)
                with m.If(twice > total):
                    m.d.comb += yq.eq(twice - total)
            else:
                m.d.comb += yq.eq(self._stanh(m, q, lane_ones, run))

        t = Signal(range(max(2, cfg.cycles)))
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


class ScLayerHost(wiring.Component):
    """Stand-alone SC layer for a host: :class:`ScLayer` behind three streams, with the
    weights and inputs held in register files loaded one code per beat.

    Weights go into a shift register of ``neurons * fan_in`` codes: it always holds the
    last ``neurons * fan_in`` codes accepted, so a host sends them in order (neuron 0
    inputs 0 .. n-1, then neuron 1, ...) and never addresses them. Weights are accepted
    whenever the layer is not running (``w_in.ready = ~busy``), so a new set can be loaded
    between vectors. An input vector is ``fan_in`` codes on ``x_in`` (input 0 first); the
    beat carrying the last one starts the layer the next cycle. After ``cfg.cycles``
    cycles ``y_out`` presents the ``neurons`` activations, neuron 0 first, and the unit
    takes the next vector once the last one is accepted. Per vector that is
    ``fan_in + 1 + cfg.cycles + neurons`` cycles without back-pressure.

    Attributes
    ----------
    w_in : In(stream.Signature(value_bits))
        Weight codes.
    x_in : In(stream.Signature(value_bits))
        Input codes.
    y_out : Out(stream.Signature(count_width))
        Activations (``count`` for ``activation: none``).
    busy : Out(1)
        From the last input beat until the last result beat is accepted.
    """

    def __init__(self, cfg: ScConfig):
        self.cfg = cfg
        super().__init__({
            "w_in": In(stream.Signature(cfg.value_bits)),
            "x_in": In(stream.Signature(cfg.value_bits)),
            "y_out": Out(stream.Signature(cfg.count_width)),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        cfg = self.cfg
        m = Module()
        b, n, k, cw = cfg.value_bits, cfg.fan_in, cfg.neurons, cfg.count_width
        m.submodules.layer = layer = ScLayer(cfg)

        wfile = Signal(k * n * b)
        xfile = Signal(n * b)
        m.d.comb += [layer.w.eq(wfile), layer.x.eq(xfile)]

        m.d.comb += self.w_in.ready.eq(~self.busy)
        with m.If(self.w_in.valid & self.w_in.ready):
            # the newest code enters at the top; after k n beats the first is at the bottom
            m.d.sync += wfile.eq(Cat(wfile[b:], self.w_in.payload) if k * n > 1
                                 else self.w_in.payload)

        xi = Signal(range(max(2, n)))  # never zero-width (Verilog [-1:0])
        go = Signal()
        q = Signal(range(max(2, k)))
        draining = Signal()
        m.d.comb += [layer.start.eq(go), self.x_in.ready.eq(~self.busy)]
        m.d.sync += go.eq(0)
        with m.If(self.x_in.valid & self.x_in.ready):
            m.d.sync += xfile.eq(Cat(xfile[b:], self.x_in.payload) if n > 1 else self.x_in.payload)
            with m.If(xi == n - 1):
                m.d.sync += [xi.eq(0), go.eq(1), self.busy.eq(1)]
            with m.Else():
                m.d.sync += xi.eq(xi + 1)

        ys = [layer.y[i * cw:(i + 1) * cw] for i in range(k)]
        m.d.comb += [self.y_out.valid.eq(draining),
                     self.y_out.payload.eq(Array(ys)[q] if k > 1 else ys[0])]
        with m.If(self.busy & ~go & ~draining & layer.done):
            m.d.sync += [draining.eq(1), q.eq(0)]
        with m.If(self.y_out.valid & self.y_out.ready):
            with m.If(q == k - 1):
                m.d.sync += [draining.eq(0), self.busy.eq(0)]
            with m.Else():
                m.d.sync += q.eq(q + 1)
        return m


def sc_top(cfg: ScConfig) -> wiring.Component:
    """The stand-alone SC module ``hwgen generate`` writes for a config's ``sc:`` section:
    :class:`ScLayerHost` (streams and register files around :class:`ScLayer`)."""
    return ScLayerHost(cfg)
