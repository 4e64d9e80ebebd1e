"""Accelerator (and mapping) search: a design space, exact and screened evaluation, the
algorithms, and the search's output directory (``hwgen search``).

Software layer: imports the compiler, the frontend's products (a QNet), the models and
the config; never the hardware or the flows (``hwgen search --verify`` runs those from
the command line).
"""
from .algorithms import ALGORITHMS, run_search
from .evaluate import OBJECTIVES, Constraints, Evaluator, Record, Target, pareto
from .run import search
from .space import DEFAULT, Space, load_space, make_space
from .workload import Workload, exact, gemm_workload

__all__ = ["ALGORITHMS", "OBJECTIVES", "Constraints", "DEFAULT", "Evaluator", "Record",
           "Space", "Target", "Workload", "exact", "gemm_workload", "load_space",
           "make_space", "pareto", "run_search", "search"]
