/* x07-fragment: requires=core,vec */
/*
 * regex: the `regex.*` builtins of x07.ext.regex, pure (every world). Byte-oriented patterns
 * with `|`, concatenation, groups `(…)` / `(?:…)`, `* + ? {n} {n,} {n,m}` (a trailing `?` is
 * accepted), classes `[…]` with ranges and negation, `.`, `^ $` (line-wise with multiline),
 * `\d \D \w \W \s \S \b \B`, `\n \t \r \f \v \xHH` and escaped punctuation. Options: 1 case-
 * insensitive (ASCII), 2 multiline, 4 dot matches newline.
 *
 * Matching is leftmost-longest: the earliest start, and the longest match from it (a Thompson
 * NFA run as a set of states in one pass over the text, so no pattern is exponential and no text
 * quadratic); captures are then found by a memoised search for a path ending exactly there
 * (greedy choices first).
 *
 * Documents (byte layouts read by ext.regex): compiled = 01 "X7RE" program | error = 00,
 * u32 code, u32 pattern position; match = 01, matched u8, u32 start, u32 end, u32 caps, then
 * (u32 start, u32 end) per capture (0xFFFFFFFF when it did not take part).
 */

#include <stdlib.h>

enum {
    X7RE_ERR_UNBALANCED_PAREN = 1,
    X7RE_ERR_UNCLOSED_CLASS = 2,
    X7RE_ERR_INVALID_CLASS = 3,
    X7RE_ERR_INVALID_ESCAPE = 4,
    X7RE_ERR_NOTHING_TO_REPEAT = 5,
    X7RE_ERR_INVALID_REPEAT = 6,
    X7RE_ERR_REPEAT_RANGE = 7,
    X7RE_ERR_STACK = 8,
    X7RE_ERR_TOO_MANY_STATES = 9,
    X7RE_ERR_INVALID_COMPILED = 10,
    X7RE_ERR_TOO_MANY_CAPTURES = 11,
};

#define X7RE_CASEI 1u
#define X7RE_MULTILINE 2u
#define X7RE_DOTALL 4u
#define X7RE_MAX_INST 20000u
#define X7RE_MAX_SETS 4096u
#define X7RE_MAX_CAPS 64u
#define X7RE_MAX_DEPTH 256u
#define X7RE_MAX_REPEAT 1000u
#define X7RE_NONE 0xFFFFFFFFu

enum { X7RE_SET = 1, X7RE_SPLIT, X7RE_JMP, X7RE_SAVE, X7RE_BOL, X7RE_EOL, X7RE_WORDB, X7RE_NWORDB, X7RE_MATCH };
enum { X7RN_SET = 1, X7RN_EMPTY, X7RN_CAT, X7RN_ALT, X7RN_REP, X7RN_GROUP, X7RN_ASSERT };

typedef struct { uint8_t op; uint32_t x, y; } x7re_inst;

X7_INLINE void x7re_put_u32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

X7_INLINE uint32_t x7re_get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
typedef struct { uint8_t kind; uint32_t a, b; int32_t l, r; } x7re_node;

/* A pattern being parsed and compiled; everything lives in malloc'd scratch freed at the end. */
typedef struct {
    const uint8_t *p;
    uint32_t n, at, opts, depth, ncaps, err, err_at;
    x7re_node *nodes;
    uint32_t nnodes, cap_nodes;
    uint8_t (*sets)[32];
    uint32_t nsets;
    x7re_inst *code;
    uint32_t ninst;
} x7re_build;

X7_FN int x7re_fail(x7re_build *b, uint32_t code, uint32_t at) {
    if (!b->err) {
        b->err = code;
        b->err_at = at;
    }
    return -1;
}

X7_FN int32_t x7re_mk(x7re_build *b, uint8_t kind, uint32_t a, uint32_t bb, int32_t l, int32_t r) {
    if (b->nnodes == b->cap_nodes) {
        uint32_t cap = b->cap_nodes ? b->cap_nodes * 2 : 64;
        x7re_node *n = (x7re_node *)realloc(b->nodes, cap * sizeof *n);
        if (n == NULL) return x7re_fail(b, X7RE_ERR_TOO_MANY_STATES, b->at);
        b->nodes = n;
        b->cap_nodes = cap;
    }
    b->nodes[b->nnodes] = (x7re_node){kind, a, bb, l, r};
    return (int32_t)b->nnodes++;
}

X7_FN int32_t x7re_new_set(x7re_build *b) {
    if (b->nsets == X7RE_MAX_SETS) return x7re_fail(b, X7RE_ERR_TOO_MANY_STATES, b->at);
    memset(b->sets[b->nsets], 0, 32);
    return (int32_t)b->nsets++;
}

