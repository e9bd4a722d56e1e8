/* Shared by the script host's files (core/lua/): the script record, the
 * tasks (handler coroutines), and the pieces each file provides. Not used
 * outside core/lua/ (the rest of the core uses scripts.h). */
#ifndef PARLEY_SCRIPT_INTERNAL_H
#define PARLEY_SCRIPT_INTERNAL_H

#include <jansson.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "base/lua_alloc.h"
#include "lua/script_clock.h"

#define SCRIPT_NAME_MAX        64
#define SCRIPT_ERR_MAX         512
#define SCRIPT_FAILS_CAP       100   /* most max_failures may say */
#define SCRIPT_HOOK_STEP       1000  /* instructions between budget checks */
#define SCRIPT_TIMERS_CAP      10000 /* most max_timers may say */
#define SCRIPT_TASKS_MAX       1000  /* suspended handlers per script */
#define SCRIPT_LOGS_PER_CALL   100   /* log lines per handler call; more are dropped */
#define SCRIPT_HTTP_MAX        16    /* HTTP requests in flight per script */
#define SCRIPT_KV_KEY_MAX      256   /* bytes */
#define SCRIPT_KV_VALUE_MAX    65536 /* bytes of JSON */
#define SCRIPT_JSON_DEPTH_MAX  64
#define SCRIPT_SENDS_PER_SLICE 20      /* posts, reactions, moderation calls per handler call */
#define SCRIPT_JSON_TEXT_MAX   1048576 /* decode input, bytes */

/* Script events: the hook events scripts may subscribe to, plus one that
 * is the script host's own. */
enum script_event {
	SEV_BEFORE_MESSAGE = 0,
	SEV_MESSAGE,
	SEV_JOIN,
	SEV_LEAVE,
	SEV_PRESENCE,
	SEV_USER_CREATED,
	SEV_EDIT,
	SEV_DELETE,
	SEV_REACTION,
	SEV_UPLOAD, /* sync like before_message: reject or tag a stored file */
	SEV__COUNT
};

struct script_limits {
	size_t memory;            /* bytes of Lua heap */
	int64_t instructions;     /* per handler slice (each resume) */
	double before_message_ms; /* wall clock per before_message handler */
	int max_failures;         /* failures within failure_window that disable */
	double failure_window;    /* seconds */
	double cpu_ms;            /* loop time across all handlers and timers ... */
	double cpu_window;        /* ... per this many seconds; more disables */
	int max_timers;           /* live timers */
	int64_t kv_max_keys;      /* keys in the script's kv space */
	int64_t kv_max_bytes;     /* bytes of keys and values there */
};

/* What a config entry says (copied out of the conf tree). */
struct script_spec {
	char *name; /* "dice" */
	char *file; /* resolved path */
	char *lib_dir;
	char *options_json; /* parley.config, "{}" when none */
	char **rooms;       /* only events from these rooms (names); NULL: all */
	size_t n_rooms;
	char **http_allow; /* hosts */
	size_t n_http_allow;
	int moderation;
	struct script_limits lim;
};

struct script;
struct task;

/* Stored in each lua_State's extra space: which script, and for threads
 * the host created to run a handler, which task (user coroutines copy the
 * main thread's: task NULL, so they cannot wait on the host). */
struct sref {
	struct script *s;
	struct task *t;
};

/* What a suspended task waits for. */
enum task_wait { WAIT_NONE = 0, WAIT_TIMER, WAIT_OP, WAIT_HTTP };

struct task {
	struct sref ref;
	lua_State *co;
	int thread_ref; /* keeps co alive in the registry */
	int sync;       /* before_message: may not yield */
	int depth;      /* bot chain depth of the triggering event */
	int sends;      /* posts, reactions, moderation calls so far */
	int logs;       /* log lines so far */
	enum task_wait wait;
	struct sclock_timer *timer; /* WAIT_TIMER */
	void *http;                 /* WAIT_HTTP: struct http_call */
	struct op_wait *opw;        /* WAIT_OP: what the completion will look at */
	/* The outcome a completion leaves for push (which runs inside the
	 * resumed coroutine, where a memory error is caught like any other). */
	int (*push)(lua_State *co, struct task *t);
	int rc;
	char *text, *err;
	int64_t value;
	int starting;             /* inside the call that starts an operation */
	int done_early;           /* ... which completed before it returned */
	struct task *prev, *next; /* the script's list */
	char what[48];            /* "message handler", for error messages */
};

/* An asynchronous operation's link back to its task: the operation (a
 * store call, a bot post) cannot be cancelled, so a task that goes away
 * first clears t and the completion only frees this. */
struct op_wait {
	struct task *t;
	int kind; /* what the completion pushes (script_api.c) */
};

/* The budget state of the slice running (saved around nested runs: a
 * script's send runs before_message handlers, its own included). */
