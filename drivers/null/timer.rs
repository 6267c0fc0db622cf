// SPDX-License-Identifier: GPL-2.0

//! The timer completion mode: requests wait in a FIFO and one
//! high-resolution timer per device ends them `completion_nsec` after they
//! were queued.
//!
//! All requests get the same delay, so the FIFO is also in deadline order
//! and the timer only ever needs the head's deadline. The 7.3 kernel crate
//! has no room in a request for a per-request timer (its tag set reserves
//! the request payload for its own reference count), which is why C
//! null_blk's one-timer-per-command design is not possible here. The timer
//! re-arms itself from its callback and is started from `queue_rq`, which
//! the kernel crate's `HrTimer` cannot express, so it is a
//! [`RearmTimer`] (`kext/hrtimer.rs`).

use crate::hrtimer::{monotonic_ns, Expired, RearmTimer};
use kernel::{
    block::mq::{Operations, Request},
    new_spinlock_irq,
    prelude::*,
    sync::{aref::ARef, SpinLockIrq},
};

/// Requests ending at most this many per lock hold in the callback.
const BATCH: usize = 16;

/// A place in the ring: empty, or `(deadline in ns, request)`.
type Slot<T> = Option<(i64, ARef<Request<T>>)>;

/// The waiting requests, in a ring.
struct Pending<T: Operations> {
    slots: KVec<Slot<T>>,
    head: usize,
    len: usize,
    /// Whether the timer is queued or its callback will re-arm it.
    armed: bool,
}

impl<T: Operations> Pending<T> {
    /// The slot `n` places after the head, if the ring has one.
    fn slot(&mut self, n: usize) -> Option<&mut Slot<T>> {
        let capacity = self.slots.len();
        let index = self.head.checked_add(n)?.checked_rem(capacity)?;
        self.slots.get_mut(index)
    }

    /// The head's deadline, if a request waits.
    fn next_deadline(&mut self) -> Option<i64> {
        if self.len == 0 {
            return None;
        }
        self.slot(0)?.as_ref().map(|(deadline, _)| *deadline)
    }

    /// Takes the head request if its deadline is not after `time`.
    fn pop_due(&mut self, time: i64) -> Option<ARef<Request<T>>> {
        if self.next_deadline()? > time {
            return None;
        }
        let (_, rq) = self.slot(0)?.take()?;
        self.head = self.head.checked_add(1)?.checked_rem(self.slots.len())?;
        self.len -= 1;
        Some(rq)
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
            len: 0,
            armed: false,
        }),
        delay_ns,
    })))
}

/// Queues `rq` on `queue` to end after the delay. Gives it back if the
/// queue is full, which the tag set's depth rules out.
pub(crate) fn push<T: Operations>(
    queue: &TimerQueue<T>,
    rq: ARef<Request<T>>,
) -> Result<(), ARef<Request<T>>> {
    let fifo = queue.data();
    let deadline = monotonic_ns().saturating_add(fifo.delay_ns);
    let mut p = fifo.pending.lock();
    let len = p.len;
    if len == p.slots.len() {
        return Err(rq);
    }
    match p.slot(len) {
        Some(slot) => *slot = Some((deadline, rq)),
        None => return Err(rq),
    }
    p.len += 1;
    if !p.armed {
        p.armed = true;
        queue.start_at(deadline);
    }
    Ok(())
}

impl<T: Operations> Expired for Fifo<T> {
    fn expired(timer: &TimerQueue<T>) {
        let this = timer.data();
        loop {
            let mut batch = [(); BATCH].map(|()| None::<ARef<Request<T>>>);
            let mut done = false;
            {
                let mut p = this.pending.lock();
                let time = monotonic_ns();
                for slot in batch.iter_mut() {
                    match p.pop_due(time) {
                        Some(rq) => *slot = Some(rq),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if done {
                    match p.next_deadline() {
                        // `armed` stays set: `push` leaves the timer alone.
                        Some(deadline) => timer.start_at(deadline),
                        None => p.armed = false,
                    }
                }
            }
            for rq in batch.into_iter().flatten() {
                // Cannot fail: the driver never clones a request's `ARef`,
                // so this one is the only one.
                let _ = Request::end_ok(rq);
            }
            if done {
                return;
            }
        }
    }
}
