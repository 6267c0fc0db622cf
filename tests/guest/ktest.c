// SPDX-License-Identifier: GPL-2.0
/*
 * The helpers declared in ktest.h.
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

#include "ktest.h"

int test_no;
int failures;
int skips;

/* One KTAP result line; the printf-style arguments name what went wrong. */
void result(int ok, const char *name, const char *fmt, ...)
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

/* A test that cannot run here, with the reason: counted as skipped, not passed. */
void skip(const char *name, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	test_no++;
	skips++;
	printf("ok %d %s # SKIP %s\n", test_no, name, why);
	fflush(stdout);
}

/* A measured fact for the compare report: "# fact: <driver>.<key>=<value>". */
void report_fact(const char *driver, const char *key, const char *fmt, ...)
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
char *slurp(const char *path, size_t *lenp)
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

int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/*
 * The kernel log as text, one "<seconds.micros> <message>" line per record,
 * read from /dev/kmsg (structured, with the printk time stamp).
 */
char *kernel_log(void)
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
const char *log_find(const char *log, const char *needle)
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
const char *log_find_last(const char *log, const char *needle)
{
	const char *p = log_find(log, needle), *next;

	while (p && (next = log_find(p + strcspn(p, "\n"), needle)))
		p = next;
	return p;
}

/* How long the kernel log is now: what is logged later follows it. */
size_t log_mark(void)
{
	char *log = kernel_log();
	size_t n = log ? strlen(log) : 0;

	free(log);
	return n;
}

/* The number of lines logged since `mark` (log_mark) that contain needle. */
int log_count_since(size_t mark, const char *needle)
{
	char *log = kernel_log();
	const char *p = NULL;
	int n = 0;

	if (log && strlen(log) >= mark)
		p = log_find(log + mark, needle);
	for (; p; p = log_find(p + strcspn(p, "\n"), needle))
		n++;
	free(log);
	return n;
}

/* Prints text as KTAP diagnostic lines. */
void diag(const char *title, const char *text)
{
	const char *p;

	printf("# %s\n", title);
	for (p = text; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0))
		printf("#   %.*s\n", (int)strcspn(p, "\n"), p);
	fflush(stdout);
}

/* Prints the kernel log lines that contain needle as "# kmsg: " lines. */
void diag_log(const char *needle)
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
void line_of(const char *p, char *buf, size_t size)
{
	size_t n = strcspn(p, "\n");

	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

/* The value of "key: value" in a record, copied into buf; 0 if absent. */
int record_get(const char *rec, const char *key, char *buf, size_t size)
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
int chain_in_order(const char *rec, const char *const *chain, const char **missing)
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

int load_module(const char *path, const char *params)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -1;
	ret = syscall(SYS_finit_module, fd, params, 0);
	close(fd);
	return ret;
}

int unload_module(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK);
}

int in_proc_modules(const char *name, char *line, size_t size)
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
void cmdline_facts(const char *driver, const char *prefix)
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
void sysfs_facts(const char *driver, const char *dir)
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

/*
 * Relays the first run of a KUnit suite found in the kernel log: one KTAP
 * result per test case, named <plan>_kunit_<case>. KUnit runs a built-in
 * suite at boot and a module's suites when the module is loaded.
 */
void kunit_suite(const char *plan, const char *suite)
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

/*
 * No warning, oops, BUG (KASAN's reports among them), UBSAN or kmemleak
 * report, hung task or Rust panic in the kernel log.
 */
