"""The block-circulant layer on streaming FFTs: one sample per cycle, one multiply lane.

:class:`CirculantSdfLayer` is the ``streaming`` architecture of a ``circulant:`` section:
the same computation as :class:`hwgen.units.circulant_layer.CirculantStreamLayer` and
:func:`hwgen.models.circulant_layer.layer_fixed`, bit for bit, with the least arithmetic
that keeps a sample per cycle moving -- two single-path delay-feedback FFTs
(:class:`hwgen.units.fft.CirculantFftSdf`) and one complex multiply-accumulate --
and every buffer in :class:`amaranth.lib.memory.Memory` (block RAM on an FPGA, SRAM
macros in the ASIC flow).
"""
from __future__ import annotations

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from ..config import CirculantConfig
from ..lib.checks import reject
from .block_schedule import track_banks
from .fft import CirculantFftSdf
from .rtl_arith import round_shift, saturate

Y_BANKS = 3
"""Output-spectrum banks: one being accumulated, one being read by the inverse FFT, and one
that lets the multiply-accumulate run ahead while the inverse FFT is still reading."""


def _complex(bits: int) -> data.StructLayout:
    return data.StructLayout({"re": signed(bits), "im": signed(bits)})


def _neg_sat(v, bits: int):
    # -(-2^(b-1)) does not fit b bits; it saturates like the model's negation
    return Mux(v == -(1 << (bits - 1)), (1 << (bits - 1)) - 1, -v)


def _bit_reverse(v, bits: int):
    return Cat(*(v[bits - 1 - b] for b in range(bits))) if bits else v


def _sdf_frames(m: Module, name: str, stages: int, latency: int, feed, pad):
    """Follow the frames through a :class:`CirculantFftSdf` fed by ``feed``.

    The unit moves only when a sample enters and its result for input sample ``t`` leaves
    in the cycle after sample ``t + latency`` enters, so a count of the samples fed and
    one "real" bit per frame (four frames are enough: ``latency < 2k``) tell, for every
    sample fed, whether the result leaving in the next cycle belongs to a real frame
    or to padding, and its position in the frame. The count starts ``latency`` samples
    before frame 0, in frames whose bits are clear, so the unit's start-up garbage is
    never taken for a result."""
    k = 1 << stages
    count = Signal(stages + 2, name=f"{name}_fed")
    real = Signal(4, name=f"{name}_real")
    out = Signal(stages + 2, name=f"{name}_leaving")
    m.d.comb += out.eq(count - latency)
    with m.If(feed):
        m.d.sync += count.eq(count + 1)
        with m.If(count[:stages] == 0):
            m.d.sync += real.bit_select(count[stages:], 1).eq(~pad)
    leaving = Signal(name=f"{name}_leaving_real")
    m.d.comb += leaving.eq(feed & real.bit_select(out[stages:], 1))
    last = Signal(name=f"{name}_leaving_last")
    m.d.comb += last.eq(leaving & (out[:stages] == k - 1))
    return leaving, out[:stages], last


