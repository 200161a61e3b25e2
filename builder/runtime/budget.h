/* x07-fragment: requires=core */
/*
 * budget: budget scopes. Entering one takes the allocator's counters (and, with a fuel limit,
 * holds back the fuel above it); leaving it compares what the body used with the limits, in the
 * order alloc bytes, alloc calls, realloc calls, memcpy bytes, scheduler ticks: the first one
 * exceeded traps (trap_v1, yield_v1) or becomes the error code 0x80000001..5 (result_err_v1);
 * stats_only_v1 only counts. This runtime has no scheduler, so scheduler ticks stay 0.
 */

#define X7_BUDGET_TRAP 0u
#define X7_BUDGET_RESULT_ERR 1u
#define X7_BUDGET_STATS_ONLY 2u
#define X7_BUDGET_YIELD 3u

/* Limits in checking order, then fuel; 0 = unlimited. */
typedef struct {
    uint64_t alloc_bytes, alloc_calls, realloc_calls, memcpy_bytes, sched_ticks, fuel;
} x7_budget_limits;

typedef struct {
    const x7_budget_limits *lim;
    uint64_t alloc_bytes, alloc_calls, realloc_calls, memcpy_bytes;
    uint64_t fuel_saved, fuel_start;
    int fuel_clamped, open;
} x7_budget;

X7_FN void x7_budget_enter(x7_budget *b, const x7_budget_limits *lim) {
    b->lim = lim;
    b->open = 1;
    b->alloc_bytes = x7_mem.bytes_alloc_total;
    b->alloc_calls = x7_mem.alloc_calls;
    b->realloc_calls = x7_mem.realloc_calls;
    b->memcpy_bytes = x7_mem.memcpy_bytes;
    b->fuel_saved = b->fuel_start = x7_fuel;
    b->fuel_clamped = lim->fuel != 0 && x7_fuel > lim->fuel;
    if (b->fuel_clamped) {
        /* the scope runs on at most its limit; the rest waits outside it */
        b->fuel_start = x7_fuel = lim->fuel;
        x7_budget_fuel_depth++;
    }
}

/* Gives back the fuel held back (on the scope's end, or a return from inside it). */
X7_FN void x7_budget_leave(x7_budget *b) {
    if (!b->open) return;
    b->open = 0;
    if (b->fuel_clamped) {
        x7_fuel = b->fuel_saved - (b->fuel_start - x7_fuel);
        x7_budget_fuel_depth--;
    }
}

/* The scope's end: 0, or (result_err_v1) the exceeded limit's error code; traps in trap modes. */
X7_FN uint32_t x7_budget_exit(x7_budget *b, uint32_t mode, const char *label, const char *at) {
    static const char *const names[] = {"ALLOC_BYTES", "ALLOC_CALLS", "REALLOC_CALLS", "MEMCPY_BYTES",
                                        "SCHED_TICKS"};
    const uint64_t used[5] = {x7_mem.bytes_alloc_total - b->alloc_bytes, x7_mem.alloc_calls - b->alloc_calls,
                              x7_mem.realloc_calls - b->realloc_calls, x7_mem.memcpy_bytes - b->memcpy_bytes, 0};
    const uint64_t limit[5] = {b->lim->alloc_bytes, b->lim->alloc_calls, b->lim->realloc_calls,
                               b->lim->memcpy_bytes, b->lim->sched_ticks};
    x7_budget_leave(b);
    if (mode == X7_BUDGET_STATS_ONLY) return 0;
    for (uint32_t i = 0; i < 5; i++) {
        if (limit[i] == 0 || used[i] <= limit[i]) continue;
        if (mode == X7_BUDGET_YIELD && i == 4) continue;
        if (mode == X7_BUDGET_RESULT_ERR) return 0x80000001u + i;
        x7_msg m;
        m.len = 0;
        x7_msg_str(&m, "X07T_BUDGET_EXCEEDED_");
        x7_msg_str(&m, names[i]);
        x7_msg_str(&m, " (budget `");
        x7_msg_str(&m, label);
        x7_msg_str(&m, "`: used ");
        x7_msg_u64(&m, used[i]);
        x7_msg_str(&m, ", limit ");
        x7_msg_u64(&m, limit[i]);
        x7_msg_str(&m, ")");
        m.buf[m.len] = 0;
        x7_trap(m.buf, at);
    }
    return 0;
}
