/*
 * Test program for the OS fragments (os_fs, os_env, os_time, os_process). The first input byte
 * picks a scenario; then come length-prefixed fields (u32_le length, bytes).
 */
#include <stdio.h>

#define LIT(s) x7_view_lit((const uint8_t *)(s), (uint32_t)(sizeof(s) - 1))

static x7_view field(uint32_t index) {
    uint32_t off = 1;
    for (uint32_t i = 0;; i++) {
        uint32_t n = x7_codec_read_u32_le(x7_input, off, "/field");
        if (i == index) return x7_view_slice(x7_input, off + 4, n, "/field");
        off += 4 + n;
    }
}

static x7_vec out;

static void put(x7_view s) { out = x7_vec_u8_extend_bytes(out, s); }
static void put_c(const char *s) { put(x7_view_lit((const uint8_t *)s, (uint32_t)strlen(s))); }
static void put_u(uint32_t x) {
    x7_bytes b = x7_fmt_u32_to_dec(x);
    put(x7_bytes_view(b));
    x7_bytes_drop(b);
}
static void put_s(uint32_t x) {
    x7_bytes b = x7_fmt_s32_to_dec(x);
    put(x7_bytes_view(b));
    x7_bytes_drop(b);
}

/* ---------------------------------------------------------------- filesystem */

static char path_buf[2][8192];

/* dir/name in one of two static buffers. */
static x7_view in_dir(int which, const char *name) {
    x7_view dir = field(0);
    char *b = path_buf[which];
    memcpy(b, dir.ptr, dir.len);
    b[dir.len] = '/';
    size_t n = strlen(name);
    memcpy(b + dir.len + 1, name, n);
    return (x7_view){(const uint8_t *)b, (uint32_t)(dir.len + 1 + n)};
}
static x7_view P(const char *name) { return in_dir(0, name); }
static x7_view Q(const char *name) { return in_dir(1, name); }

static uint8_t caps_buf[4][24];
static int caps_next;

static x7_view caps(uint32_t max_read, uint32_t max_write, uint32_t entries, uint32_t depth,
                    uint32_t flags) {
    uint8_t *c = caps_buf[caps_next++ & 3];
    uint32_t w[6] = {1, max_read, max_write, entries, depth, flags};
    for (int i = 0; i < 6; i++) x7_fs_put_le32(c + 4 * i, w[i]);
    return (x7_view){c, 24};
}
#define DEF caps(16u << 20, 16u << 20, 10000, 64, 28)
#define FLAGS(f) caps(16u << 20, 16u << 20, 10000, 64, (f))

static void log_i(const char *label, x7_res_i32 r) {
    put_c(label);
    put_c(r.tag ? " ok " : " err ");
    put_u(r.val);
    put_c("\n");
}

/* ok results print their content; newlines become commas so listings stay on one line. */
static void log_b(const char *label, x7_res_bytes r) {
    put_c(label);
    if (!r.tag) {
        put_c(" err ");
        put_u(r.err);
    } else {
        put_c(" ok ");
        for (uint32_t i = 0; i < r.val.len; i++) out = x7_vec_u8_push(out, r.val.ptr[i] == '\n' ? ',' : r.val.ptr[i]);
    }
    put_c("\n");
    x7_res_bytes_drop(r);
}

static void log_stat(const char *label, x7_res_bytes r) {
    put_c(label);
    if (!r.tag) {
        put_c(" err ");
        put_u(r.err);
    } else {
        x7_view v = x7_bytes_view(r.val);
        put_c(" ok v=");
        put_u(x7_codec_read_u32_le(v, 0, "/stat"));
        put_c(" kind=");
        put_u(x7_codec_read_u32_le(v, 4, "/stat"));
        put_c(" size=");
        put_u(x7_codec_read_u32_le(v, 8, "/stat"));
        put_c(x7_codec_read_u32_le(v, 12, "/stat") > 1600000000u ? " mtime=recent" : " mtime=old");
    }
    put_c("\n");
    x7_res_bytes_drop(r);
}

