// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/block/mq/request_ext.rs

//! What a block driver needs to know about a request, which the 7.3 kernel
//! crate's [`Request`] does not tell: the operation, the first sector, the
//! length and the data, one mapped segment at a time.
//!
//! A candidate for upstream as methods of `kernel::block::mq::Request`
//! (`op()`, `sector()`, `bytes()`, a segment iterator). It reads the C
//! `struct request` the way the inline helpers of `blk-mq.h` and `bvec.h`
//! do (`req_op`, `blk_rq_pos`, `blk_rq_bytes`, `rq_for_each_segment`);
//! those are `static inline` and have no Rust helper in 7.3.

use core::{mem::MaybeUninit, ptr};
use kernel::{
    bindings,
    block::mq::{Operations, Request},
    page::PAGE_SIZE,
    prelude::*,
};

/// The operation of a request (`req_op`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Op {
    /// `REQ_OP_READ`.
    Read,
    /// `REQ_OP_WRITE`.
    Write,
    /// `REQ_OP_FLUSH`.
    Flush,
    /// `REQ_OP_DISCARD`.
    Discard,
    /// `REQ_OP_WRITE_ZEROES`.
    WriteZeroes,
    /// Anything else (zoned, secure erase, driver-private).
    Other,
}

/// The C request behind `rq`.
fn raw<T: Operations>(rq: &Request<T>) -> *mut bindings::request {
    // `Request<T>` is `#[repr(transparent)]` over `Opaque<bindings::request>`
    // (and a zero-sized marker), so the address is the C request's.
    ptr::from_ref(rq).cast_mut().cast()
}

/// Reads the C request's fields that describe what to do.
fn fields<T: Operations>(rq: &Request<T>) -> (u32, u64, u32) {
    let r = raw(rq);
    // SAFETY: `rq` is a live request handed to the driver (the kernel
    // crate's type invariant); the block layer does not change these fields
    // while the driver owns it, and they are plain integers.
    unsafe { ((*r).cmd_flags, (*r).__sector, (*r).__data_len) }
}

