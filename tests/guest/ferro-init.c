// SPDX-License-Identifier: GPL-2.0
/*
 * ferro-init - the guest side of Ferro's tests: PID 1 of the test initramfs.
 *
 * The harness boots a kernel with "-- <plan> <board> [<driver>|all [kmsg]]"
 * at the end of the command line; the kernel hands those words to init as
 * argv. <driver> limits the run to one driver, "kmsg" makes the guest print
 * the whole kernel log at the end (for the compare report). The plan says
 * how Ferro was built:
 *   module   drivers are /lib/modules/ferro/ferro_*.ko: load, inspect, unload them
 *   builtin  drivers ran their initcalls during boot: inspect what they left
 * Every test prints one KTAP result line; the run ends with a power-off.
 * Expectations come from what the guest can see (the kernel command line,
 * the record the driver wrote), never from a copy of an earlier run.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define LIFECYCLE_KO "/lib/modules/ferro/ferro_lifecycle.ko"
#define LIFECYCLE_DEV "/dev/ferro_lifecycle"
#define STACK_DEPTH_DEFAULT 16
#define EXIT_LINE "ferro_lifecycle: exit: entry=cleanup_module mode=module system_state=SYSTEM_RUNNING"
#define STACK_DEPTH_MAX 32
#define BIG (1024 * 1024)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int test_no;
static int failures;

/* One KTAP result line; the printf-style arguments name what went wrong. */
static void result(int ok, const char *name, const char *fmt, ...)
{
	char why[512] = "";
	va_list ap;

	if (!ok && fmt) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	test_no++;
	if (ok) {
		printf("ok %d %s\n", test_no, name);
	} else {
		failures++;
		printf("# %s: %s\nnot ok %d %s\n", name, why, test_no, name);
	}
	fflush(stdout);
}