X7_INLINE void x7re_set_add(uint8_t *s, uint32_t c) { s[c >> 3] |= (uint8_t)(1u << (c & 7)); }
X7_INLINE int x7re_set_has(const uint8_t *s, uint32_t c) { return (s[c >> 3] >> (c & 7)) & 1; }
X7_INLINE int x7re_is_word(uint32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Adds c (and its other ASCII case when case-insensitive). */
X7_FN void x7re_set_add_c(x7re_build *b, uint8_t *s, uint32_t c) {
    x7re_set_add(s, c);
    if (b->opts & X7RE_CASEI) {
        if (c >= 'a' && c <= 'z') x7re_set_add(s, c - 32);
        if (c >= 'A' && c <= 'Z') x7re_set_add(s, c + 32);
    }
}

/* The class of \d \w \s (upper case: negated) into s; 0 when `e` is not a class escape. */
X7_FN int x7re_class_escape(uint8_t *s, uint8_t e) {
    uint8_t t[32];
    memset(t, 0, 32);
    switch (e | 0x20) {
    case 'd':
        for (uint32_t c = '0'; c <= '9'; c++) x7re_set_add(t, c);
        break;
    case 'w':
        for (uint32_t c = 0; c < 256; c++)
            if (x7re_is_word(c)) x7re_set_add(t, c);
        break;
    case 's': {
        static const char ws[] = " \t\n\r\f\v";
        for (const char *q = ws; *q; q++) x7re_set_add(t, (uint8_t)*q);
        break;
    }
    default: return 0;
    }
    int neg = e >= 'A' && e <= 'Z';
    for (int i = 0; i < 32; i++) s[i] |= neg ? (uint8_t)~t[i] : t[i];
    return 1;
}

/* A single-byte escape (\n \t … \xHH, escaped punctuation), -1 when invalid. */
X7_FN int32_t x7re_byte_escape(x7re_build *b) {
    uint8_t e = b->p[b->at++];
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    case 'x': {
        int32_t v = 0;
        for (int i = 0; i < 2; i++) {
            if (b->at >= b->n) return -1;
            uint8_t h = b->p[b->at++];
            int d = h >= '0' && h <= '9' ? h - '0' : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10 : -1;
            if (d < 0) return -1;
            v = v * 16 + d;
        }
        return v;
    }
    default:
        if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9')) return -1;
        return e; /* escaped punctuation (and other bytes) stand for themselves */
    }
}

X7_FN int32_t x7re_class(x7re_build *b) {
    uint32_t open = b->at - 1;
    int32_t si = x7re_new_set(b);
    if (si < 0) return -1;
    uint8_t s[32];
    memset(s, 0, 32);
    int neg = b->at < b->n && b->p[b->at] == '^';
    if (neg) b->at++;
    int first = 1;
    for (;;) {
        if (b->at >= b->n) return x7re_fail(b, X7RE_ERR_UNCLOSED_CLASS, open);
        uint8_t c = b->p[b->at];
        if (c == ']' && !first) {
            b->at++;
            break;
        }
        first = 0;
        int32_t lo;
        b->at++;
        if (c == '\\') {
            if (b->at >= b->n) return x7re_fail(b, X7RE_ERR_UNCLOSED_CLASS, open);
            if (x7re_class_escape(s, b->p[b->at])) {
                b->at++;
                continue;
            }
            uint32_t esc_at = b->at - 1;
            lo = x7re_byte_escape(b);
            if (lo < 0) return x7re_fail(b, X7RE_ERR_INVALID_ESCAPE, esc_at);
        } else {
            lo = c;
        }
        int32_t hi = lo;
        if (b->at + 1 < b->n && b->p[b->at] == '-' && b->p[b->at + 1] != ']') {
            uint32_t range_at = b->at;
            b->at++;
            uint8_t d = b->p[b->at++];
            if (d == '\\') {
                if (b->at >= b->n) return x7re_fail(b, X7RE_ERR_UNCLOSED_CLASS, open);
                uint32_t esc_at = b->at - 1;
                hi = x7re_byte_escape(b);
                if (hi < 0) return x7re_fail(b, X7RE_ERR_INVALID_CLASS, esc_at);
            } else {
                hi = d;
            }
            if (hi < lo) return x7re_fail(b, X7RE_ERR_INVALID_CLASS, range_at);
        }
        for (int32_t v = lo; v <= hi; v++) x7re_set_add_c(b, s, (uint32_t)v);
    }
    for (int i = 0; i < 32; i++) b->sets[si][i] = neg ? (uint8_t)~s[i] : s[i];
    return x7re_mk(b, X7RN_SET, (uint32_t)si, 0, -1, -1);
}

X7_FN int32_t x7re_alt(x7re_build *b);

