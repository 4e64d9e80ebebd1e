"""Every generated design against the golden file: its Verilog's hash and its top-level
ports. A difference is either a bug or an intended change of the hardware, which is
recorded with ``make golden`` (python -m tests.golden.update) in the same commit."""
import pytest

from .designs import current, load


@pytest.fixture(scope="module")
def now():
    return current()


def test_the_same_designs(now):
    assert sorted(now) == sorted(load()), "designs added or removed: run make golden"


def test_byte_identical(now):
    golden = load()
    changed = [name for name in now if name in golden and now[name] != golden[name]]
    detail = [f"{n}: ports {golden[n].get('ports') == now[n].get('ports') and 'same' or 'differ'}"
              for n in changed]
    assert not changed, ("generated hardware differs from tests/golden/designs.json "
                         "(intended? run make golden): " + "; ".join(detail))
