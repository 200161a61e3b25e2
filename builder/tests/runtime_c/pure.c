/*
 * Test program for the pure fragments (core, bytes, vec, codec, fmt, parse, optres). The first
 * input byte picks a scenario; the rest of the input is its argument. Like emitted code, solve
 * charges one unit of fuel and frees everything it does not return.
 */

#define LIT(s) x7_view_lit((const uint8_t *)(s), (uint32_t)(sizeof(s) - 1))

static x7_view arg(void) { return x7_view_slice(x7_input, 1, x7_input.len - 1, "/arg"); }

static x7_vec put(x7_vec v, x7_view s) { return x7_vec_u8_extend_bytes(v, s); }

static x7_vec put_b(x7_vec v, x7_bytes b) {
    v = x7_vec_u8_extend_bytes(v, x7_bytes_view(b));
    x7_bytes_drop(b);
    return v;
}

static x7_vec put_u(x7_vec v, uint32_t x) { return put_b(put(v, LIT("|")), x7_fmt_u32_to_dec(x)); }
static x7_vec put_s(x7_vec v, uint32_t x) { return put_b(put(v, LIT("|")), x7_fmt_s32_to_dec(x)); }

static x7_bytes done(x7_vec v) { return x7_vec_u8_into_bytes(v); }

static x7_bytes scenario_bytes(void) {
    x7_vec o = x7_vec_u8_with_capacity(0);
    x7_bytes c = x7_bytes_concat(x7_bytes_lit((const uint8_t *)"hello", 5),
                                 x7_bytes_lit((const uint8_t *)" world", 6), "/concat");
    o = put_b(o, x7_bytes_slice(x7_bytes_view(c), 6, 5, "/slice"));
    c = x7_bytes_set_u8(c, 0, 'H', "/set");
    o = put_u(o, x7_bytes_eq(x7_bytes_view(c), LIT("Hello world")));
    o = put_u(o, x7_view_eq(x7_bytes_view(c), LIT("Hello")));
    o = put_s(o, x7_view_cmp_range(x7_bytes_view(c), 0, 5, LIT("Hello!"), 0, 6, "/cmp"));
    o = put_s(o, x7_bytes_cmp_range(LIT("abd"), 0, 3, LIT("xabc"), 1, 3, "/cmp"));
    o = put_s(o, x7_view_cmp_range(LIT("abc"), 1, 2, LIT("bc"), 0, 2, "/cmp"));
    o = put_u(o, x7_bytes_get_u8(x7_bytes_view(c), 4, "/get"));
    o = put_u(o, x7_bytes_len(x7_bytes_subview(c, 2, 3, "/sub")));
    o = put_u(o, x7_view_len(x7_view_slice(x7_bytes_view(c), 11, 0, "/vs")));
    x7_bytes_drop(c);
    /* concat with empty sides returns the other side */
    x7_bytes e = x7_bytes_concat(x7_bytes_empty(), x7_bytes1(0x141), "/concat");
    e = x7_bytes_concat(e, x7_bytes_empty(), "/concat");
    o = put(o, LIT("|"));
    o = put_b(o, e);
    x7_bytes z = x7_bytes_copy(LIT("xy"), x7_bytes_alloc(4), "/copy");
    o = put(o, LIT("|"));
    o = put_b(o, z);
    o = put(o, LIT("|"));
    o = put_b(o, x7_view_to_bytes(x7_bytes_view_lit((const uint8_t *)"lit", 3)));
    o = put_u(o, x7_prng_lcg_next_u32(1));
    o = put_u(o, x7_i32_lit(42));
    return done(o);
}

