// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of ferro_phy. On every board the module loads, reports its
 * facts and unloads; where a PHY it drives sits on an MDIO bus (QEMU
 * xlnx-zcu102: the Cadence GEM's emulated 88E1111), the tests bring the
 * interface up through the real MAC driver (macb) and phylib and check
 * the link, the RGMII delays phy-mode asked for, the captured call chains
 * and that frames flow (an ARP exchange with QEMU's user-mode gateway).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mii.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define PHY_KO "/lib/modules/ferro/ferro_phy.ko"
#define MDIO_DIR "/sys/bus/mdio_bus/devices"
#define IFACE "eth0"
#define GUEST_IP "10.0.2.15"
#define GATEWAY_IP "10.0.2.2"
#define QEMU_PHY_ID "0x01410cc2"
#define QEMU_PHY_DRIVER "Ferro 88E1111"
#define EXT_CR 0x14
#define EXT_CR_DELAYS 0x0082	/* RX (bit 7) and TX (bit 1) clock delays */

static char phy_dev[256];	/* the MDIO device name of the PHY we drive */

/* The MDIO device whose phy_id is the QEMU PHY's, into phy_dev. */
static int find_phy(void)
{
	return find_device(MDIO_DIR, "phy_id", QEMU_PHY_ID, phy_dev, sizeof(phy_dev));
}

static void phy_driver(char *buf, size_t size)
{
	char path[600];

	snprintf(path, sizeof(path), MDIO_DIR "/%s/driver", phy_dev);
	link_name(path, buf, size);
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -1;
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", IFACE);
	ret = ioctl(fd, req, ifr);
	close(fd);
	return ret;
}

/* SIOCSIFFLAGS with IFF_UP set or cleared. */
static int set_up(int up)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (ifreq_ioctl(SIOCGIFFLAGS, &ifr))
		return -1;
	if (up)
		ifr.ifr_flags |= IFF_UP;
	else
		ifr.ifr_flags &= ~IFF_UP;
	return ifreq_ioctl(SIOCSIFFLAGS, &ifr);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits up to `seconds` for operstate to read `state`; the time it took, or -1. */
static double wait_operstate(const char *state, double seconds)
{
	double start = now();
	char got[32];

	while (now() - start < seconds) {
		if (read_line("/sys/class/net/" IFACE "/operstate", got, sizeof(got)) &&
		    strcmp(got, state) == 0)
			return now() - start;
		usleep(10000);
	}
	return -1;
}

/* A PHY register through the MAC's MII ioctls, or -1. */
static int mii_read(int reg)
{
	struct mii_ioctl_data *mii;
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	mii = (struct mii_ioctl_data *)&ifr.ifr_data;
	if (ifreq_ioctl(SIOCGMIIPHY, &ifr))
		return -1;
	mii->reg_num = reg;
	if (ifreq_ioctl(SIOCGMIIREG, &ifr))
		return -1;
	return mii->val_out;
}

static int set_address(void)
{
	struct sockaddr_in *sin;
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, GUEST_IP, &sin->sin_addr);
	if (ifreq_ioctl(SIOCSIFADDR, &ifr))
		return -1;
	inet_pton(AF_INET, "255.255.255.0", &sin->sin_addr);
	return ifreq_ioctl(SIOCSIFNETMASK, &ifr);
}

/*
 * A UDP datagram to the gateway makes the kernel ask for its MAC address
 * with ARP; the entry in /proc/net/arp becomes complete (flags 0x2) only
 * when the gateway's reply came back in over the link.
 */
static int arp_exchange(char *entry, size_t size)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i;
	char *arp;

	*entry = '\0';
	if (fd < 0)
		return 0;
	inet_pton(AF_INET, GATEWAY_IP, &to.sin_addr);
	for (i = 0; i < 300; i++) {
		const char *p;

		if (i % 50 == 0)
			sendto(fd, "ferro", 5, 0, (struct sockaddr *)&to, sizeof(to));
		usleep(10000);
		arp = slurp("/proc/net/arp", NULL);
		p = arp ? strstr(arp, GATEWAY_IP " ") : NULL;
		if (p) {
			line_of(p, entry, size);
			if (strstr(entry, "0x2 ")) {
				free(arp);
				close(fd);
				return 1;
			}
		}
		free(arp);
	}
	close(fd);
	return 0;
}

/* Interface down/up N times: the link comes back every time. */
static void check_up_down(const char *plan)
{
	long n = stress_count(), i;
	char name[96], why[128] = "";

	for (i = 0; i < n; i++) {
		if (set_up(0) || wait_operstate("down", 2) < 0) {
			snprintf(why, sizeof(why), "down %ld: errno %d", i, errno);
			break;
		}
		if (set_up(1) || wait_operstate("up", 5) < 0) {
			snprintf(why, sizeof(why), "up %ld: errno %d, no link", i, errno);
			break;
		}
	}
	report_fact("phy", "down_up_cycles", "%ld", i);
	snprintf(name, sizeof(name), "%s_phy_down_up_loop", plan);
	result(i == n, name, "stopped after %ld of %ld cycles: %s", i, n, why);
}