X7_FN int32_t x7re_atom(x7re_build *b) {
    uint32_t at = b->at;
    uint8_t c = b->p[b->at++];
    switch (c) {
    case '(': {
        int32_t cap = -1;
        if (b->at + 1 < b->n && b->p[b->at] == '?' && b->p[b->at + 1] == ':') {
            b->at += 2;
        } else if (b->at < b->n && b->p[b->at] == '?') {
            return x7re_fail(b, X7RE_ERR_NOTHING_TO_REPEAT, b->at);
        } else {
            if (b->ncaps == X7RE_MAX_CAPS) return x7re_fail(b, X7RE_ERR_TOO_MANY_CAPTURES, at);
            cap = (int32_t)++b->ncaps;
        }
        if (++b->depth > X7RE_MAX_DEPTH) return x7re_fail(b, X7RE_ERR_STACK, at);
        int32_t inner = x7re_alt(b);
        b->depth--;
        if (inner < 0) return -1;
        if (b->at >= b->n || b->p[b->at] != ')') return x7re_fail(b, X7RE_ERR_UNBALANCED_PAREN, b->at);
        b->at++;
        return cap < 0 ? inner : x7re_mk(b, X7RN_GROUP, (uint32_t)cap, 0, inner, -1);
    }
    case ')': return x7re_fail(b, X7RE_ERR_UNBALANCED_PAREN, at);
    case '[': return x7re_class(b);
    case '*':
    case '+':
    case '?':
    case '{': return x7re_fail(b, X7RE_ERR_NOTHING_TO_REPEAT, at);
    case '^': return x7re_mk(b, X7RN_ASSERT, X7RE_BOL, 0, -1, -1);
    case '$': return x7re_mk(b, X7RN_ASSERT, X7RE_EOL, 0, -1, -1);
    case '.': {
        int32_t si = x7re_new_set(b);
        if (si < 0) return -1;
        memset(b->sets[si], 0xff, 32);
        if (!(b->opts & X7RE_DOTALL)) b->sets[si]['\n' >> 3] &= (uint8_t)~(1u << ('\n' & 7));
        return x7re_mk(b, X7RN_SET, (uint32_t)si, 0, -1, -1);
    }
    default: {
        int32_t si = x7re_new_set(b);
        if (si < 0) return -1;
        if (c == '\\') {
            if (b->at >= b->n) return x7re_fail(b, X7RE_ERR_INVALID_ESCAPE, at);
            uint8_t e = b->p[b->at];
            if (e == 'b' || e == 'B') {
                b->at++;
                b->nsets--; /* not needed */
                return x7re_mk(b, X7RN_ASSERT, e == 'b' ? X7RE_WORDB : X7RE_NWORDB, 0, -1, -1);
            }
            if (x7re_class_escape(b->sets[si], e)) {
                b->at++;
            } else {
                int32_t v = x7re_byte_escape(b);
                if (v < 0) return x7re_fail(b, X7RE_ERR_INVALID_ESCAPE, at);
                x7re_set_add_c(b, b->sets[si], (uint32_t)v);
            }
        } else {
            x7re_set_add_c(b, b->sets[si], c);
        }
        return x7re_mk(b, X7RN_SET, (uint32_t)si, 0, -1, -1);
    }
    }
}

/* A decimal number at the cursor, or -1. */
X7_FN int64_t x7re_number(x7re_build *b) {
    int64_t v = -1;
    while (b->at < b->n && b->p[b->at] >= '0' && b->p[b->at] <= '9') {
        v = (v < 0 ? 0 : v) * 10 + (b->p[b->at++] - '0');
        if (v > 100000) v = 100000;
    }
    return v;
}

X7_FN int32_t x7re_repeat(x7re_build *b) {
    int32_t atom = x7re_atom(b);
    while (atom >= 0 && b->at < b->n) {
        uint8_t c = b->p[b->at];
        uint32_t at = b->at;
        int64_t min, max;
        if (c == '*') min = 0, max = -1;
        else if (c == '+') min = 1, max = -1;
        else if (c == '?') min = 0, max = 1;
        else if (c == '{') {
            b->at++;
            min = x7re_number(b);
            max = min;
            if (b->at < b->n && b->p[b->at] == ',') {
                b->at++;
                max = x7re_number(b);
            }
            if (min < 0 || b->at >= b->n || b->p[b->at] != '}') return x7re_fail(b, X7RE_ERR_INVALID_REPEAT, at);
            if (min > X7RE_MAX_REPEAT || max > (int64_t)X7RE_MAX_REPEAT) return x7re_fail(b, X7RE_ERR_INVALID_REPEAT, at);
            if (max >= 0 && max < min) return x7re_fail(b, X7RE_ERR_REPEAT_RANGE, at);
        } else break;
        b->at++;
        if (b->at < b->n && b->p[b->at] == '?') b->at++; /* lazy: the same under longest matching */
        atom = x7re_mk(b, X7RN_REP, (uint32_t)min, (uint32_t)max, atom, -1);
    }
    return atom;
}

X7_FN int32_t x7re_cat(x7re_build *b) {
    int32_t acc = -1;
    while (b->at < b->n && b->p[b->at] != '|' && b->p[b->at] != ')') {
        int32_t r = x7re_repeat(b);
        if (r < 0) return -1;
        acc = acc < 0 ? r : x7re_mk(b, X7RN_CAT, 0, 0, acc, r);
        if (acc < 0) return -1;
    }
    return acc < 0 ? x7re_mk(b, X7RN_EMPTY, 0, 0, -1, -1) : acc;
}

