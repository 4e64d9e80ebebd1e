"""Software on top of the models: workloads -> programs for the generated hardware.

Layer 3 (with :mod:`hwgen.host` and :mod:`hwgen.nn`): imports :mod:`hwgen.lib`,
:mod:`hwgen.config` and :mod:`hwgen.models`, never the hardware it programs.
"""
from ..lib.errors import WorkloadError
from .gemm import build_gemm_program
from .mapping import default_mapping
from .program import (Program, Quant, acc_rows_per_ntile, check_gemm, emit_gemm_program,
                      input_words, weight_words)

__all__ = ["WorkloadError", "build_gemm_program", "default_mapping", "Program", "Quant",
           "acc_rows_per_ntile", "check_gemm", "emit_gemm_program", "input_words",
           "weight_words"]
