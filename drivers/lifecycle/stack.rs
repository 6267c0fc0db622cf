// SPDX-License-Identifier: GPL-2.0

//! Small safe wrappers over C facilities the 7.3 kernel crate does not cover.
//!
//! The kernel crate has no abstraction for stack traces, symbol lookup or the
//! global `system_state`. These wrappers are what this driver needs and no
//! more; each is a candidate for upstreaming into `kernel::` (stack traces
//! next to `kernel::bug`, [`SystemState`] next to `kernel::init`).

use kernel::{bindings, fmt, prelude::*};

/// The most frames a [`Stack`] holds.
pub(crate) const MAX_FRAMES: usize = 32;

mod ffi {
    use kernel::ffi::{c_uint, c_ulong};

    extern "C" {
        /// `unsigned int stack_trace_save(unsigned long *store, unsigned int size,
        /// unsigned int skipnr)` from `include/linux/stacktrace.h`; the kernel
        /// crate's bindings do not include that header.
        pub(super) fn stack_trace_save(store: *mut c_ulong, size: c_uint, skipnr: c_uint)
            -> c_uint;

        /// `unsigned long long sched_clock(void)` from `include/linux/sched/clock.h`,
        /// where `local_clock()`, the clock of `printk` time stamps, is an inline
        /// wrapper around it on architectures with a stable clock (arm64).
        pub(super) fn sched_clock() -> u64;
    }
}

/// A captured kernel stack: return addresses, innermost first.
pub(crate) struct Stack {
    frames: [usize; MAX_FRAMES],
    len: usize,
}

impl Stack {
    /// Captures at most `depth` frames of the current task's stack.
    ///
    /// The frame of this function itself is left out, so the first entry is
    /// the return address into the caller. Inlined functions have no frame of
    /// their own and do not appear.
    #[inline(never)]
    pub(crate) fn capture(depth: usize) -> Self {
        let mut frames = [0usize; MAX_FRAMES];
        let size = depth.min(MAX_FRAMES);
        // SAFETY: `frames` is valid for writes of `MAX_FRAMES >= size` entries of
        // `unsigned long`, which has the size and alignment of `usize` on every
        // architecture Linux supports; the function writes at most `size` entries
        // and returns how many it wrote. Skipping one entry drops this function.
        let len = unsafe { ffi::stack_trace_save(frames.as_mut_ptr(), size as u32, 1) };
        Self {
            frames,
            len: (len as usize).min(size),
        }
    }

    /// A stack made of given addresses, for tests of what consumes stacks.
    #[cfg(CONFIG_KUNIT = "y")]
    pub(crate) fn from_frames(addrs: &[usize]) -> Self {
        let mut frames = [0usize; MAX_FRAMES];
        let len = addrs.len().min(MAX_FRAMES);
        frames[..len].copy_from_slice(&addrs[..len]);
        Self { frames, len }
    }

    /// The captured return addresses, innermost first.
    pub(crate) fn frames(&self) -> &[usize] {
        &self.frames[..self.len]
    }
}

/// A kernel text address, displayed as `symbol+offset/size [module]` (`%pS`).
pub(crate) struct Symbol(pub(crate) usize);

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // KSYM_NAME_LEN is 512; a longer name is cut short, never overrun.
        let mut buf = [0u8; 600];
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes, the format
        // string is NUL-terminated and `%pS` takes one pointer-sized argument,
        // which `self.0 as *const c_void` is. `scnprintf` never writes more than
        // `buf.len()` bytes and returns the number written without the NUL.
        let len = unsafe {
            bindings::scnprintf(
                buf.as_mut_ptr().cast(),
                buf.len(),
                c"%pS".as_char_ptr(),
                self.0 as *const c_void,
            )
        };
        let text = buf.get(..len.max(0) as usize).unwrap_or(&[]);
        // Symbol names are ASCII; anything else is shown lossily, never trusted.
        match core::str::from_utf8(text) {
            Ok(s) => f.write_str(s),
            Err(_) => f.write_str("<non-UTF-8 symbol>"),
        }
    }
}

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

/// Nanoseconds since boot on the clock `printk` stamps its lines with (arm64).
pub(crate) fn clock_ns() -> u64 {
    // SAFETY: `sched_clock` has no preconditions and may be called from any
    // context.
    unsafe { ffi::sched_clock() }
}
