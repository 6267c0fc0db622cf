// SPDX-License-Identifier: GPL-2.0

//! Register facts and pure decoding, kept apart from MDIO access so that
//! KUnit can test them without a PHY.

use crate::phy_device::Interface;
use kernel::prelude::*;

/// BMCR: speed selection, least significant bit (100 Mb/s when set alone).
pub(crate) const BMCR_SPEED100: u16 = 1 << 13;
/// BMCR: speed selection, most significant bit (1000 Mb/s).
pub(crate) const BMCR_SPEED1000: u16 = 1 << 6;
/// BMCR: full duplex when auto-negotiation is off.
pub(crate) const BMCR_FULLDPLX: u16 = 1 << 8;

/// Clock delays on the RGMII interface, as the device tree's `phy-mode`
/// asks the PHY to add them (`rgmii-id`: both, `rgmii-rxid`/`-txid`: one,
/// `rgmii`: none, the MAC or the board adds them).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct RgmiiDelays {
    /// Delay the receive clock (RXC) relative to the data.
    pub(crate) rx: bool,
    /// Delay the transmit clock (GTXCLK) relative to the data.
    pub(crate) tx: bool,
}

impl RgmiiDelays {
    /// The delays an interface mode asks for; `None` for a mode that is
    /// not RGMII (the PHY's delay settings are then left alone).
    pub(crate) fn for_interface(mode: Interface) -> Option<Self> {
        let (rx, tx) = match mode {
            Interface::Rgmii => (false, false),
            Interface::RgmiiId => (true, true),
            Interface::RgmiiRxid => (true, false),
            Interface::RgmiiTxid => (false, true),
            _ => return None,
        };
        Some(Self { rx, tx })
    }
}

/// Link speed and duplex as a PHY reports them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Mode {
    /// Mb/s.
    pub(crate) speed: u32,
    /// Full duplex.
    pub(crate) full: bool,
}

/// The mode BMCR forces when auto-negotiation is off (IEEE 802.3 22.2.4.1).
pub(crate) fn forced_mode(bmcr: u16) -> Mode {
    let speed = match (bmcr & BMCR_SPEED1000 != 0, bmcr & BMCR_SPEED100 != 0) {
        (true, false) => 1000,
        (false, true) => 100,
        _ => 10,
    };
    Mode {
        speed,
        full: bmcr & BMCR_FULLDPLX != 0,
    }
}

/// The 32-bit PHY ID phylib matches on, from PHYSID1 (bits 31:16) and
/// PHYSID2 (bits 15:0).
pub(crate) const fn phy_id(physid1: u16, physid2: u16) -> u32 {
    (physid1 as u32) << 16 | physid2 as u32
}

/// Broadcom's auxiliary control register (0x18, `BCM_AUX_CTL` in
/// `ferro_phy.rs`) with its "misc" shadow, and the 0x1c shadow block
/// (`BCM_SHD`).
pub(crate) mod bcm {
    /// Shadow selector of the misc control shadow register.
    pub(crate) const AUXCTL_SHDWSEL_MISC: u16 = 0x07;
    /// Misc control: write enable.
    pub(crate) const AUXCTL_MISC_WREN: u16 = 0x8000;
    /// Misc control: RGMII receive clock skew (the RX delay).
    pub(crate) const AUXCTL_MISC_RGMII_SKEW_EN: u16 = 0x0100;
    /// 0x1c: write enable.
    pub(crate) const SHD_WRITE: u16 = 0x8000;
    /// 0x1c shadow 3, clock control.
    pub(crate) const SHD_CLK_CTL: u16 = 0x03;
    /// Clock control: GTXCLK delay enable (the TX delay).
    pub(crate) const SHD_CLK_CTL_GTXCLK_EN: u16 = 1 << 9;

    /// What to write to 0x18 to read back the misc shadow register.
    pub(crate) const fn auxctl_misc_read_select() -> u16 {
        AUXCTL_SHDWSEL_MISC << 12 | AUXCTL_SHDWSEL_MISC
    }

    /// What to write to 0x18 to set the misc shadow register to `misc`,
    /// with the RX skew bit set or cleared.
    pub(crate) const fn auxctl_misc_write(misc: u16, rx_delay: bool) -> u16 {
        let misc = if rx_delay {
            misc | AUXCTL_MISC_RGMII_SKEW_EN
        } else {
            misc & !AUXCTL_MISC_RGMII_SKEW_EN
        };
        // The low three bits select the shadow register.
        (misc & !0x0007) | AUXCTL_MISC_WREN | AUXCTL_SHDWSEL_MISC
    }

