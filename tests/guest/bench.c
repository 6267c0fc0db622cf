// SPDX-License-Identifier: GPL-2.0
/*
 * The "bench" plan: ferro_null against the C null_blk and the in-tree Rust
 * rnull with matching settings, and (bench-cpufreq.c, bench-phy.c) the
 * other drivers against their peers. The suites to run come from the
 * kernel command line (ferro_bench=null,cpufreq, phy or init), which the kernel
 * hands to init as environment, and so does the kind of boot:
 *
 * - timed (the default): ferro_bench_runs (5) runs, the drivers taking
 *   turns (the starting driver rotates from run to run), each measuring
 *   five workloads on a fresh device for ferro_bench_ms (2000) each, all
 *   4 KiB O_DIRECT requests within the first 64 MiB, submitted with Linux
 *   AIO (io_submit/io_getevents, no library) so that "qd" is the number of
 *   requests really in flight: random reads and sequential writes with 1
 *   and 32 in flight, and random reads from 4 threads with 8 each. Each
 *   rate is one line "# bench: config=... driver=... workload=...
 *   threads=T qd=Q run=N value=X unit=iops|MB/s".
 * - counted (ferro_bench_count=1, QEMU with -icount): every CPU but cpu0
 *   taken offline, then each driver runs each workload once for
 *   COUNT_OPS requests while the PMU counts the kernel's instructions
 *   (count.c), over more devices: 512-byte blocks, 64 KiB requests,
 *   softirq and timer completion. Each is a "# cost:" line.
 *
 * Memory backed, the 64 MiB are written before the reads, and every read
 * must bring back what was written (a block still zero is an error): the
 * rows read stored data, not the zero-fill path.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/aio_abi.h>
#include <linux/perf_event.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "count.h"
#include "drivers.h"
#include "ktest.h"

#define BENCH_DIR "/lib/modules/bench"
#define MAX_QD 32
#define MAX_THREADS 4
#define DEVICE_MB 1024		/* every device's capacity */
#define SPAN (64LL << 20)	/* reads and writes stay within this */
#define PATTERN 0x5a		/* what the writes store */

/*
 * One submitter: its own file descriptor and AIO context with qd requests
 * in flight (io_submit/io_getevents on an O_DIRECT block device: each
 * becomes a block request), resubmitting each as it completes until the
 * time is up. Reads of a memory-backed device check that each block
 * holds what was written.
 */
struct worker {
	const char *path;
	int write, qd, verify, io;
	long long start, span;	/* bytes */
	double until;		/* with limit 0: submit until then */
	long limit;		/* submit this many requests */
	long ops, errors, submitted;
	int err;		/* the first failure's errno */
	uint64_t seed, pos;
};

static void fail(struct worker *w, int err)
{
	if (!w->errors++)
		w->err = err;
}

static void prep(struct worker *w, struct iocb *cb, unsigned char *buf)
{
	long long off;

	if (w->write) {
		off = w->start + (long long)w->pos;
		w->pos = (w->pos + w->io) % w->span;
	} else {
		w->seed ^= w->seed << 13;
		w->seed ^= w->seed >> 7;
		w->seed ^= w->seed << 17;
		off = w->start + (long long)(w->seed % (w->span / w->io)) * w->io;
		memset(buf, 0, w->io);	/* the read must bring the data */
	}
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = w->write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	cb->aio_buf = (uintptr_t)buf;
	cb->aio_nbytes = w->io;
	cb->aio_offset = off;
	w->submitted++;
}

/* Whether the worker submits another request. */
static int more(struct worker *w)
{
	return w->limit ? w->submitted < w->limit : bench_now() < w->until;
}

