// SPDX-License-Identifier: GPL-2.0

//! `ferro_null`: a null block device on blk-mq.
//!
//! Devices `/dev/ferro_nullb<N>` accept reads and writes and do nothing
//! with them, or, memory backed, keep what was written. Requests complete
//! in `queue_rq`, from the block softirq or from a timer; errors can be
//! injected. Devices come from the module parameters at load and from
//! `mkdir` in `/sys/kernel/config/ferro_null/` at run time.
//!
//! How C enters it, from the binary and a traced boot: Documentation/lifecycle/atlas.rst.

#[path = "../../kext/block_disk.rs"]
mod block_disk;
#[path = "../../kext/block_request.rs"]
mod block_request;
#[path = "../../kext/compat.rs"]
mod compat;
mod config;
mod configfs;
#[path = "../../kext/hrtimer.rs"]
mod hrtimer;
mod store;
mod timer;

use block_disk::{BlockOps, Disk, Limits};
use block_request::{Op, RequestExt};
use compat::ParamValue;
use config::{settings, Completion, Config};
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    block::mq::{Operations, Request, TagSet},
    prelude::*,
    sync::{aref::ARef, Arc},
};
use store::Store;
use timer::TimerQueue;

/// The module, with the module parameter of each setting.
macro_rules! null_module {
    ($($id:tt $name:ident: $ty:ident = $default:tt, $lo:tt..=$hi:tt, $rule:tt, $desc:tt;)*) => {
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
                $(
                    $name: $ty {
                        default: $default,
                        description: $desc,
                    },
                )*
            },
        }
    };
}
settings!(null_module);

/// The disks' block device operations: they name this module, so an open
/// device keeps it loaded.
static BLOCK_OPS: BlockOps = BlockOps::new(compat::this_module().as_ptr());

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
        let sectors = u64::from(bytes) >> kernel::block::SECTOR_SHIFT;
        let end = sector.checked_add(sectors);
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
            if self.config.fails_nth(nth) || self.config.in_fail_range(sector, sectors) {
                return Err(EIO);
            }
        }
        let memory = self.config.memory_backed();
        match op {
            Op::Read if memory => rq.for_each_segment(|pos, seg| self.store.read(pos, seg)),
            Op::Write if memory => rq.for_each_segment(|pos, seg| self.store.write(pos, seg)),
            Op::Discard | Op::WriteZeroes if memory => self
                .store
                .zero(sector << kernel::block::SECTOR_SHIFT, u64::from(bytes)),
            Op::Read | Op::Write | Op::Flush | Op::Discard | Op::WriteZeroes => Ok(()),
            Op::Other => Err(compat::eopnotsupp()),
        }
    }
}

/// Hands a finished request back to the block layer.
fn end<T: Operations>(rq: ARef<Request<T>>) {
    // Cannot fail: the driver never clones a request's `ARef`, so this is the only one.
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
        match queue.config.completion() {
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

/// A device added to the system: its number and its disk. Dropping it removes the disk,
/// waiting for the requests in flight, then frees the number.
pub(crate) struct Device {
    pub(crate) index: u32,
    disk: Option<Disk<NullOps>>,
}

impl Device {
    /// Adds `/dev/ferro_nullb<N>` with `config` (validated), N the lowest free number.
    pub(crate) fn add(config: &Config) -> Result<Self> {
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
        let tagset = Arc::pin_init(
            TagSet::new(
                u32::try_from(config.hw_queues)?,
                u32::try_from(config.queue_depth)?,
                1,
            ),
            GFP_KERNEL,
        )?;
        let queue = KBox::pin_init(
            try_pin_init!(Queue {
                config: *config,
                store <- Store::new(),
                timer <- timer::new(config.timer_slots(), config.completion_nsec)?,
                data_requests: AtomicU64::new(0),
            }),
            GFP_KERNEL,
        )?;
        let limits = Limits {
            capacity_sectors: config.capacity_sectors(),
            block_size: u32::try_from(config.block_size)?,
            discard: config.memory_backed(),
            write_cache: config.memory_backed(),
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

/// The settings the module parameters give.
fn parameters() -> Result<(u32, Config)> {
    /// The [`Config`] of the module parameters' values.
    macro_rules! given {
        ($($id:tt $name:ident: $ty:ident = $default:tt, $lo:tt..=$hi:tt, $rule:tt, $desc:tt;)*) => {
            Config { $($name: u64::from(module_parameters::$name.get()),)* }
        };
    }
    let config = settings!(given);
    config.check("parameter")?;
    let nr_devices = module_parameters::nr_devices.get();
    if nr_devices > config::MAX_DEVICES {
        pr_err!("invalid parameter nr_devices={nr_devices}: must be 0..64\n");
        return Err(EINVAL);
    }
    Ok((nr_devices, config))
}

/// The module: the configfs subsystem and the parameter devices, dropped in that order
/// (configfs has no directories left then, as each holds a module reference).
#[pin_data]
struct FerroNull {
    #[pin]
    configfs: kernel::configfs::Subsystem<configfs::Root>,
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
        try_pin_init!(Self {
            devices: devices?,
            configfs <- configfs::subsystem(),
        })
    }
}
