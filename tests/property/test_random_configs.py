"""Property tests: random valid configs elaborate and compute exactly; random invalid
ones are refused with a line naming the broken field."""
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen.config import ConfigError, config_from_dict
from hwgen.compiler import build_gemm_program
from hwgen.models.gemm import gemm, random_operands
from hwgen.models.perf import program_timing
from sim_tb.amaranth_sim import run_program_amaranth

valid_cfg = st.fixed_dictionaries({
    "array": st.fixed_dictionaries({
        "rows": st.integers(1, 5), "cols": st.integers(1, 5),
        "dataflow": st.sampled_from(["weight_stationary", "output_stationary", "ws", "os"]),
    }),
    "precision": st.fixed_dictionaries({
        "in_bits": st.integers(2, 16), "max_k": st.integers(16, 64),
    }),
    "buffers": st.fixed_dictionaries({
        b: st.fixed_dictionaries({"depth": st.integers(64, 200), "banks": st.integers(1, 2)})
        for b in ("input", "weight", "acc")
    }),
    "host": st.fixed_dictionaries({"beat_elems": st.integers(1, 6)}),
})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=valid_cfg, m=st.integers(1, 9), k=st.integers(1, 16), n=st.integers(1, 9),
       seed=st.integers(0, 2**16), stall=st.sampled_from([0, 0, 30]))
def test_valid_configs_compute_exactly(d, m, k, n, seed, stall):
    cfg = config_from_dict(d, "random.yaml")
    a, b = random_operands(np.random.default_rng(seed), m, k, n, cfg.precision.in_bits)
    prog = build_gemm_program(cfg, m, k, n, a, b)
    res = run_program_amaranth(cfg, prog.cmds, prog.din, prog.n_dout, seed=seed, stall_pct=stall)
    assert not res.timed_out
    assert (prog.decode(cfg, res.dout) == gemm(a, b)).all(), f"seed {seed}"
    if stall == 0:
        assert res.cycles == program_timing(cfg, prog.cmds).cycles


BREAKERS = [
    (("array", "rows"), st.sampled_from([0, 65, -1, "x", 2.5, None, True])),
    (("array", "cols"), st.sampled_from([0, 100, "4", [4]])),
    (("array", "dataflow"), st.text(min_size=1, max_size=8).filter(
        lambda s: s not in ("ws", "os", "weight_stationary", "output_stationary"))),
    (("precision", "in_bits"), st.sampled_from([0, 1, 17, 64, "8"])),
    (("precision", "acc_bits"), st.integers(4, 17)),  # too narrow for max_k >= 16 at in_bits >= 8
    (("buffers", "input", "banks"), st.sampled_from([0, 3, 4])),
    (("buffers", "acc", "depth"), st.sampled_from([0, -5, 1 << 21])),
    (("host", "beat_elems"), st.sampled_from([0, 65])),
]


@settings(max_examples=60, deadline=None)
@given(d=valid_cfg, which=st.integers(0, len(BREAKERS) - 1), data=st.data())
def test_invalid_configs_rejected_with_path(d, which, data):
    path, values = BREAKERS[which]
    bad = data.draw(values)
    target = d
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = bad
    if path == ("precision", "acc_bits"):
        d["precision"]["in_bits"] = max(d["precision"]["in_bits"], 8)
    if path[-1] == "rows" and bad is None:
        return  # None means "not given" for optional integers only; rows is required below
    try:
        config_from_dict(d, "random.yaml")
    except ConfigError as e:
        dotted = ".".join(path)
        assert any(line.startswith(f"random.yaml: {dotted}: ") for line in e.problems), e.problems
        assert all(line.count("\n") == 0 for line in e.problems)
    else:
        raise AssertionError(f"accepted {'.'.join(path)} = {bad!r}")
