// SPDX-License-Identifier: GPL-2.0

//! `ferro_null`: a null block device on blk-mq.
//!
//! Devices `/dev/ferro_nullb<N>` accept reads and writes and do nothing
//! with them, or, memory backed, keep what was written. Requests complete
//! in `queue_rq`, from the block softirq or from a timer; errors can be
//! injected. Devices come from the module parameters at load and from
//! `mkdir` in `/sys/kernel/config/ferro_null/` at run time.
//!
//! How C enters this module: the module's init (or the level-6 initcall
//! when built in) validates the parameters, adds the parameter devices and
//! registers the configfs subsystem. blk-mq dispatch
//! (`blk_mq_dispatch_rq_list`) calls the kernel crate's `queue_rq`
//! trampoline, which calls `NullOps::queue_rq`; in the softirq mode the
//! block softirq calls the `complete` trampoline and `NullOps::complete`;
//! configfs `mkdir` calls the crate's `make_group` trampoline and
//! `Root::make_group`; writes to the attributes call their `store`.

#[path = "../../kext/block_disk.rs"]
mod block_disk;
#[path = "../../kext/block_request.rs"]
mod block_request;
mod config;
#[path = "../../kext/hrtimer.rs"]
mod hrtimer;
mod store;
mod timer;

use block_disk::{BlockOps, Disk, Limits};
use block_request::{Op, RequestExt};
use config::{Completion, Config, Invalid, NAMES};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    block::mq::{Operations, Request, TagSet},
    configfs::{self, AttributeOperations},
    configfs_attrs,
    fmt::Write as _,
    new_mutex,
    page::PAGE_SIZE,
    prelude::*,
    sync::{aref::ARef, Arc, Mutex},
};
use store::Store;
use timer::TimerQueue;

module! {
    type: FerroNull,
    name: "ferro_null",
    authors: ["The Ferro developers"],
    description: "Null block device on blk-mq, configurable through configfs",
    license: "GPL",
    params: {
        nr_devices: u32 {
            default: 1,
            description: "Devices to add at load (0..64)",
        },
        capacity_mb: u64 {
            default: 1024,
            description: "Capacity of each device in MiB (1..1048576)",
        },
        block_size: u32 {
            default: 512,
            description: "Logical block size in bytes (power of two, 512..4096)",
        },
        hw_queues: u32 {
            default: 1,
            description: "Hardware queues per device (1..64)",
        },
        queue_depth: u32 {
            default: 64,
            description: "Tags per hardware queue (1..4096)",
        },
        completion: u32 {
            default: 0,
            description: "Completion: 0 in queue_rq, 1 block softirq, 2 timer",
        },
        completion_nsec: u64 {
            default: 10000,
            description: "Delay of the timer completion in ns (1000..1000000000)",
        },
        memory_backed: bool {
            default: false,
            description: "Keep written data in memory",
        },
        fail_every: u64 {
            default: 0,
            description: "Fail every Nth read or write with an I/O error (0: never)",
        },
        fail_sector: u64 {
            default: 0,
            description: "First sector of a range whose reads and writes fail",
        },
        fail_sectors: u64 {
            default: 0,
            description: "Sectors in that range (0: no range)",
        },
    },
}

/// The disks' block device operations: they name this module, so an open
/// device keeps it loaded.
static BLOCK_OPS: BlockOps = BlockOps::new(kernel::module::this_module::<LocalModule>().as_ptr());

// Device numbers in use: bit N is `/dev/ferro_nullb<N>`.
kernel::sync::global_lock! {
    // SAFETY: Initialised by `FerroNull::init` before any device exists;
    // once per load of this module.
    unsafe(uninit) static INDICES: Mutex<u64> = 0;
}

/// The blk-mq callbacks.
struct NullOps;

/// One device's state, the queue data the callbacks receive.
#[pin_data]
struct Queue {
    config: Config,
    #[pin]
    store: Store,
    #[pin]
    timer: TimerQueue<NullOps>,
    /// Reads and writes seen, for `fail_every`.
    data_requests: AtomicU64,
}

