// SPDX-License-Identifier: GPL-2.0
/*
 * The entry-point atlas, observed from outside the drivers.
 *
 * The host lists every function of each driver that C can call
 * (ferro-inspect --entries) in /ferro/entries, one per line:
 * "module<TAB>event<TAB>symbol<TAB>reason", reason empty when the entry
 * must be reached on this board. Each gets a kprobe event of the same
 * name in the "kprobes" group: defined here before the module loads, or,
 * for built-in drivers, at boot from the bootconfig the host appended to
 * the initramfs. The first hit is recorded with its caller (the link
 * register at entry), the kernel's system_state and its stack; then the
 * probe is disabled (see mute()). An entry the host says this board cannot
 * reach gets no probe: it is reported as a skip with the reason; with a
 * reason marked "?" it is probed all the same, and fails if entered (a
 * reason that is wrong shows up).
 *
 * A reader thread follows trace_pipe while the plans run, so the frames
 * of a module are named while it is still loaded. At the end each entry
 * is one "# entry:" line (count, the C chain) and one KTAP result.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define TRACING "/sys/kernel/tracing"

/* enum system_states, include/linux/kernel.h (its order is fixed). */
static const char *const system_states[] = {
	"SYSTEM_BOOTING", "SYSTEM_SCHEDULING", "SYSTEM_FREEING_INITMEM", "SYSTEM_RUNNING",
	"SYSTEM_HALT", "SYSTEM_POWER_OFF", "SYSTEM_RESTART", "SYSTEM_SUSPEND",
};
#define FRAMES 24
#define MAX_CPUS 64
#define EXPECTS 32

struct entry {
	char module[32];
	char event[64];
	char symbol[400];
	char reason[200];
	int check_reason;	/* "?reason": probe it anyway, it must not run */
	char caller[512];
	int state;		/* system_state at the first call, -1 unknown */
	char frames[FRAMES][256];
	int nframes;
	int skipped_self;	/* the stack's first frame, the entry itself */
	int seen;
	int muted;		/* its probe disabled after the first record */
	long hits;		/* counted until then */
};

/* A C chain an entry's first call must come through (expect_chain()). */
struct expect {
	const char *plan, *event;
	const char *const *chain;
};

static struct expect expects[EXPECTS];
static size_t n_expects;
static struct entry *entries;
/* What each hit records (the host's "args" line): caller, system_state. */
static char entry_args[160] = "caller=%x30:symbol";
static size_t n_entries;
static pthread_t reader;
static int reader_fd = -1;
static int reader_stop;	/* set by the main thread, read atomically */
static int armed;

/* "sym+0x1c/0x80 [mod]" -> "sym"; an unnamed address stays as it is. */
static void frame_name(const char *in, char *out, size_t size)
{
	size_t n;

	while (*in == ' ')
		in++;
	n = strcspn(in, "+ ");
	if (n >= size)
		n = size - 1;
	memcpy(out, in, n);
	out[n] = '\0';
}

static struct entry *find_event(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n_entries; i++)
		if (strlen(entries[i].event) == len && !strncmp(entries[i].event, name, len))
			return &entries[i];
	return NULL;
}

static void read_hits(long *hits);

/*
 * Disable an entry's probe once its first hit is recorded, keeping the
 * hits counted so far (a lower bound, "hits=N+"): arming a probe patches
 * text under stop_machine(), and each hit costs a breakpoint and a single
 * step. (Deleting the event would also spare the re-registration at each
 * load of its module, but deleting an event clears every trace buffer,
 * records not read yet included.)
 */
static void mute(struct entry *e)
{
	char path[160];
	long *hits = calloc(n_entries, sizeof(*hits));

	long n = 1;		/* it was seen: at least once */

	if (hits) {
		read_hits(hits);
		if (hits[e - entries] > n)
			n = hits[e - entries];
		free(hits);
	}
	snprintf(path, sizeof(path), TRACING "/events/kprobes/%s/enable", e->event);
	if (write_file(path, "0") == 0) {
		__atomic_store_n(&e->hits, n, __ATOMIC_RELAXED);
		__atomic_store_n(&e->muted, 1, __ATOMIC_RELEASE);
	}
}

/* The CPU a trace_pipe record was written on: "<task>-<pid> [003] ...". */
static int line_cpu(const char *line)
{
	const char *b = strchr(line, '[');
	int cpu = b ? atoi(b + 1) : 0;

	return cpu >= 0 && cpu < MAX_CPUS ? cpu : 0;
}

