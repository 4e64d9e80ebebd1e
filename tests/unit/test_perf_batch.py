"""The GEMM cycle model over many designs at once (hwgen.models.perf_batch): exact
against hwgen.models.perf.gemm_timing on random designs, shapes and mappings, the buffer
accesses it counts, and one call over many designs equal to one call per design."""
import random
from dataclasses import replace

from hwgen.compiler import default_mapping
from hwgen.config import ArrayConfig, MappingConfig, config_from_dict, load_config
from hwgen.models.perf import gemm_timing
from hwgen.models.perf_batch import fitting_mapping, gemm_batch

DF = {"os": "output_stationary", "ws": "weight_stationary", "is": "input_stationary"}
CODE = {"output_stationary": 0, "weight_stationary": 1, "input_stationary": 2}


def _params(cfg) -> dict:
    b = cfg.buffers
    return {"rows": cfg.R, "cols": cfg.C, "dataflow": CODE[cfg.array.dataflow.value],
            "beat": cfg.host.beat_elems, "banks_in": b.input.banks, "banks_w": b.weight.banks,
            "banks_acc": b.acc.banks, "depth_in": b.input.depth, "depth_w": b.weight.depth,
            "depth_acc": b.acc.depth, "pe": cfg.pe_stages, "requant": cfg.requant_stages}


def _random_design(rng: random.Random):
    R, C = rng.randint(1, 9), rng.randint(1, 9)
    df = rng.choice(["os", "ws", "is"])
    depth = [rng.choice([8, 16, 32, 64, 100, 256]) for _ in range(3)]
    depth[1], depth[2] = max(depth[1], R), max(depth[2], R)
    if df == "is":   # (there the input buffer holds the R-word stationary tiles)
        depth[0] = max(depth[0], R)
    banks = [rng.randint(1, 2) for _ in range(3)]
    beat = rng.randint(1, 9)
    d = {"name": "t", "array": {"rows": R, "cols": C, "dataflow": DF[df]},
         "precision": {"in_bits": 8, "max_k": 100000},
         "buffers": {b: {"depth": n, "banks": k}
                     for b, n, k in zip(("input", "weight", "acc"), depth, banks)},
         "host": {"beat_elems": beat},
         "pipeline": {"pe": rng.randint(0, 2), "requant": rng.randint(3, 6)},
         "features": {"im2col": df != "is"}}
    return config_from_dict(d)


def test_batch_cycle_model_equals_the_exact_one():
    rng = random.Random(7)
    checked = 0
    while checked < 120:
        cfg = _random_design(rng)
        M, K, N = rng.randint(1, 300), rng.randint(1, 300), rng.randint(1, 300)
        p = _params(cfg)
        if checked % 2:
            try:
                mp = default_mapping(cfg, M, K, N)
            except ValueError:
                continue
        else:
            tm, tk, tn, _ = (int(x) for x in fitting_mapping(p, M, K, N))
            if cfg.chunk_fits(tm, tk, tn) is not None:
                continue
            mp = MappingConfig(tm, tk, tn, rng.choice([("m", "n", "k"), ("n", "m", "k")]))
        t = gemm_timing(cfg, M, K, N, mp)
        b = gemm_batch(p, M, K, N, mp.tile_m, mp.tile_k, mp.tile_n,
                       0 if mp.order[0] == "m" else 1)
        assert (b.cycles, b.compute_cycles, b.macs, b.in_beats, b.w_beats, b.out_beats,
                b.commands) == (t.cycles, t.compute_cycles, t.macs, t.in_beats, t.w_beats,
                                t.out_beats, t.commands), (cfg, (M, K, N), mp)
        checked += 1


def test_batch_buffer_accesses():
    # 4x4 output-stationary, one chunk: per tile K input and K weight words, R acc words
    cfg = load_config("tiny")
    p = _params(cfg)
    b = gemm_batch(p, 8, 12, 8, 8, 12, 8, 0)
    tiles = 2 * 2
    assert b.in_reads == tiles * 12 and b.w_reads == tiles * 12
    assert b.acc_writes == tiles * 4
    assert b.in_writes == 2 * 12 and b.w_writes == 2 * 12   # ceil(M/R) K words each
    assert b.acc_reads == tiles * 4 + 8 * 2                 # + READ: 8 rows x 2 col tiles
    ws = cfg.replace(array=ArrayConfig(rows=4, cols=4, dataflow=DF["ws"]))
    b = gemm_batch(_params(ws), 8, 12, 8, 8, 12, 8, 0)
    tiles = 3 * 2   # ceil(K/R) x ceil(N/C)
    assert b.in_reads == tiles * 8 and b.w_reads == tiles * 4 and b.acc_writes == tiles * 8
    # input-stationary 4x4 on 8x12x6: ceil(K/R) x ceil(M/C) tiles, each R stationary
    # input words, N streamed weight words and N accumulator words; C^T read back
    is_ = cfg.replace(array=ArrayConfig(rows=4, cols=4, dataflow=DF["is"]),
                      features=replace(cfg.features, im2col=False))
    b = gemm_batch(_params(is_), 8, 12, 6, 8, 12, 6, 0)
    tiles = 3 * 2
    assert b.in_reads == tiles * 4 and b.w_reads == tiles * 6 and b.acc_writes == tiles * 6
    assert b.in_writes == 3 * 4 * 2 and b.w_writes == 3 * 6   # A^T tiles; B's columns per K tile
    assert b.acc_reads == tiles * 6 + 2 * 6                   # + READ: 6 words per row tile


def test_batch_equals_exact_on_input_stationary():
    """The batch evaluator against the scalar model on input-stationary designs only,
    including the fitting mapping (k, then m, then n as large as the buffers hold)."""
    rng = random.Random(11)
    checked = 0
    while checked < 60:
        cfg = _random_design(rng)
        if cfg.array.dataflow.value != DF["is"]:
            continue
        M, K, N = rng.randint(1, 200), rng.randint(1, 200), rng.randint(1, 200)
        p = _params(cfg)
        tm, tk, tn, _ = (int(x) for x in fitting_mapping(p, M, K, N))
        assert cfg.chunk_fits(tm, tk, tn) is None, (cfg, (tm, tk, tn))
        mp = MappingConfig(tm, tk, tn, rng.choice([("m", "n", "k"), ("n", "m", "k")]))
        t = gemm_timing(cfg, M, K, N, mp)
        b = gemm_batch(p, M, K, N, tm, tk, tn, 0 if mp.order[0] == "m" else 1)
        assert (b.cycles, b.compute_cycles, b.in_beats, b.w_beats, b.out_beats,
                b.commands) == (t.cycles, t.compute_cycles, t.in_beats, t.w_beats,
                                t.out_beats, t.commands), (cfg, (M, K, N), mp)
        checked += 1


def test_batch_cycle_model_vectorises():
    rng = random.Random(3)
    cfgs = [_random_design(rng) for _ in range(40)]
    ps = [_params(c) for c in cfgs]
    col = {k: [p[k] for p in ps] for k in ps[0]}
    maps = fitting_mapping(col, 200, 150, 90)
    whole = gemm_batch(col, 200, 150, 90, *maps)
    for i, p in enumerate(ps):
        one = gemm_batch(p, 200, 150, 90, *(m[i] for m in maps))
        assert one.cycles == whole.cycles[i] and one.in_reads == whole.in_reads[i]