X7_FN int32_t x7re_alt(x7re_build *b) {
    int32_t l = x7re_cat(b);
    while (l >= 0 && b->at < b->n && b->p[b->at] == '|') {
        b->at++;
        int32_t r = x7re_cat(b);
        if (r < 0) return -1;
        l = x7re_mk(b, X7RN_ALT, 0, 0, l, r);
    }
    return l;
}

X7_FN uint32_t x7re_emit(x7re_build *b, uint8_t op, uint32_t x, uint32_t y) {
    if (b->ninst == X7RE_MAX_INST) {
        x7re_fail(b, X7RE_ERR_TOO_MANY_STATES, b->n);
        return 0;
    }
    b->code[b->ninst] = (x7re_inst){op, x, y};
    return b->ninst++;
}

/* Thompson code for node i; `depth` bounds the recursion. */
X7_FN void x7re_gen(x7re_build *b, int32_t i, uint32_t depth) {
    if (b->err) return;
    if (depth > 2 * X7RE_MAX_DEPTH + 64) {
        x7re_fail(b, X7RE_ERR_STACK, 0);
        return;
    }
    x7re_node n = b->nodes[i];
    switch (n.kind) {
    case X7RN_SET: x7re_emit(b, X7RE_SET, n.a, 0); break;
    case X7RN_EMPTY: break;
    case X7RN_ASSERT: x7re_emit(b, (uint8_t)n.a, 0, 0); break;
    case X7RN_CAT:
        x7re_gen(b, n.l, depth + 1);
        x7re_gen(b, n.r, depth + 1);
        break;
    case X7RN_ALT: {
        uint32_t split = x7re_emit(b, X7RE_SPLIT, 0, 0);
        b->code[split].x = b->ninst;
        x7re_gen(b, n.l, depth + 1);
        uint32_t jmp = x7re_emit(b, X7RE_JMP, 0, 0);
        b->code[split].y = b->ninst;
        x7re_gen(b, n.r, depth + 1);
        b->code[jmp].x = b->ninst;
        break;
    }
    case X7RN_GROUP:
        x7re_emit(b, X7RE_SAVE, 2 * n.a, 0);
        x7re_gen(b, n.l, depth + 1);
        x7re_emit(b, X7RE_SAVE, 2 * n.a + 1, 0);
        break;
    case X7RN_REP: {
        for (uint32_t k = 0; k < n.a && !b->err; k++) x7re_gen(b, n.l, depth + 1);
        if (n.b == X7RE_NONE) {
            uint32_t split = x7re_emit(b, X7RE_SPLIT, 0, 0);
            b->code[split].x = b->ninst;
            x7re_gen(b, n.l, depth + 1);
            x7re_emit(b, X7RE_JMP, split, 0);
            b->code[split].y = b->ninst;
        } else {
            uint32_t opt = n.b - n.a, first = b->ninst;
            uint32_t *splits = opt ? (uint32_t *)malloc(opt * sizeof *splits) : NULL;
            if (opt && splits == NULL) {
                x7re_fail(b, X7RE_ERR_TOO_MANY_STATES, 0);
                return;
            }
            for (uint32_t k = 0; k < opt && !b->err; k++) {
                splits[k] = x7re_emit(b, X7RE_SPLIT, 0, 0);
                b->code[splits[k]].x = b->ninst;
                x7re_gen(b, n.l, depth + 1);
            }
            (void)first;
            for (uint32_t k = 0; k < opt && !b->err; k++) b->code[splits[k]].y = b->ninst;
            free(splits);
        }
        break;
    }
    }
}

/* 00 | u32 code | u32 position. */
X7_FN x7_bytes x7re_err_doc(uint32_t code, uint32_t at) {
    uint8_t *p = x7_alloc(9);
    p[0] = 0;
    x7re_put_u32(p + 1, code);
    x7re_put_u32(p + 5, at);
    return (x7_bytes){p, 9};
}

#define X7RE_HEADER 25u /* 01 "X7RE" u32 version, opts, caps, insts, sets */

