// SPDX-License-Identifier: GPL-2.0

//! Memory backing: the device's data, one page-sized block per page of the
//! device that has been written, in an XArray indexed by page number.
//!
//! Blocks are allocated on first write (`GFP_NOWAIT`: `queue_rq` must not
//! sleep); when that fails the request goes back to the block layer with
//! `BLK_STS_RESOURCE` and is retried. Unwritten pages read as zeroes.
//!
//! Every lookup and copy holds one spinlock with interrupts off, as C
//! null_blk holds its device lock. The XArray's own lock (a plain
//! spinlock) is taken inside it and never contended. Holding only the
//! XArray's lock was measured 20 times slower than null_blk at queue depth
//! 32 under QEMU: an interrupt taken while the lock is held keeps every
//! other queue spinning.

use crate::rq::Segment;
use kernel::{
    alloc::flags::{__GFP_NOWARN, __GFP_ZERO, GFP_NOWAIT},
    new_spinlock_irq,
    page::PAGE_SIZE,
    prelude::*,
    sync::SpinLockIrq,
    xarray::{self, XArray},
};

/// One page of the device's data.
type Block = [u8; PAGE_SIZE];

/// The stored data of one device.
#[pin_data]
pub(crate) struct Store {
    #[pin]
    blocks: XArray<KBox<Block>>,
    /// Held, with interrupts off, around every use of `blocks`.
    #[pin]
    lock: SpinLockIrq<()>,
}

/// Splits `len` bytes at device position `pos` into pieces that each lie
/// in one block: (block index, offset in the block, offset in the
/// segment, length).
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

impl Store {
    /// An empty store.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            blocks <- XArray::new(xarray::AllocKind::Alloc),
            lock <- new_spinlock_irq!(()),
        })
    }

    /// Copies a segment the request writes at device position `pos`.
    pub(crate) fn write(&self, pos: u64, seg: &Segment<'_>) -> Result {
        for (index, offset, at, n) in pieces(pos, seg.len()) {
            {
                let _lock = self.lock.lock();
                let mut blocks = self.blocks.lock();
                if let Some(block) = blocks.get_mut(index) {
                    seg.read(at, &mut block[offset..offset + n])?;
                    continue;
                }
            }
            // A new block: allocated without the locks held, then stored
            // unless another queue stored one meanwhile.
            let fresh = KBox::<Block>::new_uninit(GFP_NOWAIT | __GFP_NOWARN | __GFP_ZERO)?;
            // SAFETY: `__GFP_ZERO` zeroed the memory, and all zeroes is a
            // valid byte array.
            let fresh = unsafe { fresh.assume_init() };
            let _lock = self.lock.lock();
            let mut blocks = self.blocks.lock();
            if blocks.get(index).is_none() {
                blocks
                    .store(index, fresh, GFP_NOWAIT | __GFP_NOWARN)
                    .map_err(|e| e.error)?;
            }
            let block = blocks.get_mut(index).ok_or(ENOMEM)?;
            seg.read(at, &mut block[offset..offset + n])?;
        }
        Ok(())
    }

    /// Fills a segment the request reads from device position `pos`.
    pub(crate) fn read(&self, pos: u64, seg: &mut Segment<'_>) -> Result {
        for (index, offset, at, n) in pieces(pos, seg.len()) {
            let _lock = self.lock.lock();
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
            let _lock = self.lock.lock();
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