static x7_bytes scenario_vec(void) {
    x7_vec v = x7_vec_u8_with_capacity(0);
    for (uint32_t i = 0; i < 1000; i++) v = x7_vec_u8_push(v, i);
    x7_vec o = x7_vec_u8_with_capacity(16);
    o = put_u(o, x7_vec_u8_len(v));
    o = put_u(o, x7_vec_u8_cap(v));
    o = put_u(o, x7_vec_u8_get(v, 999, "/get"));
    v = x7_vec_u8_set(v, 0, 7, "/set");
    o = put_u(o, x7_vec_u8_get(v, 0, "/get"));
    v = x7_vec_u8_extend_bytes(v, LIT("abc"));
    v = x7_vec_u8_extend_bytes_range(v, LIT("hello"), 1, 3, "/ebr");
    v = x7_vec_u8_extend_zeroes(v, 2);
    o = put_u(o, x7_vec_u8_len(v));
    v = x7_vec_u8_reserve_exact(v, 10);
    o = put_u(o, x7_vec_u8_cap(v));
    v = x7_vec_u8_reserve_exact(v, 100);
    o = put_u(o, x7_vec_u8_cap(v));
    o = put(o, LIT("|"));
    o = put(o, x7_view_slice(x7_vec_u8_as_view(v), 1000, 8, "/tail"));
    v = x7_vec_u8_clear(v);
    o = put_u(o, x7_vec_u8_len(v));
    x7_vec_drop(v);
    /* extending a vector with a view of itself while it grows */
    x7_vec w = x7_vec_u8_with_capacity(2);
    w = x7_vec_u8_push(w, 'a');
    w = x7_vec_u8_push(w, 'b');
    w = x7_vec_u8_extend_bytes(w, x7_vec_u8_as_view(w));
    w = x7_vec_u8_extend_bytes(w, x7_vec_u8_as_view(w));
    o = put(o, LIT("|"));
    o = put_b(o, x7_vec_u8_into_bytes(w));
    return done(o);
}

static x7_bytes scenario_codec(void) {
    x7_view a = arg();
    x7_vec o = x7_vec_u8_with_capacity(0);
    o = put_u(o, x7_codec_read_u32_le(a, 0, "/r0"));
    o = put_u(o, x7_codec_read_u32_le(a, 1, "/r1"));
    o = put(o, LIT("|"));
    o = put_b(o, x7_codec_write_u32_le(0xdeadbeefu));
    o = put_u(o, 4294967295u);
    o = put_s(o, 0x80000000u);
    o = put_s(o, 0xffffffffu);
    o = put_s(o, 0);
    o = put_s(o, 12345);
    o = put_u(o, x7_parse_u32_dec(LIT("4294967295"), "/p"));
    o = put_u(o, x7_parse_u32_dec(LIT("007"), "/p"));
    o = put_u(o, x7_parse_u32_dec_at(LIT("ab123cd"), 2, "/p"));
    o = put_u(o, x7_parse_u32_dec_at(LIT("9"), 0, "/p"));
    return done(o);
}

static x7_bytes scenario_optres(void) {
    x7_vec o = x7_vec_u8_with_capacity(0);
    o = put_u(o, x7_option_i32_unwrap_or(x7_option_i32_some(5), 9));
    o = put_u(o, x7_option_i32_unwrap_or(x7_option_i32_none(), 9));
    o = put_u(o, x7_option_i32_is_some(x7_option_i32_none()));
    x7_opt_bytes ob = x7_option_bytes_some(x7_bytes_lit((const uint8_t *)"ob", 2));
    o = put_u(o, x7_option_bytes_is_some(ob));
    o = put(o, LIT("|"));
    o = put_b(o, x7_option_bytes_unwrap_or(ob, x7_bytes_lit((const uint8_t *)"dflt", 4)));
    o = put(o, LIT("|"));
    o = put_b(o, x7_option_bytes_unwrap_or(x7_option_bytes_none(),
                                           x7_bytes_lit((const uint8_t *)"dflt", 4)));
    x7_opt_view ov = x7_option_bytes_view_some(LIT("ov"));
    o = put(o, LIT("|"));
    o = put(o, x7_option_bytes_view_unwrap_or(ov, LIT("no")));
    o = put_u(o, x7_option_bytes_view_is_some(x7_option_bytes_view_none()));
    o = put_u(o, x7_result_i32_unwrap_or(x7_result_i32_ok(3), 4));
    o = put_u(o, x7_result_i32_err_code(x7_result_i32_err(77)));
    o = put_u(o, x7_result_i32_err_code(x7_result_i32_ok(1)));
    o = put_u(o, x7_result_i32_is_ok(x7_result_i32_err(1)));
    x7_res_bytes rb = x7_result_bytes_err(60010);
    o = put_u(o, x7_result_bytes_err_code(rb));
    o = put(o, LIT("|"));
    o = put_b(o, x7_result_bytes_unwrap_or(rb, x7_bytes_lit((const uint8_t *)"d", 1)));
    rb = x7_result_bytes_ok(x7_bytes_lit((const uint8_t *)"rb", 2));
    o = put_u(o, x7_result_bytes_is_ok(rb));
    o = put(o, LIT("|"));
    o = put_b(o, x7_result_bytes_unwrap_or(rb, x7_bytes_lit((const uint8_t *)"d", 1)));
    x7_res_bytes dropped = x7_result_bytes_ok(x7_bytes_lit((const uint8_t *)"zz", 2));
    x7_res_bytes_drop(dropped);
    x7_opt_bytes_drop(x7_option_bytes_some(x7_bytes1(1)));
    x7_res_view rv = x7_result_bytes_view_err(5);
    o = put_u(o, x7_result_bytes_view_err_code(rv));
    o = put_u(o, x7_result_bytes_view_is_ok(x7_result_bytes_view_ok(LIT("q"))));
    o = put(o, LIT("|"));
    o = put(o, x7_result_bytes_view_unwrap_or(rv, LIT("rv")));
    return done(o);
}

