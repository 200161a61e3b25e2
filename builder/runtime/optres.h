/* x07-fragment: requires=core */
/* optres: option and result constructors and accessors. */

X7_INLINE x7_opt_i32 x7_option_i32_none(void) { return (x7_opt_i32){0, 0}; }
X7_INLINE x7_opt_i32 x7_option_i32_some(uint32_t x) { return (x7_opt_i32){1, x}; }
X7_INLINE uint32_t x7_option_i32_is_some(x7_opt_i32 o) { return o.tag != 0; }
X7_INLINE uint32_t x7_option_i32_unwrap_or(x7_opt_i32 o, uint32_t d) { return o.tag ? o.val : d; }

X7_INLINE x7_opt_bytes x7_option_bytes_none(void) { return (x7_opt_bytes){0, X7_EMPTY_BYTES}; }
X7_INLINE x7_opt_bytes x7_option_bytes_some(x7_bytes b) { return (x7_opt_bytes){1, b}; }
X7_INLINE uint32_t x7_option_bytes_is_some(x7_opt_bytes o) { return o.tag != 0; }
/* Consumes both and frees the one it does not return. */
X7_INLINE x7_bytes x7_option_bytes_unwrap_or(x7_opt_bytes o, x7_bytes d) {
    if (o.tag) {
        x7_bytes_drop(d);
        return o.val;
    }
    return d;
}

X7_INLINE x7_opt_view x7_option_bytes_view_none(void) { return (x7_opt_view){0, X7_EMPTY_VIEW}; }
X7_INLINE x7_opt_view x7_option_bytes_view_some(x7_view v) { return (x7_opt_view){1, v}; }
X7_INLINE uint32_t x7_option_bytes_view_is_some(x7_opt_view o) { return o.tag != 0; }
X7_INLINE x7_view x7_option_bytes_view_unwrap_or(x7_opt_view o, x7_view d) {
    return o.tag ? o.val : d;
}

X7_INLINE x7_res_i32 x7_result_i32_ok(uint32_t x) { return (x7_res_i32){1, x}; }
X7_INLINE x7_res_i32 x7_result_i32_err(uint32_t e) { return (x7_res_i32){0, e}; }
X7_INLINE uint32_t x7_result_i32_is_ok(x7_res_i32 r) { return r.tag != 0; }
X7_INLINE uint32_t x7_result_i32_err_code(x7_res_i32 r) { return r.tag ? 0 : r.val; }
X7_INLINE uint32_t x7_result_i32_unwrap_or(x7_res_i32 r, uint32_t d) { return r.tag ? r.val : d; }

X7_INLINE x7_res_bytes x7_result_bytes_ok(x7_bytes b) { return (x7_res_bytes){1, 0, b}; }
X7_INLINE x7_res_bytes x7_result_bytes_err(uint32_t e) {
    return (x7_res_bytes){0, e, X7_EMPTY_BYTES};
}
X7_INLINE uint32_t x7_result_bytes_is_ok(x7_res_bytes r) { return r.tag != 0; }
X7_INLINE uint32_t x7_result_bytes_err_code(x7_res_bytes r) { return r.tag ? 0 : r.err; }
/* Consumes both and frees the one it does not return. */
X7_INLINE x7_bytes x7_result_bytes_unwrap_or(x7_res_bytes r, x7_bytes d) {
    if (r.tag) {
        x7_bytes_drop(d);
        return r.val;
    }
    return d;
}

X7_INLINE x7_res_view x7_result_bytes_view_ok(x7_view v) { return (x7_res_view){1, 0, v}; }
X7_INLINE x7_res_view x7_result_bytes_view_err(uint32_t e) {
    return (x7_res_view){0, e, X7_EMPTY_VIEW};
}
X7_INLINE uint32_t x7_result_bytes_view_is_ok(x7_res_view r) { return r.tag != 0; }
X7_INLINE uint32_t x7_result_bytes_view_err_code(x7_res_view r) { return r.tag ? 0 : r.err; }
X7_INLINE x7_view x7_result_bytes_view_unwrap_or(x7_res_view r, x7_view d) {
    return r.tag ? r.val : d;
}
