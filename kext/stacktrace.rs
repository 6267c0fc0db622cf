// SPDX-License-Identifier: GPL-2.0
// kext-upstream: rust/kernel/stacktrace.rs

//! Stack traces and symbol names, which the 7.3 kernel crate does not cover:
//! [`Stack::capture`] (`stack_trace_save`), [`Symbol`] (`%pS`) and
//! [`dump_stack`].
//!
//! A candidate for upstream as `kernel::stacktrace`. Upstream, the C
//! function declared by hand below would come from the generated bindings
//! (`linux/stacktrace.h` added to `bindings_helper.h`); the 7.3 bindings do
//! not include that header.

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
        let mut len = 0;
        for (slot, addr) in frames.iter_mut().zip(addrs) {
            *slot = *addr;
            len += 1;
        }
        Self { frames, len }
    }

    /// The captured return addresses, innermost first.
    pub(crate) fn frames(&self) -> &[usize] {
        self.frames.get(..self.len).unwrap_or(&[])
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

/// Prints the current task's stack to the kernel log, as `dump_stack()`.
pub(crate) fn dump_stack() {
    // SAFETY: `dump_stack` has no preconditions.
    unsafe { bindings::dump_stack() };
}
