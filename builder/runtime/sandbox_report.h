/* x07-fragment: requires=core,sandbox_policy */
/*
 * sandbox_report: the JSON lines the sandbox writes on stderr for the launcher — one
 * {"x07_denial":{...}} line per denial (at most X7_SB_MAX_DENIAL_LINES, each written at once so it
 * survives a trap), then {"x07_denials_dropped":N} at exit when some were left out — and the
 * JSON string escaping the start-up line shares.
 */
#ifdef X07_SANDBOXED

#define X7_SB_MAX_DENIAL_LINES 64u
/* Program data in a denial line is cut at this many bytes. */
#define X7_SB_TARGET_MAX 512u

/*
 * Appends s as a JSON string: quotes, backslashes and control bytes escaped, bytes that are not
 * UTF-8 replaced by U+FFFD, so the line is always valid JSON whatever a program passed.
 */
X7_FN void x7_json_str(x7_sbuf *b, const uint8_t *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    x7_sbuf_put(b, "\"", 1);
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            x7_sbuf_put(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            x7_sbuf_put(b, esc, 6);
            i++;
        } else {
            size_t len = x7_utf8_seq(s + i, n - i);
            if (len == 0) {
                x7_sbuf_str(b, "\\ufffd");
                i++;
            } else {
                x7_sbuf_put(b, s + i, len);
                i += len;
            }
        }
    }
    x7_sbuf_put(b, "\"", 1);
}

X7_FN void x7_json_cstr(x7_sbuf *b, const char *s) { x7_json_str(b, (const uint8_t *)s, strlen(s)); }

/* Writes b plus a newline to stderr in one write and frees it. */
X7_FN void x7_sbuf_emit_line(x7_sbuf *b) {
    x7_sbuf_put(b, "\n", 1);
    if (!b->failed) (void)x7_write_fd(2, b->p, b->len);
    free(b->p);
    *b = (x7_sbuf){NULL, 0, 0, 0};
}

/* Records one denial: op is the builtin, target what it was asked for, rule the policy field. */
X7_FN void x7_sb_deny(const char *op, const uint8_t *target, size_t n, const char *rule) {
    if (x7_sb.denials >= X7_SB_MAX_DENIAL_LINES) {
        x7_sb.dropped++;
        return;
    }
    x7_sb.denials++;
    x7_sbuf b = {NULL, 0, 0, 0};
    x7_sbuf_str(&b, "{\"x07_denial\":{\"op\":");
    x7_json_cstr(&b, op);
    x7_sbuf_str(&b, ",\"target\":");
    x7_json_str(&b, target != NULL ? target : (const uint8_t *)"", n > X7_SB_TARGET_MAX ? X7_SB_TARGET_MAX : n);
    x7_sbuf_str(&b, ",\"rule\":");
    x7_json_cstr(&b, rule);
    x7_sbuf_str(&b, "}}");
    x7_sbuf_emit_line(&b);
}

/* The dropped-denials line, once; async-signal-safe (the wall-clock handler calls it). */
X7_FN void x7_sandbox_at_exit(void) {
    if (x7_sb.at_exit_done) return;
    x7_sb.at_exit_done = 1;
    if (x7_sb.dropped == 0) return;
    x7_msg m;
    m.len = 0;
    x7_msg_str(&m, "{\"x07_denials_dropped\":");
    x7_msg_u64(&m, x7_sb.dropped);
    x7_msg_str(&m, "}\n");
    (void)x7_write_fd(2, m.buf, m.len);
}
#endif
