"""Buffers as SRAM macros: a black-box cell per buffer memory with a stated model.

With ``memories="macro"`` the buffer memories (the ``bank*`` arrays of the input,
weight and accumulator buffers) are not built from flip-flops: Yosys keeps them as
memories, ``memory_libmap`` maps each onto a generated RAM type of its exact shape
(one synchronous write port, one synchronous read port with read enable), and a
techmap turns that into an instance of a black-box cell ``HWGEN_SRAM_<W>X<D>`` with
one pin per bit. The flow writes, from Python, what the tools need about that cell:

- a Liberty file (:func:`liberty_text`) with its area, leakage, clock-pin energy, the
  setup and hold of every input and the clock-to-output delay of every output, so
  that OpenSTA times paths into and out of the macro and ``report_power`` counts it;
- a Verilog black box for Yosys and a behavioural model for the gate-level
  simulation of the per-net power method (:func:`verilog_models`).

The numbers are a *model*, not a memory compiler's output (this flow has no memory
compiler for the OSU libraries). It is fitted to published OpenRAM macros in SKY130
(``VLSIDA/sky130_sram_macros``, dual-port ``1rw1r`` macros at 1.8 V, TT, 25 C) and
scaled to 0.18 um:

area
    A(bits) = 110,380 um^2 + 10.63 um^2 x bits, the line through the two macros'
    footprints (``SIZE`` in their LEF: 32x256, 8,192 bits: 493.38 x 400.22 um;
    32x512, 16,384 bits: 683.1 x 416.54 um), times (180/130)^2 = 1.917 (area scales
    with the square of the feature size). The buffers here are far smaller than the
    macros the line comes from: the fixed periphery (decoders, sense amplifiers,
    control) dominates, which is the real reason small buffers are flip-flops on
    chips, but the figure is an extrapolation.
clock to output
    3.382 ns, the slowest published read delay of the 32x256 macro, times 180/130
    (gate delay scales with the feature size at the same 1.8 V supply): 4.68 ns.
setup, hold
    The published setup times are negative (the macros capture inputs after the
    clock edge); the model uses 0 ns setup, the conservative choice, and the published
    0.795 ns hold times 180/130 = 1.10 ns.
energy
    Clock-pin energy per cycle with an access: rise plus fall energy of the published
    read and write characterisations, 4.60 pJ (32x256) and 7.12 pJ (32x1024), the
    line through them (3.76 pJ + 1.025e-4 pJ x bits) times 180/130 (switched
    capacitance scales with the feature size at the same supply). Without an access
    the clock costs 36 % of that, the idle-to-access ratio of the 32x1024 macro.
leakage
    0.91 uW (32x256) and 2.41 uW (32x1024): 0.41 uW + 6.1e-5 uW x bits, not scaled
    (same supply; older processes leak less, so this overstates it).

The generated Liberty holds the area, the leakage and the timing. It holds no dynamic
energy: OpenSTA 2.0.17 gives a black box's clock-pin energy either nothing (a plain
``internal_power`` group) or a figure that ignores the ``when`` conditions (checked
with the tool), so the flow adds the macros' dynamic power itself
(:func:`dynamic_power_mw`): per cycle the idle energy, plus the extra energy of an
access in the share of cycles with a read or a write enabled.

The read port returns the word held before a write to the same address in the same
cycle (the RTL's behaviour; the buffers' double banking keeps reads and writes on
different banks anyway).
"""
from __future__ import annotations

from dataclasses import dataclass

import rtl_templates