impl Queue {
    /// Does what `rq` asks, short of completing it.
    fn execute(&self, rq: &Request<NullOps>) -> Result {
        let op = rq.op();
        if op == Op::Flush {
            // Nothing is volatile; a flush has no sector (blk-flush leaves
            // it at -1) and no data.
            return Ok(());
        }
        let sector = rq.sector();
        let bytes = rq.bytes();
        let end = sector.checked_add(u64::from(bytes) >> kernel::block::SECTOR_SHIFT);
        if end.is_none_or(|end| end > self.config.capacity_sectors()) {
            return Err(EIO);
        }
        if matches!(op, Op::Read | Op::Write) {
            // Counted only when it matters: an atomic add per request is
            // measurable at these rates (make bench).
            let nth = if self.config.fail_every != 0 {
                self.data_requests.fetch_add(1, Ordering::Relaxed) + 1
            } else {
                0
            };
            let sectors = u64::from(bytes) >> kernel::block::SECTOR_SHIFT;
            if self.config.fails_nth(nth) || self.config.in_fail_range(sector, sectors) {
                return Err(EIO);
            }
        }
        let memory = self.config.memory_backed;
        match op {
            Op::Read if memory => rq.for_each_segment(|pos, seg| self.store.read(pos, seg)),
            Op::Write if memory => rq.for_each_segment(|pos, seg| self.store.write(pos, seg)),
            Op::Discard | Op::WriteZeroes if memory => self
                .store
                .zero(sector << kernel::block::SECTOR_SHIFT, u64::from(bytes)),
            Op::Read | Op::Write | Op::Flush | Op::Discard | Op::WriteZeroes => Ok(()),
            Op::Other => Err(EOPNOTSUPP),
        }
    }
}

/// Hands a finished request back to the block layer.
fn end(rq: ARef<Request<NullOps>>) {
    // Cannot fail: the driver never clones a request's `ARef`, so this one
    // is the only one.
    let _ = Request::end_ok(rq);
}

#[vtable]
impl Operations for NullOps {
    type QueueData = Pin<KBox<Queue>>;

    fn queue_rq(queue: Pin<&Queue>, rq: ARef<Request<Self>>, _is_last: bool) -> Result {
        // An error ends the request with the matching status (EIO:
        // BLK_STS_IOERR) or, for ENOMEM, has the block layer retry it. The
        // 7.3 kernel crate can end a request with an error only this way,
        // so injected errors complete at once in every completion mode.
        queue.execute(&rq)?;
        match queue.config.completion {
            Completion::Direct => end(rq),
            Completion::Softirq => Request::complete(rq),
            // Full cannot happen (the tag set bounds the requests in
            // flight); EBUSY would have the block layer retry.
            Completion::Timer => timer::push(&queue.timer, rq).map_err(|_| EBUSY)?,
        }
        Ok(())
    }

    fn commit_rqs(_queue: Pin<&Queue>) {}

    fn complete(rq: ARef<Request<Self>>) {
        end(rq);
    }
}

/// A device added to the system: its number and its disk. Dropping it
/// removes the disk, waiting for the requests in flight, then frees the
/// number.
struct Device {
    index: u32,
    disk: Option<Disk<NullOps>>,
}

