/* x07-fragment: requires=core */
/*
 * async: `defasync` tasks on one deterministic cooperative scheduler. Each task runs on its own
 * stack (mmap'd, a guard page below it) and gives the processor up only where the program says
 * so: await/join of an unfinished task, a channel send to a full or recv from an empty channel,
 * task.sleep, task.yield. Tasks run only while `solve` (or a task) waits: calling a defasync
 * enqueues its task, and the waiting code runs the scheduler, one task step at a time in FIFO
 * order of readiness. Time is virtual: with nothing ready, it jumps to the next sleeper's tick;
 * with nothing ready and no sleeper, a wait that cannot end traps `scheduler deadlock`.
 * Handles (tasks, channels) are 1-based i32s.
 */
#include <stdlib.h>
#include <sys/mman.h>

#if !defined(__x86_64__)
#error "defasync needs an x86_64 target for now (the task context switch is written for it)"
#endif

#define X7_TASK_STACK (256u * 1024u)
#define X7_TASK_GUARD 4096u
#define X7_TASKS_MAX 4096u
#define X7_CHANS_MAX 4096u

enum { X7_TS_READY = 1, X7_TS_RUNNING, X7_TS_BLOCKED, X7_TS_DONE, X7_TS_JOINED };
enum { X7_WAIT_TASK = 1, X7_WAIT_RECV, X7_WAIT_SEND, X7_WAIT_SLEEP };
enum { X7_TASK_BYTES = 0, X7_TASK_RESULT_BYTES = 1 };

/* A task scope (`task.scope_v1`): the children started in it, waited for when it ends. */
typedef struct x7_task_scope {
    struct x7_task_scope *parent;
    uint32_t *kids;
    uint32_t n, cap, max_children, max_slot_bytes;
} x7_task_scope;

typedef struct {
    void *sp;
    uint8_t *stack;
    void (*entry)(void *);
    void *arg;
    uint32_t state, kind, wait_kind, wait_on;
    uint64_t wake_at;
    x7_bytes result;
    x7_res_bytes rresult;
    x7_task_scope *scope; /* the innermost task scope open in this task */
} x7_task;

typedef struct {
    x7_bytes *buf;
    uint32_t cap, head, len, closed;
} x7_chan;

static x7_task x7_tasks[X7_TASKS_MAX + 1] X7_UNUSED;
static uint32_t x7_tasks_n X7_UNUSED;
static x7_chan x7_chans[X7_CHANS_MAX + 1] X7_UNUSED;
static uint32_t x7_chans_n X7_UNUSED;
/* the ready queue (a ring of task ids) and the blocked tasks in the order they blocked */
static uint32_t x7_ready[X7_TASKS_MAX + 1] X7_UNUSED;
static uint32_t x7_ready_head X7_UNUSED, x7_ready_len X7_UNUSED;
static uint32_t x7_blocked[X7_TASKS_MAX] X7_UNUSED;
static uint32_t x7_blocked_n X7_UNUSED;
/* the running task (0 = solve, on the process stack) and solve's saved stack pointer */
static uint32_t x7_task_cur X7_UNUSED;
static void *x7_main_sp X7_UNUSED;
static uint64_t x7_sched_now X7_UNUSED, x7_sched_steps X7_UNUSED, x7_main_wake X7_UNUSED;
/* solve's innermost task scope; slot ids (1-based) → task handles */
static x7_task_scope *x7_main_scope X7_UNUSED;
static uint32_t *x7_slots X7_UNUSED;
static uint32_t x7_slots_n X7_UNUSED, x7_slots_cap X7_UNUSED;

/*
 * x7_ctx_switch(save, to): saves the callee-saved registers on this stack and its pointer in
 * *save, then continues on the stack `to` (System V x86_64: rbx, rbp, r12-r15).
 */
void x7_ctx_switch(void **save, void *to);
__asm__(".text\n"
        ".p2align 4\n"
        ".type x7_ctx_switch,@function\n"
        "x7_ctx_switch:\n"
        "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
        "  movq %rsp, (%rdi)\n"
        "  movq %rsi, %rsp\n"
        "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
        "  ret\n"
        ".size x7_ctx_switch, .-x7_ctx_switch\n");