X7_FN x7_bytes x7_regex_compile_opts_v1(x7_view pat, uint32_t opts, const char *at) {
    (void)at;
    x7re_build b;
    memset(&b, 0, sizeof b);
    b.p = pat.ptr;
    b.n = pat.len;
    b.opts = opts & 7u;
    b.sets = (uint8_t(*)[32])malloc((size_t)X7RE_MAX_SETS * 32);
    b.code = (x7re_inst *)malloc((size_t)X7RE_MAX_INST * sizeof *b.code);
    if (b.sets == NULL || b.code == NULL) {
        free(b.sets);
        free(b.code);
        return x7re_err_doc(X7RE_ERR_TOO_MANY_STATES, 0);
    }
    int32_t root = x7re_alt(&b);
    if (root >= 0 && b.at < b.n) x7re_fail(&b, X7RE_ERR_UNBALANCED_PAREN, b.at); /* a stray ')' */
    if (!b.err) {
        x7re_emit(&b, X7RE_SAVE, 0, 0);
        x7re_gen(&b, root, 0);
        x7re_emit(&b, X7RE_SAVE, 1, 0);
        x7re_emit(&b, X7RE_MATCH, 0, 0);
    }
    x7_bytes out;
    if (b.err) {
        out = x7re_err_doc(b.err, b.err_at);
    } else {
        uint32_t len = X7RE_HEADER + b.ninst * 9 + b.nsets * 32;
        uint8_t *p = x7_alloc(len);
        p[0] = 1;
        memcpy(p + 1, "X7RE", 4);
        x7re_put_u32(p + 5, 1);
        x7re_put_u32(p + 9, b.opts);
        x7re_put_u32(p + 13, b.ncaps);
        x7re_put_u32(p + 17, b.ninst);
        x7re_put_u32(p + 21, b.nsets);
        uint8_t *q = p + X7RE_HEADER;
        for (uint32_t i = 0; i < b.ninst; i++, q += 9) {
            q[0] = b.code[i].op;
            x7re_put_u32(q + 1, b.code[i].x);
            x7re_put_u32(q + 5, b.code[i].y);
        }
        memcpy(q, b.sets, (size_t)b.nsets * 32);
        out = (x7_bytes){p, len};
    }
    free(b.nodes);
    free(b.sets);
    free(b.code);
    return out;
}

/* ---- matching ---- */

/* A compiled program read back from its document (pointers into it). */
typedef struct {
    uint32_t opts, ncaps, ninst, nsets;
    const uint8_t *code, *sets;
} x7re_prog;

/* Checks a compiled document: 0, or X7RE_ERR_INVALID_COMPILED. */
X7_FN uint32_t x7re_load(x7_view c, x7re_prog *pr) {
    if (c.len < X7RE_HEADER || c.ptr[0] != 1 || memcmp(c.ptr + 1, "X7RE", 4) != 0 || x7re_get_u32(c.ptr + 5) != 1)
        return X7RE_ERR_INVALID_COMPILED;
    pr->opts = x7re_get_u32(c.ptr + 9);
    pr->ncaps = x7re_get_u32(c.ptr + 13);
    pr->ninst = x7re_get_u32(c.ptr + 17);
    pr->nsets = x7re_get_u32(c.ptr + 21);
    if (pr->ncaps > X7RE_MAX_CAPS || pr->ninst == 0 || pr->ninst > X7RE_MAX_INST || pr->nsets > X7RE_MAX_SETS ||
        c.len != X7RE_HEADER + pr->ninst * 9 + pr->nsets * 32)
        return X7RE_ERR_INVALID_COMPILED;
    pr->code = c.ptr + X7RE_HEADER;
    pr->sets = pr->code + pr->ninst * 9;
    for (uint32_t i = 0; i < pr->ninst; i++) {
        const uint8_t *q = pr->code + i * 9;
        uint32_t x = x7re_get_u32(q + 1), y = x7re_get_u32(q + 5);
        int ok;
        switch (q[0]) {
        case X7RE_SET: ok = x < pr->nsets; break;
        case X7RE_SPLIT: ok = x < pr->ninst && y < pr->ninst; break;
        case X7RE_JMP: ok = x < pr->ninst; break;
        case X7RE_SAVE: ok = x < 2 * (pr->ncaps + 1) && i + 1 < pr->ninst; break;
        case X7RE_BOL: case X7RE_EOL: case X7RE_WORDB: case X7RE_NWORDB: ok = i + 1 < pr->ninst; break;
        case X7RE_MATCH: ok = 1; break;
        default: ok = 0;
        }
        if (!ok) return X7RE_ERR_INVALID_COMPILED;
    }
    return 0;
}

X7_INLINE uint8_t x7re_op(const x7re_prog *pr, uint32_t pc) { return pr->code[pc * 9]; }
X7_INLINE uint32_t x7re_x(const x7re_prog *pr, uint32_t pc) { return x7re_get_u32(pr->code + pc * 9 + 1); }
X7_INLINE uint32_t x7re_y(const x7re_prog *pr, uint32_t pc) { return x7re_get_u32(pr->code + pc * 9 + 5); }

/* Whether an assertion holds at pos of t. */
X7_FN int x7re_assert(const x7re_prog *pr, uint8_t op, x7_view t, uint32_t pos) {
    int ml = (pr->opts & X7RE_MULTILINE) != 0;
    switch (op) {
    case X7RE_BOL: return pos == 0 || (ml && t.ptr[pos - 1] == '\n');
    case X7RE_EOL: return pos == t.len || (ml && t.ptr[pos] == '\n');
    default: {
        int a = pos > 0 && x7re_is_word(t.ptr[pos - 1]);
        int b = pos < t.len && x7re_is_word(t.ptr[pos]);
        return op == X7RE_WORDB ? a != b : a == b;
    }
    }
}

