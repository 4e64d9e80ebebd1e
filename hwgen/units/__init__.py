"""Special-purpose units (stochastic computing, FFTs and block-circulant layers, Gaussian
generators and Bayesian layers, pattern-pruned convolution, block-circulant LSTM and GRU,
int8 baselines), one file per component family.

:func:`unit_designs` lists the stand-alone modules that ``hwgen generate`` writes next to
the accelerator for the optional config sections: each family provides one
``*_top(section_cfg)`` that builds its top-level component from the section alone.
"""
from __future__ import annotations

from .bayesian import bayesian_top
from .circulant_layer import circulant_top
from .circulant_gru import gru_top
from .circulant_lstm import lstm_top
from .grng import grng_top
from .pattern_conv import pattern_conv_top
from .stochastic import sc_top

SC_TOP_NAME = "hwgen_sc_layer"
CIRCULANT_TOP_NAME = "hwgen_circulant_layer"
GRNG_TOP_NAME = "hwgen_grng"
BAYESIAN_TOP_NAME = "hwgen_bayesian_layer"
PATTERN_CONV_TOP_NAME = "hwgen_pattern_conv"
LSTM_TOP_NAME = "hwgen_lstm"
GRU_TOP_NAME = "hwgen_gru"


def unit_designs(cfg) -> dict:
    """Top module name -> component for every special-unit section present in ``cfg``,
    in a fixed order."""
    out = {}
    if cfg.sc is not None:
        out[SC_TOP_NAME] = sc_top(cfg.sc)
    if cfg.circulant is not None:
        out[CIRCULANT_TOP_NAME] = circulant_top(cfg.circulant)
    if cfg.grng is not None:
        out[GRNG_TOP_NAME] = grng_top(cfg.grng)
    if cfg.bayesian is not None:
        out[BAYESIAN_TOP_NAME] = bayesian_top(cfg.bayesian)
    if cfg.pattern_conv is not None:
        out[PATTERN_CONV_TOP_NAME] = pattern_conv_top(cfg.pattern_conv)
    if cfg.lstm is not None:
        out[LSTM_TOP_NAME] = lstm_top(cfg.lstm)
    if cfg.gru is not None:
        out[GRU_TOP_NAME] = gru_top(cfg.gru)
    return out
