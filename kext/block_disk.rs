// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/block/mq/disk.rs

//! A blk-mq disk over the kernel crate's [`TagSet`], for what the 7.3
//! crate's `GenDiskBuilder` cannot say.
//!
//! Its `block_device_operations` have no `owner`, so an open block device
//! does not pin the module, and are a constant inside a generic function
//! (so they live in the driver's module): `rmmod` while the device is open
//! leaves the disk pointing at freed memory. Its queue limits cover block
//! sizes only, so no discard, write zeroes or volatile write cache. This
//! builder takes operations that name the module (an open device then
//! holds it, as in C) and those limits. A candidate for upstream as
//! `GenDiskBuilder::{owner, max_discard_sectors, max_write_zeroes_sectors,
//! write_cache}`.

use core::{fmt, ptr};
use kernel::{
    bindings,
    block::mq::{Operations, TagSet},
    error::{from_err_ptr, to_result},
    prelude::*,
    static_lock_class,
    sync::Arc,
    types::ForeignOwnable,
};

/// `BLK_FEAT_WRITE_CACHE` of `blkdev.h`: the device has a volatile write
/// cache, so the block layer sends flushes (bindgen cannot see the macro).
const BLK_FEAT_WRITE_CACHE: bindings::blk_features_t = 1 << 0;

/// The `block_device_operations` of the driver's disks: empty but for the
/// module that owns them. A `static` of the driver, so that they outlive
/// every disk.
pub(crate) struct BlockOps(bindings::block_device_operations);

// SAFETY: The table is never written after construction; the `owner`
// pointer is only handed to C, which reads it.
unsafe impl Sync for BlockOps {}

impl BlockOps {
    /// Operations owned by `owner` (`THIS_MODULE`; null when built in).
    pub(crate) const fn new(owner: *mut bindings::module) -> Self {
        // SAFETY: Every field of `block_device_operations` is an `Option` of
        // a function pointer or a raw pointer, for which zero is `None` or
        // null.
        let mut ops: bindings::block_device_operations = unsafe { core::mem::zeroed() };
        ops.owner = owner;
        Self(ops)
    }
}

/// What a disk looks like to the block layer.
pub(crate) struct Limits {
    /// Capacity in 512-byte sectors.
    pub(crate) capacity_sectors: u64,
    /// Logical and physical block size in bytes (512..=PAGE_SIZE).
    pub(crate) block_size: u32,
    /// Accept discard and write-zeroes requests.
    pub(crate) discard: bool,
    /// Announce a volatile write cache, so that flushes reach the driver.
    pub(crate) write_cache: bool,
}

/// A disk added to the system; dropping it removes it (`del_gendisk`, which
/// waits for the requests in flight) and releases the driver's queue data.
pub(crate) struct Disk<T: Operations> {
    gendisk: *mut bindings::gendisk,
    _tagset: Arc<TagSet<T>>,
}

// SAFETY: The disk pointer is only used to remove the disk, which any
// thread may do; the queue data is `Sync` by `Operations`' bound.
unsafe impl<T: Operations> Send for Disk<T> {}
// SAFETY: Shared references give no access to the disk.
unsafe impl<T: Operations> Sync for Disk<T> {}

