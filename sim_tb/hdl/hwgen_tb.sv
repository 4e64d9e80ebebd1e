// Self-running testbench wrapper for hwgen_top.
//
// The wrapper streams the host program from hex files into `cmd` and `din` (one word read
// ahead on each stream) and writes each `dout` beat to a hex file as it is captured, so
// the simulation needs no per-cycle work from Python and one build runs a program of any
// length. Only `clk` and `rst` are driven from outside.
//
// Plain Verilog-2005 on purpose: Icarus must simulate the Yosys-written design with 2005
// semantics (in SystemVerilog mode the initial-value trigger of its `always @*` blocks
// never fires), and this file has to compile alongside it.  It builds as SystemVerilog too.
//
// Plusargs:
//   +cmd_file=PATH  +n_cmd=N    64-bit command words, one hex word per line
//   +din_file=PATH  +n_din=N    DIN_BITS-wide beats
//   +dout_file=PATH +n_dout=N   captured DOUT_BITS-wide beats are written here, one per line
//   +seed=S                     seeds the stall generators (each stream gets its own)
//   +stall_pct=P                0..100: share of cycles a source withholds valid / the sink
//                               withholds ready
//   +max_cycles=C               give up after C cycles: `done` and `timeout` rise
//   +vcd_file=PATH              (Icarus) dump the design's signals to a VCD file
//
// `cycles` counts clock cycles from the release of `rst` until every command and din
// beat has been accepted, all n_dout beats have been captured and `busy` is low.  On that
// edge `done` rises, `compute_cycles` holds the DUT's final count and dout_file has been
// closed.  `compute_busy_cycles` counts the cycles the
// wrapper saw `compute_busy` high, a cross-check for the DUT's own `compute_cycles`.
// Designs with a 1-bit `error` output are built with HWGEN_TOP_HAS_ERROR defined;
// `error_seen` then records whether it was ever high.
module hwgen_tb #(
    parameter integer DIN_BITS   = 64,
    parameter integer DOUT_BITS  = 64
) (
    input  wire        clk                 /*verilator public_flat_rw*/,
    input  wire        rst                 /*verilator public_flat_rw*/,
    output reg         done                /*verilator public_flat_rd*/,
    output reg         timeout             /*verilator public_flat_rd*/,
    output reg  [31:0] cycles              /*verilator public_flat_rd*/,
    output reg  [31:0] compute_cycles      /*verilator public_flat_rd*/,
    output reg  [31:0] compute_busy_cycles /*verilator public_flat_rd*/,
    output reg  [31:0] cmd_taken           /*verilator public_flat_rd*/,
    output reg  [31:0] din_taken           /*verilator public_flat_rd*/,
    output reg  [31:0] dout_taken          /*verilator public_flat_rd*/,
    output reg         error_seen          /*verilator public_flat_rd*/
);
    localparam integer PATH_CHARS = 1024;  // longest file name the plusargs may carry

    // ---------------------------------------------------------------- configuration
    reg [8*PATH_CHARS-1:0] cmd_file, din_file, dout_file;
    reg [31:0] n_cmd, n_din, n_dout;
    reg [31:0] seed, stall_pct, max_cycles;
    reg [31:0] cmd_seed, din_seed, dout_seed;

    // The word each source offers (the next one of its file) and the file handles.
    reg [63:0]         cmd_word;
    reg [DIN_BITS-1:0] din_word;
    reg [63:0]         cmd_next;
    reg [DIN_BITS-1:0] din_next;
    integer cmd_fd, din_fd, dout_fd, scanned;

    // A nonzero xorshift state derived from the seed and a per-stream salt.
    function automatic [31:0] stream_seed(input [31:0] s, input [31:0] salt);
        reg [31:0] x;
        begin
            x = (s ^ salt) * 32'h9E3779B1;
            x = x ^ (x >> 15);
            stream_seed = (x == 32'd0) ? salt : x;
        end
    endfunction

    function automatic [31:0] xorshift32(input [31:0] x);
        reg [31:0] y;
        begin
            y = x ^ (x << 13);
            y = y ^ (y >> 17);
            xorshift32 = y ^ (y << 5);
        end
    endfunction

    initial begin
        if (!$value$plusargs("cmd_file=%s", cmd_file)) cmd_file = 0;
        if (!$value$plusargs("din_file=%s", din_file)) din_file = 0;
        if (!$value$plusargs("dout_file=%s", dout_file)) dout_file = 0;
        if (!$value$plusargs("n_cmd=%d", n_cmd)) n_cmd = 32'd0;
        if (!$value$plusargs("n_din=%d", n_din)) n_din = 32'd0;
        if (!$value$plusargs("n_dout=%d", n_dout)) n_dout = 32'd0;
        if (!$value$plusargs("seed=%d", seed)) seed = 32'd1;
        if (!$value$plusargs("stall_pct=%d", stall_pct)) stall_pct = 32'd0;
        if (!$value$plusargs("max_cycles=%d", max_cycles)) max_cycles = 32'hFFFF_FFFF;
        cmd_seed  = stream_seed(seed, 32'h436D_6421);
        din_seed  = stream_seed(seed, 32'h4469_6E21);
        dout_seed = stream_seed(seed, 32'h446F_7521);
        cmd_fd = 0; din_fd = 0; dout_fd = 0;
        cmd_word = 64'd0; din_word = {DIN_BITS{1'b0}};
        if (n_cmd != 0) begin
            cmd_fd = $fopen(cmd_file, "r");
            scanned = $fscanf(cmd_fd, "%h\n", cmd_word);
            if (scanned != 1) begin
                $display("hwgen_tb: cannot read cmd_file");
                $finish;
            end
        end
        if (n_din != 0) begin
            din_fd = $fopen(din_file, "r");
            scanned = $fscanf(din_fd, "%h\n", din_word);
            if (scanned != 1) begin
                $display("hwgen_tb: cannot read din_file");
                $finish;
            end
        end
        if (n_dout != 0) dout_fd = $fopen(dout_file, "w");
    end

    // ---------------------------------------------------------------- the design
    wire                 cmd_valid, cmd_ready;
    wire [63:0]          cmd_payload;
    wire                 din_valid, din_ready;
    wire [DIN_BITS-1:0]  din_payload;
    wire                 dout_valid, dout_ready;
    wire [DOUT_BITS-1:0] dout_payload;
    wire                 busy, compute_busy;
    wire [31:0]          dut_compute_cycles;
    wire                 dut_error;

    hwgen_top dut (
        .clk(clk),
        .rst(rst),
        .cmd__valid(cmd_valid),
        .cmd__ready(cmd_ready),
        .cmd__payload(cmd_payload),
        .din__valid(din_valid),
        .din__ready(din_ready),
        .din__payload(din_payload),
        .dout__valid(dout_valid),
        .dout__ready(dout_ready),
        .dout__payload(dout_payload),
        .busy(busy),
        .compute_busy(compute_busy),
`ifdef HWGEN_TOP_HAS_ERROR
        .error(dut_error),
`endif
        .compute_cycles(dut_compute_cycles)
    );
`ifndef HWGEN_TOP_HAS_ERROR
    assign dut_error = 1'b0;
`endif

`ifndef VERILATOR
    // +vcd_file=PATH dumps every signal of the design (not of this wrapper) as a VCD,
    // e.g. for switching activity. Icarus only: a Verilator build has no tracing.
    reg [8*PATH_CHARS-1:0] vcd_file;
    initial begin
        if ($value$plusargs("vcd_file=%s", vcd_file)) begin
            $dumpfile(vcd_file);
            $dumpvars(0, dut);
        end
    end
`endif

    // ---------------------------------------------------------------- sources
    // A source may withhold valid only between beats: once valid is up it stays up, with
    // the same payload, until the beat is accepted.
    reg [31:0] cmd_rng, din_rng, dout_rng;
    reg cmd_hold, din_hold, dout_hold;

    // Reading the next word of a file is a blocking call into a scratch variable; the
    // word itself changes with the edge (nonblocking), like any register.
    // verilator lint_off BLKSEQ

    assign cmd_valid   = !rst && !done && cmd_taken < n_cmd && !cmd_hold;
    assign cmd_payload = cmd_word;
    assign din_valid   = !rst && !done && din_taken < n_din && !din_hold;
    assign din_payload = din_word;
    assign dout_ready  = !rst && !done && dout_taken < n_dout && !dout_hold;

    always @(posedge clk) begin
        if (rst) begin
            cmd_rng  <= cmd_seed;
            din_rng  <= din_seed;
            dout_rng <= dout_seed;
            cmd_hold  <= 1'b0;
            din_hold  <= 1'b0;
            dout_hold <= 1'b0;
            cmd_taken  <= 32'd0;
            din_taken  <= 32'd0;
            dout_taken <= 32'd0;
        end else begin
            cmd_rng  <= xorshift32(cmd_rng);
            din_rng  <= xorshift32(din_rng);
            dout_rng <= xorshift32(dout_rng);

            // An accepted word is replaced by the next one of the file at this edge.
            if (cmd_valid && cmd_ready) begin
                cmd_taken <= cmd_taken + 32'd1;
                if (cmd_taken + 32'd1 < n_cmd) begin
                    scanned = $fscanf(cmd_fd, "%h\n", cmd_next);
                    if (scanned != 1) begin
                        $display("hwgen_tb: cmd_file ends before word %0d", cmd_taken + 1);
                        $finish;
                    end
                    cmd_word <= cmd_next;
                end
            end
            if (!(cmd_valid && !cmd_ready)) cmd_hold <= cmd_rng % 32'd100 < stall_pct;

            if (din_valid && din_ready) begin
                din_taken <= din_taken + 32'd1;
                if (din_taken + 32'd1 < n_din) begin
                    scanned = $fscanf(din_fd, "%h\n", din_next);
                    if (scanned != 1) begin
                        $display("hwgen_tb: din_file ends before word %0d", din_taken + 1);
                        $finish;
                    end
                    din_word <= din_next;
                end
            end
            if (!(din_valid && !din_ready)) din_hold <= din_rng % 32'd100 < stall_pct;

            // ---------------------------------------------------------------- sink
            dout_hold <= dout_rng % 32'd100 < stall_pct;
            if (dout_valid && dout_ready) begin
                $fwrite(dout_fd, "%h\n", dout_payload);
                dout_taken <= dout_taken + 32'd1;
            end
        end
    end

    // verilator lint_on BLKSEQ

    // ---------------------------------------------------------------- completion
    wire finished = cmd_taken == n_cmd && din_taken == n_din && dout_taken == n_dout && !busy;

    always @(posedge clk) begin
        if (rst) begin
            done    <= 1'b0;
            timeout <= 1'b0;
            cycles  <= 32'd0;
            compute_cycles      <= 32'd0;
            compute_busy_cycles <= 32'd0;
            error_seen          <= 1'b0;
        end else if (!done) begin
            if (compute_busy) compute_busy_cycles <= compute_busy_cycles + 32'd1;
            if (dut_error) error_seen <= 1'b1;
            if (finished || cycles >= max_cycles) begin
                done           <= 1'b1;
                timeout        <= !finished;
                compute_cycles <= dut_compute_cycles;
                if (dout_fd != 0) $fclose(dout_fd);
            end else begin
                cycles <= cycles + 32'd1;
            end
        end
    end
endmodule
