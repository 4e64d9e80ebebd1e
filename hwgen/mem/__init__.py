from .scratchpad import Scratchpad