X7_FN void x7_ready_push(uint32_t t) {
    x7_ready[(x7_ready_head + x7_ready_len) % (X7_TASKS_MAX + 1)] = t;
    x7_ready_len++;
    x7_tasks[t].state = X7_TS_READY;
}

/* A task body ends here: it is done, and solve's scheduler takes over for good. */
static void x7_task_trampoline(void) {
    x7_task *t = &x7_tasks[x7_task_cur];
    t->entry(t->arg);
    t->state = X7_TS_DONE;
    x7_ctx_switch(&t->sp, x7_main_sp);
    __builtin_trap(); /* a finished task is never resumed */
}

/* Enqueues a new task running entry(arg); its handle. */
X7_FN uint32_t x7_task_spawn_raw(void (*entry)(void *), void *arg, uint32_t kind) {
    if (x7_tasks_n == X7_TASKS_MAX) x7_trap("defasync: too many tasks", NULL);
    uint8_t *stack = (uint8_t *)mmap(NULL, X7_TASK_STACK, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == (uint8_t *)MAP_FAILED) x7_trap("defasync: cannot allocate a task stack", NULL);
    if (mprotect(stack, X7_TASK_GUARD, PROT_NONE) != 0) x7_trap("defasync: cannot guard a task stack", NULL);
    uint32_t id = ++x7_tasks_n;
    x7_task *t = &x7_tasks[id];
    memset(t, 0, sizeof *t);
    t->stack = stack;
    t->entry = entry;
    t->arg = arg;
    t->kind = kind;
    /* the first switch pops six zero registers and returns into the trampoline with the stack
       aligned as at a call (rsp = 8 mod 16) */
    uint64_t *sp = (uint64_t *)(stack + X7_TASK_STACK - 64);
    for (int i = 0; i < 6; i++) sp[i] = 0;
    sp[6] = (uint64_t)(uintptr_t)x7_task_trampoline;
    sp[7] = 0;
    t->sp = sp;
    x7_ready_push(id);
    return id;
}

X7_FN x7_task *x7_task_get(uint32_t h, const char *at) {
    if (h == 0 || h > x7_tasks_n) x7_trap("task: not a task handle", at);
    return &x7_tasks[h];
}

X7_FN x7_chan *x7_chan_get(uint32_t h, const char *at) {
    if (h == 0 || h > x7_chans_n) x7_trap("chan.bytes: not a channel handle", at);
    return &x7_chans[h];
}

/* Whether a wait of this kind on `on` can end now. */
X7_FN int x7_wait_over(uint32_t kind, uint32_t on, uint64_t wake_at) {
    switch (kind) {
    case X7_WAIT_TASK: return x7_tasks[on].state >= X7_TS_DONE;
    case X7_WAIT_RECV: return x7_chans[on].len > 0 || x7_chans[on].closed;
    case X7_WAIT_SEND: return x7_chans[on].len < x7_chans[on].cap || x7_chans[on].closed;
    case X7_WAIT_SLEEP: return x7_sched_now >= wake_at;
    default: return 1;
    }
}

/* Moves every blocked task whose wait is over to the ready queue, in the order they blocked. */
X7_FN void x7_sched_wake(void) {
    uint32_t keep = 0;
    for (uint32_t i = 0; i < x7_blocked_n; i++) {
        x7_task *t = &x7_tasks[x7_blocked[i]];
        if (x7_wait_over(t->wait_kind, t->wait_on, t->wake_at))
            x7_ready_push(x7_blocked[i]);
        else
            x7_blocked[keep++] = x7_blocked[i];
    }
    x7_blocked_n = keep;
}

/*
 * One scheduler step, run by solve: the next ready task runs until it waits, yields or ends.
 * With nothing ready, virtual time jumps to the next sleeper. 0 when nothing can run.
 */