impl Device {
    /// Adds `/dev/ferro_nullb<N>` with `config` (already validated), N the
    /// lowest free number.
    fn add(config: &Config) -> Result<Self> {
        let index = {
            let mut used = INDICES.lock();
            let index = (!*used).trailing_zeros();
            if index >= config::MAX_DEVICES {
                return Err(ENOSPC);
            }
            *used |= 1 << index;
            index
        };
        // From here on, dropping `device` frees the number.
        let mut device = Device { index, disk: None };
        // Validated: both fit in u32.
        let tagset = Arc::pin_init(
            TagSet::new(config.hw_queues as u32, config.queue_depth as u32, 1),
            GFP_KERNEL,
        )?;
        let timer_slots = if config.completion == Completion::Timer {
            config.max_in_flight()
        } else {
            0
        };
        let queue = KBox::pin_init(
            try_pin_init!(Queue {
                config: *config,
                store <- Store::new(),
                timer <- timer::new(timer_slots, config.completion_nsec)?,
                data_requests: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        let limits = Limits {
            capacity_sectors: config.capacity_sectors(),
            block_size: config.block_size as u32,
            discard: config.memory_backed,
            write_cache: config.memory_backed,
        };
        device.disk = Some(Disk::add(
            fmt!("ferro_nullb{index}"),
            &limits,
            &BLOCK_OPS,
            tagset,
            queue,
        )?);
        Ok(device)
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        // The disk goes first, so that its name is free before its number.
        drop(self.disk.take());
        *INDICES.lock() &= !(1 << self.index);
    }
}

/// Logs a setting that is out of range.
fn log_invalid(source: &str, invalid: Invalid, value: Option<u64>) {
    match value {
        Some(value) => pr_err!(
            "invalid {} {}={}: must be {}\n",
            source,
            invalid.name,
            value,
            invalid.rule
        ),
        None => pr_err!(
            "invalid {} {}: must be {}\n",
            source,
            invalid.name,
            invalid.rule
        ),
    }
}

/// The settings the module parameters give.
fn parameters() -> Result<(u32, Config)> {
    use module_parameters as p;
    // Named here rather than zipped with `config::NAMES`, so that the
    // order of this list cannot silently pair a value with another name.
    let given = [
        ("capacity_mb", p::capacity_mb.value()),
        ("block_size", u64::from(p::block_size.value())),
        ("hw_queues", u64::from(p::hw_queues.value())),
        ("queue_depth", u64::from(p::queue_depth.value())),
        ("completion", u64::from(p::completion.value())),
        ("completion_nsec", p::completion_nsec.value()),
        ("memory_backed", u64::from(p::memory_backed.value())),
        ("fail_every", p::fail_every.value()),
        ("fail_sector", p::fail_sector.value()),
        ("fail_sectors", p::fail_sectors.value()),
    ];
    let mut config = Config::default();
    for (name, value) in given {
        config
            .set(name, value)
            .inspect_err(|e| log_invalid("parameter", *e, Some(value)))
            .map_err(|_| EINVAL)?;
    }
    config
        .validate()
        .inspect_err(|e| log_invalid("parameter", *e, config.get(e.name)))
        .map_err(|_| EINVAL)?;
    let nr_devices = p::nr_devices.value();
    if nr_devices > config::MAX_DEVICES {
        pr_err!(
            "invalid parameter nr_devices={}: must be 0..64\n",
            nr_devices
        );
        return Err(EINVAL);
    }
    Ok((nr_devices, config))
}

/// The configfs subsystem's data: `mkdir` in it makes a [`DeviceDir`].
#[pin_data]
struct Root {}

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
        let item_type = configfs_attrs! {
            container: configfs::Group<DeviceDir>,
            data: DeviceDir,
            attributes: [
                capacity_mb: 0,
                block_size: 1,
                hw_queues: 2,
                queue_depth: 3,
                completion: 4,
                completion_nsec: 5,
                memory_backed: 6,
                fail_every: 7,
                fail_sector: 8,
                fail_sectors: 9,
                power: 10,
                index: 11,
            ],
        };
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
struct DeviceDir {
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

    fn store_setting(&self, name: &'static str, page: &[u8]) -> Result {
        let value = config::parse_u64(page)?;
        let mut state = self.state.lock();
        if state.device.is_some() {
            return Err(EBUSY);
        }
        state.config.set(name, value).map_err(|_| EINVAL)
    }

    fn store_power(&self, page: &[u8]) -> Result {
        let on = config::parse_bool(page)?;
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

/// Implements the configfs attribute `$id` as the setting `$name`.
macro_rules! setting_attribute {
    ($($id:literal => $name:literal),* $(,)?) => {$(
        #[vtable]
        impl AttributeOperations<$id> for DeviceDir {
            type Data = DeviceDir;

            fn show(dir: &DeviceDir, page: &mut [u8; PAGE_SIZE]) -> Result<usize> {
                dir.show_setting($name, page)
            }

            fn store(dir: &DeviceDir, page: &[u8]) -> Result {
                dir.store_setting($name, page)
            }
        }
    )*};
}

setting_attribute! {
    0 => "capacity_mb",
    1 => "block_size",
    2 => "hw_queues",
    3 => "queue_depth",
    4 => "completion",
    5 => "completion_nsec",
    6 => "memory_backed",
    7 => "fail_every",
    8 => "fail_sector",
    9 => "fail_sectors",
}

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

/// The module: the configfs subsystem and the parameter devices. Fields
/// drop in order: configfs first (it has no directories left, as each
/// holds a module reference), then the devices.
#[pin_data]
struct FerroNull {
    #[pin]
    configfs: configfs::Subsystem<Root>,
    devices: KVec<Device>,
}

impl kernel::InPlaceModule for FerroNull {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: This is the module's init, which C calls exactly once.
        unsafe { INDICES.init() };
        let devices = parameters().and_then(|(count, config)| {
            let mut devices = KVec::with_capacity(count as usize, GFP_KERNEL)?;
            for _ in 0..count {
                devices.push(Device::add(&config)?, GFP_KERNEL)?;
            }
            Ok(devices)
        });
        let item_type = configfs_attrs! {
            container: configfs::Subsystem<Root>,
            data: Root,
            child: DeviceDir,
            attributes: [
                features: 0,
            ],
        };
        try_pin_init!(Self {
            devices: devices?,
            configfs <- configfs::Subsystem::new(c"ferro_null", item_type, try_pin_init!(Root {})),
        })
    }
}
