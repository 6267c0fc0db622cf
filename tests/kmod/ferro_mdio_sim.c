// SPDX-License-Identifier: GPL-2.0
/*
 * ferro_mdio_sim - a simulated MDIO bus with one PHY and fault injection,
 * for testing ferro_phy where no hardware can fail on demand.
 *
 * QEMU's PHYs answer every MDIO access and finish every reset, so the
 * fault paths of a PHY driver (an MDIO read that fails, ID registers that
 * disagree with the ID the PHY was matched on, a reset that never ends)
 * cannot be reached there. This module registers an MDIO bus
 * "ferro-sim" whose single PHY is a register model of a gigabit PHY with
 * the Broadcom shadow registers of the BCM54213PE, and lets a test break
 * it through debugfs:
 *
 *   /sys/kernel/debug/ferro_mdio_sim/
 *     fail_read_mask  (rw) reads of register N fail with -EIO if bit N is set
 *     reset_stuck     (rw) BMCR_RESET, once written, never clears
 *     link_off        (rw) no link partner (the cable is out)
 *     control         (w)  "attach <phy-mode>", "detach", "suspend", "resume"
 *     status          (r)  driver, attachment, link, speed and duplex
 *     regs            (r)  the model's registers, shadows included
 *
 * "attach" does what a MAC driver does with phylib, without a net_device:
 * phy_attach_direct() (soft reset and init through the PHY driver) and
 * phy_start() (the state machine: config_aneg, read_status). The PHY is
 * created with the ID given by phy_id, not scanned, so that the ID
 * registers (reg_id) can disagree with it, as they do when a device tree
 * names the wrong PHY in its "ethernet-phy-idXXXX.XXXX" compatible.
 *
 * A test fixture: on a real board it is harmless (its bus is its own and
 * it touches no hardware) and useless.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/mii.h>
#include <linux/mutex.h>
#include <linux/phy.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Facts of the gigabit PHY modelled (IEEE 802.3 clause 22). */
#define SIM_BMCR_DEFAULT	(BMCR_ANENABLE | BMCR_FULLDPLX | BMCR_SPEED1000)
#define SIM_BMSR_ABILITIES	(BMSR_100FULL | BMSR_100HALF | BMSR_10FULL | \
				 BMSR_10HALF | BMSR_ESTATEN | BMSR_ANEGCAPABLE | \
				 BMSR_ERCAP)
#define SIM_ESTATUS		(ESTATUS_1000_TFULL | ESTATUS_1000_THALF)
/* The link partner: 10/100/1000, full and half duplex, pause. */
#define SIM_LPA			(LPA_LPACK | LPA_PAUSE_CAP | LPA_100FULL | \
				 LPA_100HALF | LPA_10FULL | LPA_10HALF | \
				 ADVERTISE_CSMA)
#define SIM_STAT1000		(LPA_1000LOCALRXOK | LPA_1000REMRXOK | \
				 LPA_1000FULL | LPA_1000HALF)

/*
 * Broadcom's auxiliary control register (0x18) holds eight shadow
 * registers selected by bits 2:0 on a write; shadow 7 ("misc") is read by
 * writing its number to bits 14:12 with 7 in bits 2:0, and written with
 * bit 15 set. Register 0x1c holds 32 shadows of ten data bits selected by
 * bits 14:10; bit 15 set writes, clear selects for reading.
 */
#define SIM_AUX_CTL		0x18
#define SIM_AUX_SHDW_MASK	0x0007
#define SIM_AUX_SHDW_MISC	0x0007
#define SIM_AUX_MISC_WREN	0x8000
#define SIM_SHD			0x1c
#define SIM_SHD_WRITE		0x8000
#define SIM_SHD_DATA		0x03ff
#define SIM_SHD_CLK_CTL		0x03
#define SIM_SHD_GTXCLK_EN	0x0200

/* The PHY's address on the simulated bus, as on the Raspberry Pi boards. */
#define SIM_ADDR		1

static unsigned int phy_id = 0x600d84a2;
module_param(phy_id, uint, 0444);
MODULE_PARM_DESC(phy_id, "PHY ID the device is created with, which drivers match on");