/*
 * The state set of the simulation: pcs in the order of their threads' start positions (earliest
 * first), each with its thread's start, and generation marks. Two threads at the same pc have the
 * same future, so only the earlier start (the leftmost candidate) is kept.
 */
typedef struct { uint32_t *list, *mark, *start, n, gen; } x7re_states;

/* Adds pc and everything reachable from it without consuming input (at pos), for a thread that
   started at `start`; pcs already present keep their (earlier) start. */
X7_FN void x7re_add(const x7re_prog *pr, x7re_states *s, uint32_t *stack, uint32_t pc0, x7_view t, uint32_t pos,
                    uint32_t start) {
    uint32_t top = 0;
    stack[top++] = pc0;
    while (top) {
        uint32_t pc = stack[--top];
        if (s->mark[pc] == s->gen) continue;
        s->mark[pc] = s->gen;
        s->start[pc] = start;
        uint8_t op = x7re_op(pr, pc);
        switch (op) {
        case X7RE_JMP: stack[top++] = x7re_x(pr, pc); break;
        case X7RE_SPLIT:
            stack[top++] = x7re_y(pr, pc);
            stack[top++] = x7re_x(pr, pc);
            break;
        case X7RE_SAVE: stack[top++] = pc + 1; break;
        case X7RE_BOL: case X7RE_EOL: case X7RE_WORDB: case X7RE_NWORDB:
            if (x7re_assert(pr, op, t, pos)) stack[top++] = pc + 1;
            break;
        default: s->list[s->n++] = pc; /* SET and MATCH */
        }
    }
}

/*
 * Leftmost-longest match at or after `from`: 1 with [*ms, *me), or 0. One pass over the text: a
 * new thread starts at every position until a match is found; then only threads that started no
 * later than the best match's start go on (an earlier start may still match and wins; the same
 * start may match longer). O(text × program).
 */
X7_FN int x7re_search(const x7re_prog *pr, x7_view t, uint32_t from, uint32_t *ms, uint32_t *me) {
    uint32_t m = pr->ninst;
    uint32_t *mem = (uint32_t *)malloc((size_t)m * 9 * sizeof(uint32_t));
    if (mem == NULL) x7_trap("regex: out of memory", NULL);
    x7re_states a = {mem, mem + m, mem + 2 * m, 0, 0}, b = {mem + 3 * m, mem + 4 * m, mem + 5 * m, 0, 0};
    uint32_t *stack = mem + 6 * m; /* 3 m: an insertion may push two per pc */
    memset(a.mark, 0xff, m * sizeof(uint32_t));
    memset(b.mark, 0xff, m * sizeof(uint32_t));
    uint32_t gen = 0, best_s = X7RE_NONE, best_e = 0;
    x7re_states *cur = &a, *next = &b;
    cur->n = 0;
    cur->gen = ++gen;
    for (uint32_t pos = from; pos <= t.len; pos++) {
        if (best_s == X7RE_NONE) x7re_add(pr, cur, stack, 0, t, pos, pos);
        for (uint32_t i = 0; i < cur->n; i++) {
            uint32_t pc = cur->list[i];
            if (x7re_op(pr, pc) != X7RE_MATCH) continue;
            uint32_t st = cur->start[pc];
            if (best_s == X7RE_NONE || st < best_s || (st == best_s && pos > best_e)) {
                best_s = st;
                best_e = pos;
            }
        }
        if (pos == t.len) break;
        next->n = 0;
        next->gen = ++gen;
        uint8_t c = t.ptr[pos];
        for (uint32_t i = 0; i < cur->n; i++) {
            uint32_t pc = cur->list[i], st = cur->start[pc];
            if (best_s != X7RE_NONE && st > best_s) continue;
            if (x7re_op(pr, pc) == X7RE_SET && x7re_set_has(pr->sets + x7re_x(pr, pc) * 32, c))
                x7re_add(pr, next, stack, pc + 1, t, pos + 1, st);
        }
        x7re_states *tmp = cur;
        cur = next;
        next = tmp;
        if (cur->n == 0 && best_s != X7RE_NONE) break;
    }
    free(mem);
    if (best_s == X7RE_NONE) return 0;
    *ms = best_s;
    *me = best_e;
    return 1;
}

/*
 * The captures of the match [ms, me): the first path (greedy choices first) that ends exactly
 * at me. A (pc, pos) that failed once fails again whatever the captures, so each is tried once.
 */
