"""UART receiver/transmitter and the UART bridge on the Amaranth simulator. The serial
line is driven and sampled bit by bit from Python, independently of the RTL."""
import pytest

from hwgen.lib import framing as fr
from hwgen.board.bridge import UartBridge
from hwgen.board import baud_divisor
from hwgen.board.uart import UartRx, UartTx, check_divisor

from sim_tb.board_sim import recv_serial, send_serial
from sim_tb.amaranth_sim import simulate

DIV = 5


def run(dut, *benches, processes=()):
    simulate(dut, *benches, processes=processes, period=1e-6)


def test_divisor_checked():
    with pytest.raises(ValueError, match="UART divisor must be an integer >= 4, got 3"):
        check_divisor(3)
    assert baud_divisor(12e6) == 104 and baud_divisor(25e6) == 217 and baud_divisor(48e6) == 417
    with pytest.raises(ValueError, match="cannot make 115200 baud from a 0.3 MHz clock"):
        baud_divisor(0.3e6)


@pytest.mark.parametrize("div", [4, 5, 16])
def test_rx_bytes_in_order(div):
    dut = UartRx(div)
    data = [0x00, 0xFF, 0x55, 0xA3, 0x01, 0x80]
    got = []

    async def drive(ctx):
        await send_serial(ctx, dut.rx, data, div=div)
        await ctx.tick().repeat(4 * div)
        assert not ctx.get(dut.overrun) and not ctx.get(dut.framing_error)

    async def sink(ctx):
        ctx.set(dut.data.ready, 1)
        while len(got) < len(data):
            await ctx.tick()
            if ctx.get(dut.data.valid):
                got.append(ctx.get(dut.data.payload))

    run(dut, drive, sink)
    assert got == data


def test_rx_framing_error_and_overrun():
    dut = UartRx(DIV)

    async def drive(ctx):
        await send_serial(ctx, dut.rx, [0x12], bad_stop=(0,))
        await ctx.tick().repeat(3 * DIV)
        assert ctx.get(dut.framing_error) and not ctx.get(dut.data.valid)
        # Nobody takes the bytes: the second one overruns the first.
        await send_serial(ctx, dut.rx, [0x34, 0x56])
        await ctx.tick().repeat(3 * DIV)
        assert ctx.get(dut.overrun) and ctx.get(dut.data.payload) == 0x56

    run(dut, drive)


@pytest.mark.parametrize("div", [4, 7])
def test_tx_bytes_on_the_line(div):
    dut = UartTx(div)
    data = [0x00, 0xFF, 0x5A, 0x81, 0x3C]
    got = []

    async def source(ctx):
        for byte in data:
            ctx.set(dut.data.valid, 1)
            ctx.set(dut.data.payload, byte)
            await ctx.tick().until(dut.data.ready)
        ctx.set(dut.data.valid, 0)

    async def sample(ctx):
        got.extend(await recv_serial(ctx, dut.tx, len(data), div=div))

    run(dut, source, sample)
    assert got == data


def test_tx_back_to_back_timing():
    """Each byte takes exactly ten bit times when bytes follow each other."""
    dut = UartTx(DIV)
    edges = []

    async def source(ctx):
        ctx.set(dut.data.valid, 1)
        ctx.set(dut.data.payload, 0x00)  # start + 8 zeros: line low for 9 bits
        for cycle in range(30 * DIV):
            if ctx.get(dut.data.ready):
                edges.append(cycle)
            await ctx.tick()

    run(dut, source)
    assert [b - a for a, b in zip(edges, edges[1:])] == [10 * DIV] * (len(edges) - 1)


# ---- the bridge with a model accelerator on its streams --------------------------------
def test_bridge_frames_acks_status_and_dout():
    din_bits, dout_bits = 16, 44
    dut = UartBridge(din_bits, dout_bits, DIV, fifo_bytes=64)
    cmds, beats = [], []
    cmd = 0x0123_4567_89AB_CDEF
    din = 0xBEEF
    dout_beats = [0xABC_DEF0_1234, 0x0000_0000_0001]
    to_send = (fr.encode_cmd(cmd) + bytes([fr.T_SYNC]) + bytes([fr.T_DIN]) + din.to_bytes(2, "little")
               + bytes([fr.T_STATUS]))
    replies = []

    async def host_tx(ctx):
        await send_serial(ctx, dut.rx, to_send)

    async def host_rx(ctx):
        # 2 ACKs, 1 STATUS (6 bytes), 2 DOUT frames (1 + 6 bytes each)
        replies.extend(await recv_serial(ctx, dut.tx, 2 + 6 + 14))

    async def accel(ctx):
        ctx.set(dut.compute_cycles, 0x11223344)
        ctx.set(dut.error, 1)
        ctx.set(dut.cmd.ready, 1)
        ctx.set(dut.din.ready, 1)
        while len(beats) < 1:
            await ctx.tick()
            if ctx.get(dut.cmd.valid):
                cmds.append(ctx.get(dut.cmd.payload))
            if ctx.get(dut.din.valid):
                beats.append(ctx.get(dut.din.payload))
        await ctx.tick().repeat(40 * 10 * DIV)  # after the STATUS reply
        for d in dout_beats:
            ctx.set(dut.dout.valid, 1)
            ctx.set(dut.dout.payload, d)
            await ctx.tick().until(dut.dout.ready)
        ctx.set(dut.dout.valid, 0)

    run(dut, host_tx, host_rx, accel)
    assert cmds == [cmd] and beats == [din]
    r = fr.ReplyDecoder(6).feed(bytes(replies))
    assert r.acks == 2
    assert r.status == [(fr.FLAG_ERROR, 0x11223344)]
    assert r.dout == dout_beats


def test_bridge_flags_unknown_frame_type():
    dut = UartBridge(8, 8, DIV, fifo_bytes=16)

    async def host(ctx):
        await send_serial(ctx, dut.rx, [0x7E])
        await ctx.tick().repeat(4 * DIV)
        assert ctx.get(dut.link_error)

    run(dut, host)
