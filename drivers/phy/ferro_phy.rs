// SPDX-License-Identifier: GPL-2.0

//! `ferro_phy`: Rust phylib drivers for the Broadcom BCM54213PE (Raspberry
//! Pi 4 and 5) and the Marvell 88E1111 that QEMU emulates behind its
//! Cadence GEM.
//!
//! How C enters this module: its init (or level-6 initcall when built in)
//! registers both drivers with `phy_drivers_register`; the MDIO bus matches
//! a PHY's ID (`phy_bus_match`), the driver core calls `phy_probe`, which
//! calls the kernel crate's `probe_callback` and our `probe`, then
//! `get_features`. When the MAC attaches the PHY and the interface goes up,
//! phylib calls `soft_reset` (from `phy_init_hw`), and its state machine
//! `config_aneg` (from `_phy_start_aneg`) and, every poll, `read_status`.

#[path = "../../kext/phy_device.rs"]
mod phy_device;
mod regs;

use core::marker::PhantomData;
use kernel::{
    net::phy::{self, reg::C22, DeviceId, Driver},
    prelude::*,
};
use phy_device::DeviceExt;
use regs::RgmiiDelays;

/// Broadcom auxiliary control register (see `regs::bcm`).
const BCM_AUX_CTL: C22 = C22::vendor_specific::<0x18>();
/// Broadcom 0x1c shadow register block (see `regs::bcm`).
const BCM_SHD: C22 = C22::vendor_specific::<0x1c>();
/// Marvell 88E1111 extended PHY specific control (see `regs::m88e1111`).
const M88E1111_EXT_CR: C22 = C22::vendor_specific::<0x14>();

/// What differs between the PHYs this module drives: the name, the ID and
/// where the RGMII delay bits are. Everything else is the same IEEE 802.3
/// clause 22 work, done once in [`FerroPhy`].
trait Model {
    /// The driver's name, as sysfs shows it.
    const NAME: &'static CStr;
    /// The PHY ID, matched exactly.
    const ID: u32;

    /// Sets the RGMII clock delays `phy-mode` asks for.
    fn set_delays(dev: &mut phy::Device) -> Result;
}

/// Broadcom BCM54213PE, the PHY of the Raspberry Pi 4 and 5.
struct Bcm54213pe;

impl Model for Bcm54213pe {
    const NAME: &'static CStr = c"Ferro BCM54213PE";
    const ID: u32 = 0x600d84a2;

    /// The RX skew in the auxiliary control misc shadow, the GTXCLK delay
    /// in shadow 0x1c/3.
    fn set_delays(dev: &mut phy::Device) -> Result {
        let Some(d) = RgmiiDelays::for_interface(dev.interface()) else {
            return Ok(());
        };
        dev.write(BCM_AUX_CTL, regs::bcm::auxctl_misc_read_select())?;
        let misc = dev.read(BCM_AUX_CTL)?;
        dev.write(BCM_AUX_CTL, regs::bcm::auxctl_misc_write(misc, d.rx))?;

        dev.write(BCM_SHD, regs::bcm::shd_read_select(regs::bcm::SHD_CLK_CTL))?;
        let clk = dev.read(BCM_SHD)? & 0x3ff;
        let clk = if d.tx {
            clk | regs::bcm::SHD_CLK_CTL_GTXCLK_EN
        } else {
            clk & !regs::bcm::SHD_CLK_CTL_GTXCLK_EN
        };
        dev.write(BCM_SHD, regs::bcm::shd_write(regs::bcm::SHD_CLK_CTL, clk))
    }
}

/// Marvell 88E1111, as QEMU's Cadence GEM model emulates it.
struct M88e1111;

impl Model for M88e1111 {
    const NAME: &'static CStr = c"Ferro 88E1111";
    const ID: u32 = 0x01410cc2;

    /// The RGMII timing bits of the extended specific control register.
    fn set_delays(dev: &mut phy::Device) -> Result {
        let Some(d) = RgmiiDelays::for_interface(dev.interface()) else {
            return Ok(());
        };
        let old = dev.read(M88E1111_EXT_CR)?;
        dev.write(M88E1111_EXT_CR, regs::m88e1111::ext_cr(old, d.rx, d.tx))
    }
}

/// The phylib driver for one [`Model`].
struct FerroPhy<M: Model>(PhantomData<M>);

#[vtable]
impl<M: Model> Driver for FerroPhy<M> {
    const NAME: &'static CStr = M::NAME;
    const PHY_DEVICE_ID: DeviceId = DeviceId::new_with_exact_mask(M::ID);

    fn probe(dev: &mut phy::Device) -> Result {
        check_identity(dev, M::ID)
    }

