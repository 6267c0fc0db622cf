// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/net/phy/device_ext.rs

//! What a PHY driver's callbacks need from `struct phy_device` beyond the
//! 7.3 kernel crate's `phy::Device`: the interface mode the MAC attached
//! the PHY with ([`DeviceExt::interface`]), the standard
//! auto-negotiation setup ([`DeviceExt::genphy_config_aneg`]) and a way
//! to report the link down ([`DeviceExt::set_link_down`]).
//!
//! A candidate for upstream as methods of `kernel::net::phy::Device`
//! (`interface()`, `genphy_config_aneg()`, `set_link()`).

use kernel::{bindings, error::to_result, net::phy::Device, prelude::*};

/// The RGMII interface modes (`phy_interface_t`, `include/linux/phy.h`),
/// which tell a PHY which clock delays it must add.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Interface {
    /// `PHY_INTERFACE_MODE_RGMII`: the MAC or the board adds both delays.
    Rgmii,
    /// `PHY_INTERFACE_MODE_RGMII_ID`: the PHY adds both delays.
    RgmiiId,
    /// `PHY_INTERFACE_MODE_RGMII_RXID`: the PHY delays the receive clock.
    RgmiiRxid,
    /// `PHY_INTERFACE_MODE_RGMII_TXID`: the PHY delays the transmit clock.
    RgmiiTxid,
    /// Any other mode, by its `phy_interface_t` value.
    Other(u32),
}

impl Interface {
    /// The mode a `phy_interface_t` value names.
    pub(crate) fn from_raw(mode: u32) -> Self {
        match mode {
            bindings::phy_interface_t_PHY_INTERFACE_MODE_RGMII => Self::Rgmii,
            bindings::phy_interface_t_PHY_INTERFACE_MODE_RGMII_ID => Self::RgmiiId,
            bindings::phy_interface_t_PHY_INTERFACE_MODE_RGMII_RXID => Self::RgmiiRxid,
            bindings::phy_interface_t_PHY_INTERFACE_MODE_RGMII_TXID => Self::RgmiiTxid,
            other => Self::Other(other),
        }
    }
}

/// The `phy_device` behind `dev`.
fn raw(dev: &mut Device) -> *mut bindings::phy_device {
    // `Device` is `#[repr(transparent)]` over `Opaque<bindings::phy_device>`.
    core::ptr::from_mut(dev).cast()
}

/// Accessors for [`Device`] that the 7.3 kernel crate lacks.
pub(crate) trait DeviceExt {
    /// The interface mode the MAC attached the PHY with, from the device
    /// tree's `phy-mode` (`phydev->interface`).
    fn interface(&mut self) -> Interface;

    /// Writes the advertisement registers and restarts auto-negotiation if
    /// they changed: the C `genphy_config_aneg()`, the standard part of a
    /// `config_aneg` callback. (`Device::start_aneg` is `phy_start_aneg`,
    /// which calls the driver's `config_aneg` and would recurse.)
    fn genphy_config_aneg(&mut self) -> Result;

    /// Reports the link down (`phydev->link = 0`), from `read_status`.
    fn set_link_down(&mut self);
}

impl DeviceExt for Device {
    fn interface(&mut self) -> Interface {
        let raw = raw(self);
        // SAFETY: `raw` is the `phy_device` phylib handed to the callback
        // that gave us `self`, valid for its duration. phylib sets
        // `interface` when the MAC attaches the PHY, before it calls the
        // driver's callbacks, and holds `phydev->lock` while it calls them,
        // so the read does not race with a writer.
        Interface::from_raw(unsafe { (*raw).interface })
    }

    fn genphy_config_aneg(&mut self) -> Result {
        let raw = raw(self);
        // SAFETY: As in `interface`, `raw` is valid and locked by phylib for
        // the callback's duration, the context `__genphy_config_aneg`
        // expects.
        to_result(unsafe { bindings::__genphy_config_aneg(raw, false) })
    }

    fn set_link_down(&mut self) {
        let raw = raw(self);
        // SAFETY: As in `interface`; `phydev->lock`, which phylib holds
        // while it calls `read_status`, guards `link`.
        unsafe { (*raw).set_link(0) };
    }
}
