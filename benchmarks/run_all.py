"""Run every benchmark in turn (a few minutes on two cores)."""
import subprocess
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
for script, extra in (("utilization.py", ["--sim", "verilator"]), ("generate_time.py", []),
                      ("sim_speed.py", []), ("plot_utilization.py", []),
                      ("is_dataflow.py", [])):
    print(f"== {script}", flush=True)
    subprocess.run([sys.executable, str(here / script), *extra], check=True)
