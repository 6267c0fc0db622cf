// SPDX-License-Identifier: GPL-2.0
/*
 * The "bench" plan: ferro_null against the C null_blk and the in-tree Rust
 * rnull, in one guest run, with matching settings. For each run the
 * drivers take turns (the starting driver rotates from run to run), and
 * each measures five workloads on a fresh device, all 4 KiB O_DIRECT
 * requests within the first 64 MiB, submitted with Linux AIO
 * (io_submit/io_getevents, no library) so that "qd" is the number of
 * requests really in flight:
 *   randread_qd1     random reads, one request in flight, one thread
 *   randread_qd32    the same with 32 in flight from one thread
 *   randread_qd8_t4  four threads with 8 in flight each
 *   seqwrite_qd1     sequential writes, one in flight, one thread
 *   seqwrite_qd32    the same with 32 in flight
 * Memory backed, the 64 MiB are written before the reads, and every read
 * must bring back what was written (a block still zero is an error): the
 * rows read stored data, not the zero-fill path.
 * Every measurement is one line "# bench: config=... driver=...
 * workload=... threads=T qd=Q run=N value=X unit=iops|MB/s";
 * scripts/ferro-bench boots the guest more than once and takes the
 * medians over all runs of all boots. Settings from the kernel command
 * line, which the kernel hands to init as environment: ferro_bench_runs
 * (5), ferro_bench_ms (2000 per workload).
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
#include <linux/aio_abi.h>
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
#define MAX_THREADS 4
#define IO 4096
#define DEVICE_MB 1024		/* every device's capacity */
#define SPAN (64LL << 20)	/* reads and writes stay within this */
#define PATTERN 0x5a		/* what the writes store */

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * One submitter: its own file descriptor and AIO context with qd requests
 * in flight (io_submit/io_getevents on an O_DIRECT block device: each
 * becomes a block request), resubmitting each as it completes until the
 * time is up. Reads of a memory-backed device check that each block
 * holds what was written.
 */
struct worker {
	const char *path;
	int write, qd, verify;
	long long start, span;	/* bytes */
	double until;
	long ops, errors;
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
		w->pos = (w->pos + IO) % w->span;
	} else {
		w->seed ^= w->seed << 13;
		w->seed ^= w->seed >> 7;
		w->seed ^= w->seed << 17;
		off = w->start + (long long)(w->seed % (w->span / IO)) * IO;
		memset(buf, 0, IO);	/* the read must bring the data */
	}
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = w->write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	cb->aio_buf = (uintptr_t)buf;
	cb->aio_nbytes = IO;
	cb->aio_offset = off;
}

/* Whether a block holds what the writes store, every byte of it. */
static int written(const unsigned char *buf)
{
	return buf[0] == PATTERN && !memcmp(buf, buf + 1, IO - 1);
}

