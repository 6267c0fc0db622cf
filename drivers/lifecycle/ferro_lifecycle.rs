// SPDX-License-Identifier: GPL-2.0

//! Ferro lifecycle probe: how the C kernel enters a Rust module.
//!
//! A module with no hardware behind it. Its init records which entry point C
//! called, in which build mode, in which `system_state`, when, and from where
//! (the captured call chain), and publishes that record read-only at
//! `/dev/ferro_lifecycle`. Its exit logs the same facts for the teardown
//! path. Built as a module, C enters through `init_module`, called by
//! `do_one_initcall` from `do_init_module` during `finit_module(2)`; built in,
//! through `__ferro_lifecycle_init`, called by `do_one_initcall` from the
//! level-6 initcalls in `kernel_init_freeable`. Built in, the exit never runs.
//!
//! Parameters, given to `insmod` or as `ferro_lifecycle.<name>=` on the
//! kernel command line:
//! - `stack_depth` (1..=32, default 16): frames of the call chain to keep.
//! - `dump_stack` (default false): also print the kernel's own stack dump.

use kernel::{
    fs::{File, Kiocb},
    iov::IovIterDest,
    miscdevice::{MiscDevice, MiscDeviceOptions, MiscDeviceRegistration},
    prelude::*,
};

#[path = "../../kext/compat.rs"]
mod compat;
mod record;
#[path = "../../kext/stacktrace.rs"]
mod stacktrace;
#[path = "../../kext/system_state.rs"]
mod system_state;

use compat::{ParamFlag, ParamValue};
use record::{Event, Text, EXIT_ENTRY, INIT_ENTRY};

/// The module, given the type of an on/off parameter and its "off".
macro_rules! lifecycle_module {
    ($flag:ident, $off:tt) => {
        module! {
            type: Lifecycle,
            name: "ferro_lifecycle",
            authors: ["The Ferro developers"],
            description: "Records how C enters a Rust module, built in or loadable",
            license: "GPL",
            params: {
                stack_depth: u32 {
                    default: 16,
                    description: "Frames of the caller's stack to record (1..32)",
                },
                dump_stack: $flag {
                    default: $off,
                    description: "Also print the kernel's stack dump at init and exit",
                },
            },
        }
    };
}
compat::with_param_flag!(lifecycle_module);

// The init record, rendered as text when init runs: symbols are resolved
// then, because a module's `.init.text` is freed once its init returns.
// A static rather than a field of `Lifecycle` because the misc device's
// callbacks are not handed the module; `Lifecycle`'s drop empties it.
kernel::sync::global_lock! {
    // SAFETY: Initialised by `Lifecycle::init` before any other use, exactly
    // once per load of this module (each load gets fresh static storage).
    unsafe(uninit) static RECORD: Mutex<KVec<u8>> = KVec::new();
}

/// Checked parameters, read once so a record and its checks agree.
struct Params {
    stack_depth: u32,
    dump_stack: bool,
}

impl Params {
    fn get() -> Result<Self> {
        let value = module_parameters::stack_depth.get();
        let stack_depth = check_stack_depth(value).inspect_err(|_| {
            pr_err!(
                "stack_depth={} is out of range (1..{})\n",
                value,
                stacktrace::MAX_FRAMES
            );
        })?;
        Ok(Self {
            stack_depth,
            dump_stack: module_parameters::dump_stack.is_on(),
        })
    }
}

/// Accepts a `stack_depth` from 1 to [`stacktrace::MAX_FRAMES`], else `EINVAL`.
fn check_stack_depth(value: u32) -> Result<u32> {
    if (1..=stacktrace::MAX_FRAMES as u32).contains(&value) {
        Ok(value)
    } else {
        Err(EINVAL)
    }
}

/// The module: owns the registration of `/dev/ferro_lifecycle`.
#[pin_data(PinnedDrop)]
struct Lifecycle {
    #[pin]
    _record_dev: MiscDeviceRegistration<RecordFile>,
}

