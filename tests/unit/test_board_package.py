"""A network compiled by ``hwgen compile`` replayed on the board through the host driver
(``BoardLink.run_package``) over the simulated serial line (the board core on the
Amaranth simulator): one array (tiny), two pods behind their butterfly (PORT frames choose the
pod or engine, one after another), and two engines.
Every layer's output equals the test vectors the compiler wrote (hwgen's integer
reference)."""
import json

import numpy as np
import pytest

from hwgen.cli import main
from hwgen.compiler.package import load_package
from hwgen.config.loader import config_from_dict
from hwgen.host.driver import BoardLink, LinkError
from hwgen.lib import framing as fr
from sim_tb.board_sim import SimBoardTransport

from ..cli.test_network_cli import small_onnx

SMALL = "host: {beat_elems: 2}\nbuffers: {input: {depth: 64}, weight: {depth: 64}, acc: {depth: 64}}\n"
DESIGNS = {
    "single": "tiny",
    "pods": SMALL + "array: {rows: 2, cols: 2, dataflow: ws}\n"
                    "pods: {count: 2, interconnect: butterfly}\n",
    "engines": SMALL + "subaccelerators:\n"
                       "  - {name: ws, array: {rows: 2, cols: 4, dataflow: ws}}\n"
                       "  - {name: os, array: {rows: 4, cols: 2, dataflow: os}}\n",
}


def compiled(tmp_path, text):
    design = text
    if "\n" in text:
        (tmp_path / "d.yaml").write_text(text)
        design = str(tmp_path / "d.yaml")
    out = tmp_path / "pkg"
    code = main(["compile", design, "--model",
                 str(small_onnx(tmp_path / "small.onnx")), "-o", str(out), "-q"])
    assert code == 0
    return load_package(out), out


@pytest.mark.slow   # a serial line simulated bit by bit: one to a few minutes per design
@pytest.mark.parametrize("kind", list(DESIGNS))
def test_package_replays_on_the_board(tmp_path, kind):
    pkg, out = compiled(tmp_path, DESIGNS[kind])
    man = json.loads((out / "manifest.json").read_text())
    t = SimBoardTransport(pkg.cfg, fifo_bytes=64)
    link = BoardLink(pkg.cfg, t, window=64)
    try:
        env = link.run_package(pkg, np.load(out / "vectors" / "input.npy"))   # STATUS checked
        assert link.check().flags == 0                                    # after every layer
    finally:
        t.close()
    on = [d for d in man["layers"] if d["where"] != "host"]
    assert on
    for d in on:
        assert (env[d["output"]] == np.load(out / d["test_output"])).all(), d["name"]
    if kind == "pods":   # the layers were cut across several pods
        assert any(len(d["ports"]) > 1 for d in on)


def test_port_bookkeeping_without_a_board():
    """Each port's results are collected after its PORT frame; more beats than a port
    owes is an error, and a port the design does not have is refused before anything is
    sent."""
    cfg = config_from_dict({"array": {"rows": 2, "cols": 2}, "host": {"beat_elems": 2},
                            "pods": {"count": 2, "interconnect": "butterfly"}}, "test")

    class Scripted:   # ACKs every frame; port p answers with beats 10p, 10p + 1
        def __init__(self, owed, early=()):
            self.out, self.port, self.owed, self.early = bytearray(), 0, owed, early

        def write(self, data):
            i = 0
            while i < len(data):
                t = data[i]
                n = {fr.T_PORT: 2, fr.T_CMD: 1 + fr.CMD_BYTES}.get(t, 1 + cfg.pod.link.din_bytes)
                if t == fr.T_PORT:
                    self.port = data[i + 1]
                    if self.port in self.early:   # a beat of the port before, late
                        self.out += bytes([fr.R_DOUT]) + bytes(cfg.pod.link.dout_bytes)
                self.out += bytes([fr.R_ACK])
                if t == fr.T_PORT:
                    for b in self.owed.pop(self.port, []):
                        self.out += bytes([fr.R_DOUT]) + b.to_bytes(cfg.pod.link.dout_bytes, "little")
                i += n

        def read(self, n, timeout):
            data, self.out = bytes(self.out[:n]), self.out[n:]
            return data

    link = BoardLink(cfg, Scripted({1: [10, 11], 0: [0, 1]}))
    assert link.execute_ports([(1, [], [], 2), (0, [], [], 2)]) == [[10, 11], [0, 1]]
    link = BoardLink(cfg, Scripted({1: [10, 11, 12]}))
    with pytest.raises(LinkError, match="3 result beats while port 1 owed 2"):
        link.execute_ports([(1, [], [], 2), (0, [], [], 0)])
    link = BoardLink(cfg, Scripted({1: [10]}, early=(1,)))
    with pytest.raises(LinkError, match="some from port 0"):
        link.execute_ports([(1, [], [], 2)])
    with pytest.raises(ValueError, match="port 2"):
        BoardLink(cfg, Scripted({})).choose_port(2)
