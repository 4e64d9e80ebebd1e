"""The guard an external tool runs under (``hwgen.tools.spawn``), as a script:

    python -I -S guard.py PARENT_PID COMMAND [ARGS...]

It leads a process group of its own (the caller starts it in a new session), starts the
command in that group and waits for it, exiting as the command did. When its parent (the
hwgen process) dies, even by SIGKILL, the kernel sends it SIGTERM (``PR_SET_PDEATHSIG``);
on SIGTERM, SIGINT or SIGHUP it ends the whole group (SIGTERM, then SIGKILL a second
later), so no ``make`` job, ``yosys-abc`` or ``graywolf`` outlives hwgen.

Standard library only: it runs in isolated mode, without site-packages and without
importing hwgen.
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
child = None


def end_group(signum=signal.SIGTERM, frame=None):
    """SIGTERM to the group, a second for the command to go, then SIGKILL to what is
    left of the group (this process included)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        while child is not None and time.monotonic() < deadline:
            if os.waitpid(child, os.WNOHANG)[0]:
                break
            time.sleep(0.02)
    except OSError:
        pass
    os.killpg(0, signal.SIGKILL)


def main():
    global child
    parent, argv = int(sys.argv[1]), sys.argv[2:]
    for s in SIGNALS:
        signal.signal(s, end_group)
    try:
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        end_group()
    child = os.fork()
    if child == 0:
        for s in SIGNALS:
            signal.signal(s, signal.SIG_DFL)
        try:
            os.execvp(argv[0], argv)
        except OSError as e:
            os.write(2, f"{argv[0]}: {e.strerror}\n".encode())
        os._exit(127)
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:  # die of the same signal, so the caller sees what the command saw
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    main()
