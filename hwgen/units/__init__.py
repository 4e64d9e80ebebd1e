"""Special-purpose units (stochastic computing, block-circulant FFT), one file per family.

:func:`unit_designs` lists the stand-alone modules that ``hwgen generate`` writes next to
the accelerator for the optional config sections: each family module provides one
``*_top(section_cfg)`` that builds its top-level component from the section alone.
"""
from __future__ import annotations

SC_TOP_NAME = "hwgen_sc_layer"
CIRCULANT_TOP_NAME = "hwgen_circulant_layer"


def unit_designs(cfg) -> dict:
    """Top module name -> component for every special-unit section present in ``cfg``,
    in a fixed order."""
    out = {}
    if cfg.sc is not None:
        from .stochastic import sc_top
        out[SC_TOP_NAME] = sc_top(cfg.sc)
    if cfg.circulant is not None:
        from .circulant_fft import circulant_top
        out[CIRCULANT_TOP_NAME] = circulant_top(cfg.circulant)
    return out
