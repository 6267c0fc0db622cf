// SPDX-License-Identifier: GPL-2.0

//! The configfs tree: `/sys/kernel/config/ferro_null/`, where `mkdir`
//! makes a device directory with one attribute per setting, and writing 1
//! to its `power` adds the device.

use crate::{
    config::{self, settings, Config, NAMES},
    log_invalid, Device,
};
use kernel::{
    configfs::{self, AttributeOperations},
    configfs_attrs,
    fmt::Write as _,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
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

impl DeviceDir {
    fn show_setting(&self, name: &str, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let value = self.state.lock().config.get(name).ok_or(EINVAL)?;
        let mut w = kernel::str::Formatter::new(page);
        writeln!(w, "{value}")?;
        Ok(w.bytes_written())
    }

    fn store_setting(&self, name: &str, page: &[u8]) -> Result {
        let value = config::parse_u64(page)?;
        let mut state = self.state.lock();
        if state.device.is_some() {
            return Err(EBUSY);
        }
        state.config.set(name, value)
    }

    fn store_power(&self, page: &[u8]) -> Result {
        let on = kernel::str::kstrtobool_bytes(page)?;
        let mut state = self.state.lock();
        if on && state.device.is_none() {
            let config = state.config;
            config.validate().map_err(|e| {
                log_invalid("attribute", e, config.get(e.name));
                EINVAL
            })?;
            state.device = Some(Device::add(&config)?);
        } else if !on {
            drop(state.device.take());
        }
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
                dir.show_setting(stringify!($name), page)
            }

            fn store(dir: &DeviceDir, page: &[u8]) -> Result {
                dir.store_setting(stringify!($name), page)
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
        let on = dir.state.lock().device.is_some();
        let mut w = kernel::str::Formatter::new(page);
        writeln!(w, "{}", u8::from(on))?;
        Ok(w.bytes_written())
    }

    fn store(dir: &DeviceDir, page: &[u8]) -> Result {
        dir.store_power(page)
    }
}

#[vtable]
impl AttributeOperations<11> for DeviceDir {
    type Data = DeviceDir;

    /// `index`: N of `/dev/ferro_nullb<N>` while powered, else empty.
    fn show(dir: &DeviceDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
        let index = dir.state.lock().device.as_ref().map(|d| d.index);
        let mut w = kernel::str::Formatter::new(page);
        if let Some(index) = index {
            writeln!(w, "{index}")?;
        }
        Ok(w.bytes_written())
    }
}
