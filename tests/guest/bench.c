// SPDX-License-Identifier: GPL-2.0
/*
 * The "bench" plan: ferro_null against the C null_blk and the in-tree Rust
 * rnull, in one guest run, with matching settings. For each run the
 * drivers take turns (the starting driver rotates from run to run), and
 * each measures four workloads on a fresh device:
 *   randread_qd1   4 KiB O_DIRECT preads at random offsets, one thread
 *   randread_qd32  the same from 32 threads
 *   seqwrite_qd1   4 KiB O_DIRECT sequential pwrites, one thread
 *   seqwrite_qd32  the same from 32 threads, each in its own stretch
 * Every measurement is one line "# bench: config=... driver=...
 * workload=... run=N value=X unit=iops|MB/s"; scripts/ferro-bench takes
 * the medians. Settings from the kernel command line, which the kernel
 * hands to init as environment: ferro_bench_runs (5), ferro_bench_ms
 * (2000 per workload).
 *
 * Then a profile of the memory-backed seqwrite_qd1 workload for ferro_null
 * and null_blk: the workload runs in this thread while a perf cpu-clock
 * event samples its instruction pointer every 100 us (guest time), kernel
 * and user; the samples are resolved against /proc/kallsyms and printed
 * as "# profile: driver=... symbol=... samples=N of=M".
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define BENCH_DIR "/lib/modules/bench"
#define MAX_QD 32
#define IO 4096
#define DEVICE_MB 1024		/* every device's capacity */
#define WRITE_SPAN (64LL << 20)	/* sequential writes wrap within this */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