/* A measured fact for the compare report: "# fact: <driver>.<key>=<value>". */
static void report_fact(const char *driver, const char *key, const char *fmt, ...)
{
	char value[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	printf("# fact: %s.%s=%s\n", driver, key, value);
	fflush(stdout);
}

/* Reads a whole file into a NUL-terminated heap buffer; NULL if absent. */
static char *slurp(const char *path, size_t *lenp)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	if (!buf)
		return NULL;
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * The kernel log as text, one "<seconds.micros> <message>" line per record,
 * read from /dev/kmsg (structured, with the printk time stamp).
 */
static char *kernel_log(void)
{
	char *out = malloc(BIG * 4), rec[8192];
	size_t len = 0;
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ssize_t n;

	if (!out || fd < 0) {
		free(out);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		unsigned long long usec;
		char *msg, *nl;

		if (n < 0)
			continue;	/* overwritten records: skip ahead */
		rec[n] = '\0';
		msg = strchr(rec, ';');
		if (!msg || sscanf(rec, "%*u,%*u,%llu", &usec) != 1)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = '\0';
		if (len + strlen(msg) + 32 >= (size_t)BIG * 4)
			break;
		len += sprintf(out + len, "%llu.%06llu %s\n", usec / 1000000, usec % 1000000, msg);
	}
	close(fd);
	out[len] = '\0';
	return out;
}

/* The first log line containing needle (after *from, if given), or NULL. */
static const char *log_find(const char *log, const char *needle)
{
	const char *p = log ? strstr(log, needle) : NULL;

	while (p && p > log && p[-1] != '\n' && p[-1] != ' ')
		p = strstr(p + 1, needle);
	if (!p)
		return NULL;
	while (p > log && p[-1] != '\n')
		p--;
	return p;
}

/* The last log line containing needle, or NULL. */
static const char *log_find_last(const char *log, const char *needle)
{
	const char *p = log_find(log, needle), *next;

	while (p && (next = log_find(p + strcspn(p, "\n"), needle)))
		p = next;
	return p;
}

/* Prints text as KTAP diagnostic lines. */
static void diag(const char *title, const char *text)
{
	const char *p;

	printf("# %s\n", title);
	for (p = text; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
		printf("#   %.*s\n", (int)strcspn(p, "\n"), p);
	fflush(stdout);
}

/* Prints the kernel log lines that contain needle as "# kmsg: " lines. */
static void diag_log(const char *needle)
{
	char *log = kernel_log();
	const char *p;

	for (p = log; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0)) {
		int n = strcspn(p, "\n");

		if (memmem(p, n, needle, strlen(needle)))
			printf("# kmsg: %.*s\n", n, p);
	}
	fflush(stdout);
	free(log);
}

/* Copies one line (without its newline) into buf. */
static void line_of(const char *p, char *buf, size_t size)
{
	size_t n = strcspn(p, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* The value of "key: value" in a record, copied into buf; 0 if absent. */
static int record_get(const char *rec, const char *key, char *buf, size_t size)
{
	char pat[128];
	const char *p;

	if (!rec)
		return 0;
	snprintf(pat, sizeof(pat), "\n%s: ", key);
	if (strncmp(rec, pat + 1, strlen(pat + 1)) == 0) {
		p = rec + strlen(pat + 1);
	} else {
		p = strstr(rec, pat);
		if (!p)
			return 0;
		p += strlen(pat);
	}
	line_of(p, buf, size);
	return 1;
}

/*
 * Checks that the record's frames name each function of chain, in order
 * (other frames may sit between them). Returns 1, or 0 with the first
 * function not found in *missing.
 */
static int chain_in_order(const char *rec, const char *const *chain, const char **missing)
{
	char key[32], frame[600], fn[256];
	int i = 0, n, f;

	if (!record_get(rec, "frames", frame, sizeof(frame)))
		n = 0;
	else
		n = atoi(frame);
	for (f = 0; f < n && chain[i]; f++) {
		snprintf(key, sizeof(key), "frame.%d", f);
		if (!record_get(rec, key, frame, sizeof(frame)))
			break;
		snprintf(fn, sizeof(fn), "%s+", chain[i]);
		if (strncmp(frame, fn, strlen(fn)) == 0)
			i++;
	}
	*missing = chain[i];
	return !chain[i];
}

/* ferro_lifecycle.stack_depth=N from /proc/cmdline, or the default. */
static long cmdline_stack_depth(void)
{
	char *cmdline = slurp("/proc/cmdline", NULL);
	const char *p = cmdline ? strstr(cmdline, "ferro_lifecycle.stack_depth=") : NULL;
	long v = STACK_DEPTH_DEFAULT;

	if (p)
		v = strtol(p + strlen("ferro_lifecycle.stack_depth="), NULL, 0);

	free(cmdline);
	return v;
}

static int load_module(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

static int unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

static int in_proc_modules(const char *name, char *line, size_t size)
{
	char *mods = slurp("/proc/modules", NULL), pat[64];
	const char *p;
	int found = 0;

	snprintf(pat, sizeof(pat), "%s ", name);
	for (p = mods; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : "") {
		if (strncmp(p, pat, strlen(pat)) == 0) {
			if (line)
				line_of(p, line, size);
			found = 1;
			break;
		}
	}
	free(mods);
	return found;
}

/* The kernel command line's words that start with prefix, as one fact. */
static void cmdline_facts(const char *driver, const char *prefix)
{
	char *cmdline = slurp("/proc/cmdline", NULL), given[512] = "";
	char *tok, *save = NULL;

	for (tok = cmdline ? strtok_r(cmdline, "\n\t ", &save) : NULL; tok;
	     tok = strtok_r(NULL, "\n\t ", &save)) {
		if (strncmp(tok, prefix, strlen(prefix)))
			continue;
		if (*given)
			strncat(given, " ", sizeof(given) - strlen(given) - 1);
		strncat(given, tok, sizeof(given) - strlen(given) - 1);
	}
	report_fact(driver, "params", "%s", given);
	free(cmdline);
}

/* /sys/module/<name>: whether it exists, what it holds, the sizes. */
static void sysfs_facts(const char *driver, const char *dir)
{
	static const char *const keys[] = { "coresize", "initsize", "initstate", "refcnt" };
	char list[1024] = "", path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);
	size_t i;

	if (!dp) {
		report_fact(driver, "sysfs", "absent");
		return;
	}
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (*list)
			strncat(list, ",", sizeof(list) - strlen(list) - 1);
		strncat(list, d->d_name, sizeof(list) - strlen(list) - 1);
	}
	closedir(dp);
	report_fact(driver, "sysfs", "present:%s", list);
	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		char *v;

		snprintf(path, sizeof(path), "%s/%s", dir, keys[i]);
		v = slurp(path, NULL);
		if (v) {
			v[strcspn(v, "\n")] = '\0';
			report_fact(driver, keys[i], "%s", v);
			free(v);
		}
	}
}

/* Checks the parts of the record that are the same in both build modes. */
static void check_record(const char *plan, const char *rec, const char *entry,
			 const char *mode, const char *state, long depth,
			 const char *const *chain, const char *log)
{
	char v[256], name[96], logline[512];
	const char *missing, *l;
	double t_rec, t_log;

	snprintf(name, sizeof(name), "%s_record_entry", plan);
	record_get(rec, "entry", v, sizeof(v));
	result(strcmp(v, entry) == 0, name, "entry is '%s', expected '%s'", v, entry);

	snprintf(name, sizeof(name), "%s_record_mode", plan);
	record_get(rec, "mode", v, sizeof(v));
	result(strcmp(v, mode) == 0, name, "mode is '%s', expected '%s'", v, mode);

	snprintf(name, sizeof(name), "%s_record_system_state", plan);
	record_get(rec, "system_state", v, sizeof(v));
	result(strcmp(v, state) == 0, name, "system_state is '%s', expected '%s'", v, state);

	snprintf(name, sizeof(name), "%s_record_stack_depth", plan);
	record_get(rec, "param.stack_depth", v, sizeof(v));
	{
		long got = strtol(v, NULL, 0), frames;

		record_get(rec, "frames", v, sizeof(v));
		frames = strtol(v, NULL, 0);
		result(got == depth && frames > 0 && frames <= depth, name,
		       "param.stack_depth=%ld (expected %ld), frames=%ld", got, depth, frames);
	}

	snprintf(name, sizeof(name), "%s_record_call_chain", plan);
	result(chain_in_order(rec, chain, &missing), name,
	       "no frame for %s (in order) in the record", missing);

	/* The record's time and the printk time stamp of its log line agree. */
	snprintf(name, sizeof(name), "%s_record_time_matches_log", plan);
	snprintf(v, sizeof(v), "ferro_lifecycle: init: entry=%s", entry);
	l = log_find(log, v);
	record_get(rec, "time", v, sizeof(v));
	t_rec = atof(v);
	t_log = l ? atof(l) : -1;
	if (l)
		line_of(l, logline, sizeof(logline));
	result(l && t_rec > 0 && t_log - t_rec >= 0 && t_log - t_rec < 0.05, name,
	       "record time %.6f, log line %s", t_rec, l ? logline : "(missing)");
}

/* Every class of bad parameter value is refused with EINVAL, leaving nothing. */
static void lifecycle_bad_params(void)
{
	static const struct {
		const char *name, *params;
	} bad[] = {
		{ "below_range", "stack_depth=0" },
		{ "above_range", "stack_depth=33" },
		{ "negative", "stack_depth=-1" },
		{ "overflow", "stack_depth=4294967296" },
		{ "not_a_number", "stack_depth=abc" },
		{ "empty", "stack_depth=" },
		{ "bool_not_a_bool", "dump_stack=maybe" },
	};
	char name[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = load_module(LIFECYCLE_KO, bad[i].params), err = errno;

		snprintf(name, sizeof(name), "module_param_%s_einval", bad[i].name);
		result(ret == -1 && err == EINVAL && !in_proc_modules("ferro_lifecycle", NULL, 0) &&
		       !exists(LIFECYCLE_DEV), name, "'%s': finit_module returned %d, errno %d%s",
		       bad[i].params, ret, err,
		       ret == 0 && unload_module("ferro_lifecycle") == 0 ? " (unloaded)" : "");
	}
}

/*
 * Load and unload N times (ferro_stress=N on the kernel command line, which
 * the kernel hands to init as an environment variable; default 50).
 */
static void lifecycle_load_loop(void)
{
	const char *env = getenv("ferro_stress");
	long n = env ? strtol(env, NULL, 0) : 50, i;
	int ret = 0, err = 0;

	for (i = 0; i < n; i++) {
		ret = load_module(LIFECYCLE_KO, "");
		err = errno;
		if (ret)
			break;
		ret = unload_module("ferro_lifecycle");
		err = errno;
		if (ret)
			break;
	}
	report_fact("lifecycle", "load_unload_cycles", "%ld", i);
	result(i == n && !in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV),
	       "module_load_unload_loop", "stopped after %ld of %ld cycles: ret %d, errno %d",
	       i, n, ret, err);
}

