// SPDX-License-Identifier: GPL-2.0
/*
 * make bench's phy suite (QEMU xlnx-zcu102): ferro_phy against the C
 * marvell driver on QEMU's 88E1111 behind the Cadence GEM (macb), loaded
 * one at a time (phylib binds the first driver that matches). For each:
 *   probe     unbind and bind the PHY with the interface down (bind measured)
 *   link_up   SIOCSIFFLAGS up until operstate reads "up", LINKUPS times,
 *             asleep on link-change messages meanwhile: phy_start,
 *             config_init, config_aneg and the polls until the link is seen
 *   poll      with the link up, the phylib state machine's periodic poll
 *             (read_status over MDIO): the kernel's instructions in a
 *             window of WINDOW seconds, less those of the same window with
 *             the interface down, per phy_state_machine() run in it
 *             (counted by a kprobe, whose own cost is in each poll for
 *             both drivers alike). Counted only: no poll can be timed
 *             from user space. Printed as its two windows, poll.up and
 *             poll.down.
 * Each is printed as a "# cost:" line (count.h).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "count.h"
#include "drivers.h"
#include "ktest.h"

#define MDIO_DIR "/sys/bus/mdio_bus/devices"
#define QEMU_PHY_ID "0x01410cc2"
#define OPERSTATE "/sys/class/net/eth0/operstate"
#define BINDS 3
#define LINKUPS 4
#define WINDOW 8

static const struct bench_driver peers[] = {
	{ "ferro_phy", "/lib/modules/ferro/ferro_phy.ko", "Ferro 88E1111" },
	{ "marvell", "/lib/modules/bench/marvell.ko", "Marvell 88E1111" },
};

static char dev[256];	/* the PHY's MDIO device */

/* A socket that hears every link change (RTMGRP_LINK), or -1. */
static int link_events(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct timeval limit = { .tv_sec = 5 };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd >= 0 && (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ||
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof(limit)))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/*
 * Waits for operstate to read `state`, asleep until each link change
 * (no polling, whose cost would depend on how long the link takes);
 * 0 once it does, -1 after 5 s without a change.
 */
static int operstate_is(int events, const char *state)
{
	char got[32], buf[8192];

	while (!read_line(OPERSTATE, got, sizeof(got)) || strcmp(got, state)) {
		if (recv(events, buf, sizeof(buf), 0) < 0)
			return -1;
	}
	return 0;
}

/* Sets the interface up or down and waits for operstate to follow; 0 if it did. */
static int set_link(int up)
{
	int events = link_events(), ok;

	ok = events >= 0 && !phy_set_up(up) && !operstate_is(events, up ? "up" : "down");
	if (events >= 0)
		close(events);
	return ok ? 0 : -1;
}

static int link_up(const char *driver)
{
	int events = link_events(), ok;
	struct cost m;

	if (events < 0 || cost_begin(&m)) {
		if (events >= 0)
			close(events);
		return -1;
	}
	ok = !phy_set_up(1) && !operstate_is(events, "up");
	cost_end(&m, "phy", "link_up", driver, 1);
	close(events);
	return ok && !set_link(0) ? 0 : -1;
}

/*
 * The poll: WINDOW seconds with the link up ("poll.up", its ops the
 * phy_state_machine() runs in it) and WINDOW seconds with the interface
 * down ("poll.down", divided by the same number); the harness takes the
 * difference.
 */
static int poll_cost(const char *driver)
{
	struct count runs;
	struct cost m;
	long long polls;

	if (set_link(1) || count_kprobe(&runs, "phy_state_machine"))
		return -1;
	count_start(&runs);
	if (cost_begin(&m)) {
		count_close(&runs);
		return -1;
	}
	sleep(WINDOW);
	polls = count_stop(&runs);
	count_close(&runs);
	cost_end(&m, "phy", "poll.up", driver, polls);
	if (polls < 1 || set_link(0) || cost_begin(&m))
		return -1;
	sleep(WINDOW);
	cost_end(&m, "phy", "poll.down", driver, polls);
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
		/*
		 * Each at another phase of phylib's 1 s poll, which decides
		 * whether the link is seen by the first poll or the next: the
		 * harness keeps the cheapest (bench.py, floor()).
		 */
		usleep(i * 1000000 / LINKUPS);
		ok = !link_up(d->name);
		if (!ok)
			snprintf(why, size, "%s: no link within 5 s", d->name);
	}
	if (ok && bench_counting() && poll_cost(d->name)) {
		snprintf(why, size, "%s: the poll window failed (errno %d)", d->name, errno);
		ok = 0;
	}
	set_link(0);
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
