// SPDX-License-Identifier: GPL-2.0

//! Memory backing: the device's data, one page-sized block per written page of the device,
//! in an XArray indexed by page number.
//!
//! Blocks are allocated on first write (`GFP_NOWAIT`: `queue_rq` must not sleep); when that
//! fails the request goes back to the block layer with `BLK_STS_RESOURCE` and is retried.
//! Unwritten pages read as zeroes.
//!
//! Every lookup and copy holds the XArray's lock with interrupts off, as C null_blk holds its
//! device lock with `spin_lock_irq`: an interrupt taken while the lock is held keeps every
//! other queue spinning (Documentation/drivers/null.rst, "Performance").

use crate::{block_request::Segment, compat::IrqOff};
use core::mem::MaybeUninit;
use kernel::{
    alloc::flags::{__GFP_NOWARN, __GFP_ZERO, GFP_NOWAIT},
    page::PAGE_SIZE,
    prelude::*,
    xarray::{self, XArray},
};

/// One page of the device's data.
type Block = [u8; PAGE_SIZE];

/// The stored data of one device.
#[pin_data]
pub(crate) struct Store {
    /// Locked only with interrupts off (see the module documentation), which `irq_off` turns off.
    #[pin]
    blocks: XArray<KBox<Block>>,
    #[pin]
    irq_off: IrqOff,
}

/// Splits `len` bytes at device position `pos` into pieces that each lie in one block:
/// (block index, offset in the block, offset in the segment, length).
fn pieces(pos: u64, len: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let mut done = 0;
    core::iter::from_fn(move || {
        if done >= len {
            return None;
        }
        let at = pos + done as u64;
        let index = (at / PAGE_SIZE as u64) as usize;
        let offset = (at % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - offset).min(len - done);
        let piece = (index, offset, done, n);
        done += n;
        Some(piece)
    })
}

/// A new block holding the `n` bytes at `at` in `seg` at `offset`, the
/// rest zeroes. A write of the whole block fills it; only a partial one
/// needs zeroing (zeroing every new block cost ~3% of a row's time against
/// null_blk in `make bench`).
fn new_block(seg: &Segment<'_>, at: usize, offset: usize, n: usize) -> Result<KBox<Block>> {
    if offset == 0 && n == PAGE_SIZE {
        let mut fresh = KBox::<Block>::new_uninit(GFP_NOWAIT | __GFP_NOWARN)?;
        let start = fresh.as_mut_ptr().cast::<MaybeUninit<u8>>();
        // SAFETY: The box holds `PAGE_SIZE` bytes from `start`, ours alone;
        // `MaybeUninit<u8>` may be uninitialised.
        let bytes = unsafe { core::slice::from_raw_parts_mut(start, PAGE_SIZE) };
        seg.read_uninit(at, bytes)?;
        // SAFETY: `read_uninit` succeeded, so it wrote all `PAGE_SIZE` bytes.
        return Ok(unsafe { fresh.assume_init() });
    }
    let fresh = KBox::<Block>::new_uninit(GFP_NOWAIT | __GFP_NOWARN | __GFP_ZERO)?;
    // SAFETY: `__GFP_ZERO` zeroed the memory, and all zeroes is a valid
    // byte array.
    let mut fresh = unsafe { fresh.assume_init() };
    seg.read(at, &mut fresh[offset..offset + n])?;
    Ok(fresh)
}

impl Store {
    /// An empty store.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            blocks <- XArray::new(xarray::AllocKind::Alloc),
            irq_off <- IrqOff::new(),
        })
    }

    /// Copies a segment the request writes at device position `pos`.
    pub(crate) fn write(&self, pos: u64, seg: &Segment<'_>) -> Result {
        for (index, offset, at, n) in pieces(pos, seg.len()) {
            let _irq = self.irq_off.enter();
            let mut blocks = self.blocks.lock();
            match blocks.get_mut(index) {
                Some(block) => seg.read(at, &mut block[offset..offset + n])?,
                None => {
                    let fresh = new_block(seg, at, offset, n)?;
                    blocks
                        .store(index, fresh, GFP_NOWAIT | __GFP_NOWARN)
                        .map_err(|e| e.error)?;
                }
            }
        }
        Ok(())
    }

    /// Fills a segment the request reads from device position `pos`.
    pub(crate) fn read(&self, pos: u64, seg: &mut Segment<'_>) -> Result {
        for (index, offset, at, n) in pieces(pos, seg.len()) {
            let _irq = self.irq_off.enter();
            let blocks = self.blocks.lock();
            match blocks.get(index) {
                Some(block) => seg.write(at, &block[offset..offset + n])?,
                None => seg.zero(at, n)?,
            }
        }
        Ok(())
    }

    /// Zeroes `len` bytes at device position `pos` (discard and write
    /// zeroes): whole blocks are freed, partial ones zeroed.
    pub(crate) fn zero(&self, pos: u64, len: u64) -> Result {
        let len = usize::try_from(len).map_err(|_| EINVAL)?;
        for (index, offset, _, n) in pieces(pos, len) {
            let _irq = self.irq_off.enter();
            let mut blocks = self.blocks.lock();
            if n == PAGE_SIZE {
                drop(blocks.remove(index));
            } else if let Some(block) = blocks.get_mut(index) {
                block[offset..offset + n].fill(0);
            }
        }
        Ok(())
    }
}