/*
 * One line of trace_pipe. An event line ("... [cpu] ... ts: EVENT: (ip)
 * caller=X state=N") is a record; its stack is a separate record written
 * right after it on the same CPU ("... [cpu] ... ts: <stack trace>", then
 * " => frame" lines), and trace_pipe merges the CPUs' buffers by time, so
 * another CPU's record can come between the two: the stack goes to the
 * entry last seen on its own CPU.
 */
static void trace_line(const char *line, struct entry **cur)
{
	static struct entry *pending[MAX_CPUS];
	const char *p, *c;
	struct entry *e;
	int cpu;

	if (!strncmp(line, " => ", 4)) {
		char frame[256];

		e = *cur;
		if (!e || e->nframes >= FRAMES)
			return;
		/*
		 * The stack starts at the probed function itself: by its name,
		 * or, where kallsyms names an alias, near its start.
		 */
		frame_name(line + 4, frame, sizeof(frame));
		if (!e->nframes && !e->skipped_self &&
		    (!strcmp(frame, e->symbol) || strstr(line, "+0x0/") || strstr(line, "+0x4/"))) {
			e->skipped_self = 1;
			return;
		}
		snprintf(e->frames[e->nframes++], sizeof(e->frames[0]), "%s", frame);
		return;
	}
	cpu = line_cpu(line);
	if (strstr(line, ": <stack trace>")) {
		*cur = pending[cpu];
		pending[cpu] = NULL;
		return;
	}
	*cur = NULL;
	p = strstr(line, ": (");
	if (!p)
		return;
	c = p;
	while (c > line && c[-1] != ' ')
		c--;
	e = find_event(c, p - c);
	pending[cpu] = NULL;
	if (!e || e->seen)
		return;
	e->seen = 1;
	c = strstr(p, " state=");
	e->state = c ? atoi(c + 7) : -1;
	c = strstr(p, "caller=");
	if (c)
		frame_name(c + 7, e->caller, sizeof(e->caller));
	pending[cpu] = e;
	mute(e);
}

static void *follow(void *arg)
{
	static char buf[16384], line[1024];
	struct entry *cur = NULL;
	size_t used = 0;

	(void)arg;
	for (;;) {
		struct pollfd pfd = { .fd = reader_fd, .events = POLLIN };
		ssize_t n, i;


		if (poll(&pfd, 1, 200) <= 0) {
			if (__atomic_load_n(&reader_stop, __ATOMIC_ACQUIRE))
				break;
			continue;
		}
		n = read(reader_fd, buf, sizeof(buf));
		if (n <= 0) {
			/*
			 * trace_pipe polls readable with nothing to read; a
			 * thread spinning here takes a vCPU from the tests.
			 */
			if (n < 0 && errno == EAGAIN && !__atomic_load_n(&reader_stop, __ATOMIC_ACQUIRE)) {
				usleep(100000);
				continue;
			}
			break;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (used < sizeof(line) - 1)
					line[used++] = buf[i];
				continue;
			}
			line[used] = '\0';
			trace_line(line, &cur);
			used = 0;
		}
	}
	return NULL;
}

static int load_entries(void)
{
	char *text = slurp("/ferro/entries", NULL), *line, *save = NULL;
	size_t cap = 0;

	if (!text)
		return -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = { NULL }, *p = line;
		int i;
		struct entry *e;

		for (i = 0; i < 4; i++)
			f[i] = strsep(&p, "\t");
		if (!strcmp(f[0], "args") && f[1]) {
			snprintf(entry_args, sizeof(entry_args), "%s", f[1]);
			continue;
		}
		if (!f[2] || !*f[2])
			continue;
		if (n_entries == cap) {
			cap = cap ? 2 * cap : 64;
			entries = realloc(entries, cap * sizeof(*entries));
			if (!entries) {
				free(text);
				return -1;
			}
		}
		e = &entries[n_entries++];
		memset(e, 0, sizeof(*e));
		e->state = -1;
		snprintf(e->module, sizeof(e->module), "%s", f[0]);
		snprintf(e->event, sizeof(e->event), "%s", f[1]);
		snprintf(e->symbol, sizeof(e->symbol), "%s", f[2]);
		e->check_reason = f[3] && f[3][0] == '?';
		snprintf(e->reason, sizeof(e->reason), "%s", f[3] ? f[3] + e->check_reason : "");
	}
	free(text);
	return 0;
}

