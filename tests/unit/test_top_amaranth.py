"""Whole accelerator on the Amaranth simulator: random shapes, the three dataflows,
random back-pressure, requantization, and the cycle model checked cycle for cycle."""
import numpy as np
import pytest

from hwgen.config import IS, OS, WS, MappingConfig
from hwgen.compiler import Quant
from hwgen.models.perf import program_timing
from sim_tb.amaranth_sim import run_program_amaranth, simulate

from ..fixtures import gemm_case, variant

SHAPES = [(1, 1, 1), (1, 7, 5), (6, 1, 9), (7, 5, 9), (9, 13, 6), (16, 4, 3), (3, 17, 8),
          (12, 8, 12)]


def run_and_check(cfg, prog, want, seed, stall_pct=0):
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed,
                               stall_pct=stall_pct)
    assert not res.timed_out, f"timed out (seed {seed})"
    got = prog.decode(cfg, res.dout)
    assert (got == want).all(), f"mismatch (seed {seed})\n{got}\n!=\n{want}"
    return res


@pytest.mark.parametrize("dataflow", [WS, OS, IS])
@pytest.mark.parametrize("shape", SHAPES)
def test_gemm_exact_and_cycles_match_model(dataflow, shape):
    cfg = variant(dataflow=dataflow)
    seed = hash(shape) & 0xFFFF
    prog, want = gemm_case(cfg, *shape, seed)
    res = run_and_check(cfg, prog, want, seed)
    t = program_timing(cfg, prog.cmds)
    assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles)


@pytest.mark.parametrize("dataflow", [WS, OS, IS])
@pytest.mark.parametrize("pe,in_bits", [(0, 8), (2, 8), (2, 16)])
def test_pe_pipeline_exact_and_cycles_match_model(dataflow, pe, in_bits):
    """Every ``pipeline.pe`` setting (2: the multiplier split into registered partial
    products) computes exact results, and the cycle model follows its latency."""
    cfg = variant(dataflow=dataflow, pe=pe, in_bits=in_bits)
    assert cfg.pe_stages == pe
    for shape in [(7, 5, 9), (3, 17, 8)]:
        seed = hash(shape) & 0xFFFF
        prog, want = gemm_case(cfg, *shape, seed)
        res = run_and_check(cfg, prog, want, seed)
        t = program_timing(cfg, prog.cmds)
        assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles), shape


@pytest.mark.parametrize("dataflow", [WS, OS, IS])
def test_back_pressure_on_every_stream(dataflow):
    cfg = variant(dataflow=dataflow)
    for seed in (11, 12):
        prog, want = gemm_case(cfg, 10, 9, 7, seed)
        res = run_and_check(cfg, prog, want, seed, stall_pct=40)
        assert res.cycles > program_timing(cfg, prog.cmds).cycles


@pytest.mark.parametrize("dataflow", [WS, OS, IS])
def test_extreme_operands(dataflow):
    cfg = variant(dataflow=dataflow)
    prog, want = gemm_case(cfg, 5, 1024, 6, 1, extreme=True)  # K at max_k: acc at its peak
    assert want[0][0] == 1024 * 128 * 128 == (1 << (cfg.acc_bits - 2))
    run_and_check(cfg, prog, want, 1)


@pytest.mark.parametrize("dataflow", [WS, OS, IS])
@pytest.mark.parametrize("relu", [False, True])
def test_bias_requant_relu(dataflow, relu):
    cfg = variant(dataflow=dataflow)
    prog, want = gemm_case(cfg, 9, 11, 10, 7, quant=Quant(raw=False, mult=300, shift=12, relu=relu))
    res = run_and_check(cfg, prog, want, 7)
    assert (res.cycles, res.compute_cycles) == (program_timing(cfg, prog.cmds).cycles,
                                                program_timing(cfg, prog.cmds).compute_cycles)


@pytest.mark.parametrize("rows,cols,beat,banks,dataflow", [
    (3, 5, 2, 2, WS), (5, 3, 4, 1, OS), (1, 4, 3, 2, OS), (4, 1, 1, 1, WS), (2, 6, 6, 2, OS),
    (3, 5, 2, 2, IS), (5, 3, 4, 1, IS), (1, 4, 3, 2, IS), (4, 1, 1, 1, IS),
])
def test_shapes_beats_and_banks(rows, cols, beat, banks, dataflow):
    cfg = variant(rows=rows, cols=cols, beat=beat, banks=banks, dataflow=dataflow)
    prog, want = gemm_case(cfg, 7, 10, 8, rows * 10 + cols)
    res = run_and_check(cfg, prog, want, 3)
    t = program_timing(cfg, prog.cmds)
    assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles)


@pytest.mark.parametrize("order", [("m", "n", "k"), ("n", "m", "k")])
@pytest.mark.parametrize("dataflow", [WS, OS, IS])
def test_explicit_mapping_splits_k(order, dataflow):
    # Chunks smaller than the GEMM in every dimension: K is split over accumulating
    # COMPUTEs, and loads double-buffer against computation.
    cfg = variant(dataflow=dataflow)
    mp = MappingConfig(tile_m=5, tile_k=6, tile_n=4, order=order)
    prog, want = gemm_case(cfg, 11, 13, 9, 5, mapping=mp)
    res = run_and_check(cfg, prog, want, 5)
    t = program_timing(cfg, prog.cmds)
    assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles)
    res = run_and_check(cfg, prog, want, 6, stall_pct=30)


def test_single_accumulator_bank_drains_before_next_chunk():
    # Regression: with one accumulator bank the program must read a finished output
    # chunk before the next COMPUTE overwrites it.
    cfg = variant(rows=3, cols=5, dataflow=WS, banks=1, beat=6)
    prog, want = gemm_case(cfg, 3, 15, 9, 694, mapping=MappingConfig(3, 15, 5))
    run_and_check(cfg, prog, want, 694)