/*
 * Relays the first run of a KUnit suite found in the kernel log: one KTAP
 * result per test case, named <plan>_kunit_<case>. KUnit runs a built-in
 * suite at boot and a module's suites when the module is loaded.
 */
static void kunit_suite(const char *plan, const char *suite)
{
	char *log = kernel_log(), pat[128], name[192], cname[128];
	const char *p;
	int cases = 0;

	snprintf(pat, sizeof(pat), "# Subtest: %s", suite);
	p = log_find(log, pat);
	for (; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0)) {
		const char *msg = p + strcspn(p, "\n ");
		int indent, ok;

		if (*msg != ' ')
			continue;
		msg++;
		indent = strspn(msg, " ");
		msg += indent;
		ok = strncmp(msg, "ok ", 3) == 0;
		if (!ok && strncmp(msg, "not ok ", 7))
			continue;
		msg = strchr(msg + (ok ? 3 : 7), ' ');
		if (!msg || sscanf(msg, " %127[^ #\n]", cname) != 1)
			continue;
		if (!indent)
			break;	/* the suite's own result line ends it */
		snprintf(name, sizeof(name), "%s_kunit_%s", plan, cname);
		result(ok, name, "KUnit case %s of %s failed (see the kernel log)", cname, suite);
		cases++;
	}
	snprintf(name, sizeof(name), "%s_kunit_%s_ran", plan, suite);
	result(cases > 0, name, "no KUnit results for suite %s in the kernel log", suite);
	free(log);
}

