/* The I/O floor of (c): reads the framed input like the other programs, computes nothing and
 * writes its length as one u32_le. Subtracting its time estimates the compute part of a run. */
#include "frame_io.h"

int main(void) {
    uint8_t *in;
    uint32_t n = frame_read_input(&in);
    uint8_t out[4];
    put_u32_le(out, n);
    frame_write_output(out, 4);
    free(in);
    return 0;
}
