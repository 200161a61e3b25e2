/* x07-fragment: requires=core */
/* os_env: reading the process environment. */
#include <stdlib.h>

/* The value of key, or empty when unset or when key cannot name a variable. */
X7_FN x7_bytes x7_os_env_get(x7_view key) {
    char name[4096];
    if (key.len == 0 || key.len >= sizeof name) return X7_EMPTY_BYTES;
    if (memchr(key.ptr, 0, key.len) != NULL || memchr(key.ptr, '=', key.len) != NULL)
        return X7_EMPTY_BYTES;
    memcpy(name, key.ptr, key.len);
    name[key.len] = 0;
    const char *v = getenv(name);
    if (v == NULL) return X7_EMPTY_BYTES;
    size_t n = strlen(v);
    if (n > UINT32_MAX) n = UINT32_MAX;
    uint8_t *p = x7_alloc((uint32_t)n);
    x7_memcpy(p, v, n);
    return (x7_bytes){p, (uint32_t)n};
}