static unsigned int reg_id;
module_param(reg_id, uint, 0444);
MODULE_PARM_DESC(reg_id, "PHY ID the ID registers report (0: phy_id)");

static unsigned int fail_read_mask;
module_param(fail_read_mask, uint, 0444);
MODULE_PARM_DESC(fail_read_mask,
		 "Registers whose reads fail with -EIO (bit N: register N), from the start");

static bool reset_stuck;
module_param(reset_stuck, bool, 0444);
MODULE_PARM_DESC(reset_stuck, "BMCR_RESET never clears, from the start");

static bool link_off;

/* The register model; the bus's mdio_lock serialises every access. */
struct sim_phy {
	u16 regs[32];		/* plain registers, as last written */
	u16 aux[8];		/* 0x18 shadows */
	u16 aux_read_sel;	/* which 0x18 shadow a read returns */
	u16 shd[32];		/* 0x1c shadows */
	u16 shd_read_sel;	/* which 0x1c shadow a read returns */
};

struct sim {
	struct mii_bus *bus;
	struct phy_device *phydev;
	struct dentry *debugfs;
	struct mutex lock;	/* serialises control commands */
	bool attached;
	unsigned int link_changes;
};

static struct sim sim;

static void sim_phy_reset(struct sim_phy *p)
{
	memset(p, 0, sizeof(*p));
	p->regs[MII_BMCR] = SIM_BMCR_DEFAULT;
	p->regs[MII_ADVERTISE] = ADVERTISE_ALL | ADVERTISE_CSMA;
	p->regs[MII_CTRL1000] = ADVERTISE_1000FULL | ADVERTISE_1000HALF;
	p->aux[SIM_AUX_SHDW_MISC] = 0x3000;
	p->shd[SIM_SHD_CLK_CTL] = SIM_SHD_GTXCLK_EN;
}

/* A link partner answers unless the PHY is in reset or powered down. */
static bool sim_link(const struct sim_phy *p)
{
	u16 bmcr = p->regs[MII_BMCR];

	return !READ_ONCE(link_off) && !(bmcr & (BMCR_RESET | BMCR_PDOWN));
}

static int sim_read(struct mii_bus *bus, int addr, int regnum)
{
	struct sim_phy *p = bus->priv;
	u32 id = reg_id ? reg_id : phy_id;
	bool link = sim_link(p);

	if (addr != SIM_ADDR)
		return 0xffff;	/* nothing answers: the bus's pull-ups */
	if (READ_ONCE(fail_read_mask) & BIT(regnum))
		return -EIO;

	switch (regnum) {
	case MII_BMSR:
		return SIM_BMSR_ABILITIES | (link ? BMSR_LSTATUS : 0) |
			(link && (p->regs[MII_BMCR] & BMCR_ANENABLE) ? BMSR_ANEGCOMPLETE : 0);
	case MII_PHYSID1:
		return id >> 16;
	case MII_PHYSID2:
		return id & 0xffff;
	case MII_LPA:
		return link ? SIM_LPA : 0;
	case MII_EXPANSION:
		return link ? EXPANSION_NWAY : 0;
	case MII_STAT1000:
		return link ? SIM_STAT1000 : 0;
	case MII_ESTATUS:
		return SIM_ESTATUS;
	case SIM_AUX_CTL:
		return p->aux[p->aux_read_sel];
	case SIM_SHD:
		return p->shd_read_sel << 10 | p->shd[p->shd_read_sel];
	default:
		return p->regs[regnum];
	}
}