/* Everything that needs the PHY; the interface is left up. */
static void check_device(const char *plan, int builtin)
{
	static const char *const probe[] = {
		"probe_callback", "phy_probe", "really_probe", NULL
	};
	static const char *const features[] = {
		"get_features_callback", "phy_probe", NULL
	};
	static const char *const aneg[] = {
		"config_aneg_callback", "phy_start_aneg", NULL
	};
	static const char *const status[] = {
		"read_status_callback", "phy_check_link_status", "phy_state_machine", NULL
	};
	char name[96], drv[64], speed[16] = "", duplex[16] = "", entry[256];
	double t;
	int ext;

	phy_driver(drv, sizeof(drv));
	snprintf(name, sizeof(name), "%s_phy_bound", plan);
	result(strcmp(drv, QEMU_PHY_DRIVER) == 0, name, "PHY %s (id %s) is bound to '%s'",
	       phy_dev, QEMU_PHY_ID, drv);
	report_fact("phy", "device", "%s id=%s driver=%s", phy_dev, QEMU_PHY_ID, drv);

	snprintf(name, sizeof(name), "%s_phy_link_up", plan);
	t = set_up(1) == 0 ? wait_operstate("up", 5) : -1;
	read_line("/sys/class/net/" IFACE "/speed", speed, sizeof(speed));
	read_line("/sys/class/net/" IFACE "/duplex", duplex, sizeof(duplex));
	result(t >= 0 && strcmp(speed, "1000") == 0 && strcmp(duplex, "full") == 0, name,
	       "after IFF_UP: operstate up after %.2fs, speed '%s', duplex '%s'", t, speed,
	       duplex);
	report_fact("phy", "link_up_seconds", "%.3f", t);

	ext = mii_read(EXT_CR);
	snprintf(name, sizeof(name), "%s_phy_rgmii_id_delays", plan);
	result(ext >= 0 && (ext & EXT_CR_DELAYS) == EXT_CR_DELAYS, name,
	       "phy-mode rgmii-id, extended control register 0x%x (errno %d)", ext, errno);

	check_trace_chain(plan, "phy", "probe", probe);
	check_trace_chain(plan, "phy", "get_features", features);
	check_trace_chain(plan, "phy", "config_aneg", aneg);
	check_trace_chain(plan, "phy", "read_status", status);
	(void)builtin;

	snprintf(name, sizeof(name), "%s_phy_arp_with_gateway", plan);
	result(set_address() == 0 && arp_exchange(entry, sizeof(entry)), name,
	       "no complete ARP entry for " GATEWAY_IP ": '%s' (errno %d)", entry, errno);

	check_up_down(plan);
}

void phy_module(void)
{
	char name[96];
	int ret, err, have, i;
	long n = stress_count();

	ret = load_module(PHY_KO, "trace_calls=maybe");
	err = errno;
	result(ret == -1 && err == EINVAL && !in_proc_modules("ferro_phy", NULL, 0),
	       "module_phy_param_bool_not_a_bool_einval", "returned %d, errno %d", ret, err);

	ret = load_module(PHY_KO, "trace_calls=1");
	err = errno;
	result(ret == 0 && in_proc_modules("ferro_phy", NULL, 0), "module_phy_load",
	       "finit_module: errno %d", err);
	report_fact("phy", "params", "trace_calls=1");
	sysfs_facts("phy", "/sys/module/ferro_phy");
	kunit_suite("module", "ferro_phy");

	have = find_phy();
	report_fact("phy", "phy_present", "%s", have ? phy_dev : "no");
	if (have) {
		check_device("module", 0);
		/*
		 * An attached PHY holds a reference on its driver's module;
		 * delete_module(O_NONBLOCK) answers EWOULDBLOCK.
		 */
		ret = unload_module("ferro_phy");
		err = errno;
		result(ret == -1 && err == EWOULDBLOCK && wait_operstate("up", 0.1) >= 0,
		       "module_phy_unload_refused_while_up",
		       "delete_module with the link up returned %d, errno %d", ret, err);
		set_up(0);
		wait_operstate("down", 2);
	}

	ret = unload_module("ferro_phy");
	err = errno;
	report_fact("phy", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == 0 && !in_proc_modules("ferro_phy", NULL, 0), "module_phy_unload",
	       "delete_module: %d, errno %d", ret, err);

	/* Load, (bring the link up,) take it down, unload: N times. */
	for (i = 0; i < n; i++) {
		if (load_module(PHY_KO, ""))
			break;
		if (have && (set_up(1) || wait_operstate("up", 5) < 0 || set_up(0) ||
			     wait_operstate("down", 2) < 0))
			break;
		if (unload_module("ferro_phy"))
			break;
	}
	report_fact("phy", "load_unload_cycles", "%d", i);
	snprintf(name, sizeof(name), "module_phy_load_unload_loop%s", have ? "_with_link" : "");
	result(i == n, name, "stopped after %d of %ld cycles: errno %d", i, n, errno);
}

void phy_builtin(void)
{
	result(!in_proc_modules("ferro_phy", NULL, 0), "builtin_phy_not_a_module",
	       "ferro_phy is in /proc/modules");
	sysfs_facts("phy", "/sys/module/ferro_phy");
	cmdline_facts("phy", "ferro_phy.");
	builtin_delete_module("phy", "builtin_phy_delete_module_enoent");
	kunit_suite("builtin", "ferro_phy");
	if (find_phy())
		check_device("builtin", 1);
	report_fact("phy", "phy_present", "%s", *phy_dev ? phy_dev : "no");
}
