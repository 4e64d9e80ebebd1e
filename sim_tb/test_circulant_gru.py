"""cocotb test for the block-circulant GRU cell
(`hwgen.units.circulant_gru.CirculantGru`, the module `hwgen generate` writes as
hwgen_gru).

The cell has the Bayesian layer's ports (`w_in`, `x_in`, `y_out`, `busy`), so it runs
under the same test (sim_tb/test_bayesian.py), as the LSTM cell does: the weight and
bias words on `w_in`, each step's input codes on `x_in`, the step's H hidden values
from `y_out`, with random gaps on every stream.
"""
from sim_tb.test_bayesian import run_vectors  # noqa: F401  (cocotb collects it here)
