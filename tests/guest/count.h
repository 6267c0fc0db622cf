/* SPDX-License-Identifier: GPL-2.0 */
/*
 * make bench's exact cost measure (count.c): the kernel's instructions on
 * every CPU, counted by the PMU that QEMU emulates with -icount.
 */
#ifndef FERRO_COUNT_H
#define FERRO_COUNT_H

#include <linux/perf_event.h>

#define COUNT_MAX_CPUS 16

/* One event per online CPU. */
struct count {
	int fd[COUNT_MAX_CPUS];
	int n;
};

/* Kernel instructions, every CPU; 0, or -1 with errno (ENOENT without -icount). */
int count_insns(struct count *c);
/* Hits of a kprobe on `func`, every CPU; 0, or -1 with errno. */
int count_kprobe(struct count *c, const char *func);
void count_start(struct count *c);
/* Stops the count and returns its sum over the CPUs (-1 on a read error). */
long long count_stop(struct count *c);
void count_close(struct count *c);

/*
 * One measurement of `ops` operations: its kernel instructions when the
 * boot counts them (ferro_bench_count=1 on the kernel command line, QEMU
 * with -icount), and its time. cost_end() prints it as
 * "# cost: suite=S case=C driver=D ops=N insns=I|- ns=T".
 */
struct cost {
	struct count c;
	int counting;
	double start;
};

/* Whether this boot counts instructions (ferro_bench_count=1). */
int bench_counting(void);
/* CLOCK_MONOTONIC, in seconds. */
double bench_now(void);
int cost_begin(struct cost *m);
/* Ends the measurement and prints it; its instructions (-1 if not counted). */
long long cost_end(struct cost *m, const char *suite, const char *name, const char *driver,
		   long ops);

#endif /* FERRO_COUNT_H */