/* No warning, oops, BUG, UBSAN, kmemleak report or Rust panic in the kernel log. */
static void kernel_log_clean(const char *plan)
{
	static const char *const bad[] = {
		"------------[ cut here ]", "WARNING: CPU:", "BUG:", "Oops", "Kernel panic",
		"UBSAN:", "kmemleak:", "panicked at", "rcu_sched self-detected stall",
		"possible recursive locking", "INFO: task",
	};
	char *log = kernel_log(), name[64], line[512] = "";
	const char *hit = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad) && !hit; i++)
		hit = log_find(log, bad[i]);
	if (hit)
		line_of(hit, line, sizeof(line));
	snprintf(name, sizeof(name), "%s_kernel_log_clean", plan);
	result(log && !hit, name, "%s", log ? line : "cannot read /dev/kmsg");
	free(log);
}

static void lifecycle_module(void)
{
	static const char *const init_chain[] = {
		"init_module", "do_one_initcall", "do_init_module", "load_module", NULL
	};
	char *log, *rec, line[512];
	const char *l;
	int ret, err;

	/* A bad parameter is refused with EINVAL, a log line, and no leftovers. */
	ret = load_module(LIFECYCLE_KO, "stack_depth=0");
	err = errno;
	log = kernel_log();
	result(ret == -1 && err == EINVAL, "module_bad_param_einval",
	       "finit_module(stack_depth=0) returned %d, errno %d", ret, err);
	result(!!log_find(log, "ferro_lifecycle: stack_depth=0 is out of range"),
	       "module_bad_param_logged", "no log line names stack_depth=0");
	result(!in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV),
	       "module_bad_param_nothing_left", "module or device left after a failed load");
	free(log);

	/* The load itself. */
	report_fact("lifecycle", "params", "stack_depth=12 dump_stack=1");
	ret = load_module(LIFECYCLE_KO, "stack_depth=12 dump_stack=1");
	err = errno;
	result(ret == 0, "module_load", "finit_module returned %d, errno %d", ret, err);

	result(in_proc_modules("ferro_lifecycle", line, sizeof(line)) &&
	       !!strstr(line, " Live "), "module_proc_modules_live",
	       "/proc/modules: '%s'", line);

	rec = slurp("/sys/module/ferro_lifecycle/initstate", NULL);
	{
		char *core = slurp("/sys/module/ferro_lifecycle/coresize", NULL);

		result(rec && strncmp(rec, "live", 4) == 0 && core && atol(core) > 0,
		       "module_sysfs", "initstate '%s', coresize '%s'",
		       rec ? rec : "(none)", core ? core : "(none)");
		free(core);
	}
	free(rec);

	sysfs_facts("lifecycle", "/sys/module/ferro_lifecycle");

	rec = slurp(LIFECYCLE_DEV, NULL);
	result(!!rec, "module_record_readable", "cannot read %s: %s",
	       LIFECYCLE_DEV, strerror(errno));
	diag("record (module):", rec);
	log = kernel_log();
	check_record("module", rec, "init_module", "module", "SYSTEM_RUNNING", 12,
		     init_chain, log);

	l = log_find(log, "calling  init_module+");
	result(l && !!strstr(l, "[ferro_lifecycle]"), "module_initcall_debug_calling",
	       "no 'calling  init_module+... [ferro_lifecycle]' line");
	l = log_find_last(log, "initcall init_module+");
	if (l)
		line_of(l, line, sizeof(line));
	result(l && !!strstr(line, "[ferro_lifecycle] returned 0"),
	       "module_initcall_debug_returned_0", "%s",
	       l ? line : "no 'initcall init_module+' line");
	result(log_find(log, "Call trace:") && log_find(log, "do_init_module+"),
	       "module_dump_stack", "dump_stack=1 printed no call trace through do_init_module");
	free(log);
	free(rec);

	/* Unload: cleanup_module runs and logs the exit path. */
	ret = unload_module("ferro_lifecycle");
	err = errno;
	report_fact("lifecycle", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == 0, "module_unload", "delete_module returned %d, errno %d", ret, err);
	result(!in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV) &&
	       !exists("/sys/module/ferro_lifecycle"), "module_unload_nothing_left",
	       "module, device or sysfs directory left after unload");
	log = kernel_log();
	l = log_find(log, EXIT_LINE);
	result(!!l, "module_exit_logged", "no exit line for cleanup_module");
	l = l ? strstr(l, "sys_delete_module+") : NULL;
	result(!!l, "module_exit_call_chain", "no exit frame in *sys_delete_module");
	free(log);

	/* A second load starts from fresh state: the defaults again. */
	ret = load_module(LIFECYCLE_KO, "");
	rec = slurp(LIFECYCLE_DEV, NULL);
	{
		char v[64] = "";

		record_get(rec, "param.stack_depth", v, sizeof(v));
		result(ret == 0 && atol(v) == STACK_DEPTH_DEFAULT &&
		       unload_module("ferro_lifecycle") == 0, "module_reload_defaults",
		       "reload returned %d, stack_depth '%s'", ret, v);
	}
	free(rec);

	kunit_suite("module", "ferro_lifecycle");
	lifecycle_bad_params();
	lifecycle_load_loop();
}

