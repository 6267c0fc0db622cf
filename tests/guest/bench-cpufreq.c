// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's cpufreq suite (QEMU virt): ferro_cpufreq against the C
 * cpufreq-dt and the in-tree Rust rcpufreq_dt, loaded one at a time (the
 * kernel has one cpufreq driver at a time) over the same CPUs, OPP tables
 * and GPIO-muxed clocks. For each driver:
 *   probe       unbind and bind its platform device: the probe, the cpufreq
 *               registration and the init of both policies (bind measured)
 *   governor    policy0's governor switched between performance and
 *               userspace, BATCHES times TRANSITIONS times
 *   transition  policy0 with the userspace governor set to 600 and
 *               1200 MHz in turn, BATCHES times TRANSITIONS times: target_index through
 *               the OPP library to the clock (every write changes the
 *               frequency; cpufreq's stats must count each one)
 * Each is printed as a "# cost:" line (count.h): kernel instructions in a
 * boot that counts them, time in one that does not.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "count.h"
#include "drivers.h"
#include "ktest.h"

#define POLICY "/sys/devices/system/cpu/cpufreq/policy0"
#define TRANSITIONS 40
#define BATCHES 5
#define BINDS 15

static const struct bench_driver peers[] = {
	{ "ferro_cpufreq", "/lib/modules/ferro/ferro_cpufreq.ko", NULL },
	{ "cpufreq_dt", "/lib/modules/bench/cpufreq-dt.ko", NULL },
	{ "rcpufreq_dt", "/lib/modules/bench/rcpufreq_dt.ko", NULL },
};

/*
 * The platform driver of module `module` and the device bound to it:
 * drvdir gets the driver's sysfs directory, dev the device's name.
 */
static int bound_device(const char *module, char *drvdir, size_t dsize, char *dev,
			size_t size)
{
	DIR *drivers = opendir("/sys/bus/platform/drivers"), *dp;
	struct dirent *d, *e;
	char path[600], name[128];
	int found = 0;

	while (drivers && !found && (d = readdir(drivers))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/platform/drivers/%s/module", d->d_name);
		link_name(path, name, sizeof(name));
		if (strcmp(name, module))
			continue;
		snprintf(drvdir, dsize, "/sys/bus/platform/drivers/%s", d->d_name);
		dp = opendir(drvdir);
		while (dp && !found && (e = readdir(dp))) {
			if (e->d_type == DT_LNK && strcmp(e->d_name, "module")) {
				snprintf(dev, size, "%s", e->d_name);
				found = 1;
			}
		}
		if (dp)
			closedir(dp);
	}
	if (drivers)
		closedir(drivers);
	return found;
}

static long transitions(void)
{
	return read_long(POLICY "/stats/total_trans");
}

/*
 * BATCHES measurements of TRANSITIONS governor switches, then of
 * TRANSITIONS frequency changes (the harness takes the cheapest batch of
 * each); 0 if all happened.
 */
static int switch_and_scale(const char *driver, char *why, size_t size)
{
	struct cost m;
	long before;
	int i, b, ok = 1;

	if (write_file(POLICY "/scaling_governor", "userspace") ||
	    write_file(POLICY "/scaling_setspeed", "600000")) {
		snprintf(why, size, "%s: cannot set the userspace governor", driver);
		return -1;
	}
	for (b = 0; b < BATCHES && ok; b++) {
		if (cost_begin(&m))
			return -1;
		for (i = 0; i < TRANSITIONS && ok; i++)
			ok = !write_file(POLICY "/scaling_governor",
					 i % 2 ? "userspace" : "performance");
		cost_end(&m, "cpufreq", "governor", driver, i);
	}
	if (!ok || write_file(POLICY "/scaling_governor", "userspace") ||
	    write_file(POLICY "/scaling_setspeed", "600000")) {
		snprintf(why, size, "%s: a governor switch failed (errno %d)", driver, errno);
		return -1;
	}
	before = transitions();
	for (b = 0; b < BATCHES && ok; b++) {
		if (cost_begin(&m))
			return -1;
		for (i = 0; i < TRANSITIONS && ok; i++)
			ok = !write_file(POLICY "/scaling_setspeed", i % 2 ? "600000" : "1200000");
		cost_end(&m, "cpufreq", "transition", driver, i);
	}
	if (!ok || transitions() - before != BATCHES * TRANSITIONS) {
		snprintf(why, size, "%s: %ld of %d frequency changes happened (errno %d)", driver,
			 transitions() - before, BATCHES * TRANSITIONS, errno);
		return -1;
	}
	return 0;
}

/* One driver, loaded: its probes, governor switches and transitions. */
static int measure(const struct bench_driver *d, char *why, size_t size)
{
	char drvdir[300], dev[256];
	int i;

	if (!bound_device(d->name, drvdir, sizeof(drvdir), dev, sizeof(dev)) || !exists(POLICY)) {
		snprintf(why, size, "%s: bound to no device, or no policy0", d->name);
		return -1;
	}
	/* The first bind after the load warms up, unmeasured. */
	for (i = -1; i < BINDS; i++) {
		if (i < 0 ? bench_rebind(drvdir, dev) : bench_bind("cpufreq", d->name, drvdir, dev)) {
			snprintf(why, size, "%s: %s did not bind again", d->name, dev);
			return -1;
		}
	}
	return switch_and_scale(d->name, why, size);
}

void bench_cpufreq(long runs)
{
	char why[400] = "";
	int ok = bench_each(peers, ARRAY_SIZE(peers), runs, measure, why, sizeof(why));

	result(ok, "bench_cpufreq", "%s", why);
}
