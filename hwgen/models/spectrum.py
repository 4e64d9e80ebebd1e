"""The packing of a block's spectrum into words (the layer's weight and spectrum
buffers): with ``real_input`` the ``k/2 + 1`` bins of a real block's conjugate-symmetric
spectrum as ``re[0..k/2]`` then ``im[1..k/2-1]`` (k words), else ``re`` then ``im``
(2k words)."""
from __future__ import annotations

import numpy as np

from ..config import FftConfig
from ..lib.fixed import saturate


def pack_spectrum(cfg: FftConfig, re, im) -> np.ndarray:
    """(..., k) real and imaginary parts -> (..., spectrum_words) (see the module doc)."""
    re, im = np.asarray(re, dtype=np.int64), np.asarray(im, dtype=np.int64)
    h = cfg.k // 2
    if cfg.real_input:
        return np.concatenate([re[..., :h + 1], im[..., 1:h]], axis=-1)
    return np.concatenate([re, im], axis=-1)


def unpack_spectrum(cfg: FftConfig, words) -> tuple[np.ndarray, np.ndarray]:
    """(..., spectrum_words) -> real and imaginary parts of the ``cfg.bins`` bins the
    layer computes (imaginary parts of bins 0 and k/2 are zero with ``real_input``)."""
    words = np.asarray(words, dtype=np.int64)
    if words.shape[-1] != cfg.spectrum_words:
        raise ValueError(f"expected {cfg.spectrum_words} words per spectrum, "
                         f"got {words.shape[-1]}")
    k, h = cfg.k, cfg.k // 2
    if not cfg.real_input:
        return words[..., :k], words[..., k:]
    re = words[..., :h + 1]
    zero = np.zeros(words.shape[:-1] + (1,), dtype=np.int64)
    im = np.concatenate([zero, words[..., h + 1:], zero], axis=-1)
    return re, im


def complete_spectrum(cfg: FftConfig, re, im) -> tuple[np.ndarray, np.ndarray]:
    """Bins ``0..k/2`` of a conjugate-symmetric spectrum -> all k bins, the mirrored
    imaginary parts negated with saturation to ``out_bits``."""
    h = cfg.k // 2
    mr = re[..., h - 1:0:-1]
    mi = saturate(-im[..., h - 1:0:-1], cfg.out_bits)
    return (np.concatenate([re, mr], axis=-1), np.concatenate([im, mi], axis=-1))
