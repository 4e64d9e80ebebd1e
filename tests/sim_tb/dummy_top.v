// Stand-in for the accelerator with the same ports, used to test the simulation harness.
//
// Commands (opcode in [3:0], count in [47:28] as in the host protocol):
//   1, 2  LOAD: take `count` din beats; each one folds into `acc`:
//               acc = acc * 3 + beat + opcode   (mod 2^DOUT_BITS)
//   3     COMPUTE: runs for M = [25:8] cycles in the background (compute_busy), then
//               increments `ncomp`.  A second COMPUTE or a READ waits for it.
//   4     READ: sends `count` beats, beat i = acc + i * address + ncomp * 2^20
//               with address = [27:8]
//   other NOP
// `error` goes (and stays) high if a source breaks the stream rules: dropping valid or
// changing the payload of a beat that has not been accepted yet.
/* verilator lint_off DECLFILENAME */
module hwgen_top #(
    parameter DIN_BITS  = 24,
    parameter DOUT_BITS = 36
) (
    input  wire                 clk,
    input  wire                 rst,
    input  wire                 cmd__valid,
    output wire                 cmd__ready,
    input  wire [63:0]          cmd__payload,
    input  wire                 din__valid,
    output wire                 din__ready,
    input  wire [DIN_BITS-1:0]  din__payload,
    output wire                 dout__valid,
    input  wire                 dout__ready,
    output reg  [DOUT_BITS-1:0] dout__payload,
    output wire                 busy,
    output wire                 compute_busy,
    output reg  [31:0]          compute_cycles,
    output reg                  error
);
    localparam [1:0] IDLE = 2'd0, LOAD = 2'd1, WAIT = 2'd2, READ = 2'd3;

    reg [1:0]           state;
    reg [3:0]           op;
    reg [19:0]          remaining;
    reg [19:0]          address;
    reg [19:0]          index;
    reg [DOUT_BITS-1:0] acc;
    reg [17:0]          compute_left;
    reg [7:0]           ncomp;
    reg [17:0]          pending_m;
    reg                 cmd_waiting, din_waiting;
    reg [63:0]          cmd_last;
    reg [DIN_BITS-1:0]  din_last;

    wire [3:0]  cmd_op    = cmd__payload[3:0];
    wire [19:0] cmd_count = cmd__payload[47:28];

    assign compute_busy = compute_left != 18'd0;
    assign busy         = state != IDLE || compute_busy;
    assign cmd__ready   = state == IDLE;
    assign din__ready   = state == LOAD;
    assign dout__valid  = state == READ;

    always @(*)
        dout__payload = acc + index * address + ({{(DOUT_BITS - 8){1'b0}}, ncomp} << 20);

    always @(posedge clk) begin
        if (rst) begin
            state          <= IDLE;
            op             <= 4'd0;
            remaining      <= 20'd0;
            address        <= 20'd0;
            index          <= 20'd0;
            acc            <= {DOUT_BITS{1'b0}};
            compute_left   <= 18'd0;
            ncomp          <= 8'd0;
            compute_cycles <= 32'd0;
            pending_m      <= 18'd0;
            error          <= 1'b0;
            cmd_waiting    <= 1'b0;
            din_waiting    <= 1'b0;
            cmd_last       <= 64'd0;
            din_last       <= {DIN_BITS{1'b0}};
        end else begin
            cmd_waiting <= cmd__valid && !cmd__ready;
            din_waiting <= din__valid && !din__ready;
            cmd_last    <= cmd__payload;
            din_last    <= din__payload;
            if (cmd_waiting && (!cmd__valid || cmd__payload != cmd_last)) error <= 1'b1;
            if (din_waiting && (!din__valid || din__payload != din_last)) error <= 1'b1;

            if (compute_busy) begin
                compute_cycles <= compute_cycles + 32'd1;
                compute_left   <= compute_left - 18'd1;
                if (compute_left == 18'd1) ncomp <= ncomp + 8'd1;
            end

            case (state)
                IDLE:
                    if (cmd__valid) begin
                        op        <= cmd_op;
                        remaining <= cmd_count;
                        address   <= cmd__payload[27:8];
                        index     <= 20'd0;
                        pending_m <= cmd__payload[25:8];
                        if ((cmd_op == 4'd1 || cmd_op == 4'd2) && cmd_count != 20'd0)
                            state <= LOAD;
                        else if (cmd_op == 4'd3 || (cmd_op == 4'd4 && cmd_count != 20'd0))
                            state <= WAIT;
                    end
                LOAD:
                    if (din__valid) begin
                        acc <= acc * 3 + {{(DOUT_BITS - DIN_BITS){1'b0}}, din__payload}
                               + {{(DOUT_BITS - 4){1'b0}}, op};
                        remaining <= remaining - 20'd1;
                        if (remaining == 20'd1) state <= IDLE;
                    end
                WAIT:
                    if (!compute_busy) begin
                        if (op == 4'd3) begin
                            compute_left <= pending_m;
                            state        <= IDLE;
                        end else begin
                            state <= READ;
                        end
                    end
                READ:
                    if (dout__ready) begin
                        index     <= index + 20'd1;
                        remaining <= remaining - 20'd1;
                        if (remaining == 20'd1) state <= IDLE;
                    end
            endcase
        end
    end
endmodule
