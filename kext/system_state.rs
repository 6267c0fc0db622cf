// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/system_state.rs

//! Where the kernel is in its life: [`SystemState`] (the global
//! `system_state`) and [`clock_ns`], the clock of `printk` time stamps.
//!
//! The 7.3 kernel crate has neither. A candidate for upstream as
//! `kernel::system_state`, next to `kernel::init`.

use kernel::bindings;

/// The kernel's `system_state` (`enum system_states`, `include/linux/kernel.h`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum SystemState {
    /// Early boot, interrupts off.
    Booting,
    /// The scheduler runs; built-in initcalls run in this state.
    Scheduling,
    /// Init memory is being freed.
    FreeingInitmem,
    /// Boot is over; modules load in this state.
    Running,
    /// Halting, powering off, restarting or suspending.
    Ending(u32),
}

impl SystemState {
    /// Reads `system_state` now.
    pub(crate) fn now() -> Self {
        // SAFETY: `system_state` is a global the kernel writes only at boot and
        // shutdown transitions; reading an aligned `unsigned int` is atomic on
        // every architecture, and a volatile read keeps it from being cached.
        let raw = unsafe { core::ptr::read_volatile(&raw const bindings::system_state) };
        match raw {
            bindings::system_states_SYSTEM_BOOTING => Self::Booting,
            bindings::system_states_SYSTEM_SCHEDULING => Self::Scheduling,
            bindings::system_states_SYSTEM_FREEING_INITMEM => Self::FreeingInitmem,
            bindings::system_states_SYSTEM_RUNNING => Self::Running,
            other => Self::Ending(other),
        }
    }

    /// The state's name as `include/linux/kernel.h` spells it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Booting => "SYSTEM_BOOTING",
            Self::Scheduling => "SYSTEM_SCHEDULING",
            Self::FreeingInitmem => "SYSTEM_FREEING_INITMEM",
            Self::Running => "SYSTEM_RUNNING",
            Self::Ending(_) => "SYSTEM_ENDING",
        }
    }
}

/// Nanoseconds since boot on the clock `printk` stamps its lines with,
/// `local_clock()`.
pub(crate) fn clock_ns() -> u64 {
    // SAFETY: `local_clock` has no preconditions and may be called from any
    // context.
    unsafe { ffi::local_clock() }
}

mod ffi {
    extern "C" {
        /// `u64 local_clock(void)` from `include/linux/sched/clock.h`: an
        /// exported function where the architecture's `sched_clock` is
        /// unstable (x86), and otherwise (arm64) an inline wrapper around
        /// `sched_clock`, which is then what this links to. The 7.3 bindings
        /// do not include that header.
        #[cfg_attr(not(CONFIG_HAVE_UNSTABLE_SCHED_CLOCK), link_name = "sched_clock")]
        pub(super) fn local_clock() -> u64;
    }
}