X7_FN void x7re_captures(const x7re_prog *pr, x7_view t, uint32_t ms, uint32_t me, uint32_t *caps) {
    uint32_t nslots = 2 * (pr->ncaps + 1);
    for (uint32_t i = 0; i < nslots; i++) caps[i] = X7RE_NONE;
    uint64_t cells = (uint64_t)pr->ninst * (me - ms + 1);
    if (cells > (1ull << 28)) return; /* over 32 MiB of marks: captures stay unset */
    uint8_t *seen = (uint8_t *)calloc((size_t)((cells + 7) / 8), 1);
    typedef struct { uint32_t kind, a, b; } frame; /* kind 0: try (pc a, pos b); 1: restore slot a to b */
    uint32_t cap = 1024, top = 0;
    frame *st = (frame *)malloc(cap * sizeof *st);
    if (seen == NULL || st == NULL) {
        free(seen);
        free(st);
        return;
    }
    st[top++] = (frame){0, 0, ms};
    int ok = 0;
    while (top && !ok) {
        frame f = st[--top];
        if (f.kind == 1) {
            caps[f.a] = f.b;
            continue;
        }
        uint32_t pc = f.a, pos = f.b;
        for (;;) {
            uint64_t cell = (uint64_t)pc * (me - ms + 1) + (pos - ms);
            if (seen[cell >> 3] & (1u << (cell & 7))) break;
            seen[cell >> 3] |= (uint8_t)(1u << (cell & 7));
            uint8_t op = x7re_op(pr, pc);
            if (top + 2 >= cap) {
                frame *n = (frame *)realloc(st, (cap *= 2) * sizeof *st);
                if (n == NULL) {
                    top = 0;
                    break;
                }
                st = n;
            }
            if (op == X7RE_MATCH) {
                if (pos == me) ok = 1;
                break;
            } else if (op == X7RE_SET) {
                if (pos < me && x7re_set_has(pr->sets + x7re_x(pr, pc) * 32, t.ptr[pos])) {
                    pc++;
                    pos++;
                    continue;
                }
                break;
            } else if (op == X7RE_JMP) {
                pc = x7re_x(pr, pc);
            } else if (op == X7RE_SPLIT) {
                st[top++] = (frame){0, x7re_y(pr, pc), pos};
                pc = x7re_x(pr, pc);
            } else if (op == X7RE_SAVE) {
                uint32_t slot = x7re_x(pr, pc);
                st[top++] = (frame){1, slot, caps[slot]};
                caps[slot] = pos;
                pc++;
            } else {
                if (!x7re_assert(pr, op, t, pos)) break;
                pc++;
            }
        }
    }
    if (!ok)
        for (uint32_t i = 0; i < nslots; i++) caps[i] = X7RE_NONE;
    free(seen);
    free(st);
}

/* 01 | matched | u32 start | u32 end | u32 caps | (u32 start, u32 end)* */
X7_FN x7_bytes x7re_match_doc(int matched, uint32_t ms, uint32_t me, uint32_t ncaps, const uint32_t *caps) {
    uint32_t len = 14 + 8 * ncaps;
    uint8_t *p = x7_alloc(len);
    p[0] = 1;
    p[1] = (uint8_t)(matched != 0);
    x7re_put_u32(p + 2, matched ? ms : 0);
    x7re_put_u32(p + 6, matched ? me : 0);
    x7re_put_u32(p + 10, ncaps);
    for (uint32_t i = 0; i < ncaps; i++) {
        x7re_put_u32(p + 14 + 8 * i, caps[2 * (i + 1)]);
        x7re_put_u32(p + 18 + 8 * i, caps[2 * (i + 1) + 1]);
    }
    return (x7_bytes){p, len};
}

X7_FN x7_bytes x7re_exec(x7_view c, x7_view t, uint32_t start, int with_caps) {
    x7re_prog pr;
    uint32_t e = x7re_load(c, &pr);
    if (e) return x7re_err_doc(e, 0);
    if ((int32_t)start < 0) start = 0;
    uint32_t ms = 0, me = 0;
    if (start > t.len || !x7re_search(&pr, t, start, &ms, &me)) return x7re_match_doc(0, 0, 0, 0, NULL);
    if (!with_caps) return x7re_match_doc(1, ms, me, 0, NULL);
    uint32_t caps[2 * (X7RE_MAX_CAPS + 1)];
    x7re_captures(&pr, t, ms, me, caps);
    return x7re_match_doc(1, ms, me, pr.ncaps, caps);
}

X7_FN x7_bytes x7_regex_exec_from_v1(x7_view c, x7_view t, uint32_t start, const char *at) {
    (void)at;
    return x7re_exec(c, t, start, 0);
}

X7_FN x7_bytes x7_regex_exec_caps_from_v1(x7_view c, x7_view t, uint32_t start, const char *at) {
    (void)at;
    return x7re_exec(c, t, start, 1);
}

/*
 * The successive matches of `c` in `t` (after an empty match the search moves on one byte, and
 * an empty match right where the previous one ended is skipped): calls f for each until it
 * returns 0. 0, or the error code of a bad compiled document.
 */