#: The published OpenRAM SKY130 macros the model is fitted to (facts, with their source).
SOURCES = (
    {"macro": "sky130_sram_1kbyte_1rw1r_32x256_8", "bits": 8192,
     "size_um": (493.38, 400.22), "clk_to_q_ns": 3.382, "hold_ns": 0.795,
     "access_pj": 4.60, "leakage_uw": 0.9118,
     "from": "LEF SIZE; datasheet.info (dout delay, read/write energies, leakage)"},
    {"macro": "sky130_sram_2kbyte_1rw1r_32x512_8", "bits": 16384,
     "size_um": (683.1, 416.54), "from": "LEF SIZE"},
    {"macro": "sky130_sram_4kbyte_1rw1r_32x1024_8", "bits": 32768,
     "clk_to_q_ns": 3.066, "hold_ns": 0.795, "access_pj": 7.12, "idle_pj": 2.55,
     "leakage_uw": 2.411, "from": "Liberty (TT 1.8 V 25 C)"},
)
SOURCE_NOTE = ("model fitted to OpenRAM SKY130 1rw1r macros (VLSIDA/sky130_sram_macros: "
               "32x256, 32x512, 32x1024) and scaled from 130 nm to 180 nm; see "
               "asic_flow/macros.py and docs/asic_flow.md")
SCALE = 180.0 / 130.0

AREA_FIXED_UM2 = 110_380.0
AREA_PER_BIT_UM2 = 10.63
CLK_TO_Q_NS = 3.382
SETUP_NS = 0.0
HOLD_NS = 0.795
ACCESS_FIXED_PJ = 3.76
ACCESS_PER_BIT_PJ = 1.025e-4
IDLE_SHARE = 0.36
LEAK_FIXED_UW = 0.41
LEAK_PER_BIT_UW = 6.1e-5
#: Input pin capacitance (pF) and output transition (ns) of the model: those of the
#: SKY130 macros (6.89 fF; about 0.1 ns at a medium load), scaled like delays.
PIN_CAP_PF = 0.00689 * SCALE
OUT_SLEW_NS = 0.1 * SCALE
PREFIX = "HWGEN_SRAM_"


@dataclass(frozen=True)
class Shape:
    width: int
    depth: int
    """Words: the memory's depth rounded up to a power of two (the macro's rows)."""

    @property
    def abits(self) -> int:
        return max(1, (self.depth - 1).bit_length())

    @property
    def bits(self) -> int:
        return self.width * self.depth

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.width}X{self.depth}"

    @property
    def libmap_name(self) -> str:
        return f"$__{self.name}_"


def shape_of(width: int, depth: int) -> Shape:
    return Shape(width, 1 << max(1, (depth - 1).bit_length()))


def model(shape: Shape) -> dict:
    """The modelled figures of one macro (units in the keys)."""
    bits = shape.bits
    access = (ACCESS_FIXED_PJ + ACCESS_PER_BIT_PJ * bits) * SCALE
    return {
        "cell": shape.name,
        "width": shape.width,
        "words": shape.depth,
        "bits": bits,
        "area_um2": round((AREA_FIXED_UM2 + AREA_PER_BIT_UM2 * bits) * SCALE ** 2, 1),
        "clk_to_q_ns": round(CLK_TO_Q_NS * SCALE, 4),
        "setup_ns": SETUP_NS,
        "hold_ns": round(HOLD_NS * SCALE, 4),
        "access_pj": round(access, 4),
        "idle_pj": round(access * IDLE_SHARE, 4),
        "leakage_uw": round(LEAK_FIXED_UW + LEAK_PER_BIT_UW * bits, 4),
    }


def dynamic_power_mw(shape: Shape, clock_ns: float, access_share: float) -> float:
    """Dynamic power of one macro at ``clock_ns`` when ``access_share`` of the cycles
    read or write (0..1)."""
    m = model(shape)
    share = min(1.0, max(0.0, access_share))
    energy_pj = m["idle_pj"] + (m["access_pj"] - m["idle_pj"]) * share
    return energy_pj / clock_ns  # pJ per ns = mW


def access_share(re_duty: float, we_duty: float) -> float:
    """Share of cycles with a read or a write, from the enables' duties: their sum,
    capped at 1 (reads and writes of one bank rarely overlap in the buffers)."""
    return min(1.0, re_duty + we_duty)


