/* x07-fragment: requires=core */
/* os_env: reading the process environment (sandboxed: only keys the run policy allows). */
#include <stdlib.h>

/* The value of key, or empty when unset or when key cannot name a variable. */
X7_FN x7_bytes x7_os_env_get(x7_view key) {
    char name[4096];
    if (key.len == 0 || key.len >= sizeof name) return X7_EMPTY_BYTES;
    if (memchr(key.ptr, 0, key.len) != NULL || memchr(key.ptr, '=', key.len) != NULL)
        return X7_EMPTY_BYTES;
    memcpy(name, key.ptr, key.len);
    name[key.len] = 0;
#if X7_SB_CHECKS
    const x7_policy *pol = &x7_sb.pol;
    const char *rule = !pol->env.enabled                                 ? "env.enabled"
                       : x7_sb_has(&pol->env.deny_keys, key.ptr, key.len) ? "env.deny_keys"
                       : !x7_sb_has(&pol->env.allow_keys, key.ptr, key.len) ? "env.allow_keys"
                                                                           : NULL;
    if (rule != NULL) {
        x7_sb_deny("os.env.get", key.ptr, key.len, rule);
        x7_msg m;
        m.len = 0;
        x7_msg_str(&m, "os.env.get key not allowed key=");
        x7_msg_data(&m, key.ptr, key.len > 512 ? 512 : key.len);
        m.buf[m.len] = 0;
        x7_trap(m.buf, NULL);
    }
#endif
    const char *v = getenv(name);
    if (v == NULL) return X7_EMPTY_BYTES;
    size_t n = strlen(v);
    if (n > UINT32_MAX) n = UINT32_MAX;
    uint8_t *p = x7_alloc((uint32_t)n);
    x7_memcpy(p, v, n);
    return (x7_bytes){p, (uint32_t)n};
}
