/* x07-fragment: requires=core,net_api */
/* Raw pointers for `unsafe` code that calls C functions declared with `extern`. x07 checks
   nothing here: the program (and its policy's language.allow_unsafe / allow_ffi) vouches for it.
   Requires net_api, so native code linked with the program can ask the run policy about hosts. */

/* The assembler name of a C symbol (Mach-O prefixes an underscore). */
#if defined(__APPLE__)
#define X7_SYM(name) "_" name
#else
#define X7_SYM(name) name
#endif

X7_INLINE const uint8_t *x7_view_as_ptr(x7_view v) { return v.ptr; }
X7_INLINE const uint8_t *x7_bytes_as_ptr(x7_bytes b) { return b.ptr; }
X7_INLINE uint8_t *x7_bytes_as_mut_ptr(x7_bytes b) { return b.ptr; }
X7_INLINE uint8_t *x7_vec_u8_as_mut_ptr(x7_vec v) { return v.ptr; }

/* Copies n bytes that C code produced into a new owned bytes value. */
X7_INLINE x7_bytes x7_bytes_from_ptr_v1(const uint8_t *p, uint32_t n) {
    if (n == 0 || p == NULL) return X7_EMPTY_BYTES;
    return x7_bytes_lit(p, n);
}

/* pointer arithmetic in elements of the pointer's type (bytes for void), the offset signed */
X7_INLINE const uint8_t *x7_ptr_add_const_u8(const uint8_t *p, uint32_t n) { return p + (int32_t)n; }
X7_INLINE const uint8_t *x7_ptr_sub_const_u8(const uint8_t *p, uint32_t n) { return p - (int32_t)n; }
X7_INLINE uint8_t *x7_ptr_add_mut_u8(uint8_t *p, uint32_t n) { return p + (int32_t)n; }
X7_INLINE uint8_t *x7_ptr_sub_mut_u8(uint8_t *p, uint32_t n) { return p - (int32_t)n; }
X7_INLINE const void *x7_ptr_add_const_void(const void *p, uint32_t n) { return (const void *)((const uint8_t *)p + (int32_t)n); }
X7_INLINE const void *x7_ptr_sub_const_void(const void *p, uint32_t n) { return (const void *)((const uint8_t *)p - (int32_t)n); }
X7_INLINE void *x7_ptr_add_mut_void(void *p, uint32_t n) { return (void *)((uint8_t *)p + (int32_t)n); }
X7_INLINE void *x7_ptr_sub_mut_void(void *p, uint32_t n) { return (void *)((uint8_t *)p - (int32_t)n); }
X7_INLINE const uint32_t *x7_ptr_add_const_i32(const uint32_t *p, uint32_t n) { return p + (int32_t)n; }
X7_INLINE const uint32_t *x7_ptr_sub_const_i32(const uint32_t *p, uint32_t n) { return p - (int32_t)n; }
X7_INLINE uint32_t *x7_ptr_add_mut_i32(uint32_t *p, uint32_t n) { return p + (int32_t)n; }
X7_INLINE uint32_t *x7_ptr_sub_mut_i32(uint32_t *p, uint32_t n) { return p - (int32_t)n; }
/* reads and writes through any pointer (unaligned: memcpy) */
X7_INLINE uint32_t x7_ptr_read_u8(const void *p) { return *(const uint8_t *)p; }
X7_INLINE uint32_t x7_ptr_read_i32(const void *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
X7_INLINE uint32_t x7_ptr_write_u8(const void *p, uint32_t v) {
    *(uint8_t *)(uintptr_t)p = (uint8_t)v;
    return 0;
}
X7_INLINE uint32_t x7_ptr_write_i32(const void *p, uint32_t v) {
    memcpy((void *)(uintptr_t)p, &v, 4);
    return 0;
}
X7_INLINE uint32_t x7_ffi_memcpy(const void *d, const void *s, uint32_t n) {
    memcpy((void *)(uintptr_t)d, s, n);
    return 0;
}
X7_INLINE uint32_t x7_ffi_memmove(const void *d, const void *s, uint32_t n) {
    memmove((void *)(uintptr_t)d, s, n);
    return 0;
}
X7_INLINE uint32_t x7_ffi_memset(const void *d, uint32_t c, uint32_t n) {
    memset((void *)(uintptr_t)d, (int)c, n);
    return 0;
}
X7_INLINE const uint32_t *x7_ptr_cast_const_i32(const void *p) { return (const uint32_t *)p; }
X7_INLINE uint32_t *x7_ptr_cast_mut_i32(const void *p) { return (uint32_t *)(uintptr_t)p; }
X7_INLINE uint32_t x7_ptr_read_u32_le(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
X7_INLINE uint32_t x7_ptr_is_null(const void *p) { return p == NULL; }
X7_INLINE void *x7_ptr_null(void) { return NULL; }
X7_INLINE const uint8_t *x7_ptr_cast_const_u8(const void *p) { return (const uint8_t *)p; }
X7_INLINE const void *x7_ptr_cast_const_void(const void *p) { return p; }
X7_INLINE uint8_t *x7_ptr_cast_mut_u8(const void *p) { return (uint8_t *)(uintptr_t)p; }
X7_INLINE void *x7_ptr_cast_mut_void(const void *p) { return (void *)(uintptr_t)p; }