static void lifecycle_builtin(void)
{
	static const char *const init_chain[] = {
		"__ferro_lifecycle_init", "do_one_initcall", "kernel_init_freeable",
		"kernel_init", NULL
	};
	long depth = cmdline_stack_depth();
	int bad = depth < 1 || depth > STACK_DEPTH_MAX;
	char *log = kernel_log(), *rec, *mb, path[256], line[512];
	const char *l;
	struct utsname u;
	int ret, err;

	l = log_find(log, "calling  __ferro_lifecycle_init+");
	result(l && !!strstr(l, " @ 1"), "builtin_initcall_debug_calling",
	       "no 'calling  __ferro_lifecycle_init+... @ 1' line (pid 1: kernel_init)");
	l = log_find(log, "initcall __ferro_lifecycle_init+");
	if (l)
		line_of(l, line, sizeof(line));
	if (bad) {
		/* An out-of-range command-line value fails the initcall cleanly. */
		result(l && !!strstr(line, "returned -22"), "builtin_bad_param_einval",
		       "%s", l ? line : "no initcall line");
		snprintf(path, sizeof(path),
			 "ferro_lifecycle: stack_depth=%ld is out of range", depth);
		result(!!log_find(log, path), "builtin_bad_param_logged",
		       "no log line '%s'", path);
		result(!exists(LIFECYCLE_DEV), "builtin_bad_param_nothing_left",
		       "%s exists after a failed init", LIFECYCLE_DEV);
		free(log);
		return;
	}
	result(l && !!strstr(line, "returned 0"), "builtin_initcall_debug_returned_0",
	       "%s", l ? line : "no initcall line");

	rec = slurp(LIFECYCLE_DEV, NULL);
	result(!!rec, "builtin_record_readable", "cannot read %s: %s",
	       LIFECYCLE_DEV, strerror(errno));
	diag("record (built-in):", rec);
	check_record("builtin", rec, "__ferro_lifecycle_init", "built-in", "SYSTEM_SCHEDULING",
		     depth, init_chain, log);

	/* Built-in initcalls run before user space starts. */
	{
		char v[64] = "";
		const char *run = log_find(log, "Run /init as init process");

		record_get(rec, "time", v, sizeof(v));
		result(run && atof(v) > 0 && atof(v) < atof(run), "builtin_runs_before_init",
		       "record time %s, /init started at %.6f", v, run ? atof(run) : -1.0);
	}
	free(rec);

	result(!in_proc_modules("ferro_lifecycle", NULL, 0), "builtin_not_in_proc_modules",
	       "built-in code listed in /proc/modules");
	/* Rust module! parameters have perm 0, so no /sys/module entry is made. */
	result(!exists("/sys/module/ferro_lifecycle"), "builtin_no_sysfs_module",
	       "/sys/module/ferro_lifecycle exists");
	sysfs_facts("lifecycle", "/sys/module/ferro_lifecycle");
	cmdline_facts("lifecycle", "ferro_lifecycle.");
	ret = unload_module("ferro_lifecycle");
	err = errno;
	report_fact("lifecycle", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == -1 && err == ENOENT, "builtin_delete_module_enoent",
	       "delete_module returned %d, errno %d", ret, err);

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
	mb = slurp(path, NULL);
	result(mb && strstr(mb, "drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko\n"),
	       "builtin_modules_builtin", "%s does not list ferro_lifecycle.ko", path);
	free(mb);
	{
		size_t len = 0, off;
		int found = 0;

		snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin.modinfo", u.release);
		mb = slurp(path, &len);
		for (off = 0; mb && off < len; off += strlen(mb + off) + 1)
			if (strcmp(mb + off, "ferro_lifecycle.parmtype=stack_depth:u32") == 0)
				found = 1;
		result(found, "builtin_modules_builtin_modinfo",
		       "%s has no ferro_lifecycle.parmtype=stack_depth:u32", path);
		free(mb);
	}
	kunit_suite("builtin", "ferro_lifecycle");
	free(log);
}

