"""Board data: device, package, tool options, capacities, pins used by the board top.

Pin-outs come from the ``amaranth-boards`` platform of each board; this file adds what
the flow needs on top (nextpnr device flags, device capacities, which LED shows what).
"""
from __future__ import annotations

from dataclasses import dataclass, field


class UnknownBoard(KeyError):
    """A board name the flow does not know (one-line message listing the known ones)."""

    def __str__(self):
        return self.args[0]


@dataclass(frozen=True)
class Board:
    name: str
    family: str              # "ice40", "ecp5" or "gowin"
    device: str              # vendor name, as in the report
    package: str
    nextpnr_args: tuple      # device and package flags
    #: Device capacity in the report's resource names (LUT = logic cells on iCE40).
    capacity: dict
    #: Block RAM bits, for the quick fit check before synthesis.
    bram_bits: int
    preset: str              # the preset the tests and docs build for this board
    reset_button: tuple      # (resource, number)
    leds: dict               # role -> (resource, number[, sub-signal])
    clock_hz: float = 0.0   # the oscillator (the same as the platform's default clock)
    ecppack_args: tuple = ()
    gowin_pack_args: tuple = ()  # device and pin-sharing flags of gowin_pack
    notes: str = ""
    platform_name: str = ""  # amaranth-boards class
    extra_uart: dict = field(default_factory=dict)  # rx/tx on a connector, if the board has none
    extra_resources: str = ""  # a platform attribute listing resources to add (break-off PMOD)

    def platform(self):
        """A fresh amaranth-boards platform for this board."""
        import importlib

        from amaranth.build import Attrs
        from amaranth_boards.resources import UARTResource

        mod_name, cls_name = self.platform_name.rsplit(".", 1)
        cls = getattr(importlib.import_module(mod_name), cls_name)
        toolchain = {"ice40": "IceStorm", "ecp5": "Trellis", "gowin": "Apicula"}[self.family]
        plat = cls(toolchain=toolchain)
        if self.extra_resources:
            plat.add_resources(getattr(plat, self.extra_resources))
        if self.extra_uart:
            u = self.extra_uart
            plat.add_resources([UARTResource(0, rx=u["rx"], tx=u["tx"], conn=u["conn"],
                                             attrs=Attrs(IO_TYPE="LVCMOS33"))])
        return plat


_ECP5_25F = {"LUT": 24288, "FF": 24288, "BRAM": 56, "DSP": 28}
_ECP5_85F = {"LUT": 83640, "FF": 83640, "BRAM": 208, "DSP": 156}

BOARDS = {b.name: b for b in [
    Board("icebreaker", "ice40", "iCE40UP5K", "SG48", ("--up5k", "--package", "sg48"),
          {"LUT": 5280, "FF": 5280, "BRAM": 30, "DSP": 8}, 30 * 4096, "ice40",
          reset_button=("button", 0), clock_hz=12e6,
          leds={"heartbeat": ("led", 1), "error": ("led", 0), "busy": ("led", 2)},
          platform_name="amaranth_boards.icebreaker.ICEBreakerPlatform",
          extra_resources="break_off_pmod",
          notes="busy is on the snap-off LED board (LED1); UART on the FTDI's second port"),
    *[Board(f"ulx3s-{size}f", "ecp5", f"LFE5U-{size}F", "CABGA381",
            (f"--{size}k", "--package", "CABGA381", "--speed", "6"), res, brams * 18432, "tiny",
            reset_button=("button_fire", 0), clock_hz=25e6,
            leds={"heartbeat": ("led", 0), "busy": ("led", 1), "error": ("led", 2)},
            platform_name=f"amaranth_boards.ulx3s.ULX3S_{size}F_Platform",
            notes="UART on the FTDI (US1 port); FIRE1 resets")
      for size, res, brams in ((25, _ECP5_25F, 56), (85, _ECP5_85F, 208))],
    Board("orangecrab-25f", "ecp5", "LFE5U-25F", "CSFBGA285",
          ("--25k", "--package", "CSFBGA285", "--speed", "8"), _ECP5_25F, 56 * 18432, "tiny",
          reset_button=("button", 0), clock_hz=48e6,
          leds={"heartbeat": ("rgb_led", 0, "g"), "busy": ("rgb_led", 0, "b"),
                "error": ("rgb_led", 0, "r")},
          ecppack_args=("--compress", "--freq", "38.8"),
          platform_name="amaranth_boards.orangecrab_r0_2.OrangeCrabR0_2_25FPlatform",
          extra_uart={"rx": "0", "tx": "1", "conn": ("io", 0)},
          notes="no on-board UART: a 3.3 V USB-serial adapter on the Feather RX (0) / TX (1) pins"),
    # GW1NR-9C: 8640 LUT4, 6480 flip-flops, 26 BSRAM blocks of 18 kbit, 20 multipliers of
    # 18x18 (each usable as two 9x9), 2 rPLLs (Gowin DS117). nextpnr takes the part name
    # and the chip database of the GW1N-9C die; gowin_pack takes the die and, like the
    # amaranth-boards platform, releases the SSPI/MSPI configuration pins as user I/O.
    Board("tangnano9k", "gowin", "GW1NR-LV9QN88PC6/I5", "QN88P",
          ("--device", "GW1NR-LV9QN88PC6/I5", "--vopt", "family=GW1N-9C"),
          {"LUT": 8640, "FF": 6480, "BRAM": 26, "DSP": 20}, 26 * 18432, "ice40",
          reset_button=("button", 0), clock_hz=27e6,
          leds={"heartbeat": ("led", 0), "busy": ("led", 1), "error": ("led", 2)},
          gowin_pack_args=("-d", "GW1N-9C", "--sspi_as_gpio", "--mspi_as_gpio"),
          platform_name="amaranth_boards.tang_nano_9k.TangNano9kPlatform",
          notes="UART through the BL702 USB bridge (FPGA pins 17 TX, 18 RX); S1 resets; "
                "the LEDs are active-low (the platform inverts them)"),
]}


def board_names() -> list[str]:
    return sorted(BOARDS)


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise UnknownBoard(f"unknown board {name!r} (known: {', '.join(board_names())})") from None