static x7_bytes scenario_fs(void) {
    out = x7_vec_u8_with_capacity(0);
    put_c("write_file ");
    put_u(x7_os_fs_write_file(P("a.txt"), LIT("hello")));
    put_c("\nread_file ");
    x7_bytes rf = x7_os_fs_read_file(P("a.txt"), "/rf");
    put(x7_bytes_view(rf));
    x7_bytes_drop(rf);
    put_c("\n");
    log_b("read_all missing", x7_os_fs_read_all_v1(P("missing"), DEF));
    log_i("write_all no-overwrite atomic", x7_os_fs_write_all_v1(P("a.txt"), LIT("x"), FLAGS(20)));
    log_i("write_all no-overwrite plain", x7_os_fs_write_all_v1(P("a.txt"), LIT("x"), FLAGS(0)));
    log_i("write_all", x7_os_fs_write_all_v1(P("a.txt"), LIT("world!"), DEF));
    log_i("append_all", x7_os_fs_append_all_v1(P("a.txt"), LIT("++"), DEF));
    log_b("read_all", x7_os_fs_read_all_v1(P("a.txt"), DEF));
    log_i("write_all parents", x7_os_fs_write_all_v1(P("sub/deep/b.txt"), LIT("b"), DEF));
    log_i("write_all no-parents", x7_os_fs_write_all_v1(P("nop/c.txt"), LIT("c"), FLAGS(8)));
    log_i("write_all hidden", x7_os_fs_write_all_v1(P(".hidden"), LIT("h"), DEF));
    log_i("write_all hidden allowed", x7_os_fs_write_all_v1(P(".hidden"), LIT("h"), FLAGS(29)));
    log_b("read_all hidden dir", x7_os_fs_read_all_v1(P(".git/x"), DEF));
    log_b("read_all symlink", x7_os_fs_read_all_v1(P("flink"), DEF));
    log_b("read_all symlink allowed", x7_os_fs_read_all_v1(P("flink"), FLAGS(30)));
    log_b("read_all via dir symlink", x7_os_fs_read_all_v1(P("link/deep/b.txt"), DEF));
    log_b("read_all via dir symlink allowed", x7_os_fs_read_all_v1(P("link/deep/b.txt"), FLAGS(30)));
    log_b("read_all too large", x7_os_fs_read_all_v1(P("a.txt"), caps(3, 100, 10, 10, 28)));
    log_i("write_all too large", x7_os_fs_write_all_v1(P("big.txt"), LIT("abcd"), caps(100, 3, 10, 10, 28)));
    log_stat("stat file", x7_os_fs_stat_v1(P("a.txt"), DEF));
    log_stat("stat dir", x7_os_fs_stat_v1(P("sub"), DEF));
    log_stat("stat symlink", x7_os_fs_stat_v1(P("flink"), DEF));
    log_stat("stat symlink allowed", x7_os_fs_stat_v1(P("flink"), FLAGS(30)));
    log_b("list", x7_os_fs_list_dir_sorted_text_v1(field(0), DEF));
    log_b("list hidden", x7_os_fs_list_dir_sorted_text_v1(field(0), FLAGS(29)));
    log_b("list too many", x7_os_fs_list_dir_sorted_text_v1(field(0), caps(10, 10, 2, 10, 28)));
    log_b("list file", x7_os_fs_list_dir_sorted_text_v1(P("a.txt"), DEF));
    log_i("mkdirs", x7_os_fs_mkdirs_v1(P("m/n/o"), DEF));
    log_i("mkdirs again", x7_os_fs_mkdirs_v1(P("m/n/o"), DEF));
    log_i("mkdirs over file", x7_os_fs_mkdirs_v1(P("a.txt"), DEF));
    log_i("rename", x7_os_fs_rename_v1(P("a.txt"), Q("m/a2.txt"), DEF));
    log_i("rename no-overwrite", x7_os_fs_rename_v1(P("sub/deep/b.txt"), Q("m/a2.txt"), FLAGS(0)));
    log_b("read_all renamed", x7_os_fs_read_all_v1(P("m/a2.txt"), DEF));
    log_i("copy_file", x7_os_fs_copy_file_v1(P("m/a2.txt"), Q("copy.txt"), DEF, DEF));
    log_b("read_all copy", x7_os_fs_read_all_v1(P("copy.txt"), DEF));
    log_i("copy_file too large", x7_os_fs_copy_file_v1(P("m/a2.txt"), Q("c2.txt"), DEF, caps(100, 4, 10, 10, 28)));
    log_i("remove_file", x7_os_fs_remove_file_v1(P("copy.txt"), DEF));
    log_i("remove_file again", x7_os_fs_remove_file_v1(P("copy.txt"), DEF));
    log_i("remove_file dir", x7_os_fs_remove_file_v1(P("sub"), DEF));
    log_i("remove_dir_all too deep", x7_os_fs_remove_dir_all_v1(P("sub"), caps(10, 10, 10, 1, 28)));
    log_i("remove_dir_all symlink", x7_os_fs_remove_dir_all_v1(P("link"), DEF));
    log_i("remove_dir_all", x7_os_fs_remove_dir_all_v1(P("m"), DEF));
    log_stat("stat removed", x7_os_fs_stat_v1(P("m"), DEF));
    log_b("read_all bad caps", x7_os_fs_read_all_v1(P("a.txt"), LIT("short")));
    log_b("read_all empty path", x7_os_fs_read_all_v1(LIT(""), DEF));
    put_c("write_file missing dir ");
    put_u(x7_os_fs_write_file(P("nop/x"), LIT("x")));
    put_c("\n");
    log_b("list end", x7_os_fs_list_dir_sorted_text_v1(field(0), FLAGS(29)));
    return x7_vec_u8_into_bytes(out);
}

