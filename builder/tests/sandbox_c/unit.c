/*
 * Unit driver for the sandbox fragments (no main_framed, so no start-up): decodes, intersects and
 * re-encodes policy blobs (version 2) and prints them as JSON in the shape of the spec's test vector,
 * and exercises the small helpers. Usage:
 *   unit dump FILE | unit roundtrip FILE | unit intersect EMBEDDED HANDED | unit helpers
 */
#include <stdio.h>

static X7_UNUSED x7_bytes x7_solve(void) { return X7_EMPTY_BYTES; }

static void put_bool(x7_sbuf *b, const char *key, uint32_t v, int comma) {
    char s[96];
    snprintf(s, sizeof s, "%s\"%s\":%s", comma ? "," : "", key, v ? "true" : "false");
    x7_sbuf_str(b, s);
}

static void put_u64(x7_sbuf *b, const char *key, uint64_t v, int comma) {
    char s[96];
    snprintf(s, sizeof s, "%s\"%s\":%llu", comma ? "," : "", key, (unsigned long long)v);
    x7_sbuf_str(b, s);
}

static void put_strs(x7_sbuf *b, const char *key, const x7_pstrs *l) {
    char s[96];
    snprintf(s, sizeof s, ",\"%s\":[", key);
    x7_sbuf_str(b, s);
    for (uint32_t i = 0; i < l->n; i++) {
        if (i) x7_sbuf_str(b, ",");
        x7_json_str(b, (const uint8_t *)l->v[i].s, l->v[i].n);
    }
    x7_sbuf_str(b, "]");
}

