// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/time/hrtimer/rearm.rs

//! A high-resolution timer that its owner may start from anywhere,
//! including from its own callback, and that lives inside the owner's
//! pinned data.
//!
//! The 7.3 kernel crate's `HrTimer` hands out a handle from `start()` that
//! cancels the timer when dropped, and restarts only through the callback's
//! return value. A timer that re-arms itself from its callback and is also
//! started from other contexts (a block driver's `queue_rq`) does not fit
//! that shape. [`RearmTimer`] always returns `HRTIMER_NORESTART` from the C
//! callback; the owner's [`Expired::expired`] re-arms with
//! [`RearmTimer::start_at`], which takes the hrtimer base lock like every
//! other start, so no field of the C timer is written without it.
//!
//! A candidate for upstream next to `kernel::time::hrtimer`.

use kernel::{bindings, prelude::*, types::Opaque};

/// The current time of `CLOCK_MONOTONIC` (`ktime_get()`), in nanoseconds.
pub(crate) fn monotonic_ns() -> i64 {
    // SAFETY: `ktime_get` has no preconditions.
    unsafe { bindings::ktime_get() }
}

/// The owner of a [`RearmTimer`]: what runs when it expires.
pub(crate) trait Expired: Sync + Sized {
    /// Called by the hrtimer core in hard interrupt context when `timer`
    /// expires. The timer is stopped unless this starts it again.
    fn expired(timer: &RearmTimer<Self>);
}

/// A `CLOCK_MONOTONIC` hrtimer and the data its callback works on.
///
/// Dropping it cancels the timer and waits for a running callback.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub(crate) struct RearmTimer<T: Expired> {
    // The first field of a `#[repr(C)]` struct: the C timer's address is
    // the `RearmTimer`'s, which is how the callback finds it.
    #[pin]
    timer: Opaque<bindings::hrtimer>,
    #[pin]
    data: T,
}

// SAFETY: The C timer is only used through `hrtimer_*` functions, which
// may be called from any thread; `data` is `Sync` (`Expired`'s bound) and
// `Send` by this impl's bound.
unsafe impl<T: Expired + Send> Send for RearmTimer<T> {}
// SAFETY: Shared use is the `hrtimer_*` functions and `&T`, which is
// `Sync` by `Expired`'s bound.
unsafe impl<T: Expired> Sync for RearmTimer<T> {}

impl<T: Expired> RearmTimer<T> {
    /// A stopped timer around `data`.
    pub(crate) fn new(data: impl PinInit<T, Error>) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            // SAFETY: `hrtimer_setup` initialises the timer in place. The
            // callback expects a `RearmTimer<T>` around the timer, which it
            // is, and `drop` cancels the timer before the memory goes away.
            timer <- Opaque::ffi_init(|t| unsafe {
                bindings::hrtimer_setup(
                    t,
                    Some(Self::run),
                    bindings::CLOCK_MONOTONIC as i32,
                    bindings::hrtimer_mode_HRTIMER_MODE_ABS,
                )
            }),
            data <- data,
        })
    }

    /// The owner's data.
    pub(crate) fn data(&self) -> &T {
        &self.data
    }

    /// (Re)starts the timer to expire at `deadline_ns` of
    /// [`monotonic_ns`]; a deadline in the past expires at once. Starting
    /// a queued timer moves it.
    pub(crate) fn start_at(&self, deadline_ns: i64) {
        // SAFETY: The timer was set up in `new`. `hrtimer_start_range_ns`
        // may be called in any context, also while the callback runs (the
        // callback never asks the core to restart it, so the two cannot
        // disagree about the timer's state).
        unsafe {
            bindings::hrtimer_start_range_ns(
                self.timer.get(),
                deadline_ns,
                0,
                bindings::hrtimer_mode_HRTIMER_MODE_ABS,
            )
        };
    }

    /// The C callback.
    ///
    /// # Safety
    ///
    /// `timer` must be the timer of a live `RearmTimer<T>`; the hrtimer
    /// core guarantees it, as the timer is cancelled before one is dropped.
    unsafe extern "C" fn run(timer: *mut bindings::hrtimer) -> bindings::hrtimer_restart {
        // SAFETY: `timer` is the first field of a live `RearmTimer<T>`,
        // which is `#[repr(C)]`; `Opaque` is `#[repr(transparent)]`.
        let this = unsafe { &*timer.cast::<Self>() };
        T::expired(this);
        NORESTART
    }
}

/// `HRTIMER_NORESTART`: bindgen makes `enum hrtimer_restart` a new type in
/// Linux 7.3, a plain constant before (`kext/compat.rs`).
#[cfg(CONFIG_FERRO_KCRATE_HRTIMER_RESTART)]
const NORESTART: bindings::hrtimer_restart = bindings::hrtimer_restart::HRTIMER_NORESTART;

/// `HRTIMER_NORESTART`: bindgen makes `enum hrtimer_restart` a new type in
/// Linux 7.3, a plain constant before (`kext/compat.rs`).
#[cfg(not(CONFIG_FERRO_KCRATE_HRTIMER_RESTART))]
const NORESTART: bindings::hrtimer_restart = bindings::hrtimer_restart_HRTIMER_NORESTART;

#[pinned_drop]
impl<T: Expired> PinnedDrop for RearmTimer<T> {
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The timer was set up in `new`; cancelling dequeues it and
        // waits for a running callback. A callback that re-arms the timer
        // meanwhile is cancelled too (`hrtimer_cancel` retries until the
        // timer is neither queued nor running).
        unsafe { bindings::hrtimer_cancel(self.timer.get()) };
    }
}