void kernel_log_clean(const char *plan)
{
	/*
	 * WARN() and lockdep's reports ("WARNING: possible circular locking
	 * dependency detected") start with "WARNING:", debugobjects' with
	 * "ODEBUG:"; kmemleak logs only a count of new suspected leaks.
	 */
	static const char *const bad[] = {
		"------------[ cut here ]", "WARNING:", "BUG:", "Oops", "Kernel panic",
		"UBSAN:", "ODEBUG:", "suspected memory leak", "DEBUG_LOCKS_WARN_ON",
		"panicked at", "rcu_sched self-detected stall", "possible recursive locking",
		"INFO: task",
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

/* A sysfs file's first line, without its newline, into buf; 0 if unreadable. */
int read_line(const char *path, char *buf, size_t size)
{
	char *s = slurp(path, NULL);

	if (!s)
		return 0;
	s[strcspn(s, "\n")] = '\0';
	snprintf(buf, size, "%s", s);
	free(s);
	return 1;
}

/* The last component of a symlink's target (a "driver" link), or "". */
void link_name(const char *path, char *buf, size_t size)
{
	char link[512];
	ssize_t n = readlink(path, link, sizeof(link) - 1);

	*buf = '\0';
	if (n > 0) {
		link[n] = '\0';
		snprintf(buf, size, "%.*s", (int)size - 1,
			 strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	}
}

/* ferro_stress=N from the kernel command line (init's environment), or 50. */
long stress_count(void)
{
	const char *env = getenv("ferro_stress");

	return env ? strtol(env, NULL, 0) : 50;
}

/*
 * The first call of a callback, logged with its stack by the driver's
 * trace_calls ("ferro_<driver>: call <call>: frame.N: <symbol>"): the
 * frames hold the given functions in order (substrings, since Rust
 * symbols are mangled). One result, <plan>_<driver>_chain_<call>.
 */
/* Whether frame contains one of the '|'-separated alternatives in want. */
static int frame_matches(const char *frame, const char *want)
{
	char alt[128];
	const char *p = want;
	size_t n;

	for (;;) {
		n = strcspn(p, "|");
		snprintf(alt, sizeof(alt), "%.*s", (int)n, p);
		if (strstr(frame, alt))
			return 1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
}

void check_trace_chain(const char *plan, const char *driver, const char *call,
		       const char *const *chain)
{
	char *log = kernel_log(), pat[96], name[96], frame[512];
	const char *p, *missing;
	int i = 0;

	snprintf(pat, sizeof(pat), "ferro_%s: call %s: frame.", driver, call);
	for (p = log_find(log, pat); p && chain[i]; p = log_find(p + strcspn(p, "\n"), pat)) {
		line_of(p, frame, sizeof(frame));
		if (frame_matches(frame, chain[i]))
			i++;
	}
	missing = chain[i];
	snprintf(name, sizeof(name), "%s_%s_chain_%s", plan, driver, call);
	result(log && !missing, name, "no frame for %s (in order) in the trace of %s",
	       missing ? missing : "", call);
	if (missing)
		diag_log(pat);
	free(log);
}

/*
 * A built-in driver is no module: delete_module("ferro_<driver>") must
 * fail with ENOENT. Reported as the driver's delete_module fact (for the
 * compare report) and as one result named `name`.
 */
void builtin_delete_module(const char *driver, const char *name)
{
	char mod[64];
	int ret, err;

	snprintf(mod, sizeof(mod), "ferro_%s", driver);
	ret = unload_module(mod);
	err = errno;
	report_fact(driver, "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == -1 && err == ENOENT, name, "delete_module returned %d, errno %d", ret, err);
}

/* Writes text to a sysfs/configfs file; 0, or -1 with the write's errno. */
int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err;
	ssize_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != len) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return close(fd);
}

/* A file's first line as a number; -1 if unreadable. */
long read_long(const char *path)
{
	char buf[64];

	return read_line(path, buf, sizeof(buf)) ? strtol(buf, NULL, 0) : -1;
}

/*
 * The first device under dir whose attribute file attr reads want, into
 * out; 1 if found.
 */
int find_device(const char *dir, const char *attr, const char *want, char *out, size_t size)
{
	char path[600], value[128];
	struct dirent *d;
	DIR *dp = opendir(dir);

	*out = '\0';
	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s", dir, d->d_name, attr);
		if (read_line(path, value, sizeof(value)) && strcmp(value, want) == 0) {
			snprintf(out, size, "%s", d->d_name);
			break;
		}
	}
	if (dp)
		closedir(dp);
	return *out != '\0';
}