    fn get_features(dev: &mut phy::Device) -> Result {
        dev.genphy_read_abilities().inspect_err(|e| {
            dev_err!(
                dev.as_ref(),
                "cannot read the PHY's abilities: error {}\n",
                e.to_errno()
            );
        })
    }

    fn soft_reset(dev: &mut phy::Device) -> Result {
        // Sets BMCR_RESET and polls it clear, bounded (600 ms): -ETIMEDOUT
        // rather than a hang if the PHY never comes back.
        dev.genphy_soft_reset().inspect_err(|e| {
            if *e == ETIMEDOUT {
                dev_err!(
                    dev.as_ref(),
                    "soft reset: BMCR_RESET still set after 600 ms\n"
                );
            } else {
                dev_err!(dev.as_ref(), "soft reset failed: error {}\n", e.to_errno());
            }
        })
    }

    fn config_aneg(dev: &mut phy::Device) -> Result {
        M::set_delays(dev)?;
        dev.genphy_config_aneg()
    }

    fn read_status(dev: &mut phy::Device) -> Result<u16> {
        read_status(dev)
    }

    fn suspend(dev: &mut phy::Device) -> Result {
        dev.genphy_suspend()
    }

    fn resume(dev: &mut phy::Device) -> Result {
        dev.genphy_resume()
    }
}

/// Refuses a PHY whose ID registers do not hold `expected`.
///
/// phylib matched the driver on the ID it created the device with, which
/// comes from these registers when the bus is scanned, but from the device
/// tree when a PHY node says `compatible = "ethernet-phy-idXXXX.XXXX"`; a
/// wrong board description then hands us a PHY we do not know. `-ENODEV`
/// leaves the device unbound (the driver core logs nothing for it, so we
/// do); an MDIO error fails the probe with that error.
fn check_identity(dev: &mut phy::Device, expected: u32) -> Result {
    let id = match read_id(dev) {
        Ok(id) => id,
        Err(e) => {
            dev_err!(
                dev.as_ref(),
                "cannot read the PHY ID registers: error {}\n",
                e.to_errno()
            );
            return Err(e);
        }
    };
    if id != expected {
        dev_err!(
            dev.as_ref(),
            "PHY ID registers read 0x{id:08x}, not 0x{expected:08x}: not binding\n"
        );
        return Err(ENODEV);
    }
    Ok(())
}

/// The 32-bit PHY ID from PHYSID1 (high half) and PHYSID2.
fn read_id(dev: &mut phy::Device) -> Result<u32> {
    let hi = dev.read(C22::PHYSID1)?;
    let lo = dev.read(C22::PHYSID2)?;
    Ok(regs::phy_id(hi, lo))
}

/// Link, speed and duplex: from the negotiated abilities when
/// auto-negotiation is on, from BMCR when it is forced.
///
/// An MDIO error is not returned: phylib answers an error from
/// `read_status` with a `WARN` and its error state. A PHY that cannot be
/// read has no usable link, so the link is reported down (logged when it
/// was up) and the next poll tries again.
fn read_status(dev: &mut phy::Device) -> Result<u16> {
    if let Err(e) = read_link(dev) {
        if dev.is_link_up() {
            dev_err!(
                dev.as_ref(),
                "link down: MDIO read failed: error {}\n",
                e.to_errno()
            );
        }
        dev.set_link_down();
    }
    Ok(0)
}

/// The body of [`read_status`], with MDIO errors returned.
fn read_link(dev: &mut phy::Device) -> Result {
    dev.genphy_update_link()?;
    if dev.is_autoneg_enabled() {
        if !dev.is_link_up() || !dev.is_autoneg_completed() {
            return Ok(());
        }
        dev.genphy_read_lpa()?;
        dev.resolve_aneg_linkmode();
    } else {
        let mode = regs::forced_mode(dev.read(C22::BMCR)?);
        dev.set_speed(mode.speed);
        dev.set_duplex(if mode.full {
            phy::DuplexMode::Full
        } else {
            phy::DuplexMode::Half
        });
    }
    Ok(())
}

/// The phylib driver of the BCM54213PE.
type Bcm54213peDriver = FerroPhy<Bcm54213pe>;
/// The phylib driver of the 88E1111.
type M88e1111Driver = FerroPhy<M88e1111>;

kernel::module_phy_driver! {
    drivers: [Bcm54213peDriver, M88e1111Driver],
    device_table: [
        DeviceId::new_with_driver::<Bcm54213peDriver>(),
        DeviceId::new_with_driver::<M88e1111Driver>(),
    ],
    name: "ferro_phy",
    authors: ["The Ferro developers"],
    description: "Broadcom BCM54213PE and Marvell 88E1111 PHY drivers",
    license: "GPL",
}