static void dump(const x7_policy *p) {
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_sbuf_str(&b, "{\"backend\":");
    x7_json_cstr(&b, p->backend ? "os" : "none");
    put_u64(&b, "accept_weaker", p->accept_weaker, 1);
    x7_sbuf_str(&b, ",\"digest\":");
    x7_json_digest(&b, p->digest);
    x7_sbuf_str(&b, ",\"limits\":{");
    put_u64(&b, "cpu_ms", p->cpu_ms, 0);
    put_u64(&b, "wall_ms", p->wall_ms, 1);
    put_u64(&b, "mem_bytes", p->mem_bytes, 1);
    put_u64(&b, "fds", p->fds, 1);
    put_u64(&b, "procs", p->procs, 1);
    put_bool(&b, "core_dumps", p->core_dumps, 1);
    x7_sbuf_str(&b, "},\"fs\":{");
    put_bool(&b, "enabled", p->fs.enabled, 0);
    put_strs(&b, "read_roots", &p->fs.read_roots);
    put_strs(&b, "write_roots", &p->fs.write_roots);
    put_bool(&b, "deny_hidden", p->fs.deny_hidden, 1);
    put_bool(&b, "allow_symlinks", p->fs.allow_symlinks, 1);
    put_bool(&b, "allow_mkdir", p->fs.allow_mkdir, 1);
    put_bool(&b, "allow_remove", p->fs.allow_remove, 1);
    put_bool(&b, "allow_rename", p->fs.allow_rename, 1);
    put_bool(&b, "allow_walk", p->fs.allow_walk, 1);
    put_bool(&b, "allow_glob", p->fs.allow_glob, 1);
    put_u64(&b, "max_read_bytes", p->fs.max_read_bytes, 1);
    put_u64(&b, "max_write_bytes", p->fs.max_write_bytes, 1);
    put_u64(&b, "max_entries", p->fs.max_entries, 1);
    put_u64(&b, "max_depth", p->fs.max_depth, 1);
    x7_sbuf_str(&b, "},\"net\":{");
    put_bool(&b, "enabled", p->net.enabled, 0);
    put_bool(&b, "allow_dns", p->net.allow_dns, 1);
    put_bool(&b, "allow_tcp", p->net.allow_tcp, 1);
    put_bool(&b, "allow_udp", p->net.allow_udp, 1);
    x7_sbuf_str(&b, ",\"allow_hosts\":[");
    for (uint32_t i = 0; i < p->net.nhosts; i++) {
        x7_sbuf_str(&b, i ? ",{\"host\":" : "{\"host\":");
        x7_json_str(&b, (const uint8_t *)p->net.hosts[i].host.s, p->net.hosts[i].host.n);
        x7_sbuf_str(&b, ",\"ports\":[");
        for (uint32_t j = 0; j < p->net.hosts[i].nports; j++) {
            char s[16];
            snprintf(s, sizeof s, "%s%u", j ? "," : "", p->net.hosts[i].ports[j]);
            x7_sbuf_str(&b, s);
        }
        x7_sbuf_str(&b, "]}");
    }
    x7_sbuf_str(&b, "]},\"env\":{");
    put_bool(&b, "enabled", p->env.enabled, 0);
    put_strs(&b, "allow_keys", &p->env.allow_keys);
    put_strs(&b, "deny_keys", &p->env.deny_keys);
    x7_sbuf_str(&b, "},\"time\":{");
    put_bool(&b, "enabled", p->time.enabled, 0);
    put_bool(&b, "allow_monotonic", p->time.allow_monotonic, 1);
    put_bool(&b, "allow_wall_clock", p->time.allow_wall_clock, 1);
    put_bool(&b, "allow_sleep", p->time.allow_sleep, 1);
    put_u64(&b, "max_sleep_ms", p->time.max_sleep_ms, 1);
    put_bool(&b, "allow_local_tzid", p->time.allow_local_tzid, 1);
    x7_sbuf_str(&b, "},\"process\":{");
    put_bool(&b, "enabled", p->proc.enabled, 0);
    put_bool(&b, "allow_spawn", p->proc.allow_spawn, 1);
    put_bool(&b, "allow_exec", p->proc.allow_exec, 1);
    put_bool(&b, "allow_exit", p->proc.allow_exit, 1);
    put_u64(&b, "max_live", p->proc.max_live, 1);
    put_u64(&b, "max_spawns", p->proc.max_spawns, 1);
    put_u64(&b, "max_runtime_ms", p->proc.max_runtime_ms, 1);
    put_strs(&b, "allow_execs", &p->proc.allow_execs);
    put_strs(&b, "allow_exec_prefixes", &p->proc.allow_exec_prefixes);
    put_strs(&b, "allow_args_regex_lite", &p->proc.allow_args_regex_lite);
    put_strs(&b, "allow_env_keys", &p->proc.allow_env_keys);
    put_u64(&b, "max_exe_bytes", p->proc.max_exe_bytes, 1);
    put_u64(&b, "max_args", p->proc.max_args, 1);
    put_u64(&b, "max_arg_bytes", p->proc.max_arg_bytes, 1);
    put_u64(&b, "max_env", p->proc.max_env, 1);
    put_u64(&b, "max_env_key_bytes", p->proc.max_env_key_bytes, 1);
    put_u64(&b, "max_env_val_bytes", p->proc.max_env_val_bytes, 1);
    put_u64(&b, "max_stdout_bytes", p->proc.max_stdout_bytes, 1);
    put_u64(&b, "max_stderr_bytes", p->proc.max_stderr_bytes, 1);
    put_u64(&b, "max_total_bytes", p->proc.max_total_bytes, 1);
    put_u64(&b, "max_stdin_bytes", p->proc.max_stdin_bytes, 1);
    put_bool(&b, "kill_on_drop", p->proc.kill_on_drop, 1);
    put_bool(&b, "kill_tree", p->proc.kill_tree, 1);
    put_bool(&b, "allow_cwd", p->proc.allow_cwd, 1);
    put_strs(&b, "allow_cwd_roots", &p->proc.allow_cwd_roots);
    x7_sbuf_str(&b, "},\"db\":{");
    put_bool(&b, "enabled", p->db.enabled, 0);
    x7_sbuf_str(&b, ",\"drivers\":{");
    put_bool(&b, "sqlite", p->db.sqlite, 0);
    put_bool(&b, "postgres", p->db.postgres, 1);
    put_bool(&b, "mysql", p->db.mysql, 1);
    put_bool(&b, "redis", p->db.redis, 1);
    x7_sbuf_str(&b, "}");
    put_u64(&b, "max_live_conns", p->db.max_live_conns, 1);
    put_u64(&b, "max_queries", p->db.max_queries, 1);
    put_u64(&b, "connect_timeout_ms", p->db.connect_timeout_ms, 1);
    put_u64(&b, "query_timeout_ms", p->db.query_timeout_ms, 1);
    put_u64(&b, "max_sql_bytes", p->db.max_sql_bytes, 1);
    put_u64(&b, "max_rows", p->db.max_rows, 1);
    put_u64(&b, "max_resp_bytes", p->db.max_resp_bytes, 1);
    x7_sbuf_str(&b, ",\"sqlite\":{");
    x7_sbuf_str(&b, "\"allow_paths\":[");
    for (uint32_t i = 0; i < p->db.sqlite_paths.n; i++) {
        if (i) x7_sbuf_str(&b, ",");
        x7_json_str(&b, (const uint8_t *)p->db.sqlite_paths.v[i].s, p->db.sqlite_paths.v[i].n);
    }
    x7_sbuf_str(&b, "]");
    put_bool(&b, "readonly_only", p->db.readonly_only, 1);
    put_bool(&b, "allow_create", p->db.allow_create, 1);
    put_bool(&b, "allow_in_memory", p->db.allow_in_memory, 1);
    x7_sbuf_str(&b, "},\"net\":{\"allow_dns\":[");
    for (uint32_t i = 0; i < p->db.allow_dns.n; i++) {
        if (i) x7_sbuf_str(&b, ",");
        x7_json_str(&b, (const uint8_t *)p->db.allow_dns.v[i].s, p->db.allow_dns.v[i].n);
    }
    x7_sbuf_str(&b, "]");
    put_strs(&b, "allow_cidrs", &p->db.allow_cidrs);
    x7_sbuf_str(&b, ",\"allow_ports\":[");
    for (uint32_t i = 0; i < p->db.nports; i++) {
        char s[16];
        snprintf(s, sizeof s, "%s%u", i ? "," : "", p->db.ports[i]);
        x7_sbuf_str(&b, s);
    }
    x7_sbuf_str(&b, "]");
    put_bool(&b, "require_tls", p->db.require_tls, 1);
    put_bool(&b, "require_verify", p->db.require_verify, 1);
    x7_sbuf_str(&b, "}");
    /* the seccomp programs as the spec's PolicyBlob serialises them: raw bytes, 8 per instruction */
    x7_sbuf_str(&b, "},\"syscall_filters\":[");
    for (uint32_t i = 0; i < p->filters.n; i++) {
        x7_sbuf_str(&b, i ? ",[" : "[");
        for (uint32_t j = 0; j < p->filters.v[i].count * 8u; j++) {
            char s[8];
            snprintf(s, sizeof s, "%s%u", j ? "," : "", p->filters.v[i].insns[j]);
            x7_sbuf_str(&b, s);
        }
        x7_sbuf_str(&b, "]");
    }
    x7_sbuf_str(&b, "]}\n");
    fwrite(b.p, 1, b.len, stdout);
    free(b.p);
}

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    static uint8_t buf[1 << 20];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static int load(const char *path, x7_policy *p) {
    size_t len;
    uint8_t *blob = slurp(path, &len);
    x7_pr r;
    if (x7_policy_decode(blob, len, p, &r) != 0) {
        printf("error: %s: %s at byte %zu\n", r.why_field, r.why, r.why_pos);
        return 1;
    }
    return 0;
}

