// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of ferro_null: bad parameters refused with nothing left
 * behind; devices with the geometry asked for; memory-backed data read
 * back exactly (several threads, random offsets and sizes, every
 * completion mode); injected errors exactly where configured; configfs
 * devices made, configured, powered and removed in a loop; removal and
 * unload while I/O is in flight; flush and discard; the captured C->Rust
 * chains; KUnit.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define NULL_KO "/lib/modules/ferro/ferro_null.ko"
#define CONFIGFS "/sys/kernel/config"
#define ROOT CONFIGFS "/ferro_null"
#define THREADS 4
#define MAX_IO (1024 * 1024)
#define WRITES 40		/* per writer, with the full loop counts */

/* xorshift64*: every thread its own reproducible stream. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/* A configfs attribute of device directory dir. */
static int dev_set(const char *dir, const char *attr, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), ROOT "/%s/%s", dir, attr);
	return write_file(path, value);
}

/*
 * mkdir ROOT/dir, apply "name=value" settings (space separated), power
 * on; the device's number, or -1 with errno.
 */
static int configfs_device(const char *dir, const char *settings)
{
	char path[256], copy[512], *tok, *save = NULL;
	int err;

	snprintf(path, sizeof(path), ROOT "/%s", dir);
	if (mkdir(path, 0755))
		return -1;
	snprintf(copy, sizeof(copy), "%s", settings);
	for (tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq)
			continue;
		*eq = '\0';
		if (dev_set(dir, tok, eq + 1))
			goto fail;
	}
	if (dev_set(dir, "power", "1"))
		goto fail;
	snprintf(path, sizeof(path), ROOT "/%s/index", dir);
	return (int)read_long(path);
fail:
	err = errno;
	snprintf(path, sizeof(path), ROOT "/%s", dir);
	rmdir(path);
	errno = err;
	return -1;
}

static void configfs_remove(const char *dir)
{
	char path[256];

	dev_set(dir, "power", "0");
	snprintf(path, sizeof(path), ROOT "/%s", dir);
	rmdir(path);
}

static int open_dev(int index, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/dev/ferro_nullb%d", index);
	return open(path, flags | O_CLOEXEC);
}

static int dev_exists(int index)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d", index);
	return exists(path);
}

/* --- data integrity ------------------------------------------------- */

struct region {
	int fd;			/* O_DIRECT */
	long long start, len;	/* bytes */
	unsigned int bs;	/* logical block size */
	int writes;
	uint64_t seed;
	long mismatches, errors;
	unsigned char *shadow;	/* what the region must hold */
};

static void *region_worker(void *arg)
{
	struct region *r = arg;
	unsigned char *buf;
	long long off, n;
	int i;

	if (posix_memalign((void **)&buf, 4096, MAX_IO)) {
		r->errors++;
		return NULL;
	}
	for (i = 0; i < r->writes; i++) {
		/* sizes from one block up to 1 MiB, log-uniform */
		int shift = 9 + (int)(rnd(&r->seed) % 12);
		long long j;

		n = 1LL << shift;
		n = n < r->bs ? r->bs : n;
		n = n > r->len ? r->len : n;
		off = (long long)(rnd(&r->seed) % ((r->len - n) / r->bs + 1)) * r->bs;
		for (j = 0; j < n; j += 8) {
			uint64_t w = rnd(&r->seed);

			memcpy(buf + j, &w, 8);
		}
		if (pwrite(r->fd, buf, n, r->start + off) != n) {
			r->errors++;
			continue;
		}
		memcpy(r->shadow + off, buf, n);
	}
	/* read back in random-sized pieces */
	for (off = 0; off < r->len; off += n) {
		long long j;

		n = (long long)r->bs << (rnd(&r->seed) % 9);
		n = n > MAX_IO ? MAX_IO : n;
		n = n > r->len - off ? r->len - off : n;
		if (pread(r->fd, buf, n, r->start + off) != n) {
			r->errors++;
			continue;
		}
		if (memcmp(buf, r->shadow + off, n))
			for (j = 0; j < n; j++)
				r->mismatches += buf[j] != r->shadow[off + j];
	}
	free(buf);
	return NULL;
}

/*
 * Writes per writer: WRITES with the full loop counts (ferro_stress=50),
 * fewer with short ones, never under 10. The debug kernel's boots in make
 * check (ferro_stress=1) spent 12 s of each boot here with all 40.
 */
static int integrity_writes(void)
{
	long n = WRITES * stress_count() / 50;

	return n < 10 ? 10 : n > WRITES ? WRITES : (int)n;
}

