// Lint-only models of the vendor primitives the board tops instantiate (the I/O buffers
// of iCE40, ECP5 and Gowin, the ECP5 PLL), with the ports and parameters the designs
// connect, so that `verilator --lint-only` elaborates the board top the FPGA flow
// synthesises (sim_tb.lint.lint(..., extra=...)). They model connectivity only.
`default_nettype none
// One file holds every model, none named after it.
/* verilator lint_off DECLFILENAME */

// iCE40 I/O buffer (SB_IO, SB_GB_IO): PIN_TYPE selects registers the designs never use.
module SB_IO
  /* verilator lint_off UNUSEDPARAM */  // configuration of the silicon, no function here
  #(parameter [5:0] PIN_TYPE = 6'h00, parameter IO_STANDARD = "SB_LVCMOS",
    parameter PULLUP = 1'b0)
  /* verilator lint_on UNUSEDPARAM */
  (inout wire PACKAGE_PIN, input wire OUTPUT_ENABLE, input wire D_OUT_0,
   output wire D_IN_0);
  assign PACKAGE_PIN = OUTPUT_ENABLE ? D_OUT_0 : 1'bz;
  assign D_IN_0 = PACKAGE_PIN;
endmodule

module SB_GB_IO
  /* verilator lint_off UNUSEDPARAM */  // configuration of the silicon, no function here
  #(parameter [5:0] PIN_TYPE = 6'h00, parameter IO_STANDARD = "SB_LVCMOS")
  /* verilator lint_on UNUSEDPARAM */
  (input wire PACKAGE_PIN, output wire GLOBAL_BUFFER_OUTPUT);
  assign GLOBAL_BUFFER_OUTPUT = PACKAGE_PIN;
endmodule

// ECP5 input buffer and tristate output buffer (T high: off).
module IB (input wire I, output wire O);
  assign O = I;
endmodule

module OBZ (input wire I, input wire T, output wire O);
  assign O = T ? 1'bz : I;
endmodule

// Gowin input buffer and tristate output buffer (OEN high: off).
module IBUF (input wire I, output wire O);
  assign O = I;
endmodule

module TBUF (input wire I, input wire OEN, output wire O);
  assign O = OEN ? 1'bz : I;
endmodule

// ECP5 PLL: the output follows the input and locks while not in reset; the divider
// settings and the dynamic phase controls are configuration with no function here.
module EHXPLLL
  /* verilator lint_off UNUSEDPARAM */
  #(parameter integer CLKI_DIV = 1, parameter integer CLKFB_DIV = 1,
    parameter integer CLKOP_DIV = 8, parameter integer CLKOP_CPHASE = 0,
    parameter integer CLKOP_FPHASE = 0, parameter CLKOP_ENABLE = "ENABLED",
    parameter FEEDBK_PATH = "CLKOP", parameter OUTDIVIDER_MUXA = "DIVA",
    parameter PLLRST_ENA = "DISABLED", parameter INTFB_WAKE = "DISABLED",
    parameter STDBY_ENABLE = "DISABLED", parameter DPHASE_SOURCE = "DISABLED")
  /* verilator lint_on UNUSEDPARAM */
  (input wire CLKI, input wire RST, output wire CLKOP, output wire LOCK,
   /* verilator lint_off UNUSEDSIGNAL */
   input wire CLKFB, input wire STDBY, input wire PHASESEL0, input wire PHASESEL1,
   input wire PHASEDIR, input wire PHASESTEP, input wire PHASELOADREG,
   input wire PLLWAKESYNC, input wire ENCLKOP
   /* verilator lint_on UNUSEDSIGNAL */
  );
  assign CLKOP = CLKI;
  assign LOCK = ~RST;
endmodule

// ECP5 flip-flop (the power-on reset chain of the platform's clock domain) and the
// global set/reset it drives.
module FD1S3AX
  /* verilator lint_off UNUSEDPARAM */
  #(parameter GSR = "ENABLED")
  /* verilator lint_on UNUSEDPARAM */
  (input wire CK, input wire D, output reg Q);
  initial Q = 1'b0;
  always @(posedge CK) Q <= D;
endmodule

module SGSR (
  /* verilator lint_off UNUSEDSIGNAL */  // a connection to the device's global reset
  input wire GSR, input wire CLK
  /* verilator lint_on UNUSEDSIGNAL */
);
endmodule