/*
 * Before any driver can be entered: define the module plan's probes
 * (built-in ones are defined at boot), record stacks, enable them all and
 * start following the trace.
 */
void entries_arm(const char *plan)
{
	size_t i;
	int defined = 0, failed = 0;
	char first_err[256] = "";

	if (!exists("/ferro/entries"))
		return;		/* this boot does not observe entries */
	if (load_entries()) {
		result(0, "entries_listed", "cannot read /ferro/entries: %s", strerror(errno));
		return;
	}
	if (mount("tracefs", TRACING, "tracefs", 0, NULL) && errno != EBUSY) {
		result(0, "entries_tracefs", "mount tracefs on " TRACING ": %s", strerror(errno));
		return;
	}
	for (i = 0; i < n_entries && !strcmp(plan, "module"); i++) {
		char def[800];

		if (*entries[i].reason && !entries[i].check_reason)
			continue;	/* not reachable here: no probe */
		snprintf(def, sizeof(def), "p:kprobes/%s %s:%s %s\n",
			 entries[i].event, entries[i].module, entries[i].symbol, entry_args);
		if (write_file(TRACING "/kprobe_events", def)) {
			if (!failed++)
				snprintf(first_err, sizeof(first_err), "%s: %s", entries[i].event,
					 strerror(errno));
			continue;
		}
		defined++;
	}
	if (!strcmp(plan, "module"))
		result(!failed, "entries_probes_defined", "%d of %zu kprobe events refused (first: %s)",
		       failed, n_entries, first_err);
	write_file(TRACING "/options/stacktrace", "1");
	failed = 0;
	for (i = 0; i < n_entries; i++) {
		char path[160];

		if (*entries[i].reason && !entries[i].check_reason)
			continue;
		snprintf(path, sizeof(path), TRACING "/events/kprobes/%s/enable", entries[i].event);
		if (write_file(path, "1") && !failed++)
			snprintf(first_err, sizeof(first_err), "%s: %s", entries[i].event,
				 strerror(errno));
	}
	result(!failed, "entries_probes_enabled", "%d of %zu kprobe events not enabled (first: %s)",
	       failed, n_entries, first_err);
	reader_fd = open(TRACING "/trace_pipe", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (reader_fd < 0 || pthread_create(&reader, NULL, follow, NULL)) {
		result(0, "entries_trace_followed", "cannot follow " TRACING "/trace_pipe: %s",
		       strerror(errno));
		return;
	}
	armed = 1;
	printf("# entries: %zu armed (%d defined here)\n", n_entries, defined);
}

/*
 * The first call of an entry (an event name, or its prefix when the same
 * callback has one event per device type, e.g. "phy_probe") must have come
 * through `chain`: these C functions in order, from the caller at entry
 * outwards (substrings; "a|b" takes either). Checked when the entries are
 * reported, as <plan>_chain_<event>.
 */
void expect_chain(const char *plan, const char *event, const char *const *chain)
{
	if (!chain || !chain[0]) {
		result(0, "entries_expectations", "an empty chain for %s proves nothing", event);
		return;
	}
	if (n_expects < EXPECTS)
		expects[n_expects++] = (struct expect){ plan, event, chain };
	else
		result(0, "entries_expectations", "more than %d chains expected", EXPECTS);
}

/* Whether e's caller and frames hold `chain` in order; *missing if not. */
static int chain_matches(const struct entry *e, const char *const *chain, const char **missing)
{
	int i = 0, f;

	if (chain[i] && frame_matches(e->caller, chain[i]))
		i++;
	for (f = 0; f < e->nframes && chain[i]; f++)
		if (frame_matches(e->frames[f], chain[i]))
			i++;
	*missing = chain[i];
	return !chain[i];
}

static void check_expects(void)
{
	size_t i, k;

	for (i = 0; i < n_expects; i++) {
		const struct expect *x = &expects[i];
		const char *missing = x->chain[0];
		size_t len = strlen(x->event);
		/* "phy_probe_*": every event of that name with a suffix */
		int prefix = len > 2 && !strcmp(x->event + len - 2, "_*");
		char name[128];
		int ok = 0, seen = 0;

		for (k = 0; k < n_entries && !ok; k++) {
			const struct entry *e = &entries[k];

			if (prefix ? strncmp(e->event, x->event, len - 1) : strcmp(e->event, x->event))
				continue;
			if (!e->seen)
				continue;
			seen++;
			ok = chain_matches(e, x->chain, &missing);
		}
		snprintf(name, sizeof(name), "%s_chain_%.*s", x->plan,
			 (int)(prefix ? len - 2 : len), x->event);
		if (!seen)
			result(0, name, "%s was never entered, so it has no chain", x->event);
		else
			result(ok, name, "no frame for %s (in order) in the first call of %s",
			       missing ? missing : "", x->event);
	}
}

/* kprobe_profile: "  EVENT   HITS   MISSES" per line. */
static void read_hits(long *hits)
{
	char *text = slurp(TRACING "/kprobe_profile", NULL), *line, *save = NULL;

	if (!text)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128];
		long n;
		struct entry *e;

		if (sscanf(line, "%127s %ld", name, &n) != 2)
			continue;
		e = find_event(name, strlen(name));
		if (e)
			hits[e - entries] = n;
	}
	free(text);
}