/* ---------------------------------------------------------------- processes */

static x7_bytes scenario_join(void) {
    uint32_t h = x7_os_process_spawn_capture_v1(field(0), field(1));
    if (h & 0x80000000u) return x7_fmt_s32_to_dec(h);
    uint32_t polls = 0;
    for (;;) {
        x7_opt_bytes r = x7_os_process_try_join_capture_v1(h);
        if (r.tag) return x7_bytes_concat(x7_bytes1(polls > 0), r.val, "/join");
        polls++;
    }
}

static x7_bytes scenario_piped(void) {
    out = x7_vec_u8_with_capacity(0);
    uint32_t h = x7_os_process_spawn_piped_v1(field(0), field(1));
    put_c("write=");
    put_u(x7_os_process_stdin_write_v1(h, LIT("piped data")));
    put_c(" close=");
    put_u(x7_os_process_stdin_close_v1(h));
    put_c(" out=");
    for (;;) {
        x7_bytes b = x7_os_process_stdout_read_v1(h, 3);
        uint32_t n = b.len;
        put(x7_bytes_view(b));
        x7_bytes_drop(b);
        if (n == 0) break;
    }
    x7_bytes e = x7_os_process_stderr_read_v1(h, 100);
    put_c(" err=");
    put(x7_bytes_view(e));
    x7_bytes_drop(e);
    put_c(" exit=");
    put_u(x7_os_process_take_exit_v1(h));
    put_c(" waited=");
    put_u(x7_os_process_try_wait_v1(h));
    put_c(" drop=");
    put_u(x7_os_process_drop_v1(h));
    put_c(" after=");
    put_s(x7_os_process_try_wait_v1(h));
    return x7_vec_u8_into_bytes(out);
}

static x7_bytes scenario_kill(void) {
    out = x7_vec_u8_with_capacity(0);
    uint32_t h = x7_os_process_spawn_piped_v1(field(0), field(1));
    put_c("running=");
    put_u(x7_os_process_try_wait_v1(h));
    put_c(" kill=");
    put_u(x7_os_process_kill_v1(h, 15));
    put_c(" exit=");
    put_u(x7_os_process_take_exit_v1(h));
    put_c(" drop=");
    put_u(x7_os_process_drop_v1(h));
    return x7_vec_u8_into_bytes(out);
}

static x7_bytes scenario_bad_handles(void) {
    out = x7_vec_u8_with_capacity(0);
    put_s(x7_os_process_try_wait_v1(999));
    put_c(" ");
    put_s(x7_os_process_take_exit_v1(999));
    put_c(" ");
    put_u(x7_os_process_drop_v1(999));
    put_c(" ");
    put_u(x7_os_process_kill_v1(999, 9));
    put_c(" ");
    put_u(x7_os_process_stdin_write_v1(999, LIT("x")));
    put_c(" ");
    put_u(x7_os_process_stdin_close_v1(999));
    put_c(" ");
    put_u(x7_os_process_stdout_read_v1(999, 10).len);
    x7_opt_bytes j = x7_os_process_try_join_capture_v1(999);
    put_c(" join=");
    put_u(j.tag);
    put_c(",");
    put_u(x7_codec_read_u32_le(x7_bytes_view(j.val), 1, "/j"));
    x7_opt_bytes_drop(j);
    return x7_vec_u8_into_bytes(out);
}

/* ---------------------------------------------------------------- env, time, exit */

static x7_bytes scenario_time(void) {
    uint32_t ms = x7_parse_u32_dec(field(0), "/ms");
    uint32_t t0 = x7_os_time_now_unix_ms();
    x7_os_time_sleep_ms_v1(ms);
    uint32_t t1 = x7_os_time_now_unix_ms();
    out = x7_vec_u8_with_capacity(0);
    put_u(t1 - t0);
    put_c(" ");
    put_u(t0);
    return x7_vec_u8_into_bytes(out);
}

static x7_bytes x7_solve(void) {
    X7_FUEL("/solve");
    switch (x7_view_get_u8(x7_input, 0, "/solve/0")) {
    case 'f': return scenario_fs();
    case 'r': return x7_os_fs_read_file(field(0), "/read");
    case 'e': return x7_os_env_get(field(0));
    case 't': return scenario_time();
    case 'R': return x7_os_process_run_capture_v1(field(0), field(1));
    case 'J': return scenario_join();
    case 'I': return scenario_piped();
    case 'K': return scenario_kill();
    case 'H': return scenario_bad_handles();
    case 'x': x7_os_process_exit(5); return x7_bytes1('n');
    default: return x7_bytes_empty();
    }
}
