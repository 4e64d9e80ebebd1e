"""cocotb test for the block-circulant LSTM cell
(`hwgen.units.circulant_lstm.CirculantLstm`, the module `hwgen generate` writes as
hwgen_lstm).

The cell has the Bayesian layer's ports (`w_in`, `x_in`, `y_out`, `busy`), so it runs
under the same test (sim_tb/test_bayesian.py): the weight and bias words go in on
`w_in`, each step's input codes (the first of a sequence with its `first` bit set) on
`x_in`, and the step's H hidden values come back from `y_out`, with random gaps on
every stream.
"""
from sim_tb.test_bayesian import run_vectors  # noqa: F401  (cocotb collects it here)