struct worker {
	const char *path;
	int write;
	long long start, span;	/* bytes */
	double until;
	long ops, errors;
	uint64_t seed;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	int fd = open(w->path, (w->write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	long long pos = 0, blocks = w->span / IO;
	void *buf;

	if (fd < 0 || posix_memalign(&buf, IO, IO)) {
		w->errors++;
		return NULL;
	}
	memset(buf, 0x5a, IO);
	for (;;) {
		int i;

		for (i = 0; i < 64; i++) {
			long long off;
			ssize_t n;

			if (w->write) {
				off = w->start + pos;
				pos = (pos + IO) % w->span;
				n = pwrite(fd, buf, IO, off);
			} else {
				w->seed ^= w->seed << 13;
				w->seed ^= w->seed >> 7;
				w->seed ^= w->seed << 17;
				off = w->start + (long long)(w->seed % blocks) * IO;
				n = pread(fd, buf, IO, off);
			}
			if (n == IO)
				w->ops++;
			else
				w->errors++;
		}
		if (now() >= w->until)
			break;
	}
	free(buf);
	close(fd);
	return NULL;
}

/* One workload on path; the rate (IOPS or MB/s), or -1 on errors. */
static double measure(const char *path, int write, int qd, long ms)
{
	struct worker w[MAX_QD];
	pthread_t t[MAX_QD];
	double start = now(), secs;
	long ops = 0, errors = 0;
	int i;

	for (i = 0; i < qd; i++) {
		w[i] = (struct worker){ .path = path, .write = write, .until = start + ms / 1e3,
					.seed = 0x9e3779b97f4a7c15ULL * (i + 1) };
		w[i].span = write ? WRITE_SPAN / qd : (long long)DEVICE_MB << 20;
		w[i].start = write ? w[i].span * i : 0;
		pthread_create(&t[i], NULL, work, &w[i]);
	}
	for (i = 0; i < qd; i++) {
		pthread_join(t[i], NULL);
		ops += w[i].ops;
		errors += w[i].errors;
	}
	secs = now() - start;
	if (errors)
		return -1;
	return write ? ops * (double)IO / secs / 1e6 : ops / secs;
}

/* Set up one driver's device; its path, or NULL. */
static const char *setup(const char *driver, int memory)
{
	char params[256];

	if (strcmp(driver, "ferro_null") == 0) {
		snprintf(params, sizeof(params),
			 "nr_devices=1 capacity_mb=%d block_size=4096 hw_queues=1 queue_depth=256 completion=0 memory_backed=%d",
			 DEVICE_MB, memory);
		return load_module("/lib/modules/ferro/ferro_null.ko", params) ? NULL :
			"/dev/ferro_nullb0";
	}
	if (strcmp(driver, "null_blk") == 0) {
		snprintf(params, sizeof(params),
			 "nr_devices=1 gb=%d bs=4096 queue_mode=2 submit_queues=1 hw_queue_depth=256 irqmode=0 memory_backed=%d",
			 DEVICE_MB / 1024, memory);
		return load_module(BENCH_DIR "/null_blk.ko", params) ? NULL : "/dev/nullb0";
	}
	if (strcmp(driver, "rnull") == 0 && !memory) {
		char size[32];

		/* rnull 7.3: configfs only, one queue of 256 tags */
		if (load_module(BENCH_DIR "/rnull_mod.ko", ""))
			return NULL;
		snprintf(size, sizeof(size), "%d", DEVICE_MB);
		if (mkdir("/sys/kernel/config/rnull/rnullb0", 0755) ||
		    write_file("/sys/kernel/config/rnull/rnullb0/blocksize", "4096") ||
		    write_file("/sys/kernel/config/rnull/rnullb0/size", size) ||
		    write_file("/sys/kernel/config/rnull/rnullb0/irqmode", "0") ||
		    write_file("/sys/kernel/config/rnull/rnullb0/power", "1"))
			return NULL;
		return "/dev/rnullb0";
	}
	return NULL;
}

static void teardown(const char *driver)
{
	if (strcmp(driver, "rnull") == 0) {
		write_file("/sys/kernel/config/rnull/rnullb0/power", "0");
		rmdir("/sys/kernel/config/rnull/rnullb0");
		unload_module("rnull_mod");
	} else {
		unload_module(driver);
	}
}

#define PROFILE_PERIOD_NS 100000
#define PROFILE_PAGES 256		/* ring buffer data pages (1 MiB) */
#define MAX_SYMS 120000

struct sym {
	unsigned long addr;
	char name[80];
};

static struct sym *syms;
static size_t n_syms;

static int cmp_sym(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The kernel's text symbols (modules included), sorted by address. */
static void load_kallsyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[256];

	free(syms);
	n_syms = 0;
	syms = calloc(MAX_SYMS, sizeof(*syms));
	while (f && syms && n_syms < MAX_SYMS && fgets(line, sizeof(line), f)) {
		unsigned long addr;
		char type, name[128], mod[64] = "";

		if (sscanf(line, "%lx %c %127s %63s", &addr, &type, name, mod) < 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		syms[n_syms].addr = addr;
		snprintf(syms[n_syms].name, sizeof(syms[n_syms].name), "%.60s%s%s", name,
			 *mod ? " " : "", mod);
		n_syms++;
	}
	if (f)
		fclose(f);
	if (syms)
		qsort(syms, n_syms, sizeof(*syms), cmp_sym);
}

static const char *symbol(unsigned long ip)
{
	size_t lo = 0, hi = n_syms;

	if (!n_syms || ip < syms[0].addr)
		return "[user or unknown]";
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (syms[mid].addr <= ip)
			lo = mid;
		else
			hi = mid;
	}
	return syms[lo].name;
}

struct hit {
	const char *name;
	long count;
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return (y->count > x->count) - (y->count < x->count);
}

/*
 * Run the workload in this thread under a cpu-clock sampler and print
 * where its time went, by function. Returns 0 if it got samples.
 */
static int sample_workload(const char *driver, const char *path, int write, long ms)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE, .size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK, .sample_period = PROFILE_PERIOD_NS,
		.sample_type = PERF_SAMPLE_IP, .disabled = 1,
	};
	long page = sysconf(_SC_PAGESIZE), total = 0, lost = 0;
	size_t len = (PROFILE_PAGES + 1) * page, n_hits = 0, i;
	struct perf_event_mmap_page *meta;
	struct hit *hits;
	struct worker w = { .path = path, .write = write, .seed = 1,
			    .span = write ? WRITE_SPAN : (long long)DEVICE_MB << 20 };
	unsigned char *data;
	uint64_t head, tail;
	int fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);

	if (fd < 0)
		return -1;
	meta = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (meta == MAP_FAILED) {
		close(fd);
		return -1;
	}
	data = (unsigned char *)meta + page;
	w.until = now() + ms / 1e3;
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	work(&w);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	tail = head > PROFILE_PAGES * (uint64_t)page ? head - PROFILE_PAGES * page : 0;
	hits = calloc(4096, sizeof(*hits));
	while (hits && tail + sizeof(struct perf_event_header) <= head) {
		struct perf_event_header h;
		uint64_t ip = 0;
		size_t off = tail % (PROFILE_PAGES * page), k;
		unsigned char rec[64];

		for (k = 0; k < sizeof(h); k++)
			((unsigned char *)&h)[k] = data[(off + k) % (PROFILE_PAGES * page)];
		if (h.size < sizeof(h) || h.size > sizeof(rec))
			break;
		for (k = 0; k < h.size; k++)
			rec[k] = data[(off + k) % (PROFILE_PAGES * page)];
		tail += h.size;
		if (h.type == PERF_RECORD_LOST) {
			lost++;
			continue;
		}
		if (h.type != PERF_RECORD_SAMPLE)
			continue;
		memcpy(&ip, rec + sizeof(h), sizeof(ip));
		total++;
		{
			const char *name = symbol(ip);

			for (k = 0; k < n_hits && hits[k].name != name; k++)
				;
			if (k == n_hits && n_hits < 4096)
				hits[n_hits++].name = name;
			if (k < n_hits)
				hits[k].count++;
		}
	}
	munmap(meta, len);
	close(fd);
	if (!hits)
		return -1;
	qsort(hits, n_hits, sizeof(*hits), cmp_hit);
	printf("# profile: driver=%s workload=%s ops=%ld samples=%ld lost=%ld period_ns=%d\n",
	       driver, write ? "seqwrite_qd1" : "randread_qd1", w.ops, total, lost,
	       PROFILE_PERIOD_NS);
	for (i = 0; i < n_hits && i < 25; i++)
		printf("# profile: driver=%s symbol=%s samples=%ld of=%ld\n", driver, hits[i].name,
		       hits[i].count, total);
	free(hits);
	return total > 0 && !w.errors ? 0 : -1;
}