static void *work(void *arg)
{
	struct worker *w = arg;
	struct iocb cbs[MAX_QD], *ptrs[MAX_QD];
	struct io_event ev[MAX_QD];
	aio_context_t ctx = 0;
	unsigned char *bufs = NULL;
	int fd = open(w->path, (w->write ? O_WRONLY : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	int i, inflight = 0, rc;

	if (fd < 0 || syscall(SYS_io_setup, w->qd, &ctx)) {
		fail(w, errno);
		goto out;
	}
	rc = posix_memalign((void **)&bufs, IO, (size_t)IO * w->qd);
	if (rc) {
		fail(w, rc);
		goto out;
	}
	memset(bufs, PATTERN, (size_t)IO * w->qd);
	for (i = 0; i < w->qd; i++) {
		prep(w, &cbs[i], bufs + (size_t)IO * i);
		cbs[i].aio_fildes = fd;
		cbs[i].aio_data = i;
		ptrs[i] = &cbs[i];
	}
	rc = syscall(SYS_io_submit, ctx, w->qd, ptrs);
	if (rc != w->qd) {
		fail(w, rc < 0 ? errno : EAGAIN);	/* a partial submit sets no errno */
		goto out;
	}
	inflight = w->qd;
	while (inflight > 0) {
		int n = syscall(SYS_io_getevents, ctx, 1, w->qd, ev, NULL), k, again = 0;
		int stop = now() >= w->until;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fail(w, errno);
			break;
		}
		for (k = 0; k < n; k++) {
			struct iocb *cb = &cbs[ev[k].data];
			unsigned char *buf = bufs + (size_t)IO * ev[k].data;

			inflight--;
			if (ev[k].res != IO)
				fail(w, ev[k].res < 0 ? (int)-ev[k].res : EIO);
			else if (w->verify && !written(buf))
				fail(w, EILSEQ);	/* not the data that was written */
			else
				w->ops++;
			if (!stop) {
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

/*
 * One workload on path from `threads` submitters with qd requests in
 * flight each; the rate (IOPS, or MB/s for writes), or -1 with *err set.
 */
static double measure(const char *path, int write, int qd, int threads, int verify, long ms,
		      int *err)
{
	struct worker w[MAX_THREADS];
	pthread_t t[MAX_THREADS];
	double start = now(), secs;
	long ops = 0, errors = 0;
	int i, made = 0;

	*err = 0;
	for (i = 0; i < threads; i++) {
		w[i] = (struct worker){ .path = path, .write = write, .qd = qd, .verify = verify,
					.until = start + ms / 1e3, .span = SPAN / threads,
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
		ops += w[i].ops;
		errors += w[i].errors;
		if (w[i].errors && !*err)
			*err = w[i].err;
	}
	secs = now() - start;
	if (made < threads || errors)
		return -1;
	return write ? ops * (double)IO / secs / 1e6 : ops / secs;
}

/* Writes PATTERN over the span that the workloads read, 1 MiB at a time. */
static int fill(const char *path)
{
	int fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC), ok = fd >= 0;
	long long off;
	void *buf = NULL;

	if (!ok || posix_memalign(&buf, IO, 1 << 20)) {
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
	struct worker w = { .path = path, .write = write, .qd = 1, .seed = 1, .span = SPAN };
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
	static const struct { const char *name; int write, qd, threads; } loads[] = {
		{ "randread_qd1", 0, 1, 1 }, { "randread_qd32", 0, MAX_QD, 1 },
		{ "randread_qd8_t4", 0, 8, MAX_THREADS },
		{ "seqwrite_qd1", 1, 1, 1 }, { "seqwrite_qd32", 1, MAX_QD, 1 },
	};
	long runs = env_long("ferro_bench_runs", 5), ms = env_long("ferro_bench_ms", 2000);
	int config, run, ok = 1;
	char why[160] = "";

	mount("configfs", "/sys/kernel/config", "configfs", 0, NULL);
	printf("# bench: runs=%ld ms=%ld\n", runs, ms);
	if (runs < 1 || ms < 1) {
		result(0, "bench_complete", "ferro_bench_runs=%ld ferro_bench_ms=%ld: nothing to measure",
		       runs, ms);
		return;
	}
	for (config = 0; config < 2; config++) {
		const char *const *drivers = config ? memory : plain;
		int n = config ? ARRAY_SIZE(memory) : ARRAY_SIZE(plain);

		for (run = 1; run <= runs; run++) {
			int k;

			for (k = 0; k < n; k++) {
				const char *driver = drivers[(k + run) % n];
				const char *path = setup(driver, config);
				size_t l;

				/* Memory backed, the reads read what was written first. */
				if (path && config && fill(path))
					path = NULL;
				if (!path) {
					snprintf(why, sizeof(why), "%s: setup failed (errno %d)",
						 driver, errno);
					ok = 0;
					teardown(driver);
					continue;
				}
				for (l = 0; l < ARRAY_SIZE(loads); l++) {
					int err;
					double v = measure(path, loads[l].write, loads[l].qd,
							   loads[l].threads, config && !loads[l].write,
							   ms, &err);

					if (v < 0) {
						snprintf(why, sizeof(why), "%s %s: %s", driver,
							 loads[l].name, strerror(err));
						ok = 0;
						continue;
					}
					printf("# bench: config=%s driver=%s workload=%s threads=%d qd=%d run=%d value=%.1f unit=%s\n",
					       config ? "memory_backed" : "plain", driver,
					       loads[l].name, loads[l].threads, loads[l].qd, run, v,
					       loads[l].write ? "MB/s" : "iops");
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
