/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Each driver's guest tests, one pair per build mode.
 */
#ifndef FERRO_DRIVERS_H
#define FERRO_DRIVERS_H

#include <stddef.h>

/* <name>_module() and <name>_builtin() of every driver of the registry. */
#define FERRO_DRIVER_DECLARE
#include "ferro-drivers.h"
#undef FERRO_DRIVER_DECLARE
void bench_plan(void);
/* ferro-blkio, a command of the Raspberry Pi card (blkio.c). */
int blkio_main(int argc, char **argv);
void bench_cpufreq(long runs);
void bench_phy(long runs);
int bench_bind(const char *suite, const char *driver, const char *drvdir, const char *dev);
int bench_rebind(const char *drvdir, const char *dev);

/* A driver that make bench compares: its module name, .ko and name on its bus. */
struct bench_driver {
	const char *name;
	const char *path;
	const char *bound_as;
};

/*
 * Loads each driver in turn (the first rotating from run to run; one run
 * in a counting boot), has `each` measure it, and unloads it. 1 if all
 * went well, else 0 with the cause in why.
 */
int bench_each(const struct bench_driver *drivers, size_t n, long runs,
	       int (*each)(const struct bench_driver *d, char *why, size_t size), char *why,
	       size_t size);
void null_stress(const char *plan);
void phy_stress(const char *plan);
int dt_has_phy(const char *dir, char *mac, size_t size);
int phy_set_up(int up);
double phy_wait_operstate(const char *state, double seconds);
void entries_arm(const char *plan);
void entries_report(const char *plan, const char *const *ran, size_t n_ran);
long entry_hits(const char *event);
void expect_chain(const char *plan, const char *event, const char *const *chain);
void debug_plan(const char *plan, const char *const *modules, size_t n);

#endif /* FERRO_DRIVERS_H */
