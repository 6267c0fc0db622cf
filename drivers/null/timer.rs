// SPDX-License-Identifier: GPL-2.0

//! The timer completion mode: requests wait in a FIFO and one
//! high-resolution timer per device ends them `completion_nsec` after they
//! were queued.
//!
//! All requests get the same delay, so the FIFO is also in deadline order
//! and the timer only ever needs the head's deadline. The 7.3 kernel crate
//! has no room in a request for a per-request timer (its tag set reserves
//! the request payload for its own reference count), which is why C
//! null_blk's one-timer-per-command design is not possible here. The C
//! `hrtimer` is used directly: the kernel crate's `HrTimer` hands out a
//! handle that cancels the timer when dropped, which does not fit a timer
//! that re-arms itself from its callback and from `queue_rq`.

use kernel::{
    bindings,
    block::mq::{Operations, Request},
    new_spinlock_irq,
    prelude::*,
    sync::{aref::ARef, SpinLockIrq},
    types::Opaque,
};

/// Requests ending at most this many per lock hold in the callback.
const BATCH: usize = 16;

/// The waiting requests: a ring of `(deadline in ns, request)`.
struct Pending<T: Operations> {
    slots: KVec<Option<(i64, ARef<Request<T>>)>>,
    head: usize,
    len: usize,
    /// Whether the timer is queued or its callback will re-arm it.
    armed: bool,
}

/// One device's timer and the requests it will end. `#[repr(C)]` with the
/// timer first, so that the timer's address is the queue's.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub(crate) struct TimerQueue<T: Operations> {
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    #[pin]
    pending: SpinLockIrq<Pending<T>>,
    delay_ns: i64,
}

// SAFETY: The C timer is only used through the `hrtimer_*` functions, which
// may be called from any thread; everything else is behind the spinlock.
unsafe impl<T: Operations> Send for TimerQueue<T> {}
// SAFETY: As for `Send`: shared use is the `hrtimer_*` functions and the
// spinlock.
unsafe impl<T: Operations> Sync for TimerQueue<T> {}

/// `ktime_get()`, the monotonic clock the timer runs on, in ns.
fn now() -> i64 {
    // SAFETY: `ktime_get` has no preconditions.
    unsafe { bindings::ktime_get() }
}

impl<T: Operations> TimerQueue<T> {
    /// A queue for up to `capacity` requests in flight, each ended
    /// `delay_ns` after it was queued.
    pub(crate) fn new(capacity: usize, delay_ns: u64) -> Result<impl PinInit<Self, Error>> {
        let mut slots = KVec::with_capacity(capacity, GFP_KERNEL)?;
        for _ in 0..capacity {
            slots.push(None, GFP_KERNEL)?;
        }
        let delay_ns = i64::try_from(delay_ns).map_err(|_| EINVAL)?;
        Ok(try_pin_init!(Self {
            // SAFETY: `hrtimer_setup` initialises the timer in place; the
            // callback is this type's, and the timer is cancelled in `drop`
            // before the memory goes away.
            timer <- Opaque::ffi_init(|t| unsafe {
                bindings::hrtimer_setup(
                    t,
                    Some(Self::expired),
                    bindings::CLOCK_MONOTONIC as i32,
                    bindings::hrtimer_mode_HRTIMER_MODE_REL,
                )
            }),
            pending <- new_spinlock_irq!(Pending {
                slots,
                head: 0,
                len: 0,
                armed: false,
            }),
            delay_ns,
        }))
    }

    /// Queues `rq` to end after the delay. Gives it back if the queue is
    /// full, which the tag set's depth rules out.
    pub(crate) fn push(&self, rq: ARef<Request<T>>) -> Result<(), ARef<Request<T>>> {
        let deadline = now().saturating_add(self.delay_ns);
        let mut p = self.pending.lock();
        let capacity = p.slots.len();
        if p.len == capacity {
            return Err(rq);
        }
        let slot = (p.head + p.len) % capacity;
        p.slots[slot] = Some((deadline, rq));
        p.len += 1;
        if !p.armed {
            p.armed = true;
            // SAFETY: The timer was set up in `new`; starting it while its
            // callback runs on another CPU is allowed (the callback then
            // does not re-queue it, as `armed` tells it under this lock).
            unsafe {
                bindings::hrtimer_start_range_ns(
                    self.timer.get(),
                    self.delay_ns,
                    0,
                    bindings::hrtimer_mode_HRTIMER_MODE_REL,
                )
            };
        }
        Ok(())
    }

    /// The timer's callback, in hard interrupt context.
    ///
    /// # Safety
    ///
    /// Called by the hrtimer core for the timer of a live `TimerQueue<T>`
    /// (the timer is cancelled before one is dropped).
    unsafe extern "C" fn expired(timer: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
        // SAFETY: `timer` is the first field of a live `TimerQueue<T>`,
        // which is `#[repr(C)]`; `Opaque` is `#[repr(transparent)]`.
        let this = unsafe { &*timer.cast::<Self>() };
        loop {
            let mut batch = [(); BATCH].map(|()| None::<ARef<Request<T>>>);
            let mut n = 0;
            let mut restart = None;
            {
                let mut p = this.pending.lock();
                let time = now();
                let capacity = p.slots.len();
                while n < BATCH && p.len > 0 {
                    let head = p.head;
                    match &p.slots[head] {
                        Some((deadline, _)) if *deadline <= time => {}
                        _ => break,
                    }
                    batch[n] = p.slots[head].take().map(|(_, rq)| rq);
                    n += 1;
                    p.head = (head + 1) % capacity;
                    p.len -= 1;
                }
                if n < BATCH {
                    let next = if p.len > 0 {
                        p.slots[p.head].as_ref().map(|(deadline, _)| *deadline)
                    } else {
                        None
                    };
                    match next {
                        Some(deadline) => {
                            // SAFETY: The timer is not queued while its
                            // callback runs and `armed` keeps `push` from
                            // starting it; this is `hrtimer_set_expires`.
                            unsafe {
                                (*timer).node.expires = deadline;
                                (*timer)._softexpires = deadline;
                            }
                            restart = Some(bindings::hrtimer_restart::HRTIMER_RESTART);
                        }
                        None => {
                            p.armed = false;
                            restart = Some(bindings::hrtimer_restart::HRTIMER_NORESTART);
                        }
                    }
                }
            }
            for rq in batch.into_iter().flatten() {
                // Cannot fail: the driver never clones a request's `ARef`,
                // so this one is the only one.
                let _ = Request::end_ok(rq);
            }
            if let Some(restart) = restart {
                return restart;
            }
        }
    }
}

#[pinned_drop]
impl<T: Operations> PinnedDrop for TimerQueue<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The timer was set up in `new`; cancelling waits for a
        // running callback. By now the disk is gone, so nothing re-arms it.
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }
}
