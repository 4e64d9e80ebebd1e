"""Buffers: banked scratchpads and the words they hold (hardware layer)."""
from .scratchpad import PairReadPortSignature, ReadPortSignature, Scratchpad, WritePortSignature
from .words import acc_word, input_word, weight_word

__all__ = ['PairReadPortSignature', 'ReadPortSignature', 'Scratchpad', 'WritePortSignature', 'acc_word', 'input_word', 'weight_word']