class CirculantSdfLayer(wiring.Component):
    """Block-circulant layer with streaming FFTs, one sample per stream beat.

    Computes :func:`hwgen.models.circulant_layer.layer_fixed` bit for bit. Notation:
    p = m/k output blocks, q = n/k input blocks, B = ``cfg.bins`` frequency bins per block
    (``k/2 + 1`` with ``real_input``, else k), S = log2 k, and L = k - 2 + S: a
    :class:`CirculantFftSdf` returns the result for sample t of its stream in the cycle
    after sample t + L enters.

    Architecture, input to output (every buffer is a ``Memory`` with one write and one
    read port):

    * **reorder buffer** (2 banks of k samples of ``in_bits``): ``x`` is written in natural
      order; a full bank is read in bit-reversed order, as the decimation-in-time FFT takes
      it, while the other bank fills.
    * **forward FFT**: one :class:`CirculantFftSdf` (real input, the section's scaling).
      Its spectrum leaves in natural bin order, and the B bins the layer uses are written
      one after the other into the
    * **X buffer** (2 banks of q*B complex words of ``out_bits``): a vector's q spectra, so
      the next vector is transformed while this one is multiplied. Bins 0 and k/2 of a
      real block are stored with a zero imaginary part, as the model's spectrum words
      define them.
    * **weight buffer** (p*q*B complex words of ``w_bits``, one bin per word at
      ``(i*q + j)*B + f``). The single lane reads one bin per cycle, so the buffer is
      narrow and deep instead of :class:`CirculantStreamLayer`'s p*q words of a whole
      spectrum (a memory k words wide and p*q deep would take one FPGA block RAM per
      36 bits of width, nearly empty). The loader takes the same packed spectrum words
      through ``w_addr``/``w_data``, holds the word in a shift register (2*B*w_bits
      flip-flops) and writes its B bins in B cycles (``w_ready``).
    * **multiply-accumulate**: one complex product per cycle (4 multipliers), in the order
      output block i, bin f, input block j (j fastest), so a single accumulator pair
      holds ``A_i[f] = sum_j W_ij[f] X_j[f]``, exact in ``acc_bits``. After the q-th
      product it is rounded half up by ``2^shift`` and saturated to ``out_bits`` on its
      way into the
    * **Y buffer** (3 banks of B complex words of ``out_bits``): one output block's
      spectrum per bank. A full bank is read in bit-reversed order into the inverse FFT
      while the next blocks are accumulated; under ``real_input`` the bins above k/2 are
      read from their mirrors, the imaginary part negated with saturation
      (:func:`hwgen.models.circulant_layer.complete_spectrum`).
    * **inverse FFT**: a second :class:`CirculantFftSdf` (``out_bits`` complex input,
      ``per_stage`` scaling, inverse); the real part of its natural-order result is ``y``.

    Schedule and control:

    * A :class:`CirculantFftSdf` only moves when a sample enters, so results still inside
      it are pushed out by the next frame or by a padding frame (whole frames keep its
      stages aligned; their results are dropped). Each FFT keeps a count of samples fed
      and a real/padding bit per frame to know what leaves.
    * The forward FFT starts a real frame when a reorder bank is full and, for a vector's
      first block, an X bank is free; it pads only when no real frame can start and the
      multiply-accumulate waits for results inside it. The inverse FFT starts a full
      Y bank, and pads only when none is full and no output block is being accumulated
      (that block arrives without further input; padding in front of it would delay it).
    * The multiply-accumulate starts bin f of an output block once bin f of the vector's
      last block is stored and, for bin 0, once a Y bank is free; a started block then
      never waits for more input, so every accepted vector leaves completely with no
      further ``x`` beat.
    * A vector's X bank is handed to the vector after the next one during the vector's
      last output block, from pair :attr:`release_pair` on: from there the lane issues a
      pair per cycle and the newcomer's writes land only on words already read. This is
      what lets the forward FFT run a vector ahead in the multiply-bound case.
    * ``x.ready`` and ``y.valid`` are registers. The inverse FFT's output register holds
      its result while ``y`` waits, and the inverse FFT advances only when that result is
      taken, so ``y.ready`` may fall in any cycle without loss or duplication.

    Timing with ``x`` always valid and ``y`` always ready (:attr:`cycles_per_vector`,
    :attr:`latency`): ``max(n, m, p*q*B)`` cycles per vector in steady state -- the
    input stream, the output stream or the multiply lane, whichever is slowest -- except
    for a layer of a single block (m = n = k), and
    ``n + 2L + q*B + 8 (+ max(0, q*B - k) when p > 1)`` cycles from a vector's first
    ``x`` beat to its first ``y`` beat in an idle layer.

    Limits: ``block_float`` scaling is rejected (one exponent per input block cannot share
    an accumulator, as for the parallel layer); the weights must be loaded while no vector
    is in the layer; with a vector behind it, a vector's last output block may leave up
    to ``q*B - k`` cycles later than in an idle layer (the inverse FFT waits for the next
    block rather than padding).

    Parameters
    ----------
    cfg : CirculantConfig
        ``streaming`` architecture, ``per_stage`` or ``none`` scaling.

    Attributes
    ----------
    x : In(stream.Signature(signed(in_bits)))
        Input samples, ``x[0] .. x[n-1]`` of each vector in order.
    y : Out(stream.Signature(signed(out_bits)))
        Output samples, ``y[0] .. y[m-1]`` of each vector in order.
    w_we : In(1)
        Offer ``w_data`` for weight word ``w_addr``; taken in a cycle where ``w_ready`` is
        high. Load the weights while no vector is in the layer.
    w_ready : Out(1)
        The loader is idle: low for B cycles after a word is taken.
    w_addr : In(range(p * q))
        ``i * q + j`` for the block of output block i and input block j; words with
        ``w_addr >= p * q`` are taken and dropped.
    w_data : In(ArrayLayout(signed(w_bits), spectrum_words))
        Spectrum words of ``W_ij`` (:func:`hwgen.models.circulant_layer.pack_spectrum`),
        the same words as :class:`CirculantStreamLayer`'s.
    """

    def __init__(self, cfg: CirculantConfig):
        if not isinstance(cfg, CirculantConfig):
            reject(self, TypeError(f"cfg must be a CirculantConfig, not {cfg!r}"))
        # CirculantConfig has already refused block_float scaling.
        if cfg.architecture != "streaming":
            reject(self, ValueError(f"architecture {cfg.architecture!r}: CirculantSdfLayer "
                                    "is the 'streaming' layer; CirculantStreamLayer builds "
                                    "'parallel'"))
        self.cfg = cfg
        p, q = cfg.blocks_out, cfg.blocks_in
        super().__init__({
            "x": In(stream.Signature(signed(cfg.in_bits))),
            "y": Out(stream.Signature(signed(cfg.out_bits))),
            "w_we": In(1),
            "w_ready": Out(1),
            "w_addr": In(range(max(p * q, 2))),
            "w_data": In(data.ArrayLayout(signed(cfg.w_bits), cfg.spectrum_words)),
        })

    # ---- timing ------------------------------------------------------------------------
    @property
    def fft_latency(self) -> int:
        """L = k - 2 + S: a streaming FFT returns sample t's result in the cycle after
        sample t + L enters."""
        return self.cfg.k - 2 + self.cfg.stages

    @property
    def release_pair(self) -> int:
        """r: the pair index (``f*q + j``) within a vector's last output block from which
        its X bank is handed to the vector after the next one (once every word of it is
        stored). From then on the lane reads word (j, f) at most ``f*q + j - r`` cycles
        after the release, and the newcomer's frame j, bin f is written at least
        ``L + 3 + j*k + f`` cycles after it, so ``r = max(0, (B-1)(q-1) - L - 3)`` keeps
        every write at or behind the read of the word it replaces (the read port returns
        the old word when both fall in one cycle)."""
        c = self.cfg
        return max(0, (c.bins - 1) * (c.blocks_in - 1) - self.fft_latency - 3)

    @property
    def mac_cycles(self) -> int:
        """Products per vector, one per cycle: ``p * q * B``."""
        c = self.cfg
        return c.blocks_out * c.blocks_in * c.bins

    @property
    def cycles_per_vector(self) -> float:
        """Steady-state cycles per vector with ``x`` always valid and ``y`` always ready:
        ``max(n, m, p*q*B)`` -- the input stream, the output stream or the multiply lane,
        whichever is slowest; the buffers and padding cost nothing in steady state.

        The exception is a layer of one block (p = q = 1): the X bank of vector v is free
        for vector v+2 only once bin B-1 of v is stored, ``B + L + 2`` cycles after v's
        first sample enters the FFT, while v+2 would enter 2k cycles after it. With
        ``B + L + 2 < 2k`` (``real_input`` and k >= 16) that costs nothing (k cycles),
        with equality one cycle (k + 1), otherwise the forward FFT pads one frame every
        two vectors (1.5 k on average)."""
        c = self.cfg
        if c.blocks_out * c.blocks_in > 1:
            return float(max(c.n, c.m, self.mac_cycles))
        slack = 2 * c.k - (c.bins + self.fft_latency + 2)
        if slack > 0:
            return float(c.k)
        return float(c.k + 1) if slack == 0 else 1.5 * c.k

    @property
    def latency(self) -> int:
        """Cycles from accepting a vector's first ``x`` beat to its first ``y`` beat being
        valid, for a vector that enters an idle layer back to back with ``y`` always
        ready and no vector behind it::

            n + 2L + q*B + 8 + (max(0, q*B - k) if p > 1 else 0)

        The first block fills the reorder bank (k cycles) and the q blocks then pass the
        forward FFT back to back; bin 0 of the last one is stored ``L + 2`` cycles after
        it enters and the multiply-accumulate starts the cycle after (``n + L + 3``); the
        first output block takes ``q*B`` products, 3 pipeline cycles and the full bank's
        flag, and its first result leaves the inverse FFT ``L + 1`` samples after its
        first one enters. When the next output block is still being accumulated
        (``q*B > k``), the inverse FFT waits for it instead of padding, which adds
        ``q*B - k``; in a stream the same wait can apply to a vector's last block while
        the next vector's first block is accumulated."""
        c = self.cfg
        qb = c.blocks_in * c.bins
        wait = max(0, qb - c.k) if c.blocks_out > 1 else 0
        return c.n + 2 * self.fft_latency + qb + 8 + wait

    def elaborate(self, platform):
        cfg = self.cfg
        k, S, h = cfg.k, cfg.stages, cfg.k // 2
        p, q, nb = cfg.blocks_out, cfg.blocks_in, cfg.bins
        L = self.fft_latency
        ob, wb = cfg.out_bits, cfg.w_bits
        half = cfg.real_input
        m = Module()

        # position of each bin's imaginary part in a packed spectrum word (none for bins
        # 0 and k/2 under real_input)
        im_word = {f: h + f for f in range(1, h)} if half else {f: k + f for f in range(k)}

        # ---- weight loader: a packed word in, its B bins out, one per cycle ------------
        m.submodules.wmem = wmem = Memory(shape=_complex(wb), depth=p * q * nb, init=[])
        w_wr, w_rd = wmem.write_port(), wmem.read_port()
        ld_re = [Signal(signed(wb), name=f"load{f}_re") for f in range(nb)]
        ld_im = [Signal(signed(wb), name=f"load{f}_im") for f in range(nb)]
        ld_busy = Signal()
        ld_left = Signal(range(nb))
        ld_addr = Signal(range(p * q * nb))
        m.d.comb += self.w_ready.eq(~ld_busy)
        with m.If(ld_busy):
            m.d.sync += ld_addr.eq(ld_addr + 1)
            m.d.sync += [ld_re[f].eq(ld_re[f + 1]) for f in range(nb - 1)]
            m.d.sync += [ld_im[f].eq(ld_im[f + 1]) for f in range(nb - 1)]
            m.d.sync += ld_left.eq(ld_left - 1)
            with m.If(ld_left == 0):
                m.d.sync += ld_busy.eq(0)
        with m.Elif(self.w_we & (self.w_addr < p * q)):
            m.d.sync += [ld_busy.eq(1), ld_left.eq(nb - 1), ld_addr.eq(self.w_addr * nb)]
            m.d.sync += [ld_re[f].eq(self.w_data[f]) for f in range(nb)]
            m.d.sync += [ld_im[f].eq(self.w_data[im_word[f]] if f in im_word else 0)
                         for f in range(nb)]
        m.d.comb += [w_wr.en.eq(ld_busy), w_wr.addr.eq(ld_addr),
                     w_wr.data.re.eq(ld_re[0]), w_wr.data.im.eq(ld_im[0])]

        # ---- reorder buffer: x in natural order, bank b = samples b*k .. b*k + k-1 -----
        m.submodules.rmem = rmem = Memory(shape=signed(cfg.in_bits), depth=2 * k, init=[])
        r_wr, r_rd = rmem.write_port(), rmem.read_port()
        in_bank = Signal()
        in_pos = Signal(S)
        in_full = Signal(2)         # bank holds a whole block not yet read
        m.d.comb += self.x.ready.eq(~in_full.bit_select(in_bank, 1))
        take = self.x.valid & self.x.ready
        m.d.comb += [r_wr.en.eq(take), r_wr.addr.eq(Cat(in_pos, in_bank)),
                     r_wr.data.eq(self.x.payload)]
        with m.If(take):
            m.d.sync += in_pos.eq(in_pos + 1)
            with m.If(in_pos == k - 1):
                m.d.sync += in_bank.eq(~in_bank)

        # ---- forward FFT: frames from the reorder buffer, or padding --------------------
        m.submodules.fft = fft = CirculantFftSdf(cfg.forward_transform())
        f_pos = Signal(S)
        f_pad = Signal()            # the frame being issued is padding
        f_bank = Signal()           # reorder bank of the next real frame
        f_j = Signal(range(max(q, 2)))
        f_xb = Signal()             # X bank of the vector being transformed
        x_busy = Signal(2)          # X bank taken by a vector until released (release_pair)
        f_flight = Signal(range(4))
        f_feed, f_feed_pad = Signal(), Signal()
        f_leave, f_bin, f_last = _sdf_frames(m, "fwd", S, L, f_feed, f_feed_pad)
        f_now = f_flight - f_last   # real frames with results still inside the FFT
        at0 = f_pos == 0
        can_real = in_full.bit_select(f_bank, 1) & ((f_j != 0) | ~x_busy.bit_select(f_xb, 1))
        start_real = at0 & can_real
        mac_waits = Signal()        # the multiply-accumulate waits for frames in flight
        start_pad = at0 & ~can_real & (f_now != 0) & mac_waits
        f_issue = start_real | start_pad | ~at0
        issue_pad = Mux(at0, start_pad, f_pad)
        m.d.comb += r_rd.addr.eq(Cat(_bit_reverse(f_pos, S), f_bank))
        m.d.sync += [f_feed.eq(f_issue), f_feed_pad.eq(issue_pad)]
        m.d.comb += [fft.i_valid.eq(f_feed), fft.i_re.eq(r_rd.data)]
        m.d.sync += f_flight.eq(f_now + start_real)
        with m.If(f_issue):
            m.d.sync += f_pos.eq(f_pos + 1)
        with m.If(at0):
            m.d.sync += f_pad.eq(start_pad)
        real_end = f_issue & ~issue_pad & (f_pos == k - 1)
        with m.If(real_end):
            m.d.sync += f_bank.eq(~f_bank)
            with m.If(f_j == q - 1):
                m.d.sync += [f_j.eq(0), f_xb.eq(~f_xb)]
            with m.Else():
                m.d.sync += f_j.eq(f_j + 1)
        for b in range(2):
            with m.If(take & (in_pos == k - 1) & (in_bank == b)):
                m.d.sync += in_full[b].eq(1)
            with m.Elif(real_end & (f_bank == b)):
                m.d.sync += in_full[b].eq(0)

        # ---- X buffer: the B used bins of every real frame, in order -------------------
        m.submodules.xmem = xmem = Memory(shape=_complex(ob), depth=2 * q * nb, init=[])
        x_wr, x_rd = xmem.write_port(), xmem.read_port()
        st_en, st_real_bin = Signal(), Signal()
        st_addr = Signal(range(2 * q * nb))
        keep = (f_bin <= h) if half else 1
        m.d.sync += st_en.eq(f_leave & keep)
        if half:
            m.d.sync += st_real_bin.eq((f_bin == 0) | (f_bin == h))
        with m.If(st_en):
            m.d.sync += st_addr.eq(Mux(st_addr == 2 * q * nb - 1, 0, st_addr + 1))
        m.d.comb += [x_wr.en.eq(st_en), x_wr.addr.eq(st_addr),
                     x_wr.data.re.eq(fft.o_re),
                     x_wr.data.im.eq(Mux(st_real_bin, 0, fft.o_im))]
        st_bank = st_addr >= q * nb
        filled = [Signal(range(q * nb + 1), name=f"xbank{b}_filled") for b in range(2)]

        # ---- multiply-accumulate issue: (i, f, j), j fastest ----------------------------
        mi = Signal(range(max(p, 2)))
        mf = Signal(range(max(nb, 2)))
        mj = Signal(range(max(q, 2)))
        mb = Signal()               # X bank being multiplied
        x_off = Signal(range(q * nb))       # j*B + f
        x_need = Signal(range(q * nb), init=(q - 1) * nb)  # bin f of the last block
        w_base = Signal(range(p * q * nb))  # i*q*B
        pair = Signal(range(q * nb))        # f*q + j within the output block
        x_early = Signal()          # the X bank is released; the block's data is all in
        y_wb = Signal(range(Y_BANKS))       # Y bank the current output block goes to
        y_busy = Signal(Y_BANKS)    # taken by an output block until the IFFT has read it
        y_full = Signal(Y_BANKS)    # its B bins are written
        blk_start = (mf == 0) & (mj == 0)
        mb_filled = Array(filled)[mb]
        issue = (((mb_filled > x_need) | x_early)
                 & (~blk_start | ~y_busy.bit_select(y_wb, 1)))
        m.d.comb += mac_waits.eq(x_busy.bit_select(mb, 1) & ~x_early
                                 & (mb_filled != q * nb))
        m.d.comb += [x_rd.addr.eq(Mux(mb, q * nb, 0) + x_off),
                     w_rd.addr.eq(w_base + x_off)]
        blk_end = (mf == nb - 1) & (mj == q - 1)
        vec_end = blk_end & (mi == p - 1)
        with m.If(issue):
            with m.If(mj == q - 1):
                m.d.sync += mj.eq(0)
                with m.If(mf == nb - 1):
                    m.d.sync += [mf.eq(0), x_off.eq(0), x_need.eq((q - 1) * nb),
                                 y_wb.eq(Mux(y_wb == Y_BANKS - 1, 0, y_wb + 1))]
                    with m.If(mi == p - 1):
                        m.d.sync += [mi.eq(0), w_base.eq(0), mb.eq(~mb)]
                    with m.Else():
                        m.d.sync += [mi.eq(mi + 1), w_base.eq(w_base + q * nb)]
                with m.Else():
                    m.d.sync += [mf.eq(mf + 1), x_off.eq(mf + 1),
                                 x_need.eq(x_need + 1)]
            with m.Else():
                m.d.sync += [mj.eq(mj + 1), x_off.eq(x_off + nb)]
        with m.If(issue):
            m.d.sync += pair.eq(Mux(blk_end, 0, pair + 1))
        # The last output block of a vector releases the X bank early: from its pair r on
        # (and once every word is stored) it issues a pair per cycle, and the next vector's
        # writes into the bank, at least L + 3 cycles behind the release, then land on
        # words it has already read (see release_pair).
        release = Signal(2)
        r = self.release_pair
        early = Signal()
        m.d.comb += early.eq((mi == p - 1) & ((pair >= r) if r else 1)
                             & (mb_filled == q * nb) & ~x_early)
        m.d.comb += release.eq(Mux(issue & early, Mux(mb, 2, 1), 0))
        with m.If(issue & vec_end):
            m.d.sync += x_early.eq(0)
        with m.Elif(issue & early):
            m.d.sync += x_early.eq(1)
        track_banks(m, x_busy, filled, take=start_real & (f_j == 0), take_bank=f_xb,
                    release=release, store=st_en, store_bank=st_bank)

        # stage 1: buffer words; stage 2: products; stage 3: accumulator
        v1, first1, last1, yend1 = Signal(), Signal(), Signal(), Signal()
        ya1 = Signal(range(Y_BANKS * nb))
        yb1 = Signal.like(y_wb)
        m.d.sync += [v1.eq(issue), first1.eq(mj == 0), last1.eq(mj == q - 1),
                     yend1.eq(mf == nb - 1), ya1.eq(y_wb * nb + mf), yb1.eq(y_wb)]
        pw = ob + wb
        pr, pi = Signal(signed(pw)), Signal(signed(pw))
        xr, xi = x_rd.data.re, x_rd.data.im
        wr, wi = w_rd.data.re, w_rd.data.im
        m.d.sync += [pr.eq(xr * wr - xi * wi), pi.eq(xr * wi + xi * wr)]
        v2, first2, last2, yend2 = Signal(), Signal(), Signal(), Signal()
        ya2 = Signal.like(ya1)
        yb2 = Signal.like(y_wb)
        m.d.sync += [v2.eq(v1), first2.eq(first1), last2.eq(last1), yend2.eq(yend1),
                     ya2.eq(ya1), yb2.eq(yb1)]
        acc_r = Signal(signed(cfg.acc_bits))
        acc_i = Signal(signed(cfg.acc_bits))
        with m.If(v2):
            m.d.sync += [acc_r.eq(Mux(first2, pr, acc_r + pr)),
                         acc_i.eq(Mux(first2, pi, acc_i + pi))]
        v3, yend3 = Signal(), Signal()
        ya3 = Signal.like(ya1)
        yb3 = Signal.like(y_wb)
        m.d.sync += [v3.eq(v2 & last2), yend3.eq(v2 & last2 & yend2), ya3.eq(ya2),
                     yb3.eq(yb2)]

        # ---- Y buffer: requantized on the way in ----------------------------------------
        m.submodules.ymem = ymem = Memory(shape=_complex(ob), depth=Y_BANKS * nb, init=[])
        y_wr, y_rd = ymem.write_port(), ymem.read_port()
        m.d.comb += [y_wr.en.eq(v3), y_wr.addr.eq(ya3),
                     y_wr.data.re.eq(saturate(round_shift(acc_r, cfg.shift), ob)),
                     y_wr.data.im.eq(saturate(round_shift(acc_i, cfg.shift), ob))]

        # ---- inverse FFT: full Y banks in bit-reversed order, or padding ----------------
        m.submodules.ifft = ifft = CirculantFftSdf(cfg.inverse_transform(), inverse=True)
        i_pos = Signal(S)
        i_pad = Signal()
        i_bank = Signal(range(Y_BANKS))
        i_flight = Signal(range(4))
        sv, s_pad, s_conj = Signal(), Signal(), Signal()     # the read port's word
        y_has = Signal()
        i_feed = Signal()
        m.d.comb += i_feed.eq(sv & (~y_has | self.y.ready))
        i_leave, _, i_last = _sdf_frames(m, "inv", S, L, i_feed, s_pad)
        i_now = i_flight - i_last
        adv = ~sv | i_feed
        iat0 = i_pos == 0
        mac_mid = (y_busy & ~y_full).any()
        i_start_real = iat0 & y_full.bit_select(i_bank, 1)
        i_start_pad = iat0 & ~y_full.bit_select(i_bank, 1) & (i_now != 0) & ~mac_mid
        i_issue = adv & (i_start_real | i_start_pad | ~iat0)
        i_issue_pad = Mux(iat0, i_start_pad, i_pad)
        fbin = _bit_reverse(i_pos, S)
        if half:
            mirror = fbin > h
            src = Mux(mirror, k - fbin, fbin)
        else:
            mirror, src = 0, fbin
        m.d.comb += [y_rd.en.eq(adv), y_rd.addr.eq(i_bank * nb + src)]
        with m.If(adv):
            m.d.sync += [sv.eq(i_issue), s_pad.eq(i_issue_pad), s_conj.eq(mirror)]
        m.d.sync += i_flight.eq(i_now + (i_issue & i_start_real))
        with m.If(i_issue):
            m.d.sync += i_pos.eq(i_pos + 1)
        with m.If(adv & iat0):
            m.d.sync += i_pad.eq(i_start_pad)
        i_end = i_issue & ~i_issue_pad & (i_pos == k - 1)
        with m.If(i_end):
            m.d.sync += i_bank.eq(Mux(i_bank == Y_BANKS - 1, 0, i_bank + 1))
        ym = y_rd.data
        m.d.comb += [ifft.i_valid.eq(i_feed), ifft.i_re.eq(ym.re),
                     ifft.i_im.eq(Mux(s_conj, _neg_sat(ym.im, ob), ym.im))]
        for b in range(Y_BANKS):
            with m.If(issue & blk_start & (y_wb == b)):
                m.d.sync += y_busy[b].eq(1)
            with m.Elif(i_end & (i_bank == b)):
                m.d.sync += y_busy[b].eq(0)
            with m.If(yend3 & (yb3 == b)):
                m.d.sync += y_full[b].eq(1)
            with m.Elif(i_end & (i_bank == b)):
                m.d.sync += y_full[b].eq(0)

        # ---- output: the inverse FFT's result stays on its output while y waits ---------
        with m.If(i_feed):
            m.d.sync += y_has.eq(i_leave)
        with m.Elif(self.y.ready):
            m.d.sync += y_has.eq(0)
        m.d.comb += [self.y.valid.eq(y_has), self.y.payload.eq(ifft.o_re)]
        return m