/* THREADS writers, each on its own region of the device; 1 if clean. */
static int integrity(const char *plan, const char *what, int index, unsigned int bs)
{
	struct region r[THREADS];
	pthread_t t[THREADS];
	long long size = 0;
	long mismatches = 0, errors = 0;
	struct timespec t0, t1;
	char name[96];
	int fd = open_dev(index, O_RDWR | O_DIRECT), i, made;
	int err = fd < 0 || ioctl(fd, BLKGETSIZE64, &size) ? errno : 0;

	if (err || size < THREADS * MAX_IO) {
		snprintf(name, sizeof(name), "%s_null_integrity_%s", plan, what);
		result(0, name, "/dev/ferro_nullb%d: cannot open or too small (%lld bytes): errno %d",
		       index, size, err);
		if (fd >= 0)
			close(fd);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < THREADS; i++) {
		r[i] = (struct region){ .fd = fd, .len = size / THREADS, .bs = bs,
					.writes = integrity_writes(), .seed = 0x9e3779b97f4a7c15ULL * (i + 1) };
		r[i].start = r[i].len * i;
		r[i].shadow = calloc(1, r[i].len);
		if (!r[i].shadow || pthread_create(&t[i], NULL, region_worker, &r[i])) {
			free(r[i].shadow);
			break;
		}
	}
	made = i;
	errors += THREADS - made;	/* a writer that never ran */
	for (i = 0; i < made; i++) {
		pthread_join(t[i], NULL);
		mismatches += r[i].mismatches;
		errors += r[i].errors;
		free(r[i].shadow);
	}
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(name, sizeof(name), "%s_null_integrity_%s", plan, what);
	result(!mismatches && !errors, name,
	       "%d threads x %d writes of 512 B..1 MiB on ferro_nullb%d: %ld bytes differ, %ld I/O errors",
	       THREADS, integrity_writes(), index, mismatches, errors);
	report_fact("null", "integrity", "%s: %d threads, %lld MiB, %ld mismatches, %ld errors, %.1fs",
		    what, THREADS, size >> 20, mismatches, errors,
		    (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return !mismatches && !errors;
}

/* --- geometry, errors, flush and discard ---------------------------- */

static void check_geometry(const char *plan, int index, long capacity_mb, long bs)
{
	char path[128], name[96];
	long sectors, lbs;

	snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d/size", index);
	sectors = read_long(path);
	snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d/queue/logical_block_size", index);
	lbs = read_long(path);
	snprintf(name, sizeof(name), "%s_null_geometry", plan);
	result(sectors == capacity_mb * 2048 && lbs == bs, name,
	       "ferro_nullb%d: %ld sectors (want %ld), logical block %ld (want %ld)", index,
	       sectors, capacity_mb * 2048, lbs, bs);
}

/* One O_DIRECT read of len bytes at sector; 0 or -errno. */
static int read_at(int fd, long long sector, size_t len)
{
	void *buf;
	ssize_t n;
	int err;

	if (posix_memalign(&buf, 4096, len))
		return -ENOMEM;
	n = pread(fd, buf, len, sector * 512);
	err = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	free(buf);
	return err;
}

/* A failing range: reads touching it fail with EIO, neighbours succeed. */
static void check_fail_range(const char *plan, const char *mode)
{
	static const struct { long long sector; size_t len; int err; } cases[] = {
		{ 2040, 4096, 0 }, { 2048, 512, -EIO }, { 2044, 4096, -EIO }, { 2055, 512, -EIO },
		{ 2056, 4096, 0 }, { 0, 65536, 0 },
	};
	char settings[128], name[96], why[160] = "";
	int index, fd, ok = 1;
	size_t i;

	snprintf(settings, sizeof(settings),
		 "capacity_mb=16 completion=%s completion_nsec=200000 fail_sector=2048 fail_sectors=8",
		 mode);
	index = configfs_device("failrange", settings);
	fd = index >= 0 ? open_dev(index, O_RDONLY | O_DIRECT) : -1;
	for (i = 0; fd >= 0 && i < ARRAY_SIZE(cases); i++) {
		int err = read_at(fd, cases[i].sector, cases[i].len);

		if (err != cases[i].err) {
			snprintf(why, sizeof(why), "read of %zu at sector %lld: %d, want %d",
				 cases[i].len, cases[i].sector, err, cases[i].err);
			ok = 0;
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	configfs_remove("failrange");
	snprintf(name, sizeof(name), "%s_null_fail_range_completion_%s", plan, mode);
	result(fd >= 0 && ok, name, "%s", fd < 0 ? "no device" : why);
}

/*
 * Four reads submitted in one io_submit (one plug): the first three
 * succeed, the last, on a failing sector, ends with EIO. queue_rq returns
 * the error for the last request of the batch, so the block layer calls
 * commit_rqs for the three it had queued (blk_mq_issue_direct).
 */
static void check_batch_failed_last(const char *plan)
{
	static const long long sectors[] = { 0, 8, 16, 2048 };
	struct iocb cbs[ARRAY_SIZE(sectors)], *ptrs[ARRAY_SIZE(sectors)];
	struct io_event ev[ARRAY_SIZE(sectors)];
	char name[96], why[160] = "";
	aio_context_t ctx = 0;
	void *buf = NULL;
	int index, fd, n = 0;
	size_t i;

	index = configfs_device("batch", "capacity_mb=16 fail_sector=2048 fail_sectors=8");
	fd = index >= 0 ? open_dev(index, O_RDONLY | O_DIRECT) : -1;
	if (fd < 0 || posix_memalign(&buf, 4096, 4096 * ARRAY_SIZE(sectors)) ||
	    syscall(SYS_io_setup, ARRAY_SIZE(sectors), &ctx)) {
		snprintf(why, sizeof(why), "set-up: errno %d", errno);
	} else {
		memset(cbs, 0, sizeof(cbs));
		for (i = 0; i < ARRAY_SIZE(sectors); i++) {
			cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
			cbs[i].aio_fildes = fd;
			cbs[i].aio_buf = (unsigned long)buf + 4096 * i;
			cbs[i].aio_nbytes = 4096;
			cbs[i].aio_offset = sectors[i] * 512;
			cbs[i].aio_data = i;
			ptrs[i] = &cbs[i];
		}
		n = syscall(SYS_io_submit, ctx, ARRAY_SIZE(sectors), ptrs);
		if (n != (int)ARRAY_SIZE(sectors))
			snprintf(why, sizeof(why), "io_submit: %d (errno %d)", n, errno);
		else if (syscall(SYS_io_getevents, ctx, n, n, ev, NULL) != n)
			snprintf(why, sizeof(why), "io_getevents: errno %d", errno);
		for (i = 0; !*why && i < ARRAY_SIZE(sectors); i++) {
			long want = ev[i].data == ARRAY_SIZE(sectors) - 1 ? -EIO : 4096;

			if (ev[i].res != want)
				snprintf(why, sizeof(why), "read at sector %lld: %lld, want %ld",
					 sectors[ev[i].data], (long long)ev[i].res, want);
		}
		syscall(SYS_io_destroy, ctx);
	}
	if (fd >= 0)
		close(fd);
	free(buf);
	configfs_remove("batch");
	snprintf(name, sizeof(name), "%s_null_batch_failed_last", plan);
	result(!*why, name, "%s", why);
}

/* fail_every=3: of 30 reads, exactly every third fails, with EIO. */
static void check_fail_every(const char *plan)
{
	char name[96], pattern[40] = "";
	int index, fd, i, failed = 0, phase = -1, ok = 1;

	index = configfs_device("failevery", "capacity_mb=16 fail_every=3");
	fd = index >= 0 ? open_dev(index, O_RDONLY | O_DIRECT) : -1;
	for (i = 0; fd >= 0 && i < 30; i++) {
		int err = read_at(fd, i * 8, 4096);

		pattern[i] = err ? 'x' : '.';
		if (err) {
			failed++;
			ok &= err == -EIO;
			/*
			 * The first failure fixes the phase (the partition
			 * scan may have counted), then every third.
			 */
			if (phase < 0)
				phase = i % 3;
			ok &= i % 3 == phase;
		}
	}
	if (fd >= 0)
		close(fd);
	configfs_remove("failevery");
	snprintf(name, sizeof(name), "%s_null_fail_every_third", plan);
	result(fd >= 0 && ok && failed == 10, name, "30 reads, %d failed: %s", failed, pattern);
}

/*
 * Field `field` (from 0) of /sys/block/ferro_nullb<index>/stat: 15 is the
 * flush requests completed (blk_account_io_flush), 11 the discards.
 */
static long long blk_stat(int index, int field)
{
	char path[96], *text, *p, *end;
	long long v = -1;
	int i;

	snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d/stat", index);
	text = slurp(path, NULL);
	for (i = 0, p = text; p && i <= field; i++, p = end) {
		v = strtoll(p, &end, 10);
		if (end == p) {
			v = -1;
			break;
		}
	}
	free(text);
	return v;
}

/* Memory backed: fsync reaches the driver as a flush; discard zeroes. */
static void check_flush_discard(const char *plan, int index)
{
	char path[128], cache[32] = "", name[96];
	uint64_t range[2] = { 1 << 20, 1 << 20 };
	long long flushes;
	int err, written;
	unsigned char *buf;
	int fd = open_dev(index, O_RDWR | O_DIRECT), synced, discarded = -1, zero = 0, i;
	ssize_t got = -1;

	snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d/queue/write_cache", index);
	read_line(path, cache, sizeof(cache));
	if (posix_memalign((void **)&buf, 4096, 1 << 20) || fd < 0) {
		result(0, "null_flush_discard", "setup: errno %d", errno);
		return;
	}
	memset(buf, 0xa5, 1 << 20);
	flushes = blk_stat(index, 15);
	synced = pwrite(fd, buf, 1 << 20, 1 << 20) == 1 << 20 && fsync(fd) == 0;
	err = errno;
	snprintf(name, sizeof(name), "%s_null_flush", plan);
	result(synced && strcmp(cache, "write back") == 0 && flushes >= 0 &&
	       blk_stat(index, 15) > flushes, name,
	       "write_cache '%s', write + fsync %s (errno %d), flushes completed %lld -> %lld",
	       cache, synced ? "ok" : "failed", err, flushes, blk_stat(index, 15));
	/* The range holds the data that the discard must remove. */
	memset(buf, 0, 1 << 20);
	written = pread(fd, buf, 1 << 20, 1 << 20) == 1 << 20 && buf[0] == 0xa5 &&
		  !memcmp(buf, buf + 1, (1 << 20) - 1);
	discarded = ioctl(fd, BLKDISCARD, range);
	err = discarded ? errno : 0;
	if (!discarded)
		got = pread(fd, buf, 1 << 20, 1 << 20);
	/* Zeroes only if the whole range was read back and every byte is 0. */
	if (got == 1 << 20)
		for (zero = 1, i = 0; i < 1 << 20; i++)
			zero &= !buf[i];
	snprintf(name, sizeof(name), "%s_null_discard_zeroes", plan);
	result(written && !discarded && zero, name,
	       "data before %s; BLKDISCARD returned %d (errno %d); read back %zd of %d bytes: %s",
	       written ? "written" : "not read back", discarded, err, got, 1 << 20,
	       got != 1 << 20 ? "short or failed read" : zero ? "zeroes" : "old data");
	free(buf);
	close(fd);
}

/* --- configfs -------------------------------------------------------- */

static void check_configfs_loop(const char *plan)
{
	long n = stress_count(), i;
	char name[96], why[160] = "", path[128];
	int index = -1, busy_ok = 1;

	for (i = 0; i < n; i++) {
		long bs = 512L << (i % 4);
		char settings[128];
		int err;

		snprintf(settings, sizeof(settings), "capacity_mb=%ld block_size=%ld hw_queues=%ld",
			 8 + i % 8, bs, 1 + i % 3);
		index = configfs_device("loop", settings);
		if (index < 0) {
			snprintf(why, sizeof(why), "cycle %ld: power on: errno %d", i, errno);
			break;
		}
		snprintf(path, sizeof(path), "/sys/block/ferro_nullb%d/queue/logical_block_size",
			 index);
		if (read_long(path) != bs) {
			snprintf(why, sizeof(why), "cycle %ld: block size %ld, want %ld", i,
				 read_long(path), bs);
			configfs_remove("loop");
			break;
		}
		/* attributes are frozen while powered on */
		err = dev_set("loop", "capacity_mb", "32") ? errno : 0;
		busy_ok &= err == EBUSY;
		configfs_remove("loop");
		if (dev_exists(index) || exists(ROOT "/loop")) {
			snprintf(why, sizeof(why), "cycle %ld: ferro_nullb%d or the directory remains",
				 i, index);
			break;
		}
	}
	snprintf(name, sizeof(name), "%s_null_configfs_cycles", plan);
	result(i == n, name, "stopped after %ld of %ld: %s", i, n, why);
	snprintf(name, sizeof(name), "%s_null_configfs_busy_while_powered", plan);
	result(busy_ok && i > 0, name, "writing an attribute of a powered device did not fail with EBUSY");
	report_fact("null", "configfs_cycles", "%ld", i);
}

/*
 * Every attribute of a device directory shows its value, and each writable
 * one takes that value back; the root's features show too. This is what
 * enters each configfs show and store callback at least once.
 */
static void check_configfs_every_attribute(const char *plan)
{
	char name[96], path[300], value[64], why[400] = "";
	int shown = 0, stored = 0, err;
	struct dirent *d;
	DIR *dir;

	mkdir(ROOT "/every", 0755);
	dir = opendir(ROOT "/every");
	while (dir && (d = readdir(dir))) {
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), ROOT "/every/%s", d->d_name);
		if (stat(path, &st) || !read_line(path, value, sizeof(value))) {
			snprintf(why, sizeof(why), "%s: cannot read: errno %d", d->d_name, errno);
			break;
		}
		shown++;
		if (!(st.st_mode & 0200))
			continue;
		/* configfs refuses a write to an attribute without store: EACCES */
		err = write_file(path, value) ? errno : 0;
		if (err == EACCES)
			continue;
		if (err) {
			snprintf(why, sizeof(why), "%s: writing back '%s': errno %d", d->d_name,
				 value, err);
			break;
		}
		stored++;
	}
	if (dir)
		closedir(dir);
	rmdir(ROOT "/every");
	if (!*why && !read_line(ROOT "/features", value, sizeof(value)))
		snprintf(why, sizeof(why), "features: cannot read: errno %d", errno);
	snprintf(name, sizeof(name), "%s_null_configfs_every_attribute", plan);
	result(!*why && shown > 1 && stored > 0, name, "%d shown, %d written back: %s", shown,
	       stored, *why ? why : "no attributes");
}

/*
 * Settings are read as kstrtou64() reads them: "0x800" is 2048, "12a" and
 * "banana" are EINVAL. A bad attribute: power on refused with EINVAL, one
 * log line, no device.
 */
static void check_configfs_invalid(const char *plan)
{
	char name[96], before[16] = "", hex[16] = "", msg[160] = "";
	int ret, err, store_err, hex_err, tail_err;
	const char *hit;
	char *log;

	mkdir(ROOT "/bad", 0755);
	store_err = dev_set("bad", "block_size", "banana") ? errno : 0;
	tail_err = dev_set("bad", "block_size", "12a") ? errno : 0;
	hex_err = dev_set("bad", "block_size", "0x800") ? errno : 0;
	read_line(ROOT "/bad/block_size", hex, sizeof(hex));
	dev_set("bad", "block_size", "1000");
	ret = dev_set("bad", "power", "1");
	err = errno;
	read_line(ROOT "/bad/power", before, sizeof(before));
	log = kernel_log();
	hit = log ? log_find_last(log, "ferro_null: invalid attribute block_size=1000") : NULL;
	if (hit)
		line_of(hit, msg, sizeof(msg));
	free(log);
	rmdir(ROOT "/bad");
	snprintf(name, sizeof(name), "%s_null_configfs_number_text", plan);
	result(store_err == EINVAL && tail_err == EINVAL && hex_err == 0 && !strcmp(hex, "2048"),
	       name, "'banana': errno %d, '12a': errno %d, '0x800': errno %d, shown '%s'",
	       store_err, tail_err, hex_err, hex);
	snprintf(name, sizeof(name), "%s_null_configfs_bad_value_einval", plan);
	result(ret == -1 && err == EINVAL && strcmp(before, "0") == 0 && hit,
	       name, "power with block_size=1000: %d errno %d, power '%s', log '%s'",
	       ret, err, before, msg);
}

/* --- removal with I/O in flight -------------------------------------- */

struct hammer {
	int index;
	int stop;		/* __atomic */
	long done, failed;
};

static void *hammer_worker(void *arg)
{
	struct hammer *h = arg;
	int fd = open_dev(h->index, O_RDWR | O_DIRECT);
	uint64_t s = 12345 + h->index;
	void *buf;

	if (fd < 0 || posix_memalign(&buf, 4096, 65536))
		return NULL;
	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		long long off = (long long)(rnd(&s) % 128) * 65536;	/* within 8 MiB */

		if (pread(fd, buf, 65536, off) == 65536)
			h->done++;
		else
			h->failed++;
	}
	free(buf);
	close(fd);
	return NULL;
}

/*
 * Power off a timer-mode device (1 ms completions) while threads read it:
 * the removal waits for the requests in flight; the readers see errors
 * afterwards, nothing hangs.
 */
static void check_remove_under_io(const char *plan)
{
	struct hammer h = { 0 };
	pthread_t t[THREADS];
	char name[96];
	int i, gone, made = 0;

	h.index = configfs_device("busy",
				  "capacity_mb=16 hw_queues=2 completion=2 completion_nsec=1000000");
	while (h.index >= 0 && made < THREADS &&
	       !pthread_create(&t[made], NULL, hammer_worker, &h))
		made++;
	usleep(300 * 1000);
	configfs_remove("busy");
	gone = h.index >= 0 && !dev_exists(h.index);
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	snprintf(name, sizeof(name), "%s_null_power_off_under_io", plan);
	result(gone && made == THREADS && h.done > 0, name,
	       "ferro_nullb%d removed while %d of %d threads read: %ld reads done, %ld failed after",
	       h.index, made, THREADS, h.done, h.failed);
}

/* --- the two plans --------------------------------------------------- */

static void mount_configfs(void)
{
	if (!exists(ROOT))
		mount("configfs", CONFIGFS, "configfs", 0, NULL);
}

static void common_checks(const char *plan, int index)
{
	/*
	 * The C chains of the first calls, from the caller at entry outwards
	 * (kprobe events on the entries, tests/guest/entries.c). The first
	 * request is the partition scan's read, submitted as a bio; the first
	 * completion runs in the block softirq (Clang, the KASAN kernel,
	 * inlines blk_complete_reqs into blk_done_softirq).
	 */
	static const char *const queue_rq[] = { "blk_mq_submit_bio", NULL };
	static const char *const make_group[] = { "configfs_mkdir", "vfs_mkdir", NULL };
	static const char *const complete[] = {
		"blk_complete_reqs|blk_done_softirq", "handle_softirqs", NULL
	};
	static const char *const modes[] = { "0", "1", "2" };
	char name[96];
	size_t i;

	mount_configfs();
	snprintf(name, sizeof(name), "%s_null_configfs_root", plan);
	result(exists(ROOT "/features"), name, ROOT "/features missing");
	integrity(plan, "param_device", index, (unsigned int)read_long("/sys/block/ferro_nullb0/queue/logical_block_size"));
	check_flush_discard(plan, index);
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		char settings[96], what[32];
		int dev;

		snprintf(settings, sizeof(settings),
			 "capacity_mb=8 memory_backed=1 hw_queues=2 block_size=%d completion=%s",
			 i ? 4096 : 512, modes[i]);
		dev = configfs_device("integrity", settings);
		snprintf(what, sizeof(what), "completion_%s", modes[i]);
		if (dev < 0) {
			snprintf(name, sizeof(name), "%s_null_integrity_%s", plan, what);
			result(0, name, "configfs device: errno %d", errno);
			continue;
		}
		integrity(plan, what, dev, i ? 4096 : 512);
		configfs_remove("integrity");
	}
	for (i = 0; i < ARRAY_SIZE(modes); i++)
		check_fail_range(plan, modes[i]);
	check_fail_every(plan);
	check_batch_failed_last(plan);
	check_configfs_invalid(plan);
	check_configfs_every_attribute(plan);
	check_configfs_loop(plan);
	check_remove_under_io(plan);
	expect_chain(plan, "null_queue_rq", queue_rq);
	expect_chain(plan, "null_make_group", make_group);
	expect_chain(plan, "null_complete", complete);
}

