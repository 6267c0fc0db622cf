// SPDX-License-Identifier: GPL-2.0

//! The lifecycle record: what the kernel's entry into this module looked like.

use crate::{
    stacktrace::{Stack, Symbol},
    system_state::SystemState,
};
use kernel::{fmt, prelude::*};

/// How this object was built, decided by Kbuild through `cfg(MODULE)`.
pub(crate) const MODE: &str = if cfg!(MODULE) { "module" } else { "built-in" };

/// The symbol C calls to initialise this object in its build mode: the
/// `module!` macro emits `init_module` for a `.ko` (called by
/// `do_init_module`) and `__ferro_lifecycle_init` for built-in code (called
/// through `__ferro_lifecycle_initcall` in `.initcall6.init`).
pub(crate) const INIT_ENTRY: &str = if cfg!(MODULE) {
    "init_module"
} else {
    "__ferro_lifecycle_init"
};

/// The symbol C calls on teardown: `cleanup_module` from `delete_module(2)`.
/// Built-in code has `__ferro_lifecycle_exit`, which nothing ever calls.
pub(crate) const EXIT_ENTRY: &str = if cfg!(MODULE) {
    "cleanup_module"
} else {
    "__ferro_lifecycle_exit"
};

/// One lifecycle event as observed from inside the module.
pub(crate) struct Event {
    /// `"init"` or `"exit"`.
    pub(crate) name: &'static str,
    /// The entry symbol C called (see [`INIT_ENTRY`], [`EXIT_ENTRY`]).
    pub(crate) entry: &'static str,
    /// `system_state` when the event ran.
    pub(crate) state: SystemState,
    /// [`crate::system_state::clock_ns`] when the event ran.
    pub(crate) time_ns: u64,
    /// The parameters in force: `stack_depth`.
    pub(crate) stack_depth: u32,
    /// The parameters in force: `dump_stack`.
    pub(crate) dump_stack: bool,
    /// The callers, innermost first.
    pub(crate) stack: Stack,
}

impl Event {
    /// Records an event now; `stack_depth` frames of the caller are kept.
    ///
    /// Never inlined, so its own frame is the one [`Stack::capture`] sees
    /// first and the record starts at the code that called it.
    #[inline(never)]
    pub(crate) fn capture(
        name: &'static str,
        entry: &'static str,
        stack_depth: u32,
        dump_stack: bool,
    ) -> Self {
        Self {
            name,
            entry,
            state: SystemState::now(),
            time_ns: crate::system_state::clock_ns(),
            stack_depth,
            dump_stack,
            stack: Stack::capture(stack_depth as usize),
        }
    }

    /// Writes the record as `key: value` lines (see
    /// Documentation/drivers/lifecycle.rst for the format).
    pub(crate) fn write_to(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_fmt(fmt!("event: {}\n", self.name))?;
        w.write_fmt(fmt!("entry: {}\n", self.entry))?;
        w.write_fmt(fmt!("mode: {}\n", MODE))?;
        w.write_fmt(fmt!("system_state: {}\n", self.state.name()))?;
        w.write_fmt(fmt!(
            "time: {}.{:06}\n",
            self.time_ns / 1_000_000_000,
            (self.time_ns % 1_000_000_000) / 1000
        ))?;
        w.write_fmt(fmt!("param.stack_depth: {}\n", self.stack_depth))?;
        w.write_fmt(fmt!("param.dump_stack: {}\n", u8::from(self.dump_stack)))?;
        let frames = self.stack.frames();
        w.write_fmt(fmt!("frames: {}\n", frames.len()))?;
        for (i, addr) in frames.iter().enumerate() {
            w.write_fmt(fmt!("frame.{}: {}\n", i, Symbol(*addr)))?;
        }
        Ok(())
    }

    /// Logs the record, one line per field, prefixed with the event name.
    pub(crate) fn log(&self) {
        pr_info!(
            "{}: entry={} mode={} system_state={} time_ns={}\n",
            self.name,
            self.entry,
            MODE,
            self.state.name(),
            self.time_ns
        );
        for (i, addr) in self.stack.frames().iter().enumerate() {
            pr_info!("{}: frame.{}: {}\n", self.name, i, Symbol(*addr));
        }
    }
}

/// A growable text buffer for rendering a record, failing cleanly on `-ENOMEM`.
pub(crate) struct Text(pub(crate) KVec<u8>);

impl fmt::Write for Text {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0
            .extend_from_slice(s.as_bytes(), GFP_KERNEL)
            .map_err(|_| fmt::Error)
    }
}
