// SPDX-License-Identifier: GPL-2.0
/*
 * Exact kernel instruction counts for make bench.
 *
 * Under QEMU TCG with -icount shift=0, the emulated PMU has an instructions
 * event and it counts exactly; without -icount, perf_event_open() of it
 * fails with ENOENT. A count covers every CPU (one event per CPU, not per
 * task), so that what a request costs in interrupt or softirq context, or
 * in a worker, is in it; user space is excluded. (Sampled, the event is no
 * use: QEMU raises its overflow interrupt on the next change of exception
 * level, so every sample lands on the syscall return.)
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "count.h"
#include "ktest.h"

static int open_all(struct count *c, struct perf_event_attr *attr)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	c->n = 0;
	if (cpus < 1 || cpus > COUNT_MAX_CPUS) {
		errno = ERANGE;
		return -1;
	}
	for (i = 0; i < cpus; i++) {
		c->fd[i] = syscall(SYS_perf_event_open, attr, -1, i, -1, PERF_FLAG_FD_CLOEXEC);
		if (c->fd[i] < 0) {
			int err = errno;

			count_close(c);
			errno = err;
			return -1;
		}
		c->n++;
	}
	return 0;
}

static void insns_attr(struct perf_event_attr *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->type = PERF_TYPE_HARDWARE;
	attr->size = sizeof(*attr);
	attr->config = PERF_COUNT_HW_INSTRUCTIONS;
	attr->exclude_user = 1;
	attr->exclude_hv = 1;
	attr->disabled = 1;
}

int count_insns(struct count *c)
{
	struct perf_event_attr attr;

	insns_attr(&attr);
	return open_all(c, &attr);
}

int count_kprobe(struct count *c, const char *func)
{
	struct perf_event_attr attr;
	long type = read_long("/sys/bus/event_source/devices/kprobe/type");

	if (type < 0) {
		errno = ENODEV;
		return -1;
	}
	memset(&attr, 0, sizeof(attr));
	attr.type = type;
	attr.size = sizeof(attr);
	attr.config1 = (uintptr_t)func;	/* kprobe_func */
	attr.disabled = 1;
	return open_all(c, &attr);
}

void count_start(struct count *c)
{
	int i;

	for (i = 0; i < c->n; i++) {
		ioctl(c->fd[i], PERF_EVENT_IOC_RESET, 0);
		ioctl(c->fd[i], PERF_EVENT_IOC_ENABLE, 0);
	}
}

long long count_stop(struct count *c)
{
	long long sum = 0;
	int i;

	for (i = 0; i < c->n; i++)
		ioctl(c->fd[i], PERF_EVENT_IOC_DISABLE, 0);
	for (i = 0; i < c->n; i++) {
		uint64_t v;

		if (read(c->fd[i], &v, sizeof(v)) != sizeof(v))
			return -1;
		sum += (long long)v;
	}
	return sum;
}

void count_close(struct count *c)
{
	int i;

	for (i = 0; i < c->n; i++)
		close(c->fd[i]);
	c->n = 0;
}

/* Whether the kernel command line set `name` to 1. */
static int flag(const char *name)
{
	const char *v = getenv(name);

	return v && strcmp(v, "1") == 0;
}

int bench_counting(void)
{
	return flag("ferro_bench_count");
}

double bench_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * In a profiling boot (ferro_bench_profile=1), QEMU runs the ferro-insns
 * plugin, which counts the kernel's instructions per block between two
 * executions of ksys_sync: sync(2) opens and closes each measurement's
 * window. The measurement's line is preceded by the modules loaded then,
 * the text symbols of those loaded since the last one, "# ksym: <addr>
 * <name> [<module>]", which the harness needs to name the blocks, and
 * "# window: N".
 */
static int profiling(void)
{
	return flag("ferro_bench_profile");
}

/*
 * The modules loaded now ("# modules: a b"), and the text symbols of
 * every one whose load address is new.
 */
static void module_symbols(void)
{
	static char seen[4096];
	char line[512], mods[64][72];
	FILE *f = fopen("/proc/modules", "r");
	size_t n = 0, i;

	printf("# modules:");
	while (f && n < 64 && fgets(line, sizeof(line), f)) {
		char name[64], addr[32], key[100];

		if (sscanf(line, "%63s %*s %*s %*s %*s %31s", name, addr) != 2)
			continue;
		printf(" %s", name);
		snprintf(key, sizeof(key), " %s@%s ", name, addr);
		if (strstr(seen, key))
			continue;
		if (strlen(seen) + strlen(key) >= sizeof(seen))
			seen[0] = '\0';
		strcat(seen, key);
		snprintf(mods[n++], sizeof(mods[0]), "[%s]", name);
	}
	if (f)
		fclose(f);
	printf("\n");
	f = n ? fopen("/proc/kallsyms", "r") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		char addr[32], type, name[256], mod[80] = "";

		if (sscanf(line, "%31s %c %255s %79s", addr, &type, name, mod) != 4 ||
		    (type != 't' && type != 'T'))
			continue;
		for (i = 0; i < n; i++) {
			if (strcmp(mod, mods[i]) == 0)
				printf("# ksym: %s %s %s\n", addr, name, mod);
		}
	}
	if (f)
		fclose(f);
}

int cost_begin(struct cost *m)
{
	if (profiling())
		sync();
	m->counting = bench_counting();
	m->c.n = 0;
	if (m->counting && count_insns(&m->c))
		return -1;
	if (m->counting)
		count_start(&m->c);
	m->start = bench_now();
	return 0;
}

long long cost_end(struct cost *m, const char *suite, const char *name, const char *driver,
		   long ops)
{
	double secs = bench_now() - m->start;
	long long insns = m->counting ? count_stop(&m->c) : -1;
	static int windows;
	char text[32] = "-";

	count_close(&m->c);
	if (profiling()) {
		sync();
		module_symbols();
		printf("# window: %d\n", ++windows);
	}
	if (insns >= 0)
		snprintf(text, sizeof(text), "%lld", insns);
	printf("# cost: suite=%s case=%s driver=%s ops=%ld insns=%s ns=%.0f\n", suite, name,
	       driver, ops, text, secs * 1e9);
	return insns;
}