static void check_board(const char *board)
{
	char *dt = slurp("/proc/device-tree/ferro,board", NULL);

	result(dt && strcmp(dt, board) == 0, "board_device_tree",
	       "/proc/device-tree/ferro,board is '%s', expected '%s'", dt ? dt : "(none)", board);
	free(dt);
}

/* Each driver's checks, per build mode. Later drivers add a line here. */
static const struct driver_tests {
	const char *name;
	void (*module)(void);
	void (*builtin)(void);
} drivers[] = {
	{ "lifecycle", lifecycle_module, lifecycle_builtin },
};

int main(int argc, char **argv)
{
	const char *plan = argc > 1 ? argv[1] : "";
	const char *board = argc > 2 ? argv[2] : "";
	const char *only = argc > 3 && strcmp(argv[3], "all") ? argv[3] : "";
	int dump = argc > 4 && strcmp(argv[4], "kmsg") == 0;
	size_t i;
	int ran = 0;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("KTAP version 1\n# ferro-init: plan '%s' on board '%s', drivers '%s'\n",
	       plan, board, *only ? only : "all");
	check_board(board);
	if (strcmp(plan, "module") && strcmp(plan, "builtin"))
		result(0, "plan_known", "unknown plan '%s' (expected module or builtin)", plan);
	for (i = 0; i < ARRAY_SIZE(drivers) && *plan; i++) {
		char needle[64];

		if (*only && strcmp(only, drivers[i].name))
			continue;
		ran++;
		if (strcmp(plan, "module") == 0)
			drivers[i].module();
		else if (strcmp(plan, "builtin") == 0)
			drivers[i].builtin();
		snprintf(needle, sizeof(needle), "ferro_%s", drivers[i].name);
		diag_log(needle);
	}
	if (*only && !ran)
		result(0, "driver_known", "no tests for driver '%s'", only);
	if (*plan)
		kernel_log_clean(plan);
	if (dump) {
		printf("# kmsg-dump: begin\n");
		diag_log("");
	}
	printf("1..%d\n# ferro-init: %d passed, %d failed\n", test_no,
	       test_no - failures, failures);
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