X7_FN int x7_sched_step(void) {
    x7_sched_wake();
    if (x7_ready_len == 0) {
        uint64_t next = x7_main_wake;
        for (uint32_t i = 0; i < x7_blocked_n; i++) {
            x7_task *t = &x7_tasks[x7_blocked[i]];
            if (t->wait_kind == X7_WAIT_SLEEP && (next == 0 || t->wake_at < next)) next = t->wake_at;
        }
        if (next == 0 || next <= x7_sched_now) return 0;
        x7_sched_now = next;
        x7_sched_wake();
        if (x7_ready_len == 0) return 1; /* solve's own sleep is over */
    }
    uint32_t id = x7_ready[x7_ready_head];
    x7_ready_head = (x7_ready_head + 1) % (X7_TASKS_MAX + 1);
    x7_ready_len--;
    x7_task *t = &x7_tasks[id];
    t->state = X7_TS_RUNNING;
    x7_task_cur = id;
    x7_sched_steps++;
    x7_ctx_switch(&x7_main_sp, t->sp);
    x7_task_cur = 0;
    if (t->state == X7_TS_DONE && t->stack != NULL) {
        munmap(t->stack, X7_TASK_STACK);
        t->stack = NULL;
    }
    return 1;
}

/* Waits until a wait of this kind is over: solve runs the scheduler, a task parks itself. */
X7_FN void x7_wait(uint32_t kind, uint32_t on, uint64_t wake_at, const char *at) {
    while (!x7_wait_over(kind, on, wake_at)) {
        if (x7_task_cur == 0) {
            if (kind == X7_WAIT_SLEEP) x7_main_wake = wake_at;
            int ran = x7_sched_step();
            x7_main_wake = 0;
            if (!ran) x7_trap("scheduler deadlock", at);
        } else {
            x7_task *t = &x7_tasks[x7_task_cur];
            t->state = X7_TS_BLOCKED;
            t->wait_kind = kind;
            t->wait_on = on;
            t->wake_at = wake_at;
            x7_blocked[x7_blocked_n++] = x7_task_cur;
            x7_ctx_switch(&t->sp, x7_main_sp);
        }
    }
}

/* ---- task ops ---- */

X7_INLINE uint32_t x7_task_spawn(uint32_t h, const char *at) {
    (void)x7_task_get(h, at); /* tasks start when created; this only checks the handle */
    return h;
}

X7_FN uint32_t x7_task_yield(const char *at) {
    (void)at;
    if (x7_task_cur == 0) {
        (void)x7_sched_step();
    } else {
        uint32_t me = x7_task_cur;
        x7_ready_push(me);
        x7_ctx_switch(&x7_tasks[me].sp, x7_main_sp);
    }
    return 0;
}

X7_FN uint32_t x7_task_sleep(uint32_t ticks, const char *at) {
    uint64_t wake = x7_sched_now + (uint64_t)(int64_t)(int32_t)ticks;
    if ((int32_t)ticks > 0) x7_wait(X7_WAIT_SLEEP, 0, wake, at);
    return 0;
}

X7_FN uint32_t x7_task_is_finished(uint32_t h, const char *at) {
    return x7_task_get(h, at)->state >= X7_TS_DONE;
}

X7_FN x7_bytes x7_task_join_bytes(uint32_t h, const char *at) {
    x7_task *t = x7_task_get(h, at);
    if (t->kind != X7_TASK_BYTES) x7_trap("task.join.bytes: the task returns result_bytes", at);
    if (h == x7_task_cur) x7_trap("task.join: a task cannot wait for itself", at);
    x7_wait(X7_WAIT_TASK, h, 0, at);
    if (t->state == X7_TS_JOINED) x7_trap("task.join: the task was already joined", at);
    t->state = X7_TS_JOINED;
    x7_bytes r = t->result;
    t->result = X7_EMPTY_BYTES;
    return r;
}

X7_FN x7_res_bytes x7_task_join_result_bytes(uint32_t h, const char *at) {
    x7_task *t = x7_task_get(h, at);
    if (t->kind != X7_TASK_RESULT_BYTES) x7_trap("task.join.result_bytes: the task returns bytes", at);
    if (h == x7_task_cur) x7_trap("task.join: a task cannot wait for itself", at);
    x7_wait(X7_WAIT_TASK, h, 0, at);
    if (t->state == X7_TS_JOINED) x7_trap("task.join: the task was already joined", at);
    t->state = X7_TS_JOINED;
    x7_res_bytes r = t->rresult;
    t->rresult = (x7_res_bytes){0, 0, X7_EMPTY_BYTES};
    return r;
}

