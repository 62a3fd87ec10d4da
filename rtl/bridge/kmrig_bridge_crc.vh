// CRC helpers of the bridge frame engine (docs/protocol.md, section 2), one byte per call.
// Included inside the modules that use them.

// CRC-16/IBM-3740 (CCITT-FALSE): poly 0x1021, MSB first, init 0xFFFF, no final XOR.
function [15:0] crc16_byte;
    input [15:0] crc;
    input [7:0]  b;
    integer k;
    reg [15:0] c;
    begin
        c = crc ^ {b, 8'h00};
        for (k = 0; k < 8; k = k + 1) begin
            c = c[15] ? ((c << 1) ^ 16'h1021) : (c << 1);
        end
        crc16_byte = c;
    end
endfunction

// CRC-32/ISO-HDLC register step (reflected poly 0xEDB88320); start from 0xFFFFFFFF and
// invert the register for the final value.
function [31:0] crc32_byte;
    input [31:0] crc;
    input [7:0]  b;
    integer k;
    reg [31:0] c;
    begin
        c = crc ^ {24'h000000, b};
        for (k = 0; k < 8; k = k + 1) begin
            c = c[0] ? ((c >> 1) ^ 32'hEDB88320) : (c >> 1);
        end
        crc32_byte = c;
    end
endfunction
