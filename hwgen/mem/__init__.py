from .scratchpad import Scratchpad

__all__ = ['Scratchpad']
