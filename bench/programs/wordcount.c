/* Word count, written the way one would by hand: the number of maximal runs of bytes other than
 * space, \n, \r and \t; output one u32_le. Same framed I/O as an x07 binary. */
#include "frame_io.h"

int main(void) {
    uint8_t *in;
    uint32_t n = frame_read_input(&in);
    uint32_t count = 0;
    int in_word = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        int sep = c == ' ' || c == '\n' || c == '\r' || c == '\t';
        if (!sep && !in_word) count++;
        in_word = !sep;
    }
    uint8_t out[4];
    put_u32_le(out, count);
    frame_write_output(out, 4);
    free(in);
    return 0;
}