struct run_state {
	int64_t count;
	int exceeded, sync, sends;
	double deadline;
};

#define TIMER_LEASE_MAX 200

struct timer_lease_call;

struct script_timer {
	struct script *s;
	struct sclock_timer *t;
	int fn_ref;
	int handle_ref; /* the Lua handle table */
	double repeat;
	struct script_timer *prev, *next;
	/* parley.every, or parley.timer with {once = key}: the store lease
	 * that makes one node of a cluster run it (script_timer_lease.c); ""
	 * for none */
	char lease[TIMER_LEASE_MAX];
	struct timer_lease_call *leasing; /* a lease call in flight */
};

struct script {
	struct sref self; /* main thread's extra space */
	struct script_spec spec;
	lua_State *L;
	struct lua_heap heap;     /* the Lua heap and its cap (spec.lim.memory) */
	int handlers[SEV__COUNT]; /* count per event (the lists live in the registry) */
	char **commands;
	char **command_help, **command_usage; /* beside commands; "" for none */
	size_t n_commands;
	char *bot_name;
	char **bots; /* every bot the script declared, default first */
	size_t n_bots;

	/* The running slice. */
	int64_t run_count;
	int run_exceeded;
	int run_sync;
	int run_sends;       /* posts and reactions in this slice */
	int run_logs;        /* log lines of the main chunk */
	double run_deadline; /* monotonic seconds; 0: none */

	struct task *tasks;
	size_t n_tasks;
	int n_http; /* requests in flight (their buffers are outside the Lua heap) */
	struct script_timer *timers;
	size_t n_timers;
	unsigned n_every; /* parley.every calls since loaded: a timer's lease name */

	/* CPU budget (script_cpu.c): the loop's time spent in this script. */
	double cpu_since;        /* when its current stretch began */
	double cpu_window_start; /* monotonic seconds */
	double cpu_used;         /* seconds within the window */
	double cpu_total;        /* seconds since loaded */
	int cpu_depth;           /* its runs on the C stack */
	int cpu_exceeded;

	/* Failures. */
	int64_t fail_ms[SCRIPT_FAILS_CAP];
	size_t fail_next;
	int64_t failures_total;
	int disabled;
	char disabled_reason[SCRIPT_ERR_MAX];
	char last_error[SCRIPT_ERR_MAX];
	char load_error[SCRIPT_ERR_MAX]; /* the last reload's, when it kept this version */
	int64_t loaded_ms;
	int retired;
	struct metric *m_failures, *m_disabled, *m_memory, *m_cpu, *m_cpu_exceeded;

	struct script *next;
};

/* script_state.c: the sandbox --------------------------------------- */

/* A new state for s with the safe libraries, require from lib_dir and
 * the parley table; NULL without memory. */
lua_State *sandbox_new(struct script *s);
/* Loads and runs the main chunk (no yields); 0, or -1 with err. */
int sandbox_run_main(struct script *s, char *err, size_t errlen);
/* The same with the source given (the fuzz target). */
int sandbox_run_buffer(struct script *s, const char *src, size_t len, char *err, size_t errlen);
struct sref *sref_of(lua_State *L);
double mono_now(void);
/* Counts n steps of work done in C for the running slice (pattern
 * matching) against its budgets; raises like the count hook when one is
 * spent. */
void sandbox_charge(lua_State *L, int64_t n);
void sandbox_budget_reset(struct script *s, lua_State *L, int sync);

/* script_pattern.c: string.find, match, gmatch, gsub on a counted matcher. */
void pattern_open(lua_State *L);

/* script_cpu.c: the CPU budget ---------------------------------------- */
/* Around every run of a script's Lua code (handler, timer, completion,
 * main chunk): the time between is charged to s, and paused while another
 * script runs inside (a post of one runs the others' before_message). */
struct cpu_mark {
	struct script *prev;
};
void cpu_enter(struct script *s, struct cpu_mark *m);
/* Switches s off, with the reason, when its budget is spent. */
void cpu_leave(struct script *s, struct cpu_mark *m);
/* Charges the time so far; 1 when the window's budget is spent. */
int cpu_over(struct script *s);
/* Milliseconds used in the current window (0 when it has passed). */
double cpu_used_ms(const struct script *s);

/* script_run.c: handlers in coroutines ------------------------------ */

/* Runs the function on top of s->L's stack with nargs arguments below it
 * (function first) in a new task. sync: before_message (no yields; the
 * results are left for the caller: *co_out set, nres results on it, call
 * task_end after reading). Returns 0 when it finished or is waiting, -1
 * on error (already counted as a failure). */
int task_start(struct script *s, int nargs, int sync, int depth, const char *what,
               lua_State **co_out, int *nres);
