"""Block-circulant layers on the parallel FFT units.

:class:`CirculantStreamLayer` is the layer ``hwgen generate`` writes: one forward FFT
and one IFFT shared over the blocks, weight and input-spectrum buffers, a multiply-
accumulate lane per frequency bin (half the spectrum for real input), stream interfaces
with back-pressure; :func:`hwgen.models.circulant_layer.layer_fixed` is its model.
:class:`CirculantLayer` is a small fully parallel variant with constant weights: one
forward FFT per input block and one IFFT per output block, a new vector every cycle.
:func:`circulant_top` picks the layer a ``circulant:`` section asks for.
"""
from __future__ import annotations

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from ..config import CirculantConfig
from ..lib.checks import reject as _reject
from .block_schedule import BlockSchedule, BlockScheduler
from .circulant_sdf_layer import CirculantSdfLayer
from .fft import CirculantFft, _neg_sat
from .real_fft import RealFftParallel
from .real_ifft import RealIfftParallel
from .rtl_arith import round_shift as _round_shift
from .rtl_arith import saturate as _sat


class CirculantLayer(wiring.Component):
    """Fully parallel block-circulant layer with constant frequency-domain weights.

    Computes :func:`hwgen.models.fft_fixed.circulant_fixed` bit for bit: forward FFTs of
    the ``n / k`` input blocks (register stages), the complex multiply-accumulate over
    input blocks for every output block and frequency bin (exact, then a register),
    round-half-up by ``2^shift`` with saturation to ``out_bits``, and IFFTs of the
    ``m / k`` output blocks, of which the real parts leave. Every piece is replicated, so
    this suits small layers; a new input vector may enter every cycle.

    Parameters
    ----------
    cfg : CirculantConfig
        ``parallel`` architecture, ``per_stage`` scaling.
    w_re, w_im : nested sequences of int, shape (m/k, n/k, k)
        Quantized frequency-domain weights (see ``quantize_freq_weights``).
    shift : int
        Right shift (with rounding) after the multiply-accumulate.

    Attributes
    ----------
    i_valid : In(1)
    i_x : In(ArrayLayout(signed(in_bits), n))
    o_valid : Out(1)
        ``i_valid`` delayed by :attr:`latency` cycles.
    o_y : Out(ArrayLayout(signed(out_bits), m))
    """

    def __init__(self, cfg: CirculantConfig, w_re, w_im, shift: int):
        if not isinstance(cfg, CirculantConfig):
            _reject(self, TypeError(f"cfg must be a CirculantConfig, not {cfg!r}"))
        if cfg.scaling != "per_stage":
            _reject(self, ValueError(f"CirculantLayer needs per_stage scaling, "
                                     f"not {cfg.scaling!r}"))
        if cfg.architecture != "parallel":
            _reject(self, ValueError(f"architecture {cfg.architecture!r} is not "
                                     "implemented; use 'parallel'"))
        p, q, k = cfg.blocks_out, cfg.blocks_in, cfg.k
        try:
            self.w_re = [[[int(v) for v in w_re[i][j]] for j in range(q)] for i in range(p)]
            self.w_im = [[[int(v) for v in w_im[i][j]] for j in range(q)] for i in range(p)]
        except (IndexError, TypeError, ValueError):
            _reject(self, ValueError(f"weights must have shape ({p}, {q}, {k})"))
        if any(len(self.w_re[i][j]) != k or len(self.w_im[i][j]) != k
               for i in range(p) for j in range(q)):
            _reject(self, ValueError(f"weights must have shape ({p}, {q}, {k})"))
        if not 0 <= shift < 64:
            _reject(self, ValueError(f"shift must be within 0..63, not {shift}"))
        self.cfg = cfg
        self.shift = shift
        super().__init__({
            "i_valid": In(1),
            "i_x": In(data.ArrayLayout(signed(cfg.in_bits), cfg.n)),
            "o_valid": Out(1),
            "o_y": Out(data.ArrayLayout(signed(cfg.out_bits), cfg.m)),
        })

    @property
    def latency(self) -> int:
        return 2 * self.cfg.stages + 1

    def elaborate(self, platform):
        cfg = self.cfg
        p, q, k = cfg.blocks_out, cfg.blocks_in, cfg.k
        m = Module()
        fwd_cfg = cfg.replace(real_input=True)
        fwd = []
        for j in range(q):
            u = CirculantFft(fwd_cfg)
            m.submodules[f"fft{j}"] = u
            m.d.comb += u.i_valid.eq(self.i_valid)
            for t in range(k):
                m.d.comb += u.i_re[t].eq(self.i_x[j * k + t])
            fwd.append(u)

        mac_valid = Signal()
        m.d.sync += mac_valid.eq(fwd[0].o_valid)
        ob = cfg.out_bits
        for i in range(p):
            inv = CirculantFft(cfg.inverse(), inverse=True)
            m.submodules[f"ifft{i}"] = inv
            m.d.comb += inv.i_valid.eq(mac_valid)
            for t in range(k):
                ar = ai = 0
                for j in range(q):
                    wr, wi = self.w_re[i][j][t], self.w_im[i][j][t]
                    xr, xi = fwd[j].o_re[t], fwd[j].o_im[t]
                    ar = ar + xr * wr - xi * wi
                    ai = ai + xi * wr + xr * wi
                yr = Signal(signed(ob), name=f"y{i}_{t}_re")
                yi = Signal(signed(ob), name=f"y{i}_{t}_im")
                m.d.sync += [yr.eq(_sat(_round_shift(ar, self.shift), ob)),
                             yi.eq(_sat(_round_shift(ai, self.shift), ob))]
                m.d.comb += [inv.i_re[t].eq(yr), inv.i_im[t].eq(yi)]
                m.d.comb += self.o_y[i * k + t].eq(inv.o_re[t])
            if i == 0:
                m.d.comb += self.o_valid.eq(inv.o_valid)
        return m


