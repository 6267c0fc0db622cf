// SPDX-License-Identifier: GPL-2.0
/*
 * ferro-blkio - block I/O by hand on the Raspberry Pi card: writes a
 * seeded pattern to a block device with O_DIRECT, reads it back, says how
 * fast each went and, with -v, whether the reads gave back what was written
 * (a memory-backed ferro_null does; one without backing reads zeros).
 *
 * A command of the card's shell (the ferro-init binary called as
 * ferro-blkio); make check runs it through that shell.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/fs.h>

#include "count.h"
#include "drivers.h"

static void blkio_usage(FILE *to)
{
	fprintf(to, "Usage: ferro-blkio [-b BYTES] [-n COUNT] [-v] DEVICE\n"
		"Write COUNT blocks of BYTES (default 256 of 4096) to DEVICE with O_DIRECT,\n"
		"read them back and print the rate of each; -v also compares the data.\n");
}

/* The pattern of block `i`: every 8 bytes its own offset, mixed with a seed. */
static void pattern(uint64_t *buf, size_t bytes, uint64_t i)
{
	size_t k;

	for (k = 0; k < bytes / 8; k++)
		buf[k] = (i * bytes + k * 8) ^ 0x4645525246455252ull;
}

/* One pass over the blocks; the seconds it took, or -1 with errno set. */
static double pass(int fd, void *buf, uint64_t *want, size_t bytes, long count, int write_pass,
		   long *bad)
{
	double start = bench_now();
	long i;

	for (i = 0; i < count; i++) {
		off_t off = (off_t)i * bytes;
		ssize_t n;

		if (write_pass)
			pattern(buf, bytes, i);
		else if (want)
			memset(buf, 0, bytes);	/* a read that moves nothing must not pass */
		n = write_pass ? pwrite(fd, buf, bytes, off) : pread(fd, buf, bytes, off);
		if (n != (ssize_t)bytes) {
			if (n >= 0)
				errno = EIO;
			return -1;
		}
		if (!write_pass && want && *bad < 0) {
			pattern(want, bytes, i);
			if (memcmp(want, buf, bytes))
				*bad = i;
		}
	}
	return bench_now() - start;
}

int blkio_main(int argc, char **argv)
{
	long bytes = 4096, count = 256, bad = -1;
	unsigned long long size = 0;
	int verify = 0, sector = 0, opt, fd;
	double w, r;
	void *buf;
	uint64_t *want = NULL;

	while ((opt = getopt(argc, argv, "b:n:vh")) != -1) {
		switch (opt) {
		case 'b':
			bytes = strtol(optarg, NULL, 0);
			break;
		case 'n':
			count = strtol(optarg, NULL, 0);
			break;
		case 'v':
			verify = 1;
			break;
		case 'h':
			blkio_usage(stdout);
			return 0;
		default:
			blkio_usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		blkio_usage(stderr);
		return 2;
	}
	if (bytes < 512 || bytes % 512 || bytes > (1 << 20) || count < 1) {
		fprintf(stderr, "ferro-blkio: -b must be a multiple of 512 up to 1 MiB, -n at least 1\n");
		return 2;
	}
	fd = open(argv[optind], O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "ferro-blkio: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (ioctl(fd, BLKGETSIZE64, &size) || size < (unsigned long long)bytes * count) {
		fprintf(stderr, "ferro-blkio: %s: not a block device of %ld bytes or more\n",
			argv[optind], count * bytes);
		close(fd);
		return 1;
	}
	if (ioctl(fd, BLKSSZGET, &sector) || bytes % sector) {
		fprintf(stderr, "ferro-blkio: %s: -b %ld is not a multiple of its %d-byte sectors\n",
			argv[optind], bytes, sector);
		close(fd);
		return 1;
	}
	if (verify)
		want = malloc(bytes);
	if (posix_memalign(&buf, 4096, bytes) || (verify && !want)) {
		fprintf(stderr, "ferro-blkio: out of memory\n");
		close(fd);
		return 1;
	}
	w = pass(fd, buf, NULL, bytes, count, 1, &bad);
	r = w < 0 ? -1 : pass(fd, buf, want, bytes, count, 0, &bad);
	if (w < 0 || r < 0) {
		fprintf(stderr, "ferro-blkio: %s: %s failed: %s\n", argv[optind],
			w < 0 ? "write" : "read", strerror(errno));
		free(want);
		free(buf);
		close(fd);
		return 1;
	}
	printf("ferro-blkio: %s: wrote %ld x %ld bytes in %.6f s (%.1f MB/s)", argv[optind], count,
	       bytes, w, count * bytes / w / 1e6);
	printf(", read them in %.6f s (%.1f MB/s)", r, count * bytes / r / 1e6);
	if (verify && bad >= 0)
		printf("; block %ld read back differs from what was written\n", bad);
	else
		printf("%s\n", verify ? "; every block read back as written" : "");
	free(want);
	free(buf);
	close(fd);
	return verify && bad >= 0 ? 1 : 0;
}
