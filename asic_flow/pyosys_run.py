"""Run a Yosys script with the pyosys wheel (which has no ``yosys`` command).

    python asic_flow/pyosys_run.py SCRIPT LOG

Runs in its own process so a Yosys crash or error ends only this run, and the log goes
to LOG as the ``yosys -l`` option would write it. Exit status 1 on a Yosys error.
"""
import sys


def main(argv=None) -> int:
    script, log = (argv if argv is not None else sys.argv[1:])
    from pyosys import libyosys as ys
    design = ys.Design()
    try:
        ys.run_pass(f"tee -q -o {log} script {script}", design)
    except Exception as e:  # Yosys errors arrive as a RuntimeError-like exception
        with open(log, "a") as f:
            f.write(f"\nERROR: {e}\n")
        print(f"yosys: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