class CirculantStreamLayer(wiring.Component):
    """Block-circulant layer with a weight buffer and stream interfaces.

    Computes :func:`hwgen.models.circulant_layer.layer_fixed` bit for bit with one forward
    FFT, one multiply-accumulate lane per frequency bin and one IFFT, all shared over the
    blocks:

    * **input**: one block of k samples per ``x`` beat, the ``n / k`` blocks of a vector
      in order. Each goes through the forward :class:`CirculantFft` and its spectrum
      (``spectrum_words`` numbers) into one of two banks of the X buffer, so a vector
      enters while the previous one is being multiplied.
    * **multiply-accumulate**: for every output block i and input block j (j fastest) one
      cycle reads ``W_ij`` from the weight buffer and ``X_j`` from the X buffer and
      accumulates ``W_ij[f] * X_j[f]`` in ``cfg.bins`` lanes (bins 0 and k/2 with one real
      product each under ``real_input``, every other bin a complex product); it may start
      on block j as soon as ``X_j`` is stored. After ``n / k`` cycles the accumulators
      are rounded, shifted by ``cfg.shift`` and saturated (a register), the spectrum is
      completed by conjugate symmetry under ``real_input``, and the inverse
      :class:`CirculantFft` runs.
    * **output**: one block of k results per ``y`` beat, through a FIFO; a credit counter
      starts an output block only when its result has a FIFO place, so ``y.ready`` may
      fall at any time without losing data.

    The X banks, the weight buffer, the issue of the (i, j) pairs and the output FIFO
    with its credits are a :class:`hwgen.units.block_schedule.BlockScheduler`, the same as
    :class:`hwgen.units.dense_stream.DenseStreamLayer`'s; this class adds the FFTs and the
    multiply-accumulate lanes.

    Timing with ``y`` always ready and ``x`` always valid (S = ``cfg.transform_latency``:
    log2 k, plus one with ``real_fft_stages: 2``; p = m/k, q = n/k):
    one vector every :attr:`cycles_per_vector` cycles on average, ``p * q`` unless the
    two X banks limit it (layers with ``p * q <= S + 1``); the first ``y`` beat of a
    vector is valid :attr:`latency` cycles after the vector's first ``x`` beat is
    accepted.

    Parameters
    ----------
    cfg : CirculantConfig
        ``parallel`` architecture, ``per_stage`` or ``none`` scaling.

    Attributes
    ----------
    x : In(stream.Signature(ArrayLayout(signed(in_bits), k)))
        Input blocks.
    y : Out(stream.Signature(ArrayLayout(signed(out_bits), k)))
        Output blocks, ``y_i[t] = y[i * k + t]``.
    w_we : In(1)
        Write ``w_data`` to weight word ``w_addr`` at the next clock edge. Load the
        weights while no vector is in the layer.
    w_addr : In(range(p * q))
        ``i * q + j`` for the block of output block i and input block j.
    w_data : In(ArrayLayout(signed(w_bits), spectrum_words))
        Spectrum words of ``W_ij`` (:func:`hwgen.models.circulant_layer.pack_spectrum`).
    """

    MAC_STAGES = 4   # weight/X read, product register, accumulator, requantized register

    def __init__(self, cfg: CirculantConfig):
        if not isinstance(cfg, CirculantConfig):
            _reject(self, TypeError(f"cfg must be a CirculantConfig, not {cfg!r}"))
        # CirculantConfig has already refused block_float scaling and a real_fft without
        # its conditions (real input, per_stage, k >= 8).
        if cfg.architecture != "parallel":
            _reject(self, ValueError(f"architecture {cfg.architecture!r}: the layer is "
                                     "built from parallel FFTs"))
        self.cfg = cfg
        # a block is stored as its spectrum, S cycles after it enters; a result leaves
        # the requantization stages and then the IFFT
        self.schedule = BlockSchedule(cfg.blocks_out, cfg.blocks_in,
                                      store_delay=cfg.transform_latency,
                                      result_delay=self.MAC_STAGES + cfg.transform_latency)
        p, q = cfg.blocks_out, cfg.blocks_in
        super().__init__({
            "x": In(stream.Signature(data.ArrayLayout(signed(cfg.in_bits), cfg.k))),
            "y": Out(stream.Signature(data.ArrayLayout(signed(cfg.out_bits), cfg.k))),
            "w_we": In(1),
            "w_addr": In(range(max(p * q, 2))),
            "w_data": In(data.ArrayLayout(signed(cfg.w_bits), cfg.spectrum_words)),
        })

    @property
    def fifo_depth(self) -> int:
        """Output FIFO places: enough to keep the multiply-accumulate busy while the
        results of earlier blocks travel through the IFFT
        (:attr:`BlockSchedule.fifo_depth`)."""
        return self.schedule.fifo_depth

    @property
    def latency(self) -> int:
        """Cycles from accepting a vector's first ``x`` beat to its first ``y`` beat being
        valid, with back-to-back input and an idle layer: the q blocks enter, the last
        spectrum is stored ``S + 1`` cycles later (the multiply-accumulate keeps pace
        behind it), the requantization stages, the IFFT and the FIFO's two registers
        (:attr:`BlockSchedule.latency`)."""
        return self.schedule.latency

    @property
    def cycles_per_vector(self) -> float:
        """Steady-state cycles per vector: one weight block per cycle, ``p * q``, unless
        the two X banks limit it (small layers): a bank is taken when a vector's first
        block enters and freed ``S + 1 + p * q`` cycles later, so two vectors need at
        least that many cycles (:attr:`BlockSchedule.cycles_per_vector`)."""
        return self.schedule.cycles_per_vector

    def elaborate(self, platform):
        cfg = self.cfg
        k, h = cfg.k, cfg.k // 2
        ob, half = cfg.out_bits, cfg.real_input
        m = Module()

        # which bins carry an imaginary part in the spectrum words, and where
        if half:
            re_bins = list(range(h + 1))
            im_word = {f: h + f for f in range(1, h)}
        else:
            re_bins = list(range(k))
            im_word = {f: k + f for f in range(k)}

        # ---- input banks of spectra, weight buffer, (i, j) issue, output FIFO
        spectrum = data.ArrayLayout(signed(ob), cfg.spectrum_words)
        m.submodules.sched = sched = BlockScheduler(
            self.schedule, store_shape=spectrum,
            weight_shape=data.ArrayLayout(signed(cfg.w_bits), cfg.spectrum_words),
            result_shape=self.y.payload.shape())
        m.d.comb += [sched.w_we.eq(self.w_we), sched.w_addr.eq(self.w_addr),
                     sched.w_data.eq(self.w_data)]
        wiring.connect(m, wiring.flipped(self.y), sched.y)

        # ---- input side: forward FFT; its spectrum is stored S cycles after the block
        if cfg.real_fft:
            m.submodules.fft = fft = RealFftParallel(cfg.forward_transform(),
                                                     split_stages=cfg.real_fft_stages)
        else:
            m.submodules.fft = fft = CirculantFft(cfg.forward_transform())
        assert fft.latency == cfg.transform_latency
        m.d.comb += [sched.x_valid.eq(self.x.valid), self.x.ready.eq(sched.x_ready),
                     fft.i_valid.eq(self.x.valid & sched.x_ready),
                     fft.i_re.eq(self.x.payload)]
        if cfg.real_fft:   # already the half-spectrum words
            m.d.comb += sched.store_data.eq(fft.o_spec)
        else:
            for f in re_bins:
                m.d.comb += sched.store_data[f].eq(fft.o_re[f])
            for f, w in im_word.items():
                m.d.comb += sched.store_data[w].eq(fft.o_im[f])

        # stage 1: buffer words of a pair (sched.rd_*); stage 2: products;
        # stage 3: accumulators
        xw, ww = sched.rd_x, sched.rd_w
        pw = ob + cfg.w_bits     # a complex product's component fits exactly
        v2, first2, last2 = Signal(), Signal(), Signal()
        m.d.sync += [v2.eq(sched.rd_valid), first2.eq(sched.rd_first),
                     last2.eq(sched.rd_last)]
        v3 = Signal()
        m.d.sync += v3.eq(v2 & last2)
        acc_r, acc_i = {}, {}
        for f in re_bins:
            pr = Signal(signed(pw), name=f"prod{f}_re")
            ar = Signal(signed(cfg.acc_bits), name=f"acc{f}_re")
            if f in im_word:
                xr_, xi_ = xw[f], xw[im_word[f]]
                wr_, wi_ = ww[f], ww[im_word[f]]
                pi = Signal(signed(pw), name=f"prod{f}_im")
                ai = Signal(signed(cfg.acc_bits), name=f"acc{f}_im")
                m.d.sync += [pr.eq(xr_ * wr_ - xi_ * wi_), pi.eq(xr_ * wi_ + xi_ * wr_)]
                with m.If(v2):
                    m.d.sync += ai.eq(Mux(first2, pi, ai + pi))
                acc_i[f] = ai
            else:
                m.d.sync += pr.eq(xw[f] * ww[f])
            with m.If(v2):
                m.d.sync += ar.eq(Mux(first2, pr, ar + pr))
            acc_r[f] = ar

        # stage 4: requantize into the IFFT's input register
        inv_cfg = cfg.inverse_transform()
        if cfg.real_fft:
            m.submodules.ifft = ifft = RealIfftParallel(inv_cfg,
                                                        merge_stages=cfg.real_fft_stages)
        else:
            m.submodules.ifft = ifft = CirculantFft(inv_cfg, inverse=True)
        assert ifft.latency == cfg.transform_latency
        yr = {f: Signal(signed(ob), name=f"y{f}_re") for f in re_bins}
        yi = {f: Signal(signed(ob), name=f"y{f}_im") for f in acc_i}
        v4 = Signal()
        m.d.sync += v4.eq(v3)
        with m.If(v3):
            for f in re_bins:
                m.d.sync += yr[f].eq(_sat(_round_shift(acc_r[f], cfg.shift), ob))
            for f in acc_i:
                m.d.sync += yi[f].eq(_sat(_round_shift(acc_i[f], cfg.shift), ob))
        m.d.comb += ifft.i_valid.eq(v4)
        if cfg.real_fft:   # bins 0..k/2 in the half-spectrum packing
            for f in re_bins:
                m.d.comb += ifft.i_spec[f].eq(yr[f])
            for f, w in im_word.items():
                m.d.comb += ifft.i_spec[w].eq(yi[f])
        else:
            for f in range(k):
                if f in yr:
                    m.d.comb += ifft.i_re[f].eq(yr[f])
                    if f in yi:
                        m.d.comb += ifft.i_im[f].eq(yi[f])
                else:   # k/2 < f < k under real_input: the conjugate of bin k - f
                    m.d.comb += [ifft.i_re[f].eq(yr[k - f]),
                                 ifft.i_im[f].eq(_neg_sat(yi[k - f], ob))]

        # the IFFT's result goes to the output FIFO, whose credits the scheduler keeps
        m.d.comb += [sched.res_valid.eq(ifft.o_valid), sched.res_data.eq(ifft.o_re)]
        return m


def circulant_top(cfg: CirculantConfig) -> wiring.Component:
    """The stand-alone module ``hwgen generate`` writes for a config's ``circulant:``
    section: the block-circulant layer on parallel FFTs (:class:`CirculantStreamLayer`)
    or on streaming FFTs (:class:`hwgen.units.circulant_sdf_layer.CirculantSdfLayer`)."""
    if cfg.architecture == "parallel":
        return CirculantStreamLayer(cfg)
    return CirculantSdfLayer(cfg)