/* Where a task body's value goes (called by the emitted entry of each defasync). */
X7_INLINE void x7_task_finish_bytes(x7_bytes r) { x7_tasks[x7_task_cur].result = r; }
X7_INLINE void x7_task_finish_result_bytes(x7_res_bytes r) { x7_tasks[x7_task_cur].rresult = r; }

/* A task's own copy of a view argument (the caller's borrow ends before the task runs). */
X7_FN x7_bytes x7_task_copy_view(x7_view v) {
    if (v.len == 0) return X7_EMPTY_BYTES;
    uint8_t *p = x7_alloc(v.len);
    x7_memcpy(p, v.ptr, v.len);
    return (x7_bytes){p, v.len};
}

/* ---- channels of bytes ---- */

X7_FN uint32_t x7_chan_bytes_new(uint32_t cap, const char *at) {
    if (x7_chans_n == X7_CHANS_MAX) x7_trap("chan.bytes.new: too many channels", at);
    if ((int32_t)cap < 1) cap = 1;
    if (cap > (1u << 20)) x7_trap("chan.bytes.new: capacity over 1048576", at);
    x7_chan *c = &x7_chans[++x7_chans_n];
    c->buf = (x7_bytes *)(void *)x7_alloc(cap * (uint32_t)sizeof(x7_bytes));
    c->cap = cap;
    c->head = c->len = c->closed = 0;
    return x7_chans_n;
}

X7_FN void x7_chan_put(x7_chan *c, x7_bytes b) {
    c->buf[(c->head + c->len) % c->cap] = b;
    c->len++;
}

/* 1 sent; 2 the channel is closed (the bytes are dropped). Waits while it is full. */
X7_FN uint32_t x7_chan_bytes_send(uint32_t h, x7_bytes b, const char *at) {
    x7_chan *c = x7_chan_get(h, at);
    x7_wait(X7_WAIT_SEND, h, 0, at);
    if (c->closed) {
        x7_bytes_drop(b);
        return 2;
    }
    x7_chan_put(c, b);
    return 1;
}

/* 0 full, 1 sent (a copy), 2 closed. */
X7_FN uint32_t x7_chan_bytes_try_send(uint32_t h, x7_view v, const char *at) {
    x7_chan *c = x7_chan_get(h, at);
    if (c->closed) return 2;
    if (c->len == c->cap) return 0;
    x7_chan_put(c, x7_task_copy_view(v));
    return 1;
}

/* The next message; waits while the channel is empty; empty bytes once closed and drained. */
X7_FN x7_bytes x7_chan_bytes_recv(uint32_t h, const char *at) {
    x7_chan *c = x7_chan_get(h, at);
    x7_wait(X7_WAIT_RECV, h, 0, at);
    if (c->len == 0) return X7_EMPTY_BYTES;
    x7_bytes b = c->buf[c->head];
    c->head = (c->head + 1) % c->cap;
    c->len--;
    return b;
}

/* ok = the next message; err 1 = empty, err 2 = closed and drained. */
X7_FN x7_res_bytes x7_chan_bytes_try_recv(uint32_t h, const char *at) {
    x7_chan *c = x7_chan_get(h, at);
    if (c->len == 0) return (x7_res_bytes){0, c->closed ? 2u : 1u, X7_EMPTY_BYTES};
    x7_bytes b = c->buf[c->head];
    c->head = (c->head + 1) % c->cap;
    c->len--;
    return (x7_res_bytes){1, 0, b};
}

X7_FN uint32_t x7_chan_bytes_close(uint32_t h, const char *at) {
    x7_chan_get(h, at)->closed = 1;
    return 1;
}

/* ---- task scopes ---- */

X7_INLINE x7_task_scope **x7_scope_slot(void) {
    return x7_task_cur == 0 ? &x7_main_scope : &x7_tasks[x7_task_cur].scope;
}

X7_FN void x7_task_scope_enter(x7_task_scope *s, uint32_t max_children, uint32_t max_slot_bytes) {
    x7_task_scope **top = x7_scope_slot();
    memset(s, 0, sizeof *s);
    s->parent = *top;
    s->max_children = max_children;
    s->max_slot_bytes = max_slot_bytes;
    *top = s;
}

X7_FN x7_task_scope *x7_scope_current(const char *at) {
    x7_task_scope *s = *x7_scope_slot();
    if (s == NULL) x7_trap("task.scope: not inside task.scope_v1", at);
    return s;
}