/* --- the debug kernel's stress pass (faults.c) -------------------------- */

struct churn {
	int stop;		/* __atomic */
	long cycles, failed;
};

/* A second configfs device made, powered on and off, removed: in a loop. */
static void *churn_worker(void *arg)
{
	struct churn *c = arg;

	while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
		int index = configfs_device("churn", "capacity_mb=4 memory_backed=1");

		if (index < 0 || dev_set("churn", "power", "0") || dev_set("churn", "power", "1"))
			c->failed++;
		else
			c->cycles++;
		configfs_remove("churn");
	}
	return NULL;
}

/*
 * Verified random I/O on ferro_nullb0 (memory backed: four threads, each
 * writing random data at random offsets and sizes into its own region and
 * reading it back against a copy, ferro_stress rounds) while another
 * thread makes, powers on and off and removes a second device, and (the
 * module plan) the main thread keeps trying to unload the module, which
 * must be refused for as long as the device is in use. Zero corruption,
 * zero I/O errors, nothing hung (the hung-task detector runs with a short
 * timeout in the debug plan), and afterwards the module unloads.
 */
void null_stress(const char *plan)
{
	static const char *const stress_params =
		"nr_devices=1 capacity_mb=8 block_size=4096 memory_backed=1 completion=1";
	int module = strcmp(plan, "module") == 0, fd, i, round, refused = 0, unloads = 0;
	int made, churning = 0;
	long mismatches = 0, errors = 0, rounds = stress_count();
	struct region r[THREADS];
	struct churn c = { 0 };
	pthread_t t[THREADS], ct;
	long long size = 0;
	char name[96];

	mount_configfs();
	if (module && load_module(NULL_KO, stress_params)) {
		snprintf(name, sizeof(name), "%s_null_stress_io_power_unload", plan);
		result(0, name, "cannot load ferro_null: errno %d", errno);
		return;
	}
	fd = open_dev(0, O_RDWR | O_DIRECT);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &size) || size < THREADS * MAX_IO) {
		snprintf(name, sizeof(name), "%s_null_stress_io_power_unload", plan);
		result(0, name, "/dev/ferro_nullb0: fd %d, %lld bytes, errno %d", fd, size, errno);
		goto out;
	}
	for (i = 0; i < THREADS; i++) {
		r[i] = (struct region){ .fd = fd, .len = size / THREADS, .bs = 4096,
					.writes = integrity_writes(), .seed = 0x5851f42d4c957f2dULL * (i + 7) };
		r[i].start = r[i].len * i;
		/* What earlier tests left (built in) is the starting point. */
		if (posix_memalign((void **)&r[i].shadow, 4096, r[i].len) ||
		    pread(fd, r[i].shadow, r[i].len, r[i].start) != r[i].len) {
			snprintf(name, sizeof(name), "%s_null_stress_io_power_unload", plan);
			result(0, name, "cannot read ferro_nullb0 at %lld: errno %d", r[i].start,
			       errno);
			while (i >= 0)
				free(r[i--].shadow);
			goto out;
		}
	}
	if (pthread_create(&ct, NULL, churn_worker, &c)) {
		c.failed++;	/* no churn: the check below fails */
		c.stop = 1;
	} else {
		churning = 1;
	}
	for (round = 0; round < rounds; round++) {
		for (made = 0; made < THREADS; made++)
			if (pthread_create(&t[made], NULL, region_worker, &r[made]))
				break;
		errors += THREADS - made;
		/* Unload attempts while the writers run. */
		for (i = 0; module && i < 5; i++) {
			unloads++;
			if (unload_module("ferro_null") == -1 && errno == EWOULDBLOCK)
				refused++;
			usleep(20 * 1000);
		}
		for (i = 0; i < made; i++)
			pthread_join(t[i], NULL);
	}
	/* The churn thread has made at least one cycle before it stops. */
	for (i = 0; churning && i < 500 && !__atomic_load_n(&c.cycles, __ATOMIC_RELAXED) &&
	     !c.failed; i++)
		usleep(10 * 1000);
	__atomic_store_n(&c.stop, 1, __ATOMIC_RELAXED);
	if (churning)
		pthread_join(ct, NULL);
	for (i = 0; i < THREADS; i++) {
		mismatches += r[i].mismatches;
		errors += r[i].errors;
		free(r[i].shadow);
	}
	report_fact("null", "stress", "%s: %ld rounds, %d threads, %ld power cycles, %d of %d unloads refused",
		    plan, rounds, THREADS, c.cycles, refused, unloads);
	snprintf(name, sizeof(name), "%s_null_stress_io_power_unload", plan);
	result(!mismatches && !errors && c.cycles > 0 && !c.failed && refused == unloads, name,
	       "%ld rounds: %ld bytes differ, %ld I/O errors, %ld power cycles (%ld failed), %d of %d unloads refused",
	       rounds, mismatches, errors, c.cycles, c.failed, refused, unloads);