static long env_long(const char *name, long fallback)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 0) : fallback;
}

void bench_plan(void)
{
	static const char *const plain[] = { "ferro_null", "null_blk", "rnull" };
	static const char *const memory[] = { "ferro_null", "null_blk" };
	static const struct { const char *name; int write, qd; } loads[] = {
		{ "randread_qd1", 0, 1 }, { "randread_qd32", 0, MAX_QD },
		{ "seqwrite_qd1", 1, 1 }, { "seqwrite_qd32", 1, MAX_QD },
	};
	long runs = env_long("ferro_bench_runs", 5), ms = env_long("ferro_bench_ms", 2000);
	int config, run, ok = 1;
	char why[160] = "";

	mount("configfs", "/sys/kernel/config", "configfs", 0, NULL);
	printf("# bench: runs=%ld ms=%ld\n", runs, ms);
	for (config = 0; config < 2; config++) {
		const char *const *drivers = config ? memory : plain;
		int n = config ? ARRAY_SIZE(memory) : ARRAY_SIZE(plain);

		for (run = 1; run <= runs; run++) {
			int k;

			for (k = 0; k < n; k++) {
				const char *driver = drivers[(k + run) % n];
				const char *path = setup(driver, config);
				size_t l;

				if (!path) {
					snprintf(why, sizeof(why), "%s: setup failed (errno %d)",
						 driver, errno);
					ok = 0;
					teardown(driver);
					continue;
				}
				for (l = 0; l < ARRAY_SIZE(loads); l++) {
					double v = measure(path, loads[l].write, loads[l].qd, ms);

					if (v < 0) {
						snprintf(why, sizeof(why), "%s %s: I/O errors",
							 driver, loads[l].name);
						ok = 0;
						continue;
					}
					printf("# bench: config=%s driver=%s workload=%s run=%d value=%.1f unit=%s\n",
					       config ? "memory_backed" : "plain", driver,
					       loads[l].name, run, v, loads[l].write ? "MB/s" : "iops");
				}
				teardown(driver);
			}
		}
	}
	result(ok, "bench_complete", "%s", why);

	/* Where the time goes in the memory-backed seqwrite_qd1 row. */
	load_kallsyms();
	for (run = 0; run < 2; run++) {
		const char *driver = run ? "null_blk" : "ferro_null";
		const char *path = setup(driver, 1);
		char name[64];

		snprintf(name, sizeof(name), "bench_profile_%s", driver);
		result(path && sample_workload(driver, path, 1, ms) == 0, name,
		       "no samples for %s (perf_event_open or setup failed: errno %d)", driver, errno);
		teardown(driver);
	}
}
