"""The 8N1 bit-level model the UART testbenches share (sim_tb/uart_model.py)."""
import pytest

from sim_tb.uart_model import (
    FRAME_BITS,
    FrameError,
    decode_frame,
    frame_bits,
    sample_delays,
)


def test_frames_round_trip_lsb_first():
    assert frame_bits(0x01) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 1]
    assert frame_bits(0xA5, stop_ok=False)[-1] == 0
    for byte in range(256):
        assert decode_frame(frame_bits(byte)) == byte


def test_bad_frames_are_refused():
    with pytest.raises(FrameError, match="stop bit low"):
        decode_frame(frame_bits(0x5A, stop_ok=False))
    with pytest.raises(FrameError, match="start bit"):
        decode_frame([1] + frame_bits(0x5A)[1:])
    with pytest.raises(ValueError, match="10 bits"):
        decode_frame([0] * 9)
    with pytest.raises(ValueError, match="not a byte"):
        frame_bits(256)


@pytest.mark.parametrize("div", [4, 5, 16])
def test_samples_fall_mid_bit(div):
    t, points = 0, []
    for d in sample_delays(div):
        t += d
        points.append(t)
    assert len(points) == FRAME_BITS
    # Sample i lies inside bit i, at least a cycle from either edge.
    assert all(i * div + 1 <= p <= (i + 1) * div - 1 for i, p in enumerate(points))