static int sim_write(struct mii_bus *bus, int addr, int regnum, u16 val)
{
	struct sim_phy *p = bus->priv;
	u16 sel;

	if (addr != SIM_ADDR)
		return 0;

	switch (regnum) {
	case MII_BMCR:
		if (val & BMCR_RESET) {
			sim_phy_reset(p);
			if (READ_ONCE(reset_stuck))
				p->regs[MII_BMCR] |= BMCR_RESET;
			return 0;
		}
		/* A stuck reset ignores everything but another reset. */
		if (p->regs[MII_BMCR] & BMCR_RESET)
			return 0;
		/* Restarting auto-negotiation completes at once. */
		p->regs[MII_BMCR] = val & ~BMCR_ANRESTART;
		return 0;
	case SIM_AUX_CTL:
		sel = val & SIM_AUX_SHDW_MASK;
		if (sel == SIM_AUX_SHDW_MISC && !(val & SIM_AUX_MISC_WREN))
			p->aux_read_sel = (val >> 12) & SIM_AUX_SHDW_MASK;
		else
			p->aux[sel] = val & ~SIM_AUX_MISC_WREN;
		return 0;
	case SIM_SHD:
		sel = (val >> 10) & 0x1f;
		if (val & SIM_SHD_WRITE)
			p->shd[sel] = val & SIM_SHD_DATA;
		else
			p->shd_read_sel = sel;
		return 0;
	default:
		p->regs[regnum] = val;
		return 0;
	}
}

/* phylib's link change hook: there is no net_device to tell. */
static void sim_link_change(struct phy_device *phydev, bool up)
{
	sim.link_changes++;
}

static int sim_parse_mode(const char *name, phy_interface_t *mode)
{
	phy_interface_t i;

	for (i = PHY_INTERFACE_MODE_NA; i < PHY_INTERFACE_MODE_MAX; i++) {
		if (sysfs_streq(name, phy_modes(i))) {
			*mode = i;
			return 0;
		}
	}
	return -EINVAL;
}

static int sim_attach(const char *mode_name)
{
	struct phy_device *phydev = sim.phydev;
	phy_interface_t mode;
	int ret;

	if (sim.attached)
		return -EBUSY;
	ret = sim_parse_mode(mode_name, &mode);
	if (ret) {
		pr_err("attach: unknown phy-mode '%s'\n", mode_name);
		return ret;
	}
	if (!phydev->mdio.dev.driver) {
		pr_err("attach: no driver is bound to %s\n", phydev_name(phydev));
		return -ENODEV;
	}
	ret = phy_attach_direct(NULL, phydev, 0, mode);
	if (ret) {
		pr_err("attach: phy_attach_direct: %d\n", ret);
		return ret;
	}
	phydev->phy_link_change = sim_link_change;
	sim.attached = true;
	phy_start(phydev);
	return 0;
}

static void sim_detach(void)
{
	if (!sim.attached)
		return;
	phy_stop(sim.phydev);
	phy_detach(sim.phydev);
	sim.attached = false;
}

static ssize_t control_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[64], *arg;
	int ret;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	arg = strim(buf);

	mutex_lock(&sim.lock);
	if (str_has_prefix(arg, "attach "))
		ret = sim_attach(strim(arg + strlen("attach ")));
	else if (sysfs_streq(arg, "detach"))
		ret = sim.attached ? (sim_detach(), 0) : -ENOTCONN;
	else if (sysfs_streq(arg, "suspend"))
		ret = sim.attached ? phy_suspend(sim.phydev) : -ENOTCONN;
	else if (sysfs_streq(arg, "resume"))
		ret = sim.attached ? phy_resume(sim.phydev) : -ENOTCONN;
	else
		ret = -EINVAL;
	mutex_unlock(&sim.lock);
	return ret ? ret : len;
}

static const struct file_operations control_fops = {
	.owner = THIS_MODULE,
	.write = control_write,
	.llseek = noop_llseek,
};