impl<T: Operations> Disk<T> {
    /// Allocates a disk on `tagset` with `queue_data`, names it and adds it.
    pub(crate) fn add(
        name: fmt::Arguments<'_>,
        limits: &Limits,
        ops: &'static BlockOps,
        tagset: Arc<TagSet<T>>,
        queue_data: T::QueueData,
    ) -> Result<Self> {
        kernel::block::mq::gen_disk::GenDiskBuilder::validate_block_size(limits.block_size)?;
        let data = queue_data.into_foreign();
        // Gives `data` back to its owner type and drops it, on the paths
        // where no disk holds it. (No `ScopeGuard`: its `dismiss` unwraps.)
        let drop_data = move || {
            // SAFETY: `data` came from `into_foreign` above, and each error
            // path calls this once, when no disk holds `data`.
            drop(unsafe { T::QueueData::from_foreign(data) })
        };
        // SAFETY: All zeroes is the block layer's "no limit set" for every
        // field of `queue_limits`.
        let mut lim: bindings::queue_limits = unsafe { core::mem::zeroed() };
        lim.logical_block_size = limits.block_size;
        lim.physical_block_size = limits.block_size;
        if limits.discard {
            lim.max_hw_discard_sectors = u32::MAX >> bindings::SECTOR_SHIFT;
            lim.max_write_zeroes_sectors = u32::MAX >> bindings::SECTOR_SHIFT;
            lim.discard_granularity = limits.block_size;
        }
        if limits.write_cache {
            lim.features |= BLK_FEAT_WRITE_CACHE;
        }

        // `TagSet<T>` is `#[repr(transparent)]` over the C tag set.
        let set = ptr::from_ref::<TagSet<T>>(&tagset)
            .cast_mut()
            .cast::<bindings::blk_mq_tag_set>();
        // SAFETY: `set` is the initialised tag set that `tagset` keeps alive
        // for as long as the disk; `lim` is valid for the call; `data` is
        // what the kernel crate's queue callbacks expect in `queuedata`.
        let gendisk = match from_err_ptr(unsafe {
            bindings::__blk_mq_alloc_disk(set, &mut lim, data, static_lock_class!().as_ptr())
        }) {
            Ok(gendisk) => gendisk,
            Err(e) => {
                drop_data();
                return Err(e);
            }
        };
        let undo = move |e: Error| {
            // SAFETY: The disk was allocated above and never added.
            unsafe { bindings::put_disk(gendisk) };
            drop_data();
            e
        };

        let mut buf = [0u8; bindings::DISK_NAME_LEN as usize];
        let mut w = kernel::str::NullTerminatedFormatter::new(&mut buf)
            .ok_or(EINVAL)
            .map_err(undo)?;
        fmt::Write::write_fmt(&mut w, name).map_err(|_| undo(name_too_long()))?;
        // SAFETY: `gendisk` is valid and not yet visible to anyone else.
        unsafe {
            (*gendisk).fops = &ops.0;
            ptr::copy_nonoverlapping(
                buf.as_ptr(),
                (*gendisk).disk_name.as_mut_ptr().cast::<u8>(),
                buf.len(),
            );
            bindings::set_capacity(gendisk, limits.capacity_sectors);
        }
        // SAFETY: `gendisk` is fully set up; no parent device, no extra
        // attribute groups.
        to_result(unsafe { bindings::device_add_disk(ptr::null_mut(), gendisk, ptr::null_mut()) })
            .map_err(undo)?;
        Ok(Self {
            gendisk,
            _tagset: tagset,
        })
    }
}

impl<T: Operations> Drop for Disk<T> {
    fn drop(&mut self) {
        // SAFETY: The disk was added in `add` and not removed since.
        let data = unsafe { (*(*self.gendisk).queue).queuedata };
        // SAFETY: As above; `del_gendisk` drains and quiesces the queue, so
        // no callback uses `data` afterwards.
        unsafe { bindings::del_gendisk(self.gendisk) };
        // SAFETY: Drops the reference `__blk_mq_alloc_disk` gave us.
        unsafe { bindings::put_disk(self.gendisk) };
        // SAFETY: `data` came from `into_foreign` in `add`; the queue no
        // longer uses it.
        drop(unsafe { T::QueueData::from_foreign(data) });
    }
}

/// `ENAMETOOLONG`, which Linux 7.2's `kernel::error::code` lacks
/// (`kext/compat.rs`).
#[cfg(CONFIG_FERRO_KCRATE_ERRNO_ENAMETOOLONG)]
fn name_too_long() -> Error {
    ENAMETOOLONG
}

/// `ENAMETOOLONG`, which Linux 7.2's `kernel::error::code` lacks
/// (`kext/compat.rs`).
#[cfg(not(CONFIG_FERRO_KCRATE_ERRNO_ENAMETOOLONG))]
fn name_too_long() -> Error {
    Error::from_errno(-(bindings::ENAMETOOLONG as i32))
}
