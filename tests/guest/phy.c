// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of ferro_phy. On every board the module loads, reports its
 * facts and unloads; where a PHY it drives sits on an MDIO bus (QEMU
 * xlnx-zcu102: the Cadence GEM's emulated 88E1111), the tests bring the
 * interface up through the real MAC driver (macb) and phylib and check
 * the link, the RGMII delays phy-mode asked for, the captured call chains
 * and that frames flow (an ARP exchange with QEMU's user-mode gateway).
 * There too, the fault cases run on ferro_mdio_sim's simulated bus
 * (tests/kmod): ID mismatch, MDIO read errors at probe and at run time,
 * a reset that never completes, plus the BCM54213PE's register work.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
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

/* The Raspberry Pi's PHY, which only real boards have. */
#define BCM_PHY_ID "0x600d84a2"

/*
 * Whether the board has a PHY for ferro_phy to drive, from what the guest
 * can see: a device-tree node that is not disabled and has a phy-handle
 * (an Ethernet MAC wired to a PHY). Its path goes into mac.
 */
int dt_has_phy(const char *dir, char *mac, size_t size)
{
	char path[512], status[32] = "";
	struct dirent *d;
	DIR *dp;
	int found = 0;

	snprintf(path, sizeof(path), "%s/status", dir);
	if (read_line(path, status, sizeof(status)) && strncmp(status, "ok", 2))
		return 0;	/* disabled, and so is everything below it */
	snprintf(path, sizeof(path), "%s/phy-handle", dir);
	if (exists(path)) {
		snprintf(mac, size, "%s", dir + strlen("/proc/device-tree"));
		return 1;
	}
	dp = opendir(dir);
	while (dp && !found && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || d->d_type != DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		found = dt_has_phy(path, mac, size);
	}
	if (dp)
		closedir(dp);
	return found;
}

static void bcm_checks(const char *plan, const char *bcm, const char *mac);

/*
 * Finds the PHY, and fails if the device tree says there is one but it is
 * not on an MDIO bus: 1 if the PHY is QEMU's. On a Raspberry Pi card
 * (which has /sbin/modprobe) GENET, a module, is loaded first when the
 * device tree has it, so that its MDIO bus and the BCM54213PE appear.
 */
static int phy_found(const char *plan)
{
	char mac[256] = "", name[96], bcm[256];
	int have = find_phy(), want = dt_has_phy("/proc/device-tree", mac, sizeof(mac));

	if (!have && want && strstr(mac, "ethernet@7d580000") && exists("/sbin/modprobe") &&
	    !find_device(MDIO_DIR, "phy_id", BCM_PHY_ID, bcm, sizeof(bcm)))
		report_fact("phy", "genet_modprobe", "%d", system("/sbin/modprobe genet"));
	snprintf(name, sizeof(name), "%s_phy_found", plan);
	if (!have && find_device(MDIO_DIR, "phy_id", BCM_PHY_ID, bcm, sizeof(bcm))) {
		/* A real Pi: the checks after this are QEMU's 88E1111's. */
		result(1, name, NULL);
		bcm_checks(plan, bcm, mac);
	} else if (want || have) {
		result(have, name, "the device tree's %s has a phy-handle, but no PHY with ID "
		       QEMU_PHY_ID " or " BCM_PHY_ID " is under " MDIO_DIR, mac);
	} else {
		const char *pi = " (a Raspberry Pi: QEMU raspi4b has no GENET, its node is disabled)";

		skip(name, "no PHY on this board: no enabled device-tree node has a phy-handle%s",
		     getenv("ferro_compatible") ? pi : "");
	}
	return have;
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

/* The interface's flags into ifr (SIOCGIFFLAGS); 0, or -1. */
static int get_flags(struct ifreq *ifr)
{
	memset(ifr, 0, sizeof(*ifr));
	return ifreq_ioctl(SIOCGIFFLAGS, ifr);
}

/* Whether the interface is administratively up: 1, 0, or -1. */
static int phy_is_up(void)
{
	struct ifreq ifr;

	return get_flags(&ifr) ? -1 : !!(ifr.ifr_flags & IFF_UP);
}

/* SIOCSIFFLAGS with IFF_UP set or cleared. */
int phy_set_up(int up)
{
	struct ifreq ifr;

	if (get_flags(&ifr))
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
double phy_wait_operstate(const char *state, double seconds)
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

/* The MAC's PHY address in ifr (SIOCGMIIPHY), its MII data, or NULL. */
static struct mii_ioctl_data *mii_phy(struct ifreq *ifr, int reg)
{
	struct mii_ioctl_data *mii = (struct mii_ioctl_data *)&ifr->ifr_data;

	memset(ifr, 0, sizeof(*ifr));
	if (ifreq_ioctl(SIOCGMIIPHY, ifr))
		return NULL;
	mii->reg_num = reg;
	return mii;
}

/* A PHY register through the MAC's MII ioctls, or -1. */
static int mii_read(int reg)
{
	struct ifreq ifr;
	struct mii_ioctl_data *mii = mii_phy(&ifr, reg);

	if (!mii || ifreq_ioctl(SIOCGMIIREG, &ifr))
		return -1;
	return mii->val_out;
}

/* Writes a PHY register through the MAC's MII ioctls; 0, or -1. */
static int mii_write(int reg, int val)
{
	struct ifreq ifr;
	struct mii_ioctl_data *mii = mii_phy(&ifr, reg);

	if (!mii)
		return -1;
	mii->val_in = val;
	return ifreq_ioctl(SIOCSMIIREG, &ifr);
}

/*
 * The Pi's BCM54213PE behind GENET (board only: QEMU has no GENET): bound
 * to ferro_phy, the link up within 10 s (a SKIP without a cable), and the
 * RGMII delays the device tree's phy-mode asks for, read back from the
 * PHY: the RX skew in the auxiliary control register's misc shadow (0x18,
 * shadow 7, bit 8), the GTXCLK delay in shadow 3 of 0x1c (bit 9).
 */
static void bcm_checks(const char *plan, const char *bcm, const char *mac)
{
	char path[512], drv[128], mode[32] = "", name[96];
	int misc, clk, rx, tx, was_up = phy_is_up(), err;

	snprintf(path, sizeof(path), MDIO_DIR "/%s/driver", bcm);
	link_name(path, drv, sizeof(drv));
	snprintf(name, sizeof(name), "%s_phy_bcm54213pe_bound", plan);
	result(strcmp(drv, "Ferro BCM54213PE") == 0, name, "%s is bound to '%s'", bcm, drv);
	snprintf(name, sizeof(name), "%s_phy_bcm54213pe_link", plan);
	err = phy_set_up(1) ? errno : 0;
	if (err) {
		result(0, name, "%s: cannot bring it up: %s", IFACE, strerror(err));
	} else if (phy_wait_operstate("up", 10) < 0) {
		skip(name, "%s: no link within 10 s (is a cable connected?)", IFACE);
	} else {
		result(1, name, NULL);
		report_fact("phy", "bcm_speed", "%ld", read_long("/sys/class/net/" IFACE "/speed"));
	}
	snprintf(path, sizeof(path), "/proc/device-tree%s/phy-mode", mac);
	read_line(path, mode, sizeof(mode));
	misc = mii_write(0x18, 0x7007) ? -1 : mii_read(0x18);
	clk = mii_write(0x1c, 3 << 10) ? -1 : mii_read(0x1c);
	rx = !strcmp(mode, "rgmii-id") || !strcmp(mode, "rgmii-rxid");
	tx = !strcmp(mode, "rgmii-id") || !strcmp(mode, "rgmii-txid");
	snprintf(name, sizeof(name), "%s_phy_bcm54213pe_rgmii_delays", plan);
	result(misc >= 0 && clk >= 0 && !!(misc & 0x100) == rx && !!(clk & 0x200) == tx, name,
	       "phy-mode '%s': misc 0x%x (RX skew: bit 8, want %d), clock 0x%x (TX: bit 9, want %d)",
	       mode, misc, rx, clk, tx);
	/* As it was: the card's DHCP client may have brought it up. */
	if (was_up == 0) {
		phy_set_up(0);
		phy_wait_operstate("down", 2);
	}
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
		if (phy_set_up(0) || phy_wait_operstate("down", 2) < 0) {
			snprintf(why, sizeof(why), "down %ld: errno %d", i, errno);
			break;
		}
		if (phy_set_up(1) || phy_wait_operstate("up", 5) < 0) {
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
	static const char *const probe[] = { "phy_probe", "really_probe", NULL };
	static const char *const features[] = { "phy_probe", NULL };
	static const char *const aneg[] = { "phy_start_aneg", NULL };
	static const char *const status[] = {
		"phy_check_link_status", "phy_state_machine", NULL
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
	t = phy_set_up(1) == 0 ? phy_wait_operstate("up", 5) : -1;
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

	expect_chain(plan, "phy_probe_*", probe);
	expect_chain(plan, "phy_get_features", features);
	expect_chain(plan, "phy_config_aneg_*", aneg);
	expect_chain(plan, "phy_read_status", status);
	(void)builtin;

	snprintf(name, sizeof(name), "%s_phy_arp_with_gateway", plan);
	result(set_address() == 0 && arp_exchange(entry, sizeof(entry)), name,
	       "no complete ARP entry for " GATEWAY_IP ": '%s' (errno %d)", entry, errno);

	check_up_down(plan);
}

/*
 * The fault cases, on ferro_mdio_sim's bus (tests/kmod): a simulated
 * BCM54213PE whose MDIO reads, ID registers, reset and link partner a
 * test can break through debugfs, attached to phylib without a MAC.
 */
#define SIM_KO "/lib/modules/ferro/ferro_mdio_sim.ko"
#define SIM_DIR "/sys/kernel/debug/ferro_mdio_sim"
#define SIM_PHY "ferro-sim:01"
#define BCM_DRIVER "Ferro BCM54213PE"
#define BMCR_PDOWN 0x0800
#define BCM_RX_SKEW 0x0100	/* auxiliary control misc shadow: RGMII RX skew */
#define BCM_GTXCLK 0x0200	/* 0x1c shadow 3, clock control: GTXCLK delay */

/* The value of `key` in a "key value" file of the simulator's, into buf. */
static int sim_get(const char *file, const char *key, char *buf, size_t size)
{
	char path[128], *text, *p;
	size_t klen = strlen(key);

	snprintf(path, sizeof(path), SIM_DIR "/%s", file);
	text = slurp(path, NULL);
	*buf = '\0';
	for (p = text; p && *p; p += strcspn(p, "\n") + (p[strcspn(p, "\n")] ? 1 : 0)) {
		if (strncmp(p, key, klen) == 0 && p[klen] == ' ') {
			snprintf(buf, size, "%.*s", (int)strcspn(p + klen + 1, "\n"), p + klen + 1);
			break;
		}
	}
	free(text);
	return *buf != '\0';
}

static long sim_long(const char *file, const char *key)
{
	char buf[64];

	return sim_get(file, key, buf, sizeof(buf)) ? strtol(buf, NULL, 0) : -1;
}

static int sim_set(const char *file, const char *value)
{
	char path[128];

	snprintf(path, sizeof(path), SIM_DIR "/%s", file);
	return write_file(path, value);
}

/* Waits up to `seconds` for the attached PHY's link to read `up`. */
static int sim_wait_link(int up, double seconds)
{
	double start = now();

	while (now() - start < seconds) {
		if (sim_long("status", "link") == up)
			return 1;
		usleep(20000);
	}
	return 0;
}

/* Loads the simulator with `params`; the driver bound to its PHY into drv. */
static int sim_load(const char *params, char *drv, size_t size)
{
	if (load_module(SIM_KO, params))
		return 0;
	link_name(MDIO_DIR "/" SIM_PHY "/driver", drv, size);
	return 1;
}

static void sim_unload(void)
{
	if (unload_module("ferro_mdio_sim"))
		diag("ferro_mdio_sim would not unload", strerror(errno));
}

/* A fault during probe: the PHY stays unbound and one line says why. */
static void check_probe_fault(const char *plan, const char *what, const char *params,
			      const char *message)
{
	char name[96], drv[64] = "";
	size_t mark = log_mark();
	int loaded = sim_load(params, drv, sizeof(drv)), lines;

	lines = log_count_since(mark, message);
	snprintf(name, sizeof(name), "%s_phy_fault_%s", plan, what);
	result(loaded && !*drv && lines == 1, name,
	       "ferro_mdio_sim %s: loaded %d, driver '%s', %d log lines '%s'", params,
	       loaded, drv, lines, message);
	if (loaded)
		sim_unload();
}

/* Attach with phy-mode `mode`; 1 if the link came up at 1000/full. */
static int sim_attach(const char *mode)
{
	char cmd[64], duplex[16] = "";

	snprintf(cmd, sizeof(cmd), "attach %s", mode);
	if (sim_set("control", cmd) || !sim_wait_link(1, 5))
		return 0;
	sim_get("status", "duplex", duplex, sizeof(duplex));
	return sim_long("status", "speed") == 1000 && strcmp(duplex, "full") == 0;
}

/* The RGMII delays as the BCM54213PE's shadow registers hold them. */
static void check_bcm_delays(const char *plan, const char *mode, int want)
{
	long misc, clk;
	char name[96];
	int up = sim_attach(mode);

	misc = sim_long("regs", "aux_misc");
	clk = sim_long("regs", "shd_clk_ctl");
	snprintf(name, sizeof(name), "%s_phy_bcm_%s_delays", plan, mode);
	result(up && misc >= 0 && clk >= 0 && !!(misc & BCM_RX_SKEW) == want &&
	       !!(clk & BCM_GTXCLK) == want, name,
	       "link up %d, misc shadow 0x%lx, clock control shadow 0x%lx", up, misc, clk);
	sim_set("control", "detach");
}

static void check_faults(const char *plan)
{
	char name[96], drv[64] = "";
	long bmcr_down, bmcr_up;
	int ok, err, lines;
	double t;
	size_t mark;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	check_probe_fault(plan, "id_mismatch", "reg_id=0x01410cc2",
			  "PHY ID registers read 0x01410cc2, not 0x600d84a2: not binding");
	check_probe_fault(plan, "id_read_error", "fail_read_mask=0xc",
			  "cannot read the PHY ID registers: error -5");
	check_probe_fault(plan, "abilities_read_error", "fail_read_mask=0x2",
			  "cannot read the PHY's abilities: error -5");

	ok = sim_load("", drv, sizeof(drv));
	snprintf(name, sizeof(name), "%s_phy_sim_bound", plan);
	result(ok && strcmp(drv, BCM_DRIVER) == 0, name,
	       "ferro_mdio_sim loaded %d, " SIM_PHY " bound to '%s'", ok, drv);
	if (!ok)
		return;

	check_bcm_delays(plan, "rgmii-id", 1);
	check_bcm_delays(plan, "rgmii", 0);

	/* The link partner goes away and comes back. */
	ok = sim_attach("rgmii-id");
	ok = ok && !sim_set("link_off", "1") && sim_wait_link(0, 3);
	ok = ok && !sim_set("link_off", "0") && sim_wait_link(1, 3);
	snprintf(name, sizeof(name), "%s_phy_sim_link_partner_down_up", plan);
	result(ok, name, "link %ld, link_changes %ld", sim_long("status", "link"),
	       sim_long("status", "link_changes"));

	/* suspend sets BMCR power down, resume clears it. */
	ok = !sim_set("control", "suspend");
	bmcr_down = sim_long("regs", "reg00");
	ok = ok && !sim_set("control", "resume");
	bmcr_up = sim_long("regs", "reg00");
	snprintf(name, sizeof(name), "%s_phy_bcm_suspend_resume", plan);
	result(ok && bmcr_down >= 0 && (bmcr_down & BMCR_PDOWN) && !(bmcr_up & BMCR_PDOWN),
	       name, "BMCR suspended 0x%lx, resumed 0x%lx", bmcr_down, bmcr_up);

	/*
	 * BMSR reads fail while the link is up: read_status reports the
	 * link down with one line, and phylib's state machine neither
	 * WARNs nor stops; when reads work again the link comes back.
	 */
	sim_wait_link(1, 3);
	mark = log_mark();
	ok = !sim_set("fail_read_mask", "0x2") && sim_wait_link(0, 3);
	ok = ok && !sim_set("fail_read_mask", "0") && sim_wait_link(1, 3);
	lines = log_count_since(mark, "link down: MDIO read failed: error -5");
	snprintf(name, sizeof(name), "%s_phy_fault_read_error_link_down", plan);
	result(ok && lines == 1 && log_count_since(mark, "WARNING:") == 0, name,
	       "link down and back up %d, %d log lines, %d warnings", ok, lines,
	       log_count_since(mark, "WARNING:"));
	sim_set("control", "detach");

	/*
	 * A reset that never completes: attaching runs soft_reset, whose
	 * bounded wait ends in ETIMEDOUT; once the PHY behaves, a retry
	 * attaches.
	 */
	mark = log_mark();
	sim_set("reset_stuck", "1");
	t = now();
	ok = sim_set("control", "attach rgmii-id");
	err = errno;
	t = now() - t;
	lines = log_count_since(mark, "soft reset: BMCR_RESET still set after 600 ms");
	snprintf(name, sizeof(name), "%s_phy_fault_reset_timeout", plan);
	result(ok == -1 && err == ETIMEDOUT && lines == 1 && t < 5 &&
	       sim_long("status", "attached") == 0, name,
	       "attach returned %d, errno %d after %.2fs, %d log lines", ok, err, t, lines);
	report_fact("phy", "reset_timeout_seconds", "%.3f", t);
	sim_set("reset_stuck", "0");
	snprintf(name, sizeof(name), "%s_phy_fault_reset_retry", plan);
	result(sim_attach("rgmii-id"), name, "no link after the retry (errno %d)", errno);
	sim_set("control", "detach");

	err = unload_module("ferro_mdio_sim") ? errno : 0;
	snprintf(name, sizeof(name), "%s_phy_sim_unload", plan);
	result(!err && !exists(MDIO_DIR "/" SIM_PHY), name, "delete_module: errno %d", err);
}

/* --- the debug kernel's stress pass (faults.c) -------------------------- */

struct flapper {
	int stop;		/* __atomic */
	long flaps;		/* __atomic */
};

/* The link partner's cable pulled and put back, at random intervals. */
static void *flap_worker(void *arg)
{
	struct flapper *f = arg;
	unsigned int seed = 7;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		if (!sim_set("link_off", "1") && !sim_set("link_off", "0"))
			__atomic_add_fetch(&f->flaps, 1, __ATOMIC_RELAXED);
		usleep(rand_r(&seed) % 5000);
	}
	return NULL;
}

/*
 * Auto-negotiation cut short, ferro_stress times: the simulated MAC
 * attaches (soft reset and config_init, then phy_start: config_aneg, and
 * the state machine polling read_status) and detaches again after 0-20 ms,
 * as a MAC driver's ndo_stop or unbind does, while another thread pulls
 * the link partner's cable and puts it back. Afterwards, cable in, an
 * attach links at 1000/full, and the attachments left no reference on
 * ferro_phy behind.
 *
 * Unbinding the PHY's own driver under an attached MAC is not part of
 * this: phylib does not support it (phy_remove() leaves the PHY in
 * PHY_DOWN under a running MAC, whose next phy_start() WARNs, and
 * phy_detach() then drops no module reference for the one
 * phy_attach_direct() took). The unbind/bind sweeps run with no MAC.
 */
void phy_stress(const char *plan)
{
	struct flapper f = { 0 };
	long n = stress_count(), i, refcnt = 0;
	unsigned int seed = 11;
	char name[96], drv[64] = "", why[96] = "";
	pthread_t t;
	int up, started;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	snprintf(name, sizeof(name), "%s_phy_stress_aneg_interrupted", plan);
	if (!sim_load("", drv, sizeof(drv)) || strcmp(drv, BCM_DRIVER)) {
		result(0, name, "ferro_mdio_sim: errno %d, " SIM_PHY " bound to '%s'", errno, drv);
		if (exists(SIM_DIR))
			sim_unload();
		return;
	}
	started = pthread_create(&t, NULL, flap_worker, &f) == 0;
	for (i = 0; i < n; i++) {
		if (sim_set("control", "attach rgmii-id")) {
			snprintf(why, sizeof(why), "attach %ld: errno %d", i, errno);
			break;
		}
		usleep(rand_r(&seed) % 20000);
		if (sim_set("control", "detach")) {
			snprintf(why, sizeof(why), "detach %ld: errno %d", i, errno);
			break;
		}
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	if (started)
		pthread_join(t, NULL);
	up = sim_attach("rgmii-id");
	sim_set("control", "detach");
	report_fact("phy", "stress", "%s: %ld attach/detach cycles, %ld cable pulls, %ld link changes",
		    plan, i, f.flaps, sim_long("status", "link_changes"));
	sim_unload();
	if (strcmp(plan, "module") == 0)
		refcnt = read_long("/sys/module/ferro_phy/refcnt");
	result(i == n && started && f.flaps > 0 && up && refcnt == 0, name,
	       "%ld of %ld cycles (%s), %ld cable pulls, link up after %d, ferro_phy refcnt %ld",
	       i, n, *why ? why : "ok", f.flaps, up, refcnt);
}

void phy_module(void)
{
	char name[96];
	int ret, err, have, i;
	long n = stress_count();

	ret = load_module(PHY_KO, "");
	err = errno;
	result(ret == 0 && in_proc_modules("ferro_phy", NULL, 0), "module_phy_load",
	       "finit_module: errno %d", err);
	sysfs_facts("phy", "/sys/module/ferro_phy");
	kunit_suite("module", "ferro_phy");

	have = phy_found("module");
	report_fact("phy", "phy_present", "%s", have ? phy_dev : "no");
	if (!have) {
		skip("module_phy_device_and_faults",
		     "no PHY here; they run in the boots of the board that has one");
	} else {
		check_device("module", 0);
		check_faults("module");
		/*
		 * An attached PHY holds a reference on its driver's module;
		 * delete_module(O_NONBLOCK) answers EWOULDBLOCK.
		 */
		ret = unload_module("ferro_phy");
		err = errno;
		result(ret == -1 && err == EWOULDBLOCK && phy_wait_operstate("up", 0.1) >= 0,
		       "module_phy_unload_refused_while_up",
		       "delete_module with the link up returned %d, errno %d", ret, err);
		phy_set_up(0);
		phy_wait_operstate("down", 2);
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
		if (have && (phy_set_up(1) || phy_wait_operstate("up", 5) < 0 || phy_set_up(0) ||
			     phy_wait_operstate("down", 2) < 0))
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
	if (phy_found("builtin")) {
		check_device("builtin", 1);
		check_faults("builtin");
	} else {
		skip("builtin_phy_device_and_faults",
		     "no PHY here; they run in the boots of the board that has one");
	}
	report_fact("phy", "phy_present", "%s", *phy_dev ? phy_dev : "no");
}
