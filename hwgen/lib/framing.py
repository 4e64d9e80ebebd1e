"""Byte framing of the host protocol over a UART (docs/fpga.md).

Host to board, every frame starts with a type byte:

=====  ========  =========================================================
type   name      payload
=====  ========  =========================================================
0x00   SYNC      none; ignored (padding)
0x01   CMD       8 bytes: one 64-bit command, little-endian
0x02   DIN       ``din_bytes`` bytes: one ``din`` beat, little-endian
0x03   STATUS    none; asks for a STATUS reply
0x04   PORT      1 byte: the pod or engine the next CMD and DIN frames go to and
                 whose DOUT beats come back (only on a board with several: a
                 multi-pod or heterogeneous design; acknowledged like CMD and DIN)
=====  ========  =========================================================

Board to host:

=====  ========  =========================================================
0x81   ACK       none; one CMD or DIN frame was handed to the accelerator
0x82   DOUT      ``dout_bytes`` bytes: one ``dout`` beat, little-endian
0x83   STATUS    1 flag byte, then ``compute_cycles`` as 4 bytes little-endian
=====  ========  =========================================================

Flow control: the board buffers received bytes in a FIFO of ``RX_FIFO_BYTES``; the host
keeps at most that many bytes of CMD/DIN frames sent but not yet acknowledged.

The sizes that depend on a design are carried by a :class:`LinkShape`
(``AcceleratorConfig.link`` makes one from a config).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import F_COUNT, OP_LOAD_IN, OP_LOAD_W, get, opcode

T_SYNC, T_CMD, T_DIN, T_STATUS, T_PORT = 0x00, 0x01, 0x02, 0x03, 0x04
R_ACK, R_DOUT, R_STATUS = 0x81, 0x82, 0x83

#: Bits of the STATUS reply's flag byte.
FLAG_BUSY, FLAG_COMPUTE_BUSY, FLAG_ERROR = 0x01, 0x02, 0x04
FLAG_RX_OVERRUN, FLAG_RX_FRAMING, FLAG_BAD_TYPE = 0x08, 0x10, 0x20

RX_FIFO_BYTES = 512
CMD_BYTES = 8
STATUS_BYTES = 5


@dataclass(frozen=True)
class LinkShape:
    """What the framing needs to know about a design."""
    din_bytes: int
    """Bytes of one ``din`` beat."""
    dout_bytes: int
    """Bytes of one ``dout`` beat."""
    in_word_beats: int
    """``din`` beats per input-buffer word (LOAD_IN)."""
    w_word_beats: int
    """``din`` beats per weight-buffer word (LOAD_W)."""


def _le(value: int, n: int) -> bytes:
    return (value & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


def encode_cmd(cmd: int) -> bytes:
    return bytes([T_CMD]) + _le(cmd, CMD_BYTES)


def encode_din(link: LinkShape, beat: int) -> bytes:
    return bytes([T_DIN]) + _le(beat, link.din_bytes)


def frames_for_program(link: LinkShape, cmds: list[int], din: list[int]) -> list[bytes]:
    """Host frames for a program, in an order the accelerator accepts: each LOAD command
    is followed by the beats it consumes (``din`` is consumed strictly in order, so the
    interleaving only has to keep every beat after its command)."""
    frames, di = [], 0
    for c in cmds:
        frames.append(encode_cmd(c))
        op = opcode(c)
        if op in (OP_LOAD_IN, OP_LOAD_W):
            per_word = link.w_word_beats if op == OP_LOAD_W else link.in_word_beats
            for _ in range(get(c, F_COUNT) * per_word):
                frames.append(encode_din(link, din[di]))
                di += 1
    if di != len(din):
        raise ValueError(f"program has {len(din)} din beats but its LOAD commands take {di}")
    return frames


@dataclass
class Reply:
    acks: int = 0
    dout: list = field(default_factory=list)
    status: list = field(default_factory=list)  # (flags, compute_cycles)
    #: per DOUT beat of ``dout``, the ACKs received before it: the bridge sends every
    #: pending ACK before the next DOUT, so this says which PORT frame was in force
    dout_acks: list = field(default_factory=list)


class ReplyDecoder:
    """Splits the board's byte stream into ACK / DOUT / STATUS frames, incrementally.
    ``dout_n`` is the payload length of a DOUT frame (``LinkShape.dout_bytes``)."""

    def __init__(self, dout_n: int):
        self.dout_n = dout_n
        self.buf = bytearray()
        self.reply = Reply()

    def feed(self, data: bytes) -> Reply:
        self.buf += data
        while self.buf:
            t = self.buf[0]
            if t == R_ACK:
                self.reply.acks += 1
                del self.buf[:1]
            elif t == R_DOUT:
                if len(self.buf) < 1 + self.dout_n:
                    break
                self.reply.dout.append(int.from_bytes(self.buf[1:1 + self.dout_n], "little"))
                self.reply.dout_acks.append(self.reply.acks)
                del self.buf[:1 + self.dout_n]
            elif t == R_STATUS:
                if len(self.buf) < 1 + STATUS_BYTES:
                    break
                self.reply.status.append((self.buf[1], int.from_bytes(self.buf[2:6], "little")))
                del self.buf[:1 + STATUS_BYTES]
            else:
                raise ValueError(f"unexpected byte 0x{t:02x} from the board")
        return self.reply
