"""cocotb test for the pattern-pruned sparse convolution
(`hwgen.units.pattern_conv.PatternConv`, the module `hwgen generate` writes as
hwgen_pattern_conv).

The unit has the Bayesian layer's ports (`w_in`, `x_in`, `y_out`, `busy`), so it runs
under the same test (sim_tb/test_bayesian.py): the kernel words go in on `w_in`, each
image's codes on `x_in`, and `results` results per image come back from `y_out` with
random gaps on every stream.
"""
from sim_tb.test_bayesian import run_vectors  # noqa: F401  (cocotb collects it here)