impl kernel::InPlaceModule for Lifecycle {
    fn init(_module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // Captured first, so the call chain it holds is the one C used to
        // enter this module rather than one of ours.
        let event =
            Params::get().map(|p| Event::capture("init", INIT_ENTRY, p.stack_depth, p.dump_stack));

        // SAFETY: This is the module's init, which C calls exactly once.
        unsafe { RECORD.init() };

        try_pin_init!(Self {
            _record_dev <- {
                let event = event?;
                // Published only once the device exists: if registering
                // fails, no record is left behind in `RECORD` (a module's
                // statics are freed without being dropped); if publishing
                // fails, the registration is undone.
                MiscDeviceRegistration::register(MiscDeviceOptions {
                    name: c"ferro_lifecycle",
                })
                .pin_chain(move |_| publish(&event))
            },
        })
    }
}

/// Logs the init event and stores it, as text, for `/dev/ferro_lifecycle`.
fn publish(event: &Event) -> Result {
    if event.dump_stack {
        stacktrace::dump_stack();
    }
    event.log();
    let mut text = Text(KVec::new());
    event.write_to(&mut text).map_err(|_| ENOMEM)?;
    *RECORD.lock() = text.0;
    Ok(())
}

#[pinned_drop]
impl PinnedDrop for Lifecycle {
    fn drop(self: Pin<&mut Self>) {
        // The parameters were valid at init and cannot change since.
        if let Ok(p) = Params::get() {
            let event = Event::capture("exit", EXIT_ENTRY, p.stack_depth, p.dump_stack);
            if p.dump_stack {
                stacktrace::dump_stack();
            }
            event.log();
        }
        drop(core::mem::take(&mut *RECORD.lock()));
    }
}

/// `/dev/ferro_lifecycle`: reading it returns the init record as text.
struct RecordFile;

#[vtable]
impl MiscDevice for RecordFile {
    type Ptr = ();

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Self::Ptr> {
        Ok(())
    }

    fn read_iter(mut kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let record = RECORD.lock();
        iov.simple_read_from_buffer(kiocb.ki_pos_mut(), &record)
    }
}

#[kunit_tests(ferro_lifecycle)]
mod tests {
    use super::*;
    use crate::{stacktrace::Stack, system_state::SystemState};

    #[test]
    fn stack_depth_bounds() {
        assert_eq!(check_stack_depth(0), Err(EINVAL));
        assert_eq!(check_stack_depth(1), Ok(1));
        assert_eq!(check_stack_depth(stacktrace::MAX_FRAMES as u32), Ok(32));
        assert_eq!(
            check_stack_depth(stacktrace::MAX_FRAMES as u32 + 1),
            Err(EINVAL)
        );
        assert_eq!(check_stack_depth(u32::MAX), Err(EINVAL));
    }

    #[test]
    fn system_state_is_past_booting() {
        assert_eq!(SystemState::Running.name(), "SYSTEM_RUNNING");
        assert_ne!(SystemState::now(), SystemState::Booting);
    }

    #[test]
    fn stack_capture_respects_depth() {
        assert_eq!(Stack::capture(0).frames().len(), 0);
        let frames = Stack::capture(3).frames().len();
        assert!((1..=3).contains(&frames));
    }

    #[test]
    fn record_text() -> Result {
        let event = Event {
            name: "test",
            entry: INIT_ENTRY,
            state: SystemState::Scheduling,
            time_ns: 1_000_002_999,
            stack_depth: 1,
            dump_stack: false,
            stack: Stack::from_frames(&[check_stack_depth as fn(u32) -> Result<u32> as usize]),
        };
        let mut text = Text(KVec::new());
        event.write_to(&mut text)?;
        let text = core::str::from_utf8(&text.0)?;
        assert!(text.starts_with("event: test\n"));
        assert!(text.contains("\nsystem_state: SYSTEM_SCHEDULING\n"));
        assert!(text.contains("\ntime: 1.000002\n"));
        assert!(text.contains("\nframes: 1\nframe.0: "));
        // The frame is resolved to this crate's (mangled) function name.
        assert!(text.contains("ferro_lifecycle17check_stack_depth+0x0/"));
        Ok(())
    }
}