/* Whether a block holds what the writes store, every byte of it. */
static int written(const unsigned char *buf, int io)
{
	return buf[0] == PATTERN && !memcmp(buf, buf + 1, io - 1);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct iocb cbs[MAX_QD], *ptrs[MAX_QD];
	struct io_event ev[MAX_QD];
	aio_context_t ctx = 0;
	unsigned char *bufs = NULL;
	int fd = open(w->path, (w->write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	int i, inflight = 0, rc, first = w->limit && w->limit < w->qd ? w->limit : w->qd;

	if (fd < 0 || syscall(SYS_io_setup, w->qd, &ctx)) {
		fail(w, errno);
		goto out;
	}
	rc = posix_memalign((void **)&bufs, 4096, (size_t)w->io * w->qd);
	if (rc) {
		fail(w, rc);
		goto out;
	}
	memset(bufs, PATTERN, (size_t)w->io * w->qd);
	for (i = 0; i < first; i++) {
		prep(w, &cbs[i], bufs + (size_t)w->io * i);
		cbs[i].aio_fildes = fd;
		cbs[i].aio_data = i;
		ptrs[i] = &cbs[i];
	}
	rc = syscall(SYS_io_submit, ctx, first, ptrs);
	if (rc != first) {
		fail(w, rc < 0 ? errno : EAGAIN);	/* a partial submit sets no errno */
		goto out;
	}
	inflight = first;
	while (inflight > 0) {
		int n = syscall(SYS_io_getevents, ctx, 1, w->qd, ev, NULL), k, again = 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(w, errno);
			break;
		}
		for (k = 0; k < n; k++) {
			struct iocb *cb = &cbs[ev[k].data];
			unsigned char *buf = bufs + (size_t)w->io * ev[k].data;

			inflight--;
			if (ev[k].res != w->io)
				fail(w, ev[k].res < 0 ? (int)-ev[k].res : EIO);
			else if (w->verify && !written(buf, w->io))
				fail(w, EILSEQ);	/* not the data that was written */
			else
				w->ops++;
			if (more(w)) {
				prep(w, cb, buf);
				cb->aio_fildes = fd;
				cb->aio_data = ev[k].data;
				ptrs[again++] = cb;
			}
		}
		rc = again ? syscall(SYS_io_submit, ctx, again, ptrs) : 0;
		if (rc != again) {
			fail(w, rc < 0 ? errno : EAGAIN);
			break;
		}
		inflight += again;
	}
out:
	if (ctx)
		syscall(SYS_io_destroy, ctx);	/* waits for what is still in flight */
	free(bufs);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* A device's settings, the same for every driver that supports them. */
struct device {
	const char *name;
	int block;		/* logical block size, bytes */
	int completion;		/* 0 in queue_rq, 1 softirq, 2 timer (10 us) */
	int memory;		/* memory backed: reads bring back what was written */
};

/* A workload: requests of `io` bytes (0: the block size), qd in flight per thread. */
struct load {
	const char *name;
	int write, qd, threads, io;
};

/*
 * One workload on path from `threads` submitters: for `ms` milliseconds
 * (limit 0) or `limit` requests in all. The rate (IOPS, or MB/s for
 * writes), or -1 with *err set; *ops gets the requests that completed.
 */
static double measure(const char *path, const struct device *d, const struct load *l, long ms,
		      long limit, long *ops, int *err)
{
	struct worker w[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	double start = bench_now(), secs;
	long errors = 0;
	int i, made = 0, io = l->io ? l->io : d->block;

	*err = 0;
	*ops = 0;
	for (i = 0; i < l->threads; i++) {
		w[i] = (struct worker){ .path = path, .write = l->write, .qd = l->qd, .io = io,
					.verify = d->memory && !l->write, .until = start + ms / 1e3,
					.limit = limit / l->threads, .span = SPAN / l->threads,
					.seed = 0x9e3779b97f4a7c15ULL * (i + 1) };
		w[i].start = w[i].span * i;
		errno = pthread_create(&t[i], NULL, work, &w[i]);
		if (errno) {
			*err = errno;
			break;
		}
		made++;
	}
	for (i = 0; i < made; i++) {
		pthread_join(t[i], NULL);
		*ops += w[i].ops;
		errors += w[i].errors;
		if (w[i].errors && !*err)
			*err = w[i].err;
	}
	secs = bench_now() - start;
	if (made < l->threads || errors)
		return -1;
	return l->write ? *ops * (double)io / secs / 1e6 : *ops / secs;
}

/* Writes PATTERN over the span that the workloads read, 1 MiB at a time. */
static int fill(const char *path)
{
	int fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC), ok = fd >= 0;
	long long off;
	void *buf = NULL;

	if (!ok || posix_memalign(&buf, 4096, 1 << 20)) {
		ok = 0;
	} else {
		memset(buf, PATTERN, 1 << 20);
		for (off = 0; ok && off < SPAN; off += 1 << 20)
			ok = pwrite(fd, buf, 1 << 20, off) == 1 << 20;
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Whether a driver has the device's settings: rnull 7.3 has no timer and no memory. */
static int supports(const char *driver, const struct device *d)
{
	return strcmp(driver, "rnull") || (!d->memory && d->completion < 2);
}

/* Set up one driver's device (memory backed: filled); its path, or NULL. */
static const char *setup(const char *driver, const struct device *d)
{
	const char *path = NULL;
	char params[256];

	if (strcmp(driver, "ferro_null") == 0) {
		snprintf(params, sizeof(params),
			 "nr_devices=1 capacity_mb=%d block_size=%d hw_queues=1 queue_depth=256 completion=%d memory_backed=%d",
			 DEVICE_MB, d->block, d->completion, d->memory);
		if (!load_module("/lib/modules/ferro/ferro_null.ko", params))
			path = "/dev/ferro_nullb0";
	} else if (strcmp(driver, "null_blk") == 0) {
		snprintf(params, sizeof(params),
			 "nr_devices=1 gb=%d bs=%d queue_mode=2 submit_queues=1 poll_queues=0 hw_queue_depth=256 irqmode=%d memory_backed=%d",
			 DEVICE_MB / 1024, d->block, d->completion, d->memory);
		if (!load_module(BENCH_DIR "/null_blk.ko", params))
			path = "/dev/nullb0";
	} else if (strcmp(driver, "rnull") == 0 && supports(driver, d)) {
		char size[32], block[32], irq[32];

		/* rnull 7.3: configfs only, one queue of 256 tags */
		if (load_module(BENCH_DIR "/rnull_mod.ko", ""))
			return NULL;
		snprintf(size, sizeof(size), "%d", DEVICE_MB);
		snprintf(block, sizeof(block), "%d", d->block);
		snprintf(irq, sizeof(irq), "%d", d->completion);
		if (!mkdir("/sys/kernel/config/rnull/rnullb0", 0755) &&
		    !write_file("/sys/kernel/config/rnull/rnullb0/blocksize", block) &&
		    !write_file("/sys/kernel/config/rnull/rnullb0/size", size) &&
		    !write_file("/sys/kernel/config/rnull/rnullb0/irqmode", irq) &&
		    !write_file("/sys/kernel/config/rnull/rnullb0/power", "1"))
			path = "/dev/rnullb0";
	}
	/* Memory backed, the reads read what was written first. */
	if (path && d->memory && fill(path))
		path = NULL;
	return path;
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

static void bench_init(void);

static long env_long(const char *name, long fallback)
{
	const char *v = getenv(name);

	return v ? strtol(v, NULL, 0) : fallback;
}

static const char *const drivers[] = { "ferro_null", "null_blk", "rnull" };

static const struct device plain = { "plain", 4096, 0, 0 };
static const struct device memory = { "memory_backed", 4096, 0, 1 };

/*
 * Wall-clock rates: every driver in turn, run after run (the starting
 * driver rotates), each workload for `ms` milliseconds.
 */
static int time_null(long runs, long ms, char *why, size_t size)
{
	static const struct device *const devices[] = { &plain, &memory };
	static const struct load loads[] = {
		{ "randread_qd1", 0, 1, 1, 0 }, { "randread_qd32", 0, MAX_QD, 1, 0 },
		{ "randread_qd8_t4", 0, 8, MAX_THREADS, 0 },
		{ "seqwrite_qd1", 1, 1, 1, 0 }, { "seqwrite_qd32", 1, MAX_QD, 1, 0 },
	};
	size_t c, k, l;
	int run, ok = 1;

	for (c = 0; c < ARRAY_SIZE(devices); c++) {
		const struct device *d = devices[c];

		for (run = 1; run <= runs; run++) {
			for (k = 0; k < ARRAY_SIZE(drivers); k++) {
				const char *driver = drivers[(k + run) % ARRAY_SIZE(drivers)];
				const char *path;

				if (!supports(driver, d))
					continue;
				path = setup(driver, d);
				if (!path) {
					snprintf(why, size, "%s: setup failed (errno %d)", driver, errno);
					ok = 0;
					teardown(driver);
					continue;
				}
				for (l = 0; l < ARRAY_SIZE(loads); l++) {
					long ops;
					int err;
					double v = measure(path, d, &loads[l], ms, 0, &ops, &err);

					if (v < 0) {
						snprintf(why, size, "%s %s: %s", driver, loads[l].name,
							 strerror(err));
						ok = 0;
						continue;
					}
					printf("# bench: config=%s driver=%s workload=%s ",
					       d->name, driver, loads[l].name);
					printf("threads=%d qd=%d run=%d value=%.1f unit=%s\n",
					       loads[l].threads, loads[l].qd, run, v,
					       loads[l].write ? "MB/s" : "iops");
				}
				teardown(driver);
			}
		}
	}
	return ok;
}

#define COUNT_OPS 2048		/* requests per counted workload */
#define COUNT_BATCHES 4		/* in this many measurements */

/*
 * One counted workload of a driver: COUNT_BATCHES measurements of
 * COUNT_OPS / COUNT_BATCHES requests on one device (the harness takes the
 * lower quartile: now and then a batch's completions take another path
 * through the scheduler). 0, or -1 with the cause in why.
 */
static int count_one(const char *driver, const struct device *d, const struct load *l,
		     char *why, size_t size)
{
	const char *path = setup(driver, d);
	long ops = 0, limit = (l->io > 16384 ? COUNT_OPS / 4 : COUNT_OPS) / COUNT_BATCHES;
	struct cost m;
	int err = 0, b, ok = path != NULL;
	char name[64];

	snprintf(name, sizeof(name), "%s/%s", d->name, l->name);
	for (b = 0; ok && b < COUNT_BATCHES; b++) {
		ok = !cost_begin(&m);
		if (ok) {
			ok = measure(path, d, l, 0, limit, &ops, &err) >= 0;
			ok = cost_end(&m, "null", name, driver, ops) >= 0 && ok && ops == limit;
		}
	}
	if (!ok)
		snprintf(why, size, "%s %s: %s", driver, name,
			 path ? strerror(err ? err : errno) : "setup failed");
	teardown(driver);
	return ok ? 0 : -1;
}

/*
 * Exact instruction counts: every driver on every device and workload
 * once, COUNT_OPS requests each in COUNT_BATCHES batches
 * (ferro_bench_only=<config>/<workload>: that one).
 */
static int count_null(char *why, size_t size)
{
	static const struct device bs512 = { "bs512", 512, 0, 0 };
	static const struct device softirq = { "softirq", 4096, 1, 0 };
	static const struct device timer = { "timer", 4096, 2, 0 };
	static const struct load rw[] = {
		{ "randread_qd1", 0, 1, 1, 0 }, { "randread_qd32", 0, MAX_QD, 1, 0 },
		{ "seqwrite_qd1", 1, 1, 1, 0 }, { "seqwrite_qd32", 1, MAX_QD, 1, 0 },
		{ "randread_64k_qd1", 0, 1, 1, 65536 }, { "seqwrite_64k_qd1", 1, 1, 1, 65536 },
	};
	static const struct load reads[] = {
		{ "randread_qd1", 0, 1, 1, 0 }, { "randread_qd32", 0, MAX_QD, 1, 0 },
	};
	static const struct {
		const struct device *d;
		const struct load *loads;
		size_t n;
	} cases[] = {
		{ &plain, rw, ARRAY_SIZE(rw) }, { &bs512, rw, 2 }, { &bs512, rw + 2, 1 },
		{ &softirq, reads, 2 }, { &timer, reads, 2 }, { &memory, rw, 4 },
	};
	const char *only = getenv("ferro_bench_only");
	size_t c, k, l;
	int ok = 1;

	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		for (l = 0; l < cases[c].n; l++) {
			const struct load *load = &cases[c].loads[l];
			char name[64];

			snprintf(name, sizeof(name), "%s/%s", cases[c].d->name, load->name);
			if (only && strcmp(only, name))
				continue;

			for (k = 0; k < ARRAY_SIZE(drivers); k++) {
				if (supports(drivers[k], cases[c].d) &&
				    count_one(drivers[k], cases[c].d, load, why, size) < 0)
					ok = 0;
			}
		}
	}
	return ok;
}

/*
 * The "bench" plan. ferro_bench (from the kernel command line) names the
 * suites: null (this file), cpufreq (bench-cpufreq.c), phy (bench-phy.c).
 * With ferro_bench_count=1 (QEMU with -icount) every measurement counts
 * the kernel's instructions; otherwise it is timed.
 */
void bench_plan(void)
{
	const char *suites = getenv("ferro_bench");
	long runs = env_long("ferro_bench_runs", 5), ms = env_long("ferro_bench_ms", 2000);
	int counting = bench_counting(), ok = 1;
	char why[160] = "";
	struct count probe;

	if (!suites || !*suites) {
		result(0, "bench_complete", "no ferro_bench=<suites> on the kernel command line");
		return;
	}
	printf("# bench: suites=%s count=%d runs=%ld ms=%ld\n", suites, counting, runs, ms);
	if (runs < 1 || ms < 1) {
		result(0, "bench_complete",
		       "ferro_bench_runs=%ld ferro_bench_ms=%ld: nothing to measure", runs, ms);
		return;
	}
	if (counting) {
		int got, cpu;

		/*
		 * One CPU: what the others do meanwhile (their ticks, RCU,
		 * idle wake-ups) would be in every count.
		 */
		for (cpu = 1; cpu < COUNT_MAX_CPUS; cpu++) {
			char path[64];

			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
			if (exists(path) && write_file(path, "0")) {
				result(0, "bench_one_cpu", "cannot take cpu%d offline (errno %d)",
				       cpu, errno);
				return;
			}
		}
		/* No vmstat refresh every second in the windows of an idle system. */
		if (write_file("/proc/sys/vm/stat_interval", "3600")) {
			result(0, "bench_quiet", "cannot set vm.stat_interval (errno %d)", errno);
			return;
		}
		got = count_insns(&probe);

		result(got == 0, "bench_counter",
		       "no instructions event (errno %d): QEMU runs without -icount", errno);
		if (got)
			return;
		count_close(&probe);
	}
	if (strstr(suites, "null")) {
		mount("configfs", "/sys/kernel/config", "configfs", 0, NULL);
		if (counting)
			ok = count_null(why, sizeof(why));
		else
			ok = time_null(runs, ms, why, sizeof(why));
		result(ok, "bench_null", "%s", why);
	}
	if (strstr(suites, "cpufreq"))
		bench_cpufreq(runs);
	if (strstr(suites, "phy"))
		bench_phy(runs);
	if (strstr(suites, "init"))
		bench_init();
}

static int bind_again(const char *suite, const char *driver, const char *drvdir, const char *dev)
{
	char path[512], link[600];
	struct cost m;
	int ok;

	snprintf(path, sizeof(path), "%s/unbind", drvdir);
	if (write_file(path, dev))
		return -1;
	snprintf(path, sizeof(path), "%s/bind", drvdir);
	if (suite && cost_begin(&m))
		return -1;
	ok = !write_file(path, dev);
	if (suite)
		cost_end(&m, suite, "probe", driver, 1);
	snprintf(link, sizeof(link), "%s/%s", drvdir, dev);
	return ok && exists(link) ? 0 : -1;
}

/*
 * The cost of binding `dev` to the driver whose sysfs directory is drvdir
 * (the unbind before it is not measured), printed as case "probe"; 0 if
 * the device was bound again.
 */
int bench_bind(const char *suite, const char *driver, const char *drvdir, const char *dev)
{
	return bind_again(suite, driver, drvdir, dev);
}

/* Unbinds and binds `dev` again, unmeasured; 0 if it was bound again. */
int bench_rebind(const char *drvdir, const char *dev)
{
	return bind_again(NULL, NULL, drvdir, dev);
}

int bench_each(const struct bench_driver *drivers, size_t n, long runs,
	       int (*each)(const struct bench_driver *d, char *why, size_t size), char *why,
	       size_t size)
{
	long reps = bench_counting() ? 1 : runs, rep;
	size_t k;
	int ok = 1;

	for (rep = 0; rep < reps; rep++) {
		for (k = 0; k < n; k++) {
			const struct bench_driver *d = &drivers[(k + rep) % n];

			if (load_module(d->path, "")) {
				snprintf(why, size, "%s: load failed (errno %d)", d->name, errno);
				ok = 0;
				continue;
			}
			if (each(d, why, size))
				ok = 0;
			if (unload_module(d->name)) {
				snprintf(why, size, "%s: unload failed (errno %d)", d->name, errno);
				ok = 0;
			}
		}
	}
	return ok;
}

/*
 * The init suite, in a module kernel: each Ferro module loaded (default
 * parameters) while the PMU counts, finit_module() whole: the module's
 * loading, relocation and its init; then unloaded. The harness reads the
 * init's own initcall_debug line from the kernel log, and those of the
 * built-in initcalls from a built-in kernel's boot.
 */
static void bench_init(void)
{
	static const char *const names[] = { "lifecycle", "null", "cpufreq", "phy" };
	char path[128], module[64], why[160] = "";
	struct cost m;
	size_t k;
	int ok = 1;

	if (!exists("/lib/modules/ferro/ferro_lifecycle.ko")) {
		result(1, "bench_init", NULL);	/* built in: the boot's log is the measurement */
		return;
	}
	for (k = 0; k < ARRAY_SIZE(names); k++) {
		snprintf(module, sizeof(module), "ferro_%s", names[k]);
		snprintf(path, sizeof(path), "/lib/modules/ferro/%s.ko", module);
		if (cost_begin(&m)) {
			ok = 0;
			break;
		}
		if (load_module(path, "")) {
			cost_end(&m, "init", "load", module, 1);
			snprintf(why, sizeof(why), "%s: load failed (errno %d)", module, errno);
			ok = 0;
			continue;
		}
		cost_end(&m, "init", "load", module, 1);
		if (unload_module(module)) {
			snprintf(why, sizeof(why), "%s: unload failed (errno %d)", module, errno);
			ok = 0;
		}
	}
	result(ok, "bench_init", "%s", why);
}
