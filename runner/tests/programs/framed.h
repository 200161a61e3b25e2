/* The framed executable ABI written by hand, for runner tests: the same bytes the x07 runtime's
 * main writes, without the runtime. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_all(int fd, const void *p, size_t n) {
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w <= 0) _exit(2);
        b += w;
        n -= (size_t)w;
    }
}

static void read_exact(void *p, size_t n) {
    uint8_t *b = p;
    while (n > 0) {
        ssize_t r = read(0, b, n);
        if (r <= 0) {
            fputs("short read on stdin\n", stderr);
            _exit(2);
        }
        b += r;
        n -= (size_t)r;
    }
}

/* Reads the input frame; *len receives the payload length. */
static uint8_t *read_input(uint32_t *len) {
    uint8_t h[4];
    read_exact(h, 4);
    *len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
    uint8_t *buf = malloc(*len ? *len : 1);
    read_exact(buf, *len);
    return buf;
}

static void write_frame_header(uint32_t len) {
    uint8_t h[4] = {(uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16), (uint8_t)(len >> 24)};
    write_all(1, h, 4);
}

static void write_output(const void *p, uint32_t len) {
    write_frame_header(len);
    write_all(1, p, len);
}

static void write_stats(unsigned long long fuel) {
    fprintf(stderr,
            "{\"fuel_used\":%llu,\"heap_used\":4096,\"fs_read_file_calls\":0,\"fs_list_dir_calls\":0,"
            "\"rr_open_calls\":0,\"rr_close_calls\":0,\"rr_stats_calls\":0,\"rr_next_calls\":0,"
            "\"rr_next_miss_calls\":0,\"rr_append_calls\":0,\"kv_get_calls\":0,\"kv_set_calls\":0,"
            "\"sched_stats\":{\"tasks_spawned\":0,\"spawn_calls\":0,\"join_calls\":0,\"yield_calls\":0,"
            "\"sleep_calls\":0,\"chan_send_calls\":0,\"chan_recv_calls\":0,\"ctx_switches\":0,\"wake_events\":0,"
            "\"blocked_waits\":0,\"virtual_time_end\":0,\"sched_trace_hash\":\"0x0000000000000000\"},"
            "\"mem_stats\":{\"alloc_calls\":1,\"realloc_calls\":0,\"free_calls\":1,\"bytes_alloc_total\":5,"
            "\"bytes_freed_total\":5,\"live_bytes\":0,\"peak_live_bytes\":5,\"live_allocs\":0,"
            "\"peak_live_allocs\":1,\"memcpy_bytes\":5}}\n",
            fuel);
    fflush(stderr);
}
