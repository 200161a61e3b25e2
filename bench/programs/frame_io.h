/*
 * Framed I/O for the hand-written C side of the benchmarks: the same wire format as an x07 framed
 * binary (stdin: u32_le length + bytes; stdout: u32_le length + bytes), so both sides are fed the
 * same file and their outputs compared byte for byte.
 */
#ifndef BENCH_FRAME_IO_H
#define BENCH_FRAME_IO_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Reads exactly n bytes from fd; exits with status 2 on a short read or an error. */
static void frame_read_exact(int fd, uint8_t *p, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fputs("bench: stdin: short read of the input frame\n", stderr);
            exit(2);
        }
        got += (size_t)r;
    }
}

/* Writes all n bytes to fd; exits with status 2 on failure. */
static void frame_write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fputs("bench: stdout: write failed\n", stderr);
            exit(2);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* Reads one input frame; the caller frees *out. */
static uint32_t frame_read_input(uint8_t **out) {
    uint8_t hdr[4];
    frame_read_exact(0, hdr, 4);
    uint32_t len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 |
                   (uint32_t)hdr[3] << 24;
    uint8_t *p = malloc(len ? len : 1);
    if (p == NULL) {
        fputs("bench: out of memory\n", stderr);
        exit(2);
    }
    frame_read_exact(0, p, len);
    *out = p;
    return len;
}

/* Stores v as 4 little-endian bytes at p. */
static void put_u32_le(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Writes one output frame. */
static void frame_write_output(const uint8_t *p, uint32_t len) {
    uint8_t hdr[4];
    put_u32_le(hdr, len);
    frame_write_all(1, hdr, 4);
    frame_write_all(1, p, len);
}

#endif
