/* Byte histogram, written the way one would by hand: 256 counters, output 256 x u32_le.
 * Same framed I/O as an x07 binary. */
#include "frame_io.h"

int main(void) {
    uint8_t *in;
    uint32_t n = frame_read_input(&in);
    uint32_t counts[256] = {0};
    for (uint32_t i = 0; i < n; i++) counts[in[i]]++;
    uint8_t out[1024];
    for (int b = 0; b < 256; b++) put_u32_le(out + 4 * b, counts[b]);
    frame_write_output(out, sizeof out);
    free(in);
    return 0;
}