out:
	if (fd >= 0)
		close(fd);
	if (module) {
		i = unload_module("ferro_null");
		snprintf(name, sizeof(name), "%s_null_stress_unload_after", plan);
		result(i == 0 && !dev_exists(0) && !exists(ROOT), name, "delete_module: %d errno %d",
		       i, errno);
	}
}

/* Parameter sets that must be refused, and the name the log must give. */
static const struct { const char *params, *named; } bad_params[] = {
	{ "block_size=1000", "block_size" },
	{ "block_size=8192", "block_size" },
	{ "block_size=", "block_size" },
	{ "block_size=abc", "block_size" },
	{ "capacity_mb=0", "capacity_mb" },
	{ "hw_queues=0", "hw_queues" },
	{ "queue_depth=5000", "queue_depth" },
	{ "completion=3", "completion" },
	{ "completion=2 completion_nsec=5", "completion_nsec" },
	{ "nr_devices=65", "nr_devices" },
	{ "memory_backed=maybe", "memory_backed" },
};

/*
 * Each parameter set refused with EINVAL, the value named in one line, and
 * nothing left registered. Run after the module's first load: until then
 * every entry's kprobe is still armed, and arming them all for each
 * refused load cost about 0.9 s a load (0.17 s once they are muted).
 */
static void check_bad_params(void)
{
	char name[128], msg[200];
	int ret, err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_params); i++) {
		char *log, *before = kernel_log(), own[96], parse[96];
		const char *hit = NULL, *since;
		size_t skip = before ? strlen(before) : 0;

		ret = load_module(NULL_KO, bad_params[i].params);
		err = errno;
		log = kernel_log();
		/* The driver's own line, or the kernel's for a value it cannot parse. */
		snprintf(own, sizeof(own), "ferro_null: invalid parameter %s=", bad_params[i].named);
		snprintf(parse, sizeof(parse), "invalid for parameter `%s'", bad_params[i].named);
		since = log && strlen(log) >= skip ? log + skip : NULL;
		if (since)
			hit = strstr(since, own) ? strstr(since, own) : strstr(since, parse);
		*msg = '\0';
		if (hit)
			line_of(hit, msg, sizeof(msg));
		snprintf(name, sizeof(name), "module_null_bad_param_%zu_einval", i);
		result(ret == -1 && err == EINVAL && hit && !in_proc_modules("ferro_null", NULL, 0) &&
		       !dev_exists(0) && !exists(ROOT),
		       name, "'%s': returned %d errno %d, log '%s'", bad_params[i].params, ret, err,
		       msg);
		free(log);
		free(before);
	}
}