def test_one_pe_array_single_row_split_k():
    # Regression: on a 1x1 weight-stationary array with M = 1, consecutive tiles hit the
    # same accumulator word every cycle; the tile period keeps the read-modify-write apart.
    cfg = variant(rows=1, cols=1, dataflow=WS, banks=1, beat=2)
    prog, want = gemm_case(cfg, 1, 14, 1, 58)
    res = run_and_check(cfg, prog, want, 58)
    assert res.cycles == program_timing(cfg, prog.cmds).cycles


def test_unknown_opcode_sets_error_and_later_commands_still_run():
    cfg = variant(dataflow=OS)
    prog, want = gemm_case(cfg, 4, 5, 6, 2)
    cmds = [0xF] + prog.cmds  # opcode 15 is not defined
    from hwgen.top import Accelerator
    res = run_program_amaranth(cfg, cmds, prog.din, prog.n_dout)
    assert (prog.decode(cfg, res.dout) == want).all()
    # the sticky error flag, observed directly
    dut = Accelerator(cfg)
    seen = []

    async def bench(ctx):
        ctx.set(dut.cmd.payload, 0xF)
        ctx.set(dut.cmd.valid, 1)
        await ctx.tick()
        ctx.set(dut.cmd.valid, 0)
        for _ in range(3):
            await ctx.tick()
        seen.append(ctx.get(dut.error))
        seen.append(ctx.get(dut.busy))
    simulate(dut, bench)
    assert seen == [1, 0]


@pytest.mark.parametrize("dataflow", [WS, IS])
def test_per_channel_requant(dataflow):
    """A multiplier, shift and bias per output column. Input-stationary, the accumulator
    words run along M (C^T), so the program sets the requantizer and reads one word per
    output column, and the host transposes the words back; the model counts those
    commands too."""
    cfg = variant(dataflow=dataflow, rows=3, cols=4, beat=3)
    quant = Quant(raw=False, mult=tuple(200 + 37 * c for c in range(10)),
                  shift=tuple(10 + c % 4 for c in range(10)), relu=False)
    prog, want = gemm_case(cfg, 9, 11, 10, 21, quant=quant)
    res = run_and_check(cfg, prog, want, 21)
    t = program_timing(cfg, prog.cmds)
    assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles)


def test_input_stationary_holds_activations_and_streams_weights():
    """The input-stationary buffers hold what the dataflow says: the input buffer's
    words are rows of the stationary A^T tiles (C elements along M), the weight buffer's
    the streamed columns of B (R elements along K); the result comes back as C^T."""
    from hwgen.compiler import input_words, weight_words
    cfg = variant(dataflow=IS, rows=3, cols=4)
    a = np.arange(5 * 7).reshape(5, 7)          # M x K
    b = 100 + np.arange(7 * 2).reshape(7, 2)    # K x N
    aw, bw = input_words(cfg, a), weight_words(cfg, b)
    assert aw.shape == (2 * 3 * 3, 4)           # per M tile of C: 3 K tiles of R words
    assert list(aw[1]) == list(a[0:4, 1])       # m tile 0, k tile 0, row 1: A[0:4, 1]
    assert list(aw[4]) == list(a[0:4, 4])       # m tile 0, k tile 1, row 1: A[0:4, 4]
    assert list(aw[9]) == [a[4, 0], 0, 0, 0]    # m tile 1 (padded), k tile 0, row 0
    assert bw.shape == (3 * 2, 3)               # one word per (k tile, n)
    assert list(bw[2 + 1]) == list(b[3:6, 1])   # k tile 1, n = 1


@pytest.mark.parametrize("dataflow", [WS, IS])
def test_residual_preload_and_per_channel_requant(dataflow):
    """C = A.B + residual x factor (per output column), then bias, multiplier and shift
    per column and ReLU, as a network layer with a residual add runs. Input-stationary,
    each LOAD_ACC word is one output column of C rows (its factor set on every lane)
    and each READ word one output column; the cycle model counts those commands."""
    from hwgen.compiler.program import GemmSource, emit_nest, per_word_quant
    from hwgen.models.gemm import gemm, random_operands, requantize
    from hwgen.models.perf import gemm_nest
    cfg = variant(dataflow=dataflow, rows=3, cols=4, beat=3)
    M, K, N = 9, 7, 6
    rng = np.random.default_rng(5)
    a, b = random_operands(rng, M, K, N, 8)
    r = rng.integers(-128, 128, size=(M, N))
    f = rng.integers(1, 300, size=N)
    quant = Quant(raw=False, mult=tuple(int(x) for x in rng.integers(100, 900, N)),
                  shift=tuple(int(x) for x in rng.integers(9, 14, N)), relu=True,
                  bias=tuple(int(x) for x in rng.integers(-3000, 3000, N)))
    nest = gemm_nest(M, K, N, MappingConfig(6, 4, 4), raw=False,
                     per_lane=per_word_quant(cfg, quant), preload=True)
    prog = emit_nest(cfg, nest, GemmSource(cfg, nest, a, b, preload=r, factors=f), quant)
    want = requantize(gemm(a, b) + r * f, quant.bias, quant.mult, quant.shift, 8, True)
    res = run_and_check(cfg, prog, want, 5)
    t = program_timing(cfg, prog.cmds)
    assert (res.cycles, res.compute_cycles) == (t.cycles, t.compute_cycles)
    from hwgen.models.perf import nest_timing
    assert nest_timing(cfg, nest).cycles == t.cycles
