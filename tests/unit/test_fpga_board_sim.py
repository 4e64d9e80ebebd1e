"""End to end on the Amaranth simulator: a GEMM program from hwgen.compiler, framed
as UART bytes (docs/fpga.md), into the board core; results decoded bit-exact. The host
side keeps to the flow-control window, which is made small here so it matters."""
import pytest

from hwgen.lib import framing as fr
from hwgen.board import BoardCore
from hwgen.config import WS, load_config
from hwgen.compiler import Quant

from ..fixtures import gemm_case, variant
from sim_tb.board_sim import recv_serial, send_serial
from sim_tb.amaranth_sim import simulate

DIV = 4
WINDOW = 24


def run_over_uart(cfg, prog, fifo_bytes=WINDOW):
    dut = BoardCore(cfg, DIV, heartbeat_bit=4, fifo_bytes=fifo_bytes)
    frames = fr.frames_for_program(cfg.link, prog.cmds, prog.din) + [bytes([fr.T_STATUS])]
    dec = fr.ReplyDecoder(cfg.link.dout_bytes)
    state = {"sent_frames": 0, "done": False}
    max_inflight = [0]

    def inflight():
        return sum(len(f) for f in frames[dec.reply.acks:state["sent_frames"]])

    async def host_tx(ctx):
        for i, f in enumerate(frames):
            # STATUS is not acknowledged: ask only when everything else is done.
            while (inflight() + len(f) > fifo_bytes
                   or (f[0] == fr.T_STATUS and (dec.reply.acks < len(frames) - 1
                                                 or len(dec.reply.dout) < prog.n_dout))):
                await ctx.tick()
            state["sent_frames"] = i + 1
            max_inflight[0] = max(max_inflight[0], inflight())
            await send_serial(ctx, dut.rx, f, div=DIV)

    async def host_rx(ctx):
        while not dec.reply.status:
            byte = await recv_serial(ctx, dut.tx, 1, div=DIV, timeout=2_000_000)
            dec.feed(bytes(byte))

    simulate(dut, host_tx, host_rx)
    assert max_inflight[0] <= fifo_bytes
    return dec.reply


@pytest.mark.parametrize("cfg_name,shape,quant", [
    ("ice40", (3, 5, 4), Quant()),
    ("ice40", (4, 3, 5), Quant(raw=False, mult=90, shift=7, relu=True)),
    ("tiny-ws", (5, 6, 7), Quant()),
])
def test_gemm_over_uart_bit_exact(cfg_name, shape, quant):
    cfg = variant("tiny", dataflow=WS) if cfg_name == "tiny-ws" else load_config(cfg_name)
    prog, want = gemm_case(cfg, *shape, seed=sum(shape), quant=quant)
    reply = run_over_uart(cfg, prog)
    assert reply.acks == len(fr.frames_for_program(cfg.link, prog.cmds, prog.din))
    assert len(reply.dout) == prog.n_dout
    got = prog.decode(cfg, reply.dout)
    assert (got == want).all(), f"\n{got}\n!=\n{want}"
    flags, cycles = reply.status[-1]
    assert flags == 0 and cycles > 0  # idle, no error, the engine ran


def test_frames_keep_beats_after_their_load():
    cfg = load_config("ice40")
    prog, _ = gemm_case(cfg, 3, 5, 4, seed=1)
    frames = fr.frames_for_program(cfg.link, prog.cmds, prog.din)
    assert sum(f[0] == fr.T_DIN for f in frames) == len(prog.din)
    assert all(len(f) == 1 + cfg.link.din_bytes for f in frames if f[0] == fr.T_DIN)
    with pytest.raises(ValueError, match="din beats but its LOAD commands take"):
        fr.frames_for_program(cfg.link, prog.cmds, prog.din + [0])
