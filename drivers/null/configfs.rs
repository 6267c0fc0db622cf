// SPDX-License-Identifier: GPL-2.0

//! The configfs tree: `/sys/kernel/config/ferro_null/`, where `mkdir`
//! makes a device directory with one attribute per setting, and writing 1
//! to its `power` adds the device.

use crate::{
    compat::configfs_attrs,
    config::{settings, Config, NAMES},
    Device,
};
use kernel::{
    configfs::{self, AttributeOperations},
    fmt::Write as _,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    str::{parse_int::ParseInt, BStr},
    sync::Mutex,
};

/// The configfs item type of a device directory: one attribute per
/// setting, numbered as in [`settings!`], then `power` and `index`.
macro_rules! device_dir_type {
    ($($id:tt $name:ident: $ty:ident = $default:tt, $lo:tt..=$hi:tt, $rule:tt, $desc:tt;)*) => {
        configfs_attrs! {
            container: configfs::Group<DeviceDir>,
            data: DeviceDir,
            attributes: [
                $($name: $id,)*
                power: 10,
                index: 11,
            ],
        }
    };
}

/// The subsystem `ferro_null` in configfs.
pub(crate) fn subsystem() -> impl PinInit<configfs::Subsystem<Root>, Error> {
    let item_type = configfs_attrs! {
        container: configfs::Subsystem<Root>,
        data: Root,
        child: DeviceDir,
        attributes: [
            features: 0,
        ],
    };
    configfs::Subsystem::new(c"ferro_null", item_type, try_pin_init!(Root {}))
}

/// The configfs subsystem's data: `mkdir` in it makes a [`DeviceDir`].
#[pin_data]
pub(crate) struct Root {}

#[vtable]
impl AttributeOperations<0> for Root {
    type Data = Root;

    /// `features`: the attributes a device directory has.
    fn show(_root: &Root, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let mut w = kernel::str::Formatter::new(page);
        for name in NAMES {
            w.write_str(name)?;
            w.write_str(" ")?;
        }
        w.write_str("power index\n")?;
        Ok(w.bytes_written())
    }
}

#[vtable]
impl configfs::GroupOperations for Root {
    type Child = DeviceDir;

    fn make_group(&self, name: &CStr) -> Result<impl PinInit<configfs::Group<DeviceDir>, Error>> {
        let item_type = settings!(device_dir_type);
        Ok(configfs::Group::new(
            name.try_into()?,
            item_type,
            try_pin_init!(DeviceDir {
                state <- new_mutex!(DeviceState {
                    config: Config::default(),
                    device: None,
                }),
            }),
        ))
    }
}

/// A device directory: its settings and, while powered, its device.
/// `rmdir` drops it, which removes the device.
#[pin_data]
pub(crate) struct DeviceDir {
    #[pin]
    state: Mutex<DeviceState>,
}

/// What the mutex of a [`DeviceDir`] protects.
struct DeviceState {
    config: Config,
    device: Option<Device>,
}

/// Shows `value` and a newline in an attribute's page.
fn show_line(page: &mut [u8; PAGE_SIZE], value: impl core::fmt::Display) -> Result<usize> {
    let mut w = kernel::str::Formatter::new(page);
    writeln!(w, "{value}")?;
    Ok(w.bytes_written())
}

impl DeviceDir {
    /// Writes a setting, which only a device that is off can change.
    fn store_setting(&self, page: &[u8], set: impl FnOnce(&mut Config, u64)) -> Result {
        // A number as kstrtou64() reads one (base prefixes too), and the
        // newline `echo` adds.
        let value = u64::from_str(BStr::from_bytes(page.trim_ascii_end()))?;
        let mut state = self.state.lock();
        if state.device.is_some() {
            return Err(EBUSY);
        }
        set(&mut state.config, value);
        Ok(())
    }
}

/// Implements each setting's configfs attribute.
macro_rules! setting_attributes {
    ($($id:tt $name:ident: $ty:ident = $default:tt, $lo:tt..=$hi:tt, $rule:tt, $desc:tt;)*) => {$(
        #[vtable]
        impl AttributeOperations<$id> for DeviceDir {
            type Data = DeviceDir;

            fn show(dir: &DeviceDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
                show_line(page, dir.state.lock().config.$name)
            }

            fn store(dir: &DeviceDir, page: &[u8]) -> Result {
                dir.store_setting(page, |config, value| config.$name = value)
            }
        }
    )*};
}
settings!(setting_attributes);

#[vtable]
impl AttributeOperations<10> for DeviceDir {
    type Data = DeviceDir;

    /// `power`: 1 while the device exists.
    fn show(dir: &DeviceDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        show_line(page, u8::from(dir.state.lock().device.is_some()))
    }

    fn store(dir: &DeviceDir, page: &[u8]) -> Result {
        let on = kernel::str::kstrtobool_bytes(page)?;
        let mut state = dir.state.lock();
        if on && state.device.is_none() {
            state.config.check("attribute")?;
            state.device = Some(Device::add(&state.config)?);
        } else if !on {
            drop(state.device.take());
        }
        Ok(())
    }
}

#[vtable]
impl AttributeOperations<11> for DeviceDir {
    type Data = DeviceDir;

    /// `index`: N of `/dev/ferro_nullb<N>` while powered, else empty.
    fn show(dir: &DeviceDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        match dir.state.lock().device.as_ref() {
            Some(device) => show_line(page, device.index),
            None => Ok(0),
        }
    }
}