void null_module(void)
{
	static const char *const params =
		"nr_devices=1 capacity_mb=8 block_size=4096 memory_backed=1 completion=1";
	char msg[200];
	int ret, err, busy_fd;
	size_t i;

	mount_configfs();
	ret = load_module(NULL_KO, params);
	err = errno;
	result(ret == 0 && in_proc_modules("ferro_null", NULL, 0) && dev_exists(0),
	       "module_null_load", "finit_module('%s'): errno %d", params, err);
	report_fact("null", "params", "%s", params);
	sysfs_facts("null", "/sys/module/ferro_null");
	kunit_suite("module", "ferro_null");
	check_geometry("module", 0, 8, 4096);
	common_checks("module", 0);

	/*
	 * I/O in flight holds the module (the open device does): unload is
	 * refused while four threads read, and their reads keep succeeding.
	 */
	{
		struct hammer h = { .index = 0 };
		pthread_t t[THREADS];
		int i, made = 0;

		while (made < THREADS && !pthread_create(&t[made], NULL, hammer_worker, &h))
			made++;
		usleep(200 * 1000);
		ret = unload_module("ferro_null");
		err = errno;
		usleep(100 * 1000);
		__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
		for (i = 0; i < made; i++)
			pthread_join(t[i], NULL);
		result(made == THREADS && ret == -1 && err == EWOULDBLOCK && dev_exists(0) &&
		       h.done > 0 && !h.failed,
		       "module_null_unload_refused_under_io",
		       "delete_module returned %d errno %d; %ld reads, %ld failed", ret, err,
		       h.done, h.failed);
	}
	busy_fd = open_dev(0, O_RDONLY);
	ret = unload_module("ferro_null");
	err = errno;
	result(busy_fd >= 0 && ret == -1 && err == EWOULDBLOCK && dev_exists(0),
	       "module_null_unload_refused_while_open", "delete_module returned %d errno %d", ret,
	       err);
	if (busy_fd >= 0)
		close(busy_fd);
	/* So does a configfs directory. */
	mkdir(ROOT "/held", 0755);
	ret = unload_module("ferro_null");
	err = errno;
	rmdir(ROOT "/held");
	result(ret == -1 && err == EWOULDBLOCK, "module_null_unload_refused_with_configfs_dir",
	       "delete_module returned %d errno %d", ret, err);

	ret = unload_module("ferro_null");
	err = errno;
	report_fact("null", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == 0 && !in_proc_modules("ferro_null", NULL, 0) && !dev_exists(0) &&
	       !exists(ROOT), "module_null_unload", "delete_module: %d errno %d", ret, err);
	check_bad_params();

	/* Load and unload in a loop with a timer-mode device. */
	for (i = 0; i < (size_t)stress_count(); i++) {
		if (load_module(NULL_KO, "nr_devices=2 completion=2") ||
		    !dev_exists(1) || unload_module("ferro_null"))
			break;
	}
	snprintf(msg, sizeof(msg), "stopped after %zu of %ld (errno %d)", i, stress_count(), errno);
	result(i == (size_t)stress_count() && !dev_exists(0), "module_null_load_unload_loop", "%s",
	       msg);
}

void null_builtin(void)
{
	char name[96];

	cmdline_facts("null", "ferro_null.");
	sysfs_facts("null", "/sys/module/ferro_null");
	snprintf(name, sizeof(name), "builtin_null_not_a_module");
	result(!in_proc_modules("ferro_null", NULL, 0) && dev_exists(0), name,
	       "ferro_null in /proc/modules, or no ferro_nullb0");
	builtin_delete_module("null", "builtin_null_delete_module_enoent");
	kunit_suite("builtin", "ferro_null");
	/* the command line the harness gives (guest.PLAN_CMDLINE): 8 MiB, 4 KiB blocks */
	check_geometry("builtin", 0, 8, 4096);
	common_checks("builtin", 0);
}
