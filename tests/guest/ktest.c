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
 * Records of the kernel log that the last kernel_log() call could not read:
 * the printk ring buffer had overwritten them (their sequence numbers are
 * missing), so a check of the whole log cannot vouch for them.
 */
unsigned long long kmsg_lost, kmsg_records;

/*
 * Appends one /dev/kmsg record ("<prio>,<seq>,<usec>,<flags>;<message>")
 * to r's text as "<seconds.micros> <message>", counting the records whose
 * sequence numbers were skipped. 0, or -1 if out of memory.
 */
int log_add(struct log_text *r, char *rec)
{
	unsigned long long seq, usec;
	char *msg = strchr(rec, ';'), *nl;
	size_t need;

	if (!msg || sscanf(rec, "%*u,%llu,%llu", &seq, &usec) != 2)
		return 0;
	if (seq > r->next)
		r->lost += seq - r->next;
	r->next = seq + 1;
	r->records++;
	msg++;
	nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	need = r->len + strlen(msg) + 32;
	if (need >= r->cap) {
		char *grown = realloc(r->text, need * 2);

		if (!grown)
			return -1;
		r->text = grown;
		r->cap = need * 2;
	}
	r->len += sprintf(r->text + r->len, "%llu.%06llu %s\n", usec / 1000000, usec % 1000000,
			  msg);
	return 0;
}

/*
 * The kernel log as text, one "<seconds.micros> <message>" line per record,
 * read from /dev/kmsg (structured, with the printk time stamp). Every
 * record since boot is read, or kmsg_lost counts those the ring buffer
 * dropped before they could be: the first record printed at boot is
 * number 0.
 */
char *kernel_log(void)
{
	struct log_text r = { .cap = BIG };
	char rec[8192];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ssize_t n;

	r.text = malloc(r.cap);
	kmsg_lost = 0;
	kmsg_records = 0;
	if (!r.text || fd < 0) {
		free(r.text);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	r.text[0] = '\0';
	while ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n < 0)
			continue;	/* overwritten: the next read skips ahead */
		rec[n] = '\0';
		if (log_add(&r, rec))
			break;
	}
	/* Only EAGAIN (no more records) is the end; anything else is no log. */
	if (n > 0 || (n < 0 && errno != EAGAIN)) {
		free(r.text);
		close(fd);
		return NULL;
	}
	close(fd);
	kmsg_lost = r.lost;
	kmsg_records = r.records;
	return r.text;
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

/*
 * The number of lines logged since `mark` (log_mark) that contain needle;
 * -1 if the log cannot tell (unreadable, shorter than the mark, or with
 * records lost), so that "none" is never assumed.
 */
int log_count_since(size_t mark, const char *needle)
{
	char *log = kernel_log();
	const char *p = NULL;
	int n = 0;

	if (!log || strlen(log) < mark || kmsg_lost) {
		free(log);
		return -1;
	}
	for (p = log_find(log + mark, needle); p; p = log_find(p + strcspn(p, "\n"), needle))
		n++;
	free(log);
	return n;
}

/*
 * Whether the first stack dump logged after `mark` ("Call trace:", then
 * one " <symbol>+<off>/<size>" line per frame) holds a frame starting
 * with fn. Only the dump's own lines count, not the record's "frame.N"
 * lines the driver logs itself.
 */