def is_buffer_memory(module: str, name: str) -> bool:
    """The memories that become macros: the banks of the three buffers."""
    return module.rsplit(".", 1)[-1].endswith("_buf") and name.startswith("bank")


def shapes_for(memories: list[dict]) -> list[Shape]:
    return sorted({shape_of(m["width"], m["depth"]) for m in memories
                   if is_buffer_memory(m["module"], m["name"])},
                  key=lambda s: (s.width, s.depth))


# ---- files for Yosys -------------------------------------------------------------------
def libmap_cost(shape: Shape) -> int:
    """The ``memory_libmap`` cost of one macro: its modelled area in units of 16 bits'
    worth of cells, the fixed periphery included. With the bits alone a wide memory
    cost the same as several narrower macros side by side (a 112-bit memory as seven
    16-bit ones, each with its own periphery), and memory_libmap split wide banks so;
    with the periphery every memory lands on the one macro of its own shape."""
    return max(1, round((AREA_FIXED_UM2 / AREA_PER_BIT_UM2 + shape.bits) / 16))


def memlib_text(shapes: list[Shape]) -> str:
    """``memory_libmap`` library: one RAM type per shape, at the cost of
    :func:`libmap_cost`."""
    out = ["# RAM types for memory_libmap: one per buffer shape (asic_flow/macros.py)."]
    for s in shapes:
        out.append(rtl_templates.render("asic/sram_memlib.txt.tmpl", libmap_name=s.libmap_name, abits=s.abits,
                          width=s.width, cost=libmap_cost(s)).rstrip("\n"))
    return "\n".join(out) + "\n"


def _pins(s: Shape) -> list[tuple[str, str]]:
    """(pin, direction) of the macro cell, one pin per bit."""
    return ([("CLK", "input"), ("WE", "input"), ("RE", "input")]
            + [(f"WA{i}", "input") for i in range(s.abits)]
            + [(f"RA{i}", "input") for i in range(s.abits)]
            + [(f"D{i}", "input") for i in range(s.width)]
            + [(f"Q{i}", "output") for i in range(s.width)])


def _pin_fields(s: Shape) -> dict:
    pins = _pins(s)
    return {"name": s.name, "pins": ", ".join(p for p, _ in pins),
            "decls": "\n".join(f"  {d} {p};" for p, d in pins)}


def techmap_text(shapes: list[Shape]) -> str:
    """Yosys techmap from the ``memory_libmap`` cells to the black-box macros."""
    out = ["// From memory_libmap RAM cells to HWGEN_SRAM black boxes (asic_flow/macros.py)."]
    for s in shapes:
        a, w = s.abits, s.width
        conns = [".CLK(PORT_W_CLK)", ".WE(PORT_W_WR_EN)", ".RE(PORT_R_RD_EN)"]
        conns += [f".WA{i}(PORT_W_ADDR[{i}])" for i in range(a)]
        conns += [f".RA{i}(PORT_R_ADDR[{i}])" for i in range(a)]
        conns += [f".D{i}(PORT_W_WR_DATA[{i}])" for i in range(w)]
        conns += [f".Q{i}(PORT_R_RD_DATA[{i}])" for i in range(w)]
        out.append(rtl_templates.render("asic/sram_techmap.v.tmpl", libmap_name=s.libmap_name, name=s.name,
                          a_msb=a - 1, w_msb=w - 1, conns=", ".join(conns)).rstrip("\n"))
    return "\n".join(out) + "\n"


def blackbox_text(shapes: list[Shape]) -> str:
    out = ["// Black boxes of the modelled SRAM macros (asic_flow/macros.py)."]
    for s in shapes:
        out.append(rtl_templates.render("verilog/sram_blackbox.v.tmpl",
                                        **_pin_fields(s)).rstrip("\n"))
    return "\n".join(out) + "\n"


