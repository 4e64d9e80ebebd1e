"""Simulation harness for the generated accelerator: see `sim_tb.runner`."""