int log_dump_has_frame(const char *log, size_t mark, const char *fn)
{
	const char *from = log && strlen(log) >= mark ? log + mark : NULL;
	/* arm64 says "Call trace:", x86 "Call Trace:" (then <TASK>, a frame line too). */
	const char *p = from ? log_find(from, "Call trace:") : NULL;

	if (!p && from)
		p = log_find(from, "Call Trace:");

	for (p = p ? p + strcspn(p, "\n") : NULL; p && *p == '\n'; p += strcspn(p + 1, "\n") + 1) {
		const char *msg = strchr(p + 1, ' ');	/* after the time stamp */

		if (!msg || msg[1] != ' ')
			return 0;	/* not a frame line: the dump has ended */
		msg += strspn(msg, " ");
		if (strncmp(msg, fn, strlen(fn)) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether the record whose first line ("... entry=...") is l has a frame
 * containing fn: the "<pfx>N: <symbol>" lines that follow it (pfx ends in
 * "frame."), numbered from 0, up to the next record's first line.
 */
int log_record_has_frame(const char *l, const char *pfx, const char *fn)
{
	const char *p;
	char line[512], *f;
	int n = 0;

	for (p = l + strcspn(l, "\n"); *p == '\n'; p += strcspn(p + 1, "\n") + 1) {
		line_of(p + 1, line, sizeof(line));
		if (strstr(line, " entry="))
			break;	/* the next record */
		f = strstr(line, pfx);
		if (!f)
			continue;	/* another message between the frames */
		if (atoi(f + strlen(pfx)) != n++)
			break;
		if (strstr(f, fn))
			return 1;
	}
	return 0;
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

	if (size)
		*buf = '\0';	/* never a stale value from the caller's last use */
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

/* Whether a frame ("fn+0x1c/0x40 ...") is one of the '|'-separated `fns`. */
static int frame_is(const char *frame, const char *fns)
{
	size_t len;

	for (; *fns; fns += len + (fns[len] == '|')) {
		len = strcspn(fns, "|");
		if (strncmp(frame, fns, len) == 0 && frame[len] == '+')
			return 1;
	}
	return 0;
}

/*
 * Checks that the record's frames name each function of chain, in order
 * (other frames may sit between them); an entry "a|b" is either function.
 * Returns 1, or 0 with the first function not found in *missing.
 */
int chain_in_order(const char *rec, const char *const *chain, const char **missing)
{
	char key[32], frame[600];
	int i = 0, n, f;

	if (!record_get(rec, "frames", frame, sizeof(frame)))
		n = 0;
	else
		n = atoi(frame);
	for (f = 0; f < n && chain[i]; f++) {
		snprintf(key, sizeof(key), "frame.%d", f);
		if (!record_get(rec, key, frame, sizeof(frame)))
			break;
		if (frame_is(frame, chain[i]))
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
	char *log = kernel_log();

	kunit_relay(plan, suite, log);
	free(log);
}

/* kunit_suite() on a given log. */
void kunit_relay(const char *plan, const char *suite, const char *log)
{
	char pat[128], name[192], cname[128];
	const char *p, *skipped;
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
		skipped = ok ? strstr(msg, "# SKIP") : NULL;
		if (skipped && (size_t)(skipped - msg) < strcspn(msg, "\n"))
			skip(name, "KUnit skipped it:%.*s", (int)strcspn(skipped + 6, "\n"),
			     skipped + 6);
		else
			result(ok, name, "KUnit case %s of %s failed (see the kernel log)", cname,
			       suite);
		cases++;
	}
	snprintf(name, sizeof(name), "%s_kunit_%s_ran", plan, suite);
	result(cases > 0, name, "no KUnit results for suite %s in the kernel log", suite);
}

/*
 * No warning, oops, BUG (KASAN's reports among them), UBSAN or kmemleak
 * report, hung task or Rust panic in the kernel log.
 */
void kernel_log_clean(const char *plan)
{
	char *log = kernel_log();

	log_clean(plan, log, kmsg_lost, kmsg_records);
	free(log);
}

/* kernel_log_clean() on a given log, of which `lost` records are missing. */
void log_clean(const char *plan, const char *log, unsigned long long lost,
	       unsigned long long records)
{
	/*
	 * WARN() and lockdep's reports ("WARNING: possible circular locking
	 * dependency detected") start with "WARNING:", debugobjects' with
	 * "ODEBUG:"; kmemleak logs only a count of new suspected leaks.
	 */
	static const char *const bad[] = {
		"------------[ cut here ]", "WARNING:", "BUG:", "Oops", "Kernel panic",
		"UBSAN:", "ODEBUG:", "suspected memory leak", "DEBUG_LOCKS_WARN_ON",
		"panicked at", "self-detected stall on CPU", "detected stalls on CPUs/tasks",
		"possible recursive locking",
		"INFO: task",
	};
	char name[64], line[512] = "";
	const char *hit = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad) && !hit; i++)
		hit = log_find(log, bad[i]);
	if (hit)
		line_of(hit, line, sizeof(line));
	else if (lost)
		snprintf(line, sizeof(line),
			 "%llu of %llu records since boot were overwritten before they were read (raise log_buf_len): the log cannot be vouched for",
			 lost, lost + records);
	else if (log)
		printf("# %s: all %llu records since boot read, none lost\n", plan, records);
	snprintf(name, sizeof(name), "%s_kernel_log_clean", plan);
	result(log && !hit && !lost, name, "%s", log ? line : "cannot read /dev/kmsg");
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

/*
 * ferro_stress=N from the kernel command line (init's environment), or 50.
 * A value that is not a positive number would make every loop empty (and
 * pass): it fails once, and the loops run one cycle.
 */
long stress_count(void)
{
	static int told;
	const char *env = getenv("ferro_stress");
	char *end;
	long n = env ? strtol(env, &end, 0) : 50;

	if (env && (!*env || *end || n < 1)) {
		if (!told++)
			result(0, "ferro_stress_valid", "ferro_stress='%s' is not a positive number",
			       env);
		n = 1;
	}
	return n;
}

/* Whether frame contains one of the '|'-separated alternatives in want. */
int frame_matches(const char *frame, const char *want)
{
	char alt[128];
	const char *p = want;
	size_t n;

	for (;;) {
		n = strcspn(p, "|");
		snprintf(alt, sizeof(alt), "%.*s", (int)n, p);
		if (n && strstr(frame, alt))	/* an empty alternative matches nothing */
			return 1;
		if (!p[n])
			return 0;
		p += n + 1;
	}
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

/*
 * Suspend to idle (s2idle) and come back: the RTC alarm is set `seconds`
 * ahead and wakes the system. 0 once resumed; -1 with the cause in `why`.
 */
int system_sleep(int seconds, char *why, size_t size)
{
	char alarm[32];

	write_file("/sys/class/rtc/rtc0/wakealarm", "0");
	snprintf(alarm, sizeof(alarm), "+%d", seconds);
	if (write_file("/sys/class/rtc/rtc0/wakealarm", alarm)) {
		snprintf(why, size, "setting the RTC alarm: %s", strerror(errno));
		return -1;
	}
	if (write_file("/sys/power/state", "freeze")) {
		snprintf(why, size, "writing 'freeze' to /sys/power/state: %s", strerror(errno));
		return -1;
	}
	return 0;
}