/*
 * An entry's hits so far (once its first call is recorded, those until
 * then), or -1 when it is not probed in this boot.
 */
long entry_hits(const char *event)
{
	long *hits;
	long n = -1;
	struct entry *e;

	if (!armed)
		return -1;
	e = find_event(event, strlen(event));
	if (e && __atomic_load_n(&e->muted, __ATOMIC_ACQUIRE))
		return __atomic_load_n(&e->hits, __ATOMIC_RELAXED);
	hits = e ? calloc(n_entries, sizeof(*hits)) : NULL;
	if (hits) {
		hits[e - entries] = -1;
		read_hits(hits);
		n = hits[e - entries];
	}
	free(hits);
	return n;
}

/*
 * After the plans: one fact line and one KTAP result per entry. An entry
 * the host marked unreachable here (with its reason) is a skip; it still
 * reports its hits, so an entry that becomes reachable shows up.
 */
void entries_report(const char *plan, const char *const *ran, size_t n_ran)
{
	long *hits;
	size_t i;

	if (!armed) {
		for (i = 0; i < n_expects; i++) {
			char name[128];

			snprintf(name, sizeof(name), "%s_chain_%.*s", expects[i].plan,
				 (int)strcspn(expects[i].event, "*"), expects[i].event);
			skip(name, "%s", "this boot observes no entries (no /ferro/entries)");
		}
		return;
	}
	__atomic_store_n(&reader_stop, 1, __ATOMIC_RELEASE);
	pthread_join(reader, NULL);
	close(reader_fd);
	hits = calloc(n_entries, sizeof(*hits));
	if (!hits) {
		result(0, "entries_report", "out of memory");
		return;
	}
	for (i = 0; i < n_entries; i++)
		hits[i] = -1;
	read_hits(hits);
	for (i = 0; i < n_entries; i++)
		if (entries[i].muted)
			hits[i] = entries[i].hits;
	for (i = 0; i < n_entries; i++) {
		struct entry *e = &entries[i];
		char chain[FRAMES * 258] = "", name[128];
		size_t r;
		int f;

		for (r = 0; r < n_ran; r++)
			if (!strncmp(e->module, "ferro_", 6) && !strcmp(e->module + 6, ran[r]))
				break;
		if (r == n_ran)
			continue;	/* this boot did not run that driver's plan */
		for (f = 0; f < e->nframes; f++) {
			strcat(chain, f ? " < " : "");
			strcat(chain, e->frames[f]);
		}
		printf("# entry: %s %s hits=%ld%s caller=%s state=%s chain=%s\n", e->module,
		       e->event, hits[i], e->muted ? "+" : "", *e->caller ? e->caller : "-",
		       e->state >= 0 && e->state < (int)ARRAY_SIZE(system_states) ?
		       system_states[e->state] : "-", *chain ? chain : "-");
		snprintf(name, sizeof(name), "%s_entry_%s", plan, e->event);
		if (*e->reason && e->check_reason && hits[i] > 0)
			result(0, name, "listed as not reachable here (%s), but entered %ld times",
			       e->reason, hits[i]);
		else if (*e->reason)
			skip(name, "%s (%s)", e->reason,
			     e->check_reason ? "probed: not entered" : "not probed");
		else
			result(hits[i] > 0 && e->seen, name,
			       "%s:%s never entered (hits %ld%s)", e->module, e->symbol, hits[i],
			       hits[i] > 0 ? ", but no record with its caller" : "");
	}
	free(hits);
	check_expects();
}