/* Random allocations, frees and zeroed allocations; every block's contents are checked. */
static x7_bytes scenario_alloc_stress(void) {
    enum { SLOTS = 64 };
    x7_bytes slot[SLOTS];
    for (int i = 0; i < SLOTS; i++) slot[i] = X7_EMPTY_BYTES;
    uint32_t s = 12345, bad = 0, rounds = 20000;
    for (uint32_t r = 0; r < rounds; r++) {
        s = x7_prng_lcg_next_u32(s);
        uint32_t k = (s >> 8) % SLOTS;
        x7_bytes *b = &slot[k];
        for (uint32_t i = 0; i < b->len; i++)
            if (b->ptr[i] != (uint8_t)(k + b->len)) bad++;
        x7_bytes_drop(*b);
        s = x7_prng_lcg_next_u32(s);
        uint32_t n = (s >> 4) % ((s & 0x10000) ? 70000 : 300);
        *b = x7_bytes_alloc(n);
        for (uint32_t i = 0; i < n; i++) {
            if (b->ptr[i] != 0) bad++;
            b->ptr[i] = (uint8_t)(k + n);
        }
    }
    for (int i = 0; i < SLOTS; i++) x7_bytes_drop(slot[i]);
    /* after the churn the arena coalesces again: one large zeroed block must be all zero */
    x7_bytes big = x7_bytes_alloc(4u << 20);
    for (uint32_t i = 0; i < big.len; i++) bad += big.ptr[i] != 0;
    x7_bytes_drop(big);
    x7_vec o = x7_vec_u8_with_capacity(0);
    o = put(o, LIT("bad"));
    o = put_u(o, bad);
    return done(o);
}

/* Repeatedly takes most of a small arena and gives it back: freed memory must be reusable. */
static x7_bytes scenario_reuse(void) {
    for (int i = 0; i < 100; i++) {
        x7_bytes b = x7_bytes_alloc(400000);
        b = x7_bytes_set_u8(b, 399999, 1, "/set");
        x7_bytes_drop(b);
    }
    return x7_bytes_lit((const uint8_t *)"reused", 6);
}

static x7_bytes scenario_loop(void) {
    uint32_t n = x7_parse_u32_dec(arg(), "/n");
    uint32_t acc = 0;
    for (uint32_t i = 0; i < n; i++) {
        X7_FUEL("/loop");
        acc += i;
    }
    return x7_fmt_u32_to_dec(acc);
}

static x7_bytes x7_solve(void) {
    X7_FUEL("/solve");
    switch (x7_view_get_u8(x7_input, 0, "/solve/0")) {
    case 'e': return x7_view_to_bytes(arg());
    case 'b': return scenario_bytes();
    case 'v': return scenario_vec();
    case 'c': return scenario_codec();
    case 'o': return scenario_optres();
    case 'A': return scenario_alloc_stress();
    case 'R': return scenario_reuse();
    case 'L': return scenario_loop();
    case 'T': return x7_bytes1(x7_view_get_u8(x7_input, 10, "/x"));
    case 'U': return x7_bytes1(x7_codec_read_u32_le(arg(), 0, "/codec"));
    case 'P': return x7_fmt_u32_to_dec(x7_parse_u32_dec(arg(), "/parse"));
    case 'M': return x7_bytes_alloc(x7_parse_u32_dec(arg(), "/n"));
    case 'X': x7_process_set_exit_code_v1(300); return x7_bytes1('x');
    case 'K': return x7_bytes_concat(x7_bytes_alloc(2), x7_bytes_slice(arg(), 1, 9, "/slice"), "/k");
    default: return x7_bytes_empty();
    }
}