typedef int (*x7re_each)(void *ctx, uint32_t ms, uint32_t me);
X7_FN uint32_t x7re_for_each(x7_view c, x7_view t, x7re_each f, void *ctx) {
    x7re_prog pr;
    uint32_t e = x7re_load(c, &pr);
    if (e) return e;
    uint32_t pos = 0, prev_end = X7RE_NONE;
    while (pos <= t.len) {
        uint32_t ms, me;
        if (!x7re_search(&pr, t, pos, &ms, &me)) break;
        if (ms == me && ms == prev_end) {
            pos = ms + 1;
            continue;
        }
        if (!f(ctx, ms, me)) break;
        prev_end = me;
        pos = me > ms ? me : me + 1;
    }
    return 0;
}

/* An X7SL table being built: "X7SL" | u32 1 | u32 count | (u32 start, u32 len)* */
typedef struct { x7_vec v; uint32_t count, limit; uint32_t last; x7_view text; x7_view repl; } x7re_acc;

X7_FN void x7re_acc_u32(x7re_acc *a, uint32_t x) {
    uint8_t b[4];
    x7re_put_u32(b, x);
    a->v = x7_vec_append(a->v, b, 4);
}

X7_FN x7_bytes x7re_x7sl_finish(x7re_acc *a) {
    x7re_put_u32(a->v.ptr + 8, a->count);
    return x7_vec_u8_into_bytes(a->v);
}

X7_FN x7re_acc x7re_x7sl_new(void) {
    x7re_acc a;
    memset(&a, 0, sizeof a);
    a.v = x7_vec_u8_with_capacity(64);
    a.v = x7_vec_append(a.v, (const uint8_t *)"X7SL", 4);
    x7re_acc_u32(&a, 1);
    x7re_acc_u32(&a, 0);
    return a;
}

X7_FN int x7re_find_one(void *ctx, uint32_t ms, uint32_t me) {
    x7re_acc *a = (x7re_acc *)ctx;
    x7re_acc_u32(a, ms);
    x7re_acc_u32(a, me - ms);
    a->count++;
    return a->limit == 0 || a->count < a->limit;
}

X7_FN x7_bytes x7_regex_find_all_x7sl_v1(x7_view c, x7_view t, uint32_t max, const char *at) {
    (void)at;
    x7re_acc a = x7re_x7sl_new();
    a.limit = (int32_t)max > 0 ? max : 0;
    uint32_t e = x7re_for_each(c, t, x7re_find_one, &a);
    if (e) {
        x7_vec_drop(a.v);
        return x7re_err_doc(e, 0);
    }
    return x7re_x7sl_finish(&a);
}

X7_FN int x7re_split_one(void *ctx, uint32_t ms, uint32_t me) {
    x7re_acc *a = (x7re_acc *)ctx;
    if (a->limit != 0 && a->count + 1 >= a->limit) return 0;
    x7re_acc_u32(a, a->last);
    x7re_acc_u32(a, ms - a->last);
    a->count++;
    a->last = me;
    return 1;
}

X7_FN x7_bytes x7_regex_split_v1(x7_view c, x7_view t, uint32_t max_parts, const char *at) {
    (void)at;
    x7re_acc a = x7re_x7sl_new();
    a.limit = (int32_t)max_parts > 0 ? max_parts : 0;
    uint32_t e = x7re_for_each(c, t, x7re_split_one, &a);
    if (e) {
        x7_vec_drop(a.v);
        return x7re_err_doc(e, 0);
    }
    x7re_acc_u32(&a, a.last);
    x7re_acc_u32(&a, t.len - a.last);
    a.count++;
    return x7re_x7sl_finish(&a);
}

X7_FN int x7re_replace_one(void *ctx, uint32_t ms, uint32_t me) {
    x7re_acc *a = (x7re_acc *)ctx;
    a->v = x7_vec_append(a->v, a->text.ptr + a->last, ms - a->last);
    a->v = x7_vec_append(a->v, a->repl.ptr, a->repl.len);
    a->last = me;
    a->count++;
    return a->limit == 0 || a->count < a->limit;
}

/* t with the first `limit` (all when <= 0) matches replaced by repl, taken literally. */
X7_FN x7_bytes x7_regex_replace_all_v1(x7_view c, x7_view t, x7_view repl, uint32_t limit, const char *at) {
    (void)at;
    x7re_acc a;
    memset(&a, 0, sizeof a);
    a.v = x7_vec_u8_with_capacity(t.len + 16);
    a.text = t;
    a.repl = repl;
    a.limit = (int32_t)limit > 0 ? limit : 0;
    uint32_t e = x7re_for_each(c, t, x7re_replace_one, &a);
    if (e) {
        x7_vec_drop(a.v);
        return x7re_err_doc(e, 0);
    }
    a.v = x7_vec_append(a.v, t.ptr + a.last, t.len - a.last);
    return x7_vec_u8_into_bytes(a.v);
}
