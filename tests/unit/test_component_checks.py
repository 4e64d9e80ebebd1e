"""Components refuse bad constructor arguments with one line naming the class and the
parameter, before anything is elaborated; configs refuse bad values on construction."""
import pytest

from hwgen.array import OsMesh, SystolicArray, WsMesh
from hwgen.config import (ArrayConfig, BufferConfig, BuffersConfig, ConfigError, Dataflow, PrecisionConfig,
                          load_config)
from hwgen.ctrl import ComputeEngine, HostInterface
from hwgen.ctrl.host_if import Requantizer
from hwgen.mem import Scratchpad
from hwgen.pe import OsPE, WsPE
from hwgen.top import Accelerator


@pytest.mark.parametrize("make, exc, message", [
    (lambda: WsPE(0, 16), ValueError, r"^WsPE in_bits must be an integer between 2 and 32, got 0$"),
    (lambda: OsPE(8, "16"), TypeError, r"^OsPE acc_bits must be an integer between 2 and 128, got '16'$"),
    (lambda: OsPE(8, 12), ValueError, r"^OsPE acc_bits=12 cannot hold one product of two 8-bit operands \(needs at least 15\)$"),
    (lambda: WsMesh(0, 4, 8, 20), ValueError, r"^WsMesh rows must be an integer between 1 and 64, got 0$"),
    (lambda: OsMesh(4, 65, 8, 20), ValueError, r"^OsMesh cols must be an integer between 1 and 64, got 65$"),
    (lambda: SystolicArray({"rows": 4}, 8, 20), TypeError, r"^SystolicArray cfg must be a ArrayConfig"),
    (lambda: Scratchpad(BufferConfig(), 8, n_read=0), ValueError, r"^Scratchpad n_read must be an integer between 1 and 8, got 0$"),
    (lambda: Scratchpad(None, 8), TypeError, r"^Scratchpad cfg must be a BufferConfig, got None$"),
    (lambda: Requantizer(26, 40, 16), ValueError, r"^Requantizer out_bits must be an integer between 2 and 26, got 40$"),
    (lambda: ComputeEngine("tiny"), TypeError, r"^ComputeEngine cfg must be a AcceleratorConfig"),
    (lambda: HostInterface(None), TypeError, r"^HostInterface cfg must be a AcceleratorConfig"),
    (lambda: Accelerator({}), TypeError, r"^Accelerator cfg must be a AcceleratorConfig"),
])
def test_components_refuse_bad_arguments(make, exc, message):
    with pytest.raises(exc, match=message):
        make()


def test_config_replace_with_a_bad_value_is_refused():
    cfg = load_config("tiny")
    with pytest.raises(ConfigError) as e:
        cfg.replace(array=ArrayConfig(rows=0, dataflow="diagonal"))
    assert e.value.problems == [
        "array.rows: must be between 1 and 64, got 0",
        "array.dataflow: must be one of weight_stationary, output_stationary, "
        "input_stationary, got 'diagonal'"]
    with pytest.raises(ConfigError, match=r"^precision\.out_bits: must not exceed the "
                                          r"accumulator width 17, got 30$"):
        PrecisionConfig(in_bits=8, out_bits=30, max_k=2)
    with pytest.raises(ConfigError, match=r"^array: must be a ArrayConfig, got a mapping"):
        cfg.replace(array={"rows": 4})
    with pytest.raises(ConfigError, match=r"^buffers: too small for even one array tile: "
                                          r"acc buffer needs 4 words per bank"):
        cfg.replace(buffers=BuffersConfig(acc=BufferConfig(depth=2)))


def test_choices_are_enums_and_aliases_resolve():
    a = ArrayConfig(dataflow="ws")
    assert a.dataflow is Dataflow.WS and a.dataflow == "weight_stationary"
    assert ArrayConfig(dataflow=Dataflow.OS).dataflow is Dataflow.OS
