"""The bottom layer: facts both the hardware and the models rely on, with no knowledge
of either — the host protocol (opcodes, command fields, UART framing), beat packing,
the engine's schedule formulas, integer and fixed-point rules, LFSR polynomials.

Nothing here imports another part of hwgen (see docs/architecture.md).
"""
