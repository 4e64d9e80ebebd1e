"""The board core of a multi-pod or heterogeneous design on the Amaranth simulator: PORT
frames choose the pod (engine) the UART bridge talks to; a GEMM on one port, then
another on a second, both bit-exact; a PORT frame naming no port is a link error."""
import pytest

from hwgen.board import BoardCore
from hwgen.config.loader import config_from_dict
from hwgen.emit import design_top
from hwgen.lib import framing as fr

from ..fixtures import gemm_case
from sim_tb.amaranth_sim import simulate
from sim_tb.board_sim import recv_serial, send_serial

DIV = 4
SMALL = {"precision": {"in_bits": 8, "out_bits": 8, "max_k": 64},
         "host": {"beat_elems": 2},
         "buffers": {b: {"depth": 16, "banks": 2} for b in ("input", "weight", "acc")}}
PODS = {"name": "pods", **SMALL, "array": {"rows": 2, "cols": 2, "dataflow": "ws"},
        "pods": {"count": 4, "interconnect": "butterfly"}}
HET = {"name": "het", **SMALL, "subaccelerators": [
    {"name": "ws", "array": {"rows": 2, "cols": 2, "dataflow": "ws"}},
    {"name": "os", "array": {"rows": 3, "cols": 2, "dataflow": "os"}}]}


def units(cfg):
    return cfg.port_designs


def run_frames(cfg, parts, *, extra=()):
    """Send each (port, program) of ``parts`` after a PORT frame, waiting for a part's
    results before choosing the next port; then ``extra`` frames and a STATUS."""
    dut = BoardCore(cfg, DIV, heartbeat_bit=4, top=design_top(cfg))
    dec = fr.ReplyDecoder(units(cfg)[0].link.dout_bytes)
    want_dout = [0]

    async def host_tx(ctx):
        sent = 0
        for port, prog in parts:
            while len(dec.reply.dout) < want_dout[0]:
                await ctx.tick()
            link = units(cfg)[port].link   # the engines' words differ
            frames = [bytes([fr.T_PORT, port])] + fr.frames_for_program(link, prog.cmds,
                                                                         prog.din)
            for f in frames:
                while sent - dec.reply.acks > 4:   # a small window
                    await ctx.tick()
                await send_serial(ctx, dut.rx, f, div=DIV)
                sent += 1
            want_dout[0] += prog.n_dout
        while len(dec.reply.dout) < want_dout[0] or dec.reply.acks < sent:
            await ctx.tick()
        for f in extra:
            await send_serial(ctx, dut.rx, f, div=DIV)
        await send_serial(ctx, dut.rx, bytes([fr.T_STATUS]), div=DIV)

    async def host_rx(ctx):
        while not dec.reply.status:
            byte = await recv_serial(ctx, dut.tx, 1, div=DIV, timeout=2_000_000)
            dec.feed(bytes(byte))

    async def monitor(ctx):   # which pods (engines) computed
        async for _, _, busy in ctx.tick().sample(dut.top.compute_busy):
            computed[0] |= busy

    computed = [0]
    simulate(dut, host_tx, host_rx, processes=[monitor])
    return dec.reply, computed[0]


@pytest.mark.parametrize("design,ports", [(PODS, (3, 0)), (HET, (1, 0))], ids=["pods", "het"])
def test_gemm_on_two_ports_bit_exact(design, ports):
    cfg = config_from_dict(design, source="test")
    cases = [gemm_case(units(cfg)[p], 3, 5, 4, seed=p + 1) for p in ports]
    reply, computed = run_frames(cfg, [(p, prog) for p, (prog, _) in zip(ports, cases)])
    at = 0
    for p, (prog, want) in zip(ports, cases):
        got = prog.decode(units(cfg)[p], reply.dout[at:at + prog.n_dout])
        at += prog.n_dout
        assert (got == want).all(), f"port {p}:\n{got}\n!=\n{want}"
    assert at == len(reply.dout)
    flags, cycles = reply.status[-1]
    assert flags == 0 and cycles > 0
    assert computed == sum(1 << p for p in ports)   # on the ports chosen, only


def test_port_out_of_range_is_a_link_error():
    cfg = config_from_dict(PODS, source="test")
    prog, _ = gemm_case(cfg.pod, 2, 2, 2, seed=1)
    reply, _ = run_frames(cfg, [(1, prog)], extra=[bytes([fr.T_PORT, 4])])
    flags, _ = reply.status[-1]
    assert flags & fr.FLAG_BAD_TYPE