static int status_show(struct seq_file *m, void *v)
{
	struct phy_device *phydev = sim.phydev;
	struct device_driver *drv;

	mutex_lock(&sim.lock);
	drv = phydev->mdio.dev.driver;
	seq_printf(m, "device %s\nphy_id 0x%08x\ndriver %s\nattached %d\n",
		   phydev_name(phydev), phydev->phy_id, drv ? drv->name : "none",
		   sim.attached);
	if (sim.attached) {
		mutex_lock(&phydev->lock);
		seq_printf(m, "interface %s\nlink %d\nspeed %d\nduplex %s\nsuspended %d\n",
			   phy_modes(phydev->interface), phydev->link, phydev->speed,
			   phydev->duplex == DUPLEX_FULL ? "full" :
			   phydev->duplex == DUPLEX_HALF ? "half" : "unknown",
			   phydev->suspended);
		mutex_unlock(&phydev->lock);
	}
	seq_printf(m, "link_changes %u\n", sim.link_changes);
	mutex_unlock(&sim.lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(status);

static int regs_show(struct seq_file *m, void *v)
{
	struct sim_phy *p = sim.bus->priv;
	int i;

	mutex_lock(&sim.bus->mdio_lock);
	for (i = 0; i < ARRAY_SIZE(p->regs); i++)
		seq_printf(m, "reg%02x 0x%04x\n", i, p->regs[i]);
	seq_printf(m, "aux_misc 0x%04x\nshd_clk_ctl 0x%04x\n",
		   p->aux[SIM_AUX_SHDW_MISC], p->shd[SIM_SHD_CLK_CTL]);
	mutex_unlock(&sim.bus->mdio_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(regs);

static int __init sim_init(void)
{
	struct phy_device *phydev;
	struct sim_phy *p;
	int ret;

	mutex_init(&sim.lock);
	sim.bus = mdiobus_alloc_size(sizeof(*p));
	if (!sim.bus)
		return -ENOMEM;
	p = sim.bus->priv;
	sim_phy_reset(p);
	if (reset_stuck)
		p->regs[MII_BMCR] |= BMCR_RESET;
	sim.bus->name = "Ferro simulated MDIO bus";
	strscpy(sim.bus->id, "ferro-sim", MII_BUS_ID_SIZE);
	sim.bus->read = sim_read;
	sim.bus->write = sim_write;
	/* The one PHY is created below with the ID we choose, not scanned. */
	sim.bus->phy_mask = ~0U;

	ret = mdiobus_register(sim.bus);
	if (ret)
		goto err_free_bus;
	phydev = phy_device_create(sim.bus, SIM_ADDR, phy_id, false, NULL);
	if (IS_ERR(phydev)) {
		ret = PTR_ERR(phydev);
		goto err_unregister_bus;
	}
	sim.phydev = phydev;
	/* Adds the device; a driver that matches phy_id probes it now. */
	ret = phy_device_register(phydev);
	if (ret)
		goto err_free_phy;

	sim.debugfs = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_x32("fail_read_mask", 0600, sim.debugfs, &fail_read_mask);
	debugfs_create_bool("reset_stuck", 0600, sim.debugfs, &reset_stuck);
	debugfs_create_bool("link_off", 0600, sim.debugfs, &link_off);
	debugfs_create_file("control", 0200, sim.debugfs, NULL, &control_fops);
	debugfs_create_file("status", 0400, sim.debugfs, NULL, &status_fops);
	debugfs_create_file("regs", 0400, sim.debugfs, NULL, &regs_fops);

	pr_info("%s: PHY ID 0x%08x, ID registers 0x%08x, driver %s\n",
		phydev_name(phydev), phy_id, reg_id ? reg_id : phy_id,
		phydev->mdio.dev.driver ? phydev->mdio.dev.driver->name : "none");
	return 0;

err_free_phy:
	phy_device_free(phydev);
err_unregister_bus:
	mdiobus_unregister(sim.bus);
err_free_bus:
	mdiobus_free(sim.bus);
	return ret;
}

static void __exit sim_exit(void)
{
	debugfs_remove_recursive(sim.debugfs);
	/* An attached PHY holds a reference on this module: never here. */
	sim_detach();
	phy_device_remove(sim.phydev);
	phy_device_free(sim.phydev);
	mdiobus_unregister(sim.bus);
	mdiobus_free(sim.bus);
}

module_init(sim_init);
module_exit(sim_exit);

MODULE_DESCRIPTION("Simulated MDIO bus with fault injection, for ferro_phy's tests");
MODULE_AUTHOR("The Ferro developers");
MODULE_LICENSE("GPL");
