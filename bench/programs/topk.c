/* The 16 largest byte counts, ascending: four quarter histograms merged, then the counts sorted
 * (what topk.x07.json computes with defasync workers and std.heap). Same framed I/O as an x07 binary. */
#include "frame_io.h"

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(void) {
    uint8_t *in;
    uint32_t n = frame_read_input(&in);
    uint32_t part[4][256] = {{0}};
    for (int w = 0; w < 4; w++) {
        uint32_t lo = (uint32_t)((uint64_t)n * w / 4), hi = (uint32_t)((uint64_t)n * (w + 1) / 4);
        for (uint32_t i = lo; i < hi; i++) part[w][in[i]]++;
    }
    uint32_t counts[256];
    for (int b = 0; b < 256; b++) counts[b] = part[0][b] + part[1][b] + part[2][b] + part[3][b];
    qsort(counts, 256, sizeof counts[0], cmp_u32);
    uint8_t out[64];
    for (int i = 0; i < 16; i++) put_u32_le(out + 4 * i, counts[240 + i]);
    frame_write_output(out, sizeof out);
    free(in);
    return 0;
}
