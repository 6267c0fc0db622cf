// SPDX-License-Identifier: GPL-2.0

//! The timer completion mode: requests wait in a FIFO and one
//! high-resolution timer per device ends them `completion_nsec` after they
//! were queued.
//!
//! All requests get the same delay, so the FIFO is also in deadline order
//! and the timer only needs the head's. C null_blk's timer per command has
//! nowhere to live: the 7.3 kernel crate's tag set keeps the request
//! payload for its reference count. The timer is a [`RearmTimer`]
//! (`kext/hrtimer.rs`), started from `queue_rq` and re-armed by its owner.

use crate::{
    compat::{new_spinlock_irq, SpinLockIrq},
    end,
    hrtimer::{monotonic_ns, Expired, RearmTimer},
};
use kernel::{
    block::mq::{Operations, Request},
    prelude::*,
    sync::aref::ARef,
};

/// A place in the ring: empty, or `(deadline in ns, request)`.
type Slot<T> = Option<(i64, ARef<Request<T>>)>;

/// The waiting requests, in a ring: the oldest at `head`, the next free
/// place at `tail`.
struct Pending<T: Operations> {
    slots: KVec<Slot<T>>,
    head: usize,
    tail: usize,
    /// Whether the timer is queued or its callback will re-arm it.
    armed: bool,
}

impl<T: Operations> Pending<T> {
    /// The place after `i` in the ring.
    fn after(&self, i: usize) -> usize {
        (i + 1).checked_rem(self.slots.len()).unwrap_or(0)
    }

    /// Takes the oldest request if its deadline is not after `now`; else
    /// gives the deadline it waits for, if any.
    fn pop_due(&mut self, now: i64) -> Result<ARef<Request<T>>, Option<i64>> {
        let head = self.head;
        let slot = self.slots.get_mut(head).ok_or(None)?;
        match slot {
            Some((deadline, _)) if *deadline > now => Err(Some(*deadline)),
            _ => {
                let (_, rq) = slot.take().ok_or(None)?;
                self.head = self.after(head);
                Ok(rq)
            }
        }
    }
}

/// The requests waiting for one device's timer, and their delay.
#[pin_data]
pub(crate) struct Fifo<T: Operations> {
    #[pin]
    pending: SpinLockIrq<Pending<T>>,
    delay_ns: i64,
}

/// One device's timer and the requests it will end.
pub(crate) type TimerQueue<T> = RearmTimer<Fifo<T>>;

/// A timer queue for up to `capacity` requests in flight, each ended
/// `delay_ns` after it was queued.
pub(crate) fn new<T: Operations>(
    capacity: usize,
    delay_ns: u64,
) -> Result<impl PinInit<TimerQueue<T>, Error>> {
    let mut slots = KVec::with_capacity(capacity, GFP_KERNEL)?;
    for _ in 0..capacity {
        slots.push(None, GFP_KERNEL)?;
    }
    let delay_ns = i64::try_from(delay_ns).map_err(|_| EINVAL)?;
    Ok(RearmTimer::new(try_pin_init!(Fifo {
        pending <- new_spinlock_irq!(Pending {
            slots,
            head: 0,
            tail: 0,
            armed: false,
        }),
        delay_ns,
    })))
}

/// Queues `rq` on `queue` to end after the delay. Gives it back if the
/// ring is full, which the tag set's depth rules out.
pub(crate) fn push<T: Operations>(
    queue: &TimerQueue<T>,
    rq: ARef<Request<T>>,
) -> Result<(), ARef<Request<T>>> {
    let fifo = queue.data();
    let deadline = monotonic_ns().saturating_add(fifo.delay_ns);
    let mut p = fifo.pending.lock();
    let tail = p.tail;
    match p.slots.get_mut(tail) {
        Some(slot @ None) => *slot = Some((deadline, rq)),
        _ => return Err(rq),
    }
    p.tail = p.after(tail);
    if !p.armed {
        p.armed = true;
        queue.start_at(deadline);
    }
    Ok(())
}

impl<T: Operations> Expired for Fifo<T> {
    /// Ends every request that is due, each outside the lock, then re-arms
    /// for the next one or leaves the timer idle.
    fn expired(timer: &TimerQueue<T>) {
        let now = monotonic_ns();
        loop {
            let mut p = timer.data().pending.lock();
            match p.pop_due(now) {
                Ok(rq) => {
                    drop(p);
                    end(rq);
                }
                // `armed` stays set: `push` leaves the timer alone.
                Err(Some(deadline)) => return timer.start_at(deadline),
                Err(None) => {
                    p.armed = false;
                    return;
                }
            }
        }
    }
}