/// Accessors for [`Request`].
pub(crate) trait RequestExt {
    /// The operation (`req_op`).
    fn op(&self) -> Op;
    /// The first 512-byte sector (`blk_rq_pos`).
    fn sector(&self) -> u64;
    /// The length in bytes (`blk_rq_bytes`).
    fn bytes(&self) -> u32;
    /// Calls `f` for each data segment in order, with the device byte
    /// position where it starts (`rq_for_each_segment`). Stops at the
    /// first error and returns it.
    fn for_each_segment(&self, f: impl FnMut(u64, &mut Segment<'_>) -> Result) -> Result;
}

impl<T: Operations> RequestExt for Request<T> {
    fn op(&self) -> Op {
        let op = fields(self).0 & ((1 << bindings::REQ_OP_BITS) - 1);
        match op {
            bindings::req_op_REQ_OP_READ => Op::Read,
            bindings::req_op_REQ_OP_WRITE => Op::Write,
            bindings::req_op_REQ_OP_FLUSH => Op::Flush,
            bindings::req_op_REQ_OP_DISCARD => Op::Discard,
            bindings::req_op_REQ_OP_WRITE_ZEROES => Op::WriteZeroes,
            _ => Op::Other,
        }
    }

    fn sector(&self) -> u64 {
        fields(self).1
    }

    fn bytes(&self) -> u32 {
        fields(self).2
    }

    fn for_each_segment(&self, mut f: impl FnMut(u64, &mut Segment<'_>) -> Result) -> Result {
        let mut pos = self.sector() << kernel::block::SECTOR_SHIFT;
        // SAFETY: The driver owns the live request, so its bio chain is
        // stable until the request ends.
        let mut bio = unsafe { (*raw(self)).bio };
        while !bio.is_null() {
            // SAFETY: `bio` is a live bio of the request's chain, which
            // nobody changes while the driver owns the request.
            let b = unsafe { &*bio };
            // The iterator is copied, as `bio_for_each_segment` does.
            let (vecs, mut iter, next) = (b.bi_io_vec, b.bi_iter, b.bi_next);
            let mut done = bvec_done(&iter);
            while iter.bi_size > 0 {
                // SAFETY: `bi_idx` indexes the bio's vector while
                // `bi_size` is not zero (the block layer's invariant).
                let bv = unsafe { *vecs.add(iter.bi_idx as usize) };
                let offset = bv.bv_offset as usize + done as usize;
                let in_page = offset % PAGE_SIZE;
                let len = (bv.bv_len - done)
                    .min(iter.bi_size)
                    .min((PAGE_SIZE - in_page) as u32);
                // SAFETY: A bio vector's pages are consecutive `struct page`s
                // (`bvec_iter_page` makes the same step), and the segment
                // lies within the vector.
                let page = unsafe { bv.bv_page.add(offset / PAGE_SIZE) };
                // SAFETY: `page` holds `len` bytes of the request's data at
                // `in_page`, owned by the request until it ends.
                let mut seg = unsafe { Segment::map(page, in_page, len as usize) };
                f(pos, &mut seg)?;
                drop(seg);
                pos += u64::from(len);
                iter.bi_size -= len;
                done += len;
                if done == bv.bv_len {
                    iter.bi_idx += 1;
                    done = 0;
                }
            }
            bio = next;
        }
        Ok(())
    }
}

/// One segment of a request's data, mapped (`kmap_local_page`) for as long
/// as this value lives.
///
/// The memory belongs to whoever issued the I/O and may be read (or, for
/// a read, even written) by others meanwhile, so it is never handed out as
/// a Rust slice: the methods copy with raw pointers.
pub(crate) struct Segment<'a> {
    addr: *mut u8,
    len: usize,
    _request: core::marker::PhantomData<&'a ()>,
}

impl Segment<'_> {
    /// Maps `len` bytes at `offset` in `page`.
    ///
    /// # Safety
    ///
    /// `page` must be a valid page whose bytes `offset..offset + len`
    /// (within the page) may be accessed for the lifetime of the result.
    unsafe fn map(page: *mut bindings::page, offset: usize, len: usize) -> Self {
        // SAFETY: `page` is valid by the function's requirements; the
        // mapping is undone in `drop`, in reverse order of mapping, as the
        // segments are used one at a time.
        let base = unsafe { bindings::kmap_local_page(page) }.cast::<u8>();
        Self {
            // SAFETY: `offset` is within the mapped page.
            addr: unsafe { base.add(offset) },
            len,
            _request: core::marker::PhantomData,
        }
    }

    /// The segment's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn check(&self, at: usize, len: usize) -> Result {
        match at.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(EINVAL),
        }
    }

    /// Copies `dst.len()` bytes from the segment at `at` into `dst`.
    pub(crate) fn read(&self, at: usize, dst: &mut [u8]) -> Result {
        self.check(at, dst.len())?;
        // SAFETY: The range is within the mapped segment (checked above)
        // and cannot overlap `dst`, which the driver owns.
        unsafe { ptr::copy_nonoverlapping(self.addr.add(at), dst.as_mut_ptr(), dst.len()) };
        Ok(())
    }

    /// Copies `dst.len()` bytes from the segment at `at` into `dst`, which
    /// may be uninitialised; on success every byte of `dst` is written.
    pub(crate) fn read_uninit(&self, at: usize, dst: &mut [MaybeUninit<u8>]) -> Result {
        self.check(at, dst.len())?;
        // SAFETY: As in `read`; `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { ptr::copy_nonoverlapping(self.addr.add(at), dst.as_mut_ptr().cast(), dst.len()) };
        Ok(())
    }

    /// Copies `src` into the segment at `at`.
    pub(crate) fn write(&mut self, at: usize, src: &[u8]) -> Result {
        self.check(at, src.len())?;
        // SAFETY: As in `read`, the other way round.
        unsafe { ptr::copy_nonoverlapping(src.as_ptr(), self.addr.add(at), src.len()) };
        Ok(())
    }

    /// Fills `len` bytes of the segment at `at` with zeroes.
    pub(crate) fn zero(&mut self, at: usize, len: usize) -> Result {
        self.check(at, len)?;
        // SAFETY: The range is within the mapped segment (checked above).
        unsafe { ptr::write_bytes(self.addr.add(at), 0, len) };
        Ok(())
    }
}

impl Drop for Segment<'_> {
    fn drop(&mut self) {
        // SAFETY: `addr` lies in the page `map` mapped, which is still
        // mapped; `kunmap_local` accepts any address within it.
        unsafe { bindings::kunmap_local(self.addr.cast()) };
    }
}

/// The bytes of the current `bio_vec` an iterator has done: `bi_offset` in
/// Linux 7.3, `bi_bvec_done` before (`kext/compat.rs`).
#[cfg(CONFIG_FERRO_KCRATE_BVEC_ITER_OFFSET)]
fn bvec_done(iter: &bindings::bvec_iter) -> u32 {
    iter.bi_offset
}

/// The bytes of the current `bio_vec` an iterator has done: `bi_offset` in
/// Linux 7.3, `bi_bvec_done` before (`kext/compat.rs`).
#[cfg(not(CONFIG_FERRO_KCRATE_BVEC_ITER_OFFSET))]
fn bvec_done(iter: &bindings::bvec_iter) -> u32 {
    iter.bi_bvec_done
}