void task_end_sync(struct script *s, lua_State *co);
/* Marks the running task as waiting and yields; when resumed, push(co,
 * t) makes the waiting function's results. */
int task_wait(lua_State *L, enum task_wait wait, int (*push)(lua_State *co, struct task *t));
/* Resumes a waiting task (its outcome already in t). */
void task_resume(struct task *t);
/* Runs fn(L) with arg as its only argument (light userdata) in protected
 * mode on s's main state; an error counts as a failure of `what`. 0/-1. */
int script_pcall(struct script *s, lua_CFunction fn, void *arg, const char *what);
/* The task running on L that may wait, or raises a Lua error naming why
 * not (before_message, user coroutine, main chunk). */
struct task *task_require_async(lua_State *L, const char *fn);
/* Frees a task's Lua anchor (the script is being closed or it ended). */
void task_drop(struct task *t);
/* Counts a log line of the running handler call: 1 to write it, 0 to
 * drop it (past SCRIPT_LOGS_PER_CALL; the first dropped one says so). */
int script_log_allowed(lua_State *L);
/* Records a failure of s; may disable it. */
void script_fail(struct script *s, const char *what, const char *msg);
/* Switches s off: logged, counted in /metrics, shown by the admin API. */
void script_disable(struct script *s, const char *reason);

/* Waiting on operations (script_run.c). What an op_wait's completion
 * pushes is told by kind. */
enum op_kind { OPK_POST, OPK_DONE, OPK_KV_GET, OPK_KV_VALUE, OPK_KV_DONE };
struct op_wait *op_wait_new(struct task *t, int kind);
/* Takes the op's task for resuming (NULL when it went away). */
struct task *op_wait_take(struct op_wait *w);
/* The outcome in t: value(s), or nil and a message (a push function). */
int task_push_outcome(lua_State *co, struct task *t);
void task_set_outcome(struct task *t, int rc, const char *err, const char *text);
/* Resumes t, or, when its operation finished before the call that started
 * it returned, only marks it (the call returns the outcome itself). */
void task_complete(struct task *t);

/* script_timers.c, script_kv.c: their parts of the table at top. */
void timers_open(lua_State *L);
/* script_timer_lease.c: a parley.every runs on one node of a cluster.
 * timer_lease_name: names st's lease by the script, the interval and how
 * many parley.every the script started before (the same on every node
 * that loads the script). timer_lease_run: 0 when st needs no lease (no
 * lease member, the fake clock of test-script): the caller runs it now;
 * 1 when the tick waits for the store, which calls run(st) once this node
 * holds the lease (skipped while another node does). timer_lease_forget:
 * st is being freed; an answer still on its way finds nothing. */
void timer_lease_name(struct script *s, struct script_timer *st);
/* A one-shot's lease named by the script's key: -1 when too long. */
int timer_lease_once_name(struct script *s, struct script_timer *st, const char *key);
/* skip (may be NULL): called instead of run when another node holds it. */
int timer_lease_run(struct script_timer *st, void (*run)(struct script_timer *st),
                    void (*skip)(struct script_timer *st));
void timer_lease_forget(struct script_timer *st);
void kv_open(lua_State *L);

/* script_api.c: the parley table ------------------------------------ */
void api_open(lua_State *L, struct script *s);
/* Pushes the plain table of a message/room/user for handlers. */
void api_push_user(lua_State *L, const parley_user *u);
void api_push_event(lua_State *L, struct script *s, int event, const parley_hook_args *a);
void api_push_command(lua_State *L, struct script *s, const parley_command_args *c);
/* Stops timers and tasks (the script is retired). */
void api_timers_stop(struct script *s);

/* script_json.c ---------------------------------------------------- */
void json_open(lua_State *L); /* parley.json on the table at top */
/* Lua value at idx -> JSON (NULL and *err on a value JSON cannot hold). */
json_t *json_from_lua(lua_State *L, int idx, const char **err);
/* Pushes v (NULL: nil) and drops the caller's reference, even when the
 * push raises (memory, nesting): v is held by a collectable box meanwhile. */
void json_push_owned(lua_State *L, json_t *v);

/* script_http.c ---------------------------------------------------- */
int http_request(lua_State *L); /* parley.http.request */
void http_cancel(struct task *t);

/* script_host.c ---------------------------------------------------- */
int host_running(void);
/* Counted asynchronous operations (store, bots, http) in flight. */
void host_pending_add(int delta);
/* The functions plugins added (parley.<name>). */
struct plugin_fn {
	char *name;
	parley_script_fn fn;
	void *ud;
	struct plugin_fn *next;
};
const struct plugin_fn *host_plugin_fns(void);
/* test mode: HTTP stubs answered instead of the network. */
typedef int (*http_stub_fn)(const char *method, const char *url, long *status, char **body);
http_stub_fn host_http_stub(void);
const char *event_name(int sev);

#endif