/* Registers the task `h` as a child of the current scope. */
X7_FN void x7_scope_adopt(uint32_t h, const char *at) {
    x7_task_scope *s = x7_scope_current(at);
    if (s->max_children && s->n == s->max_children) x7_trap("task.scope: more children than max_children", at);
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 8;
        uint32_t *k = (uint32_t *)realloc(s->kids, cap * sizeof *k);
        if (k == NULL) x7_trap("task.scope: out of memory", at);
        s->kids = k;
        s->cap = cap;
    }
    s->kids[s->n++] = h;
}

/* Joins every child not yet joined, dropping its value. */
X7_FN void x7_scope_join_all(x7_task_scope *s, const char *at) {
    for (uint32_t i = 0; i < s->n; i++) {
        x7_task *t = &x7_tasks[s->kids[i]];
        if (t->state == X7_TS_JOINED) continue;
        x7_wait(X7_WAIT_TASK, s->kids[i], 0, at);
        t->state = X7_TS_JOINED;
        x7_bytes_drop(t->result);
        x7_res_bytes_drop(t->rresult);
        t->result = X7_EMPTY_BYTES;
        t->rresult = (x7_res_bytes){0, 0, X7_EMPTY_BYTES};
    }
}

/* The scope's end (also on a return from inside it): its children finish first. */
X7_FN void x7_task_scope_exit(x7_task_scope *s, const char *at) {
    x7_scope_join_all(s, at);
    free(s->kids);
    s->kids = NULL;
    s->n = s->cap = 0;
    *x7_scope_slot() = s->parent;
}

X7_FN uint32_t x7_task_scope_start_soon_v1(uint32_t h, const char *at) {
    x7_scope_adopt(h, at);
    return 0;
}

X7_FN uint32_t x7_task_scope_slot_new(uint32_t h, const char *at) {
    x7_scope_adopt(h, at);
    if (x7_slots_n == x7_slots_cap) {
        uint32_t cap = x7_slots_cap ? x7_slots_cap * 2 : 16;
        uint32_t *p = (uint32_t *)realloc(x7_slots, (cap + 1) * sizeof *p);
        if (p == NULL) x7_trap("task.scope: out of memory", at);
        x7_slots = p;
        x7_slots_cap = cap;
    }
    x7_slots[++x7_slots_n] = h;
    return x7_slots_n;
}

X7_INLINE uint32_t x7_task_scope_async_let_bytes_v1(uint32_t h, const char *at) { return x7_task_scope_slot_new(h, at); }
X7_INLINE uint32_t x7_task_scope_async_let_result_bytes_v1(uint32_t h, const char *at) { return x7_task_scope_slot_new(h, at); }

X7_FN uint32_t x7_slot_task(uint32_t slot, const char *at) {
    if (slot == 0 || slot > x7_slots_n) x7_trap("task.scope: not a slot", at);
    return x7_slots[slot];
}

X7_FN void x7_slot_check_size(uint32_t len, const char *at) {
    x7_task_scope *s = *x7_scope_slot();
    if (s != NULL && s->max_slot_bytes && len > s->max_slot_bytes)
        x7_trap("task.scope: a slot's result is larger than max_slot_result_bytes", at);
}

X7_FN x7_bytes x7_task_scope_await_slot_bytes_v1(uint32_t slot, const char *at) {
    x7_bytes r = x7_task_join_bytes(x7_slot_task(slot, at), at);
    x7_slot_check_size(r.len, at);
    return r;
}

X7_FN x7_res_bytes x7_task_scope_await_slot_result_bytes_v1(uint32_t slot, const char *at) {
    x7_res_bytes r = x7_task_join_result_bytes(x7_slot_task(slot, at), at);
    if (r.tag) x7_slot_check_size(r.val.len, at);
    return r;
}

X7_FN uint32_t x7_task_scope_slot_is_finished_v1(uint32_t slot, const char *at) {
    return x7_task_is_finished(x7_slot_task(slot, at), at);
}

X7_FN uint32_t x7_task_scope_wait_all_v1(const char *at) {
    x7_scope_join_all(x7_scope_current(at), at);
    return 0;
}