def verilog_models(shapes: list[Shape]) -> str:
    """Behavioural models for simulation: synchronous write, synchronous read with
    enable returning the word before a same-cycle write; words start unknown."""
    out = ["// Simulation models of the modelled SRAM macros (asic_flow/macros.py)."]
    for s in shapes:
        a, w = s.abits, s.width
        cat = lambda p, n: "{" + ", ".join(f"{p}{i}" for i in reversed(range(n))) + "}"  # noqa: E731
        out.append(rtl_templates.render(
            "verilog/sram_model.v.tmpl", **_pin_fields(s), w_msb=w - 1, a_msb=a - 1,
            depth_msb=s.depth - 1, wa=cat("WA", a), ra=cat("RA", a), d=cat("D", w),
            q=cat("Q", w)).rstrip("\n"))
    return "\n".join(out) + "\n"


# ---- Liberty for OpenSTA and Yosys stat --------------------------------------------------
def liberty_text(shapes: list[Shape], library: str = "hwgen_sram_model") -> str:
    """One cell per shape: area, leakage, setup/hold on every input, clock-to-output on
    every output (no dynamic energy: see :func:`dynamic_power_mw`)."""
    def scalar(kind: str, v: float) -> str:
        return f"{kind} (scalar) {{ values (\"{v:.6g}\"); }}"

    out = [f"/* Modelled SRAM macros for the hwgen ASIC flow: {SOURCE_NOTE}. */",
           f"library ({library}) {{",
           "  delay_model : table_lookup;",
           '  time_unit : "1ns";',
           '  voltage_unit : "1V";',
           '  current_unit : "1mA";',
           '  leakage_power_unit : "1uW";',
           "  capacitive_load_unit (1, pf);",
           '  pulling_resistance_unit : "1kohm";',
           "  nom_process : 1.0;",
           "  nom_voltage : 1.8;",
           "  nom_temperature : 25.0;",
           "  input_threshold_pct_rise : 50;",
           "  input_threshold_pct_fall : 50;",
           "  output_threshold_pct_rise : 50;",
           "  output_threshold_pct_fall : 50;",
           "  slew_lower_threshold_pct_rise : 10;",
           "  slew_upper_threshold_pct_rise : 90;",
           "  slew_lower_threshold_pct_fall : 10;",
           "  slew_upper_threshold_pct_fall : 90;"]
    for s in shapes:
        m = model(s)
        out += [f"  cell ({s.name}) {{",
                f"    area : {m['area_um2']};",
                "    dont_use : true;",
                f"    cell_leakage_power : {m['leakage_uw']};",
                "    pin (CLK) {",
                "      direction : input;",
                "      clock : true;",
                f"      capacitance : {PIN_CAP_PF:.6g};",
                "    }"]
        for pin, d in _pins(s)[1:]:
            out += [f"    pin ({pin}) {{", f"      direction : {d};"]
            if d == "input":
                out.append(f"      capacitance : {PIN_CAP_PF:.6g};")
                for kind, v in (("setup_rising", m["setup_ns"]), ("hold_rising", m["hold_ns"])):
                    out += ["      timing () {",
                            '        related_pin : "CLK";',
                            f"        timing_type : {kind};",
                            f"        {scalar('rise_constraint', v)}",
                            f"        {scalar('fall_constraint', v)}",
                            "      }"]
            else:
                out += ["      timing () {",
                        '        related_pin : "CLK";',
                        "        timing_type : rising_edge;",
                        f"        {scalar('cell_rise', m['clk_to_q_ns'])}",
                        f"        {scalar('cell_fall', m['clk_to_q_ns'])}",
                        f"        {scalar('rise_transition', OUT_SLEW_NS)}",
                        f"        {scalar('fall_transition', OUT_SLEW_NS)}",
                        "      }"]
            out.append("    }")
        out.append("  }")
    out.append("}")
    return "\n".join(out) + "\n"
