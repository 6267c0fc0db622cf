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
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
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
}