static void helpers(void) {
    static const struct { const char *root, *path; } beneath[] = {
        {"/a", "/a"}, {"/a", "/a/b"}, {"/a", "/ab"}, {"/", "/x"}, {"/a/b", "/a"}, {"/a", "/a/../b"},
    };
    for (size_t i = 0; i < sizeof beneath / sizeof beneath[0]; i++)
        printf("beneath %s %s %d\n", beneath[i].root, beneath[i].path,
               x7_sb_beneath(beneath[i].root, strlen(beneath[i].root), beneath[i].path, strlen(beneath[i].path)));
    static const struct { const char *pat, *s; } rl[] = {
        {"--x.*", "--xyz"}, {"--x.*", "--y"}, {"\\*", "*"}, {"\\*", "a"}, {"a*b", "aaab"}, {"a*b", "b"},
        {"a*b", "ab "}, {"...", "abc"}, {"...", "ab"}, {".*", ""},
    };
    for (size_t i = 0; i < sizeof rl / sizeof rl[0]; i++)
        printf("regex %s %s %d\n", rl[i].pat, rl[i].s, x7_rl_match(rl[i].pat, rl[i].pat + strlen(rl[i].pat), rl[i].s));
    static const char *const paths[] = {"/", "/a/b", "a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.hidden/x", ""};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        printf("normal '%s' %d\n", paths[i], x7_path_is_normal(paths[i], (uint32_t)strlen(paths[i])));
    x7_sbuf b = {NULL, 0, 0, 0};
    static const uint8_t odd[] = {'q', '"', '\\', '\n', 0x01, 0xc3, 0xa9, 0xff, 0xe2, 0x82};
    x7_json_str(&b, odd, sizeof odd);
    printf("json %.*s\n", (int)b.len, (const char *)b.p);
    free(b.p);
}

int main(int argc, char **argv) {
    x7_policy a, b, out;
    if (argc == 3 && strcmp(argv[1], "dump") == 0) {
        if (load(argv[2], &a)) return 1;
        dump(&a);
    } else if (argc == 3 && strcmp(argv[1], "roundtrip") == 0) {
        size_t len;
        uint8_t *blob = slurp(argv[2], &len);
        if (load(argv[2], &a)) return 1;
        x7_sbuf enc = {NULL, 0, 0, 0};
        x7_policy_encode(&a, &enc);
        printf("%s\n", enc.len == len && memcmp(enc.p, blob, len) == 0 ? "same" : "differs");
    } else if (argc == 4 && strcmp(argv[1], "intersect") == 0) {
        if (load(argv[2], &a) || load(argv[3], &b)) return 1;
        x7_policy_intersect(&a, &b, &out);
        dump(&out);
    } else if (argc == 2 && strcmp(argv[1], "helpers") == 0) {
        helpers();
    } else {
        fprintf(stderr, "usage: unit dump|roundtrip FILE | intersect A B | helpers\n");
        return 2;
    }
    return 0;
}
