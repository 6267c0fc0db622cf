// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's phy suite (QEMU xlnx-zcu102): ferro_phy against the C
 * marvell driver on QEMU's 88E1111 behind the Cadence GEM (macb), loaded
 * one at a time (phylib binds the first driver that matches). For each:
 *   probe     unbind and bind the PHY with the interface down (bind measured)
 *   link_up   SIOCSIFFLAGS up until operstate reads "up", LINKUPS times:
 *             phy_start, config_init, config_aneg and the first polls
 *   poll      with the link up, the phylib state machine's periodic poll
 *             (read_status over MDIO): the kernel's instructions in a
 *             window of WINDOW seconds, less those of the same window with
 *             the interface down, per phy_state_machine() run in it
 *             (counted by a kprobe, whose own cost is in each poll for
 *             both drivers alike). Counted only: no poll can be timed
 *             from user space.
 * Each is printed as a "# cost:" line (count.h).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "count.h"
#include "drivers.h"
#include "ktest.h"

#define MDIO_DIR "/sys/bus/mdio_bus/devices"
#define QEMU_PHY_ID "0x01410cc2"
#define OPERSTATE "/sys/class/net/eth0/operstate"
#define BINDS 3
#define LINKUPS 3
#define WINDOW 8

static const struct bench_driver peers[] = {
	{ "ferro_phy", "/lib/modules/ferro/ferro_phy.ko", "Ferro 88E1111" },
	{ "marvell", "/lib/modules/bench/marvell.ko", "Marvell 88E1111" },
};

static char dev[256];	/* the PHY's MDIO device */

/* Waits, checking every millisecond, up to 5 s for operstate to read `state`; 0 once it does. */
static int operstate_is(const char *state)
{
	char got[32];
	int i;

	for (i = 0; i < 5000; i++) {
		if (read_line(OPERSTATE, got, sizeof(got)) && strcmp(got, state) == 0)
			return 0;
		usleep(1000);
	}
	return -1;
}

static int link_up(const char *driver)
{
	struct cost m;
	int ok;

	if (cost_begin(&m))
		return -1;
	ok = !phy_set_up(1) && !operstate_is("up");
	cost_end(&m, "phy", "link_up", driver, 1);
	return ok && !phy_set_up(0) && !operstate_is("down") ? 0 : -1;
}

/* The kernel's instructions in WINDOW seconds, and (polls) the state machine's runs. */
static long long window(long long *polls)
{
	struct count insns, runs;
	long long n;

	if (count_insns(&insns))
		return -1;
	if (polls && count_kprobe(&runs, "phy_state_machine")) {
		count_close(&insns);
		return -1;
	}
	if (polls)
		count_start(&runs);
	count_start(&insns);
	sleep(WINDOW);
	n = count_stop(&insns);
	count_close(&insns);
	if (polls) {
		*polls = count_stop(&runs);
		count_close(&runs);
	}
	return n;
}

static int poll_cost(const char *driver)
{
	long long up, down, polls = 0;

	if (phy_set_up(1) || operstate_is("up"))
		return -1;
	up = window(&polls);
	if (phy_set_up(0) || operstate_is("down"))
		return -1;
	down = window(NULL);
	if (up < 0 || down < 0 || polls < 1)
		return -1;
	printf("# cost: suite=phy case=poll driver=%s ops=%lld insns=%lld ns=-\n", driver, polls,
	       up - down);
	return 0;
}

/* One driver, loaded: its probes, link-ups and (counted) polls. */
static int measure(const struct bench_driver *d, char *why, size_t size)
{
	char drvdir[300], path[400], bound[128];
	int i, ok = 1;

	snprintf(path, sizeof(path), MDIO_DIR "/%s/driver", dev);
	link_name(path, bound, sizeof(bound));
	snprintf(drvdir, sizeof(drvdir), "/sys/bus/mdio_bus/drivers/%s", d->bound_as);
	if (strcmp(bound, d->bound_as) || bench_rebind(drvdir, dev)) {
		snprintf(why, size, "%s: the PHY is bound to '%s'", d->name, bound);
		return -1;
	}
	for (i = 0; ok && i < BINDS; i++) {
		ok = !bench_bind("phy", d->name, drvdir, dev);
		if (!ok)
			snprintf(why, size, "%s: %s did not bind again", d->name, dev);
	}
	for (i = 0; ok && i < LINKUPS; i++) {
		ok = !link_up(d->name);
		if (!ok)
			snprintf(why, size, "%s: no link within 5 s", d->name);
	}
	if (ok && bench_counting() && poll_cost(d->name)) {
		snprintf(why, size, "%s: the poll window failed (errno %d)", d->name, errno);
		ok = 0;
	}
	phy_set_up(0);
	operstate_is("down");
	return ok ? 0 : -1;
}

void bench_phy(long runs)
{
	char why[400] = "";
	int ok = find_device(MDIO_DIR, "phy_id", QEMU_PHY_ID, dev, sizeof(dev));

	if (!ok)
		snprintf(why, sizeof(why), "no PHY with ID " QEMU_PHY_ID " under " MDIO_DIR);
	phy_set_up(0);
	if (ok)
		ok = bench_each(peers, ARRAY_SIZE(peers), runs, measure, why, sizeof(why));
	result(ok, "bench_phy", "%s", why);
}