    /// What to write to 0x1c to select shadow `shadow` for reading.
    pub(crate) const fn shd_read_select(shadow: u16) -> u16 {
        (shadow & 0x1f) << 10
    }

    /// What to write to 0x1c to set shadow `shadow`'s ten data bits.
    pub(crate) const fn shd_write(shadow: u16, data: u16) -> u16 {
        SHD_WRITE | (shadow & 0x1f) << 10 | (data & 0x3ff)
    }
}

/// Marvell 88E1111: the extended PHY specific control register (0x14,
/// `M88E1111_EXT_CR` in `ferro_phy.rs`) and its RGMII timing bits.
pub(crate) mod m88e1111 {
    /// Add delay to RX_CLK for RXD outputs.
    pub(crate) const EXT_CR_RX_DELAY: u16 = 1 << 7;
    /// Add delay to GTX_CLK for TXD inputs.
    pub(crate) const EXT_CR_TX_DELAY: u16 = 1 << 1;

    /// EXT_CR with the delay bits set as asked, other bits kept.
    pub(crate) const fn ext_cr(old: u16, rx: bool, tx: bool) -> u16 {
        let mut v = old & !(EXT_CR_RX_DELAY | EXT_CR_TX_DELAY);
        if rx {
            v |= EXT_CR_RX_DELAY;
        }
        if tx {
            v |= EXT_CR_TX_DELAY;
        }
        v
    }
}

#[kunit_tests(ferro_phy)]
mod tests {
    use super::*;

    #[test]
    fn rgmii_modes_map_to_delays() {
        let d = |mode| RgmiiDelays::for_interface(mode).map(|d| (d.rx, d.tx));
        assert_eq!(d(Interface::Rgmii), Some((false, false)));
        assert_eq!(d(Interface::RgmiiId), Some((true, true)));
        assert_eq!(d(Interface::RgmiiRxid), Some((true, false)));
        assert_eq!(d(Interface::RgmiiTxid), Some((false, true)));
        assert_eq!(d(Interface::Other(0)), None);
    }

    #[test]
    fn forced_modes_decode() {
        assert_eq!(
            forced_mode(0),
            Mode {
                speed: 10,
                full: false
            }
        );
        assert_eq!(
            forced_mode(BMCR_SPEED100 | BMCR_FULLDPLX),
            Mode {
                speed: 100,
                full: true
            }
        );
        assert_eq!(
            forced_mode(BMCR_SPEED1000 | BMCR_FULLDPLX),
            Mode {
                speed: 1000,
                full: true
            }
        );
        // Both speed bits set is reserved: treated as 10 Mb/s.
        assert_eq!(forced_mode(BMCR_SPEED1000 | BMCR_SPEED100).speed, 10);
    }

    #[test]
    fn phy_id_from_registers() {
        assert_eq!(phy_id(0x600d, 0x84a2), 0x600d84a2);
        assert_eq!(phy_id(0x0141, 0x0cc2), 0x01410cc2);
        assert_eq!(phy_id(0xffff, 0xffff), u32::MAX);
    }

    #[test]
    fn broadcom_shadow_encodings() {
        assert_eq!(bcm::auxctl_misc_read_select(), 0x7007);
        // Read-back value 0x30f7 (shadow bits 0x7): skew set, WREN, selector kept.
        assert_eq!(bcm::auxctl_misc_write(0x30f7, true), 0xb1f7);
        assert_eq!(bcm::auxctl_misc_write(0x31f7, false), 0xb0f7);
        assert_eq!(bcm::shd_read_select(bcm::SHD_CLK_CTL), 0x0c00);
        assert_eq!(bcm::shd_write(bcm::SHD_CLK_CTL, 0x0200), 0x8e00);
    }

    #[test]
    fn marvell_delay_bits() {
        assert_eq!(m88e1111::ext_cr(0x0c60, true, true), 0x0ce2);
        assert_eq!(m88e1111::ext_cr(0x0ce2, false, false), 0x0c60);
        assert_eq!(m88e1111::ext_cr(0x0c60, true, false), 0x0ce0);
    }
}
