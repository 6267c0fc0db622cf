// SPDX-License-Identifier: GPL-2.0
// kext-upstream: none, compatibility with Linux 7.2's kernel crate

//! The kernel-crate APIs whose shape changed between Linux 7.2 and 7.3, in
//! the 7.3 shape on both.
//!
//! Each item is named for one API difference and chosen by the cfg of the
//! `kext/Kconfig` probe that tells the two shapes apart:
//! `CONFIG_FERRO_KCRATE_<NAME>` is set where the tree has the 7.3 shape.
//! In a kernel tree Kconfig sets it; out of tree, Ferro's Makefile runs the
//! same probes (`scripts/kcrate-cfgs`). Drivers use these items and never
//! the cfgs themselves. On 7.3 every item is the kernel crate's own;
//! `scripts/make-patches` resolves the cfgs for 7.3, and the whole file goes
//! when Ferro drops Linux 7.2 (`Documentation/building.rst`).
//!
//! Each driver compiles the file in and uses what its APIs need.
#![allow(dead_code, unused_imports, unused_macros)]

use kernel::prelude::*;

/// The module being built: `this_module::<LocalModule>()` in Linux 7.3,
/// the crate root's `THIS_MODULE` static before.
#[cfg(CONFIG_FERRO_KCRATE_THIS_MODULE)]
pub(crate) const fn this_module() -> &'static kernel::ThisModule {
    kernel::module::this_module::<crate::LocalModule>()
}

/// The module being built: `this_module::<LocalModule>()` in Linux 7.3,
/// the crate root's `THIS_MODULE` static before.
#[cfg(not(CONFIG_FERRO_KCRATE_THIS_MODULE))]
pub(crate) const fn this_module() -> &'static kernel::ThisModule {
    &crate::THIS_MODULE
}

#[cfg(CONFIG_FERRO_KCRATE_CONFIGFS_THIS_MODULE)]
pub(crate) use kernel::configfs_attrs;

/// `configfs_attrs!` usable outside the crate root: Linux 7.2's names
/// `THIS_MODULE` unqualified, so this brings it into scope.
#[cfg(not(CONFIG_FERRO_KCRATE_CONFIGFS_THIS_MODULE))]
macro_rules! configfs_attrs {
    ($($t:tt)*) => {{
        use crate::THIS_MODULE;
        kernel::configfs_attrs! { $($t)* }
    }};
}
#[cfg(not(CONFIG_FERRO_KCRATE_CONFIGFS_THIS_MODULE))]
pub(crate) use configfs_attrs;

/// A module parameter's value, copied out. Linux 7.3's `value()` returns
/// the value; Linux 7.2's returns a reference to it.
pub(crate) trait ParamValue<T: Copy> {
    /// The parameter's value.
    fn get(&self) -> T;
}

#[cfg(CONFIG_FERRO_KCRATE_PARAM_VALUE)]
impl<T: Copy> ParamValue<T> for kernel::module_param::ModuleParamAccess<T> {
    fn get(&self) -> T {
        self.value()
    }
}

#[cfg(not(CONFIG_FERRO_KCRATE_PARAM_VALUE))]
impl<T: Copy> ParamValue<T> for kernel::module_param::ModuleParamAccess<T> {
    fn get(&self) -> T {
        *self.value()
    }
}

/// The type `module!` takes for an on/off parameter, and its "off".
///
/// `with_param_flag!(callback, args...)` invokes
/// `callback! { bool, false, args... }`, or `callback! { u8, 0, args... }`
/// where `module!` has no `bool` parameters (Linux 7.2): there the
/// parameter takes 0 and 1 only, and [`ParamFlag`] reads either as a
/// `bool`.
#[cfg(CONFIG_FERRO_KCRATE_PARAM_BOOL)]
macro_rules! with_param_flag {
    ($($callback:ident)::+ $(, $arg:tt)*) => {
        $($callback)::+! { bool, false $(, $arg)* }
    };
}

/// The type `module!` takes for an on/off parameter, and its "off".
///
/// `with_param_flag!(callback, args...)` invokes
/// `callback! { bool, false, args... }`, or `callback! { u8, 0, args... }`
/// where `module!` has no `bool` parameters (Linux 7.2): there the
/// parameter takes 0 and 1 only, and [`ParamFlag`] reads either as a
/// `bool`.
#[cfg(not(CONFIG_FERRO_KCRATE_PARAM_BOOL))]
macro_rules! with_param_flag {
    ($($callback:ident)::+ $(, $arg:tt)*) => {
        $($callback)::+! { u8, 0 $(, $arg)* }
    };
}
pub(crate) use with_param_flag;

/// An on/off parameter's value as a `bool`, whichever type
/// [`with_param_flag!`] gave it.
pub(crate) trait ParamFlag {
    /// Whether the parameter is on.
    fn is_on(&self) -> bool;
}

impl ParamFlag for kernel::module_param::ModuleParamAccess<bool> {
    fn is_on(&self) -> bool {
        self.get()
    }
}

impl ParamFlag for kernel::module_param::ModuleParamAccess<u8> {
    fn is_on(&self) -> bool {
        self.get() != 0
    }
}

/// `EOPNOTSUPP`, which Linux 7.2's `kernel::error::code` lacks.
#[cfg(CONFIG_FERRO_KCRATE_ERRNO_EOPNOTSUPP)]
pub(crate) fn eopnotsupp() -> Error {
    EOPNOTSUPP
}

/// `EOPNOTSUPP`, which Linux 7.2's `kernel::error::code` lacks.
#[cfg(not(CONFIG_FERRO_KCRATE_ERRNO_EOPNOTSUPP))]
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// `ENODATA`, which Linux 7.2's `kernel::error::code` lacks.
#[cfg(CONFIG_FERRO_KCRATE_ERRNO_ENODATA)]
pub(crate) fn enodata() -> Error {
    ENODATA
}

/// `ENODATA`, which Linux 7.2's `kernel::error::code` lacks.
#[cfg(not(CONFIG_FERRO_KCRATE_ERRNO_ENODATA))]
pub(crate) fn enodata() -> Error {
    Error::from_errno(-(kernel::bindings::ENODATA as i32))
}

#[cfg(CONFIG_FERRO_KCRATE_OF_TABLE)]
pub(crate) use kernel::of_device_table;

/// `of_device_table!(TABLE, IdInfo, entries)`: Linux 7.2's also takes the
/// name of the module's alias table, `MODULE_OF_TABLE` here (one OF table
/// per module, as each Ferro driver has).
#[cfg(not(CONFIG_FERRO_KCRATE_OF_TABLE))]
macro_rules! of_device_table {
    ($table:ident, $info:ty, $entries:expr $(,)?) => {
        kernel::of_device_table!($table, MODULE_OF_TABLE, $info, $entries);
    };
}
#[cfg(not(CONFIG_FERRO_KCRATE_OF_TABLE))]
pub(crate) use of_device_table;

#[cfg(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ)]
pub(crate) use kernel::{new_spinlock_irq, sync::SpinLockIrq};

/// A spinlock held with local interrupts off, for data an interrupt
/// handler also locks: Linux 7.3's `SpinLockIrq`, on Linux 7.2 a
/// `spinlock_t` taken with `spin_lock_irqsave()`.
#[cfg(not(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ))]
pub(crate) type SpinLockIrq<T> = kernel::sync::lock::Lock<T, SpinLockIrqBackend>;

/// A pin-initialiser of a [`SpinLockIrq`] holding `$inner`.
#[cfg(not(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ))]
macro_rules! new_spinlock_irq {
    ($inner:expr $(, $name:literal)? $(,)?) => {
        $crate::compat::SpinLockIrq::new(
            $inner,
            kernel::optional_name!($($name)?),
            kernel::static_lock_class!(),
        )
    };
}
#[cfg(not(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ))]
pub(crate) use new_spinlock_irq;

/// The lock backend of Linux 7.2's [`SpinLockIrq`]: `spin_lock_irqsave()`
/// on a `spinlock_t`, by the out-of-line functions the macro calls. The
/// driver's Kconfig `depends on` makes sure they are out of line
/// (`!INLINE_SPIN_LOCK_IRQSAVE`) and that `spinlock_t` wraps a
/// `raw_spinlock_t` (`!PREEMPT_RT`).
#[cfg(not(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ))]
pub(crate) struct SpinLockIrqBackend;

// SAFETY: `lock` returns with the C spinlock held and local interrupts off
// until `unlock` restores them, so the holder excludes every other CPU and
// this CPU's interrupt handlers. `try_lock` never takes the lock. `relock`
// is the trait's, which calls `lock`.
#[cfg(not(CONFIG_FERRO_KCRATE_SPINLOCK_IRQ))]
unsafe impl kernel::sync::lock::Backend for SpinLockIrqBackend {
    type State = kernel::bindings::spinlock_t;
    /// The interrupt flags `spin_lock_irqsave()` saved.
    type GuardState = kernel::ffi::c_ulong;

    /// Initialises the C spinlock.
    ///
    /// # Safety
    ///
    /// As `Backend::init`: `ptr` valid for writes, `name` and `key` for ever.
    unsafe fn init(
        ptr: *mut Self::State,
        name: *const kernel::ffi::c_char,
        key: *mut kernel::bindings::lock_class_key,
    ) {
        // SAFETY: The caller gives a `ptr` valid for writes, and `name`
        // and `key` valid for reads for ever.
        unsafe { kernel::bindings::__spin_lock_init(ptr, name, key) }
    }

    /// Turns local interrupts off and takes the lock; gives the saved flags.
    ///
    /// # Safety
    ///
    /// As `Backend::lock`: the lock is initialised.
    unsafe fn lock(ptr: *mut Self::State) -> Self::GuardState {
        // SAFETY: The caller has initialised the lock. Without PREEMPT_RT a
        // `spinlock_t` starts with its `raw_spinlock_t` (the cast is
        // `spinlock_check()`).
        unsafe { kernel::bindings::_raw_spin_lock_irqsave(ptr.cast()) }
    }

    /// Never takes the lock.
    ///
    /// # Safety
    ///
    /// As `Backend::try_lock`: the lock is initialised.
    unsafe fn try_lock(_ptr: *mut Self::State) -> Option<Self::GuardState> {
        // Linux 7.2 exports no trylock that turns interrupts off, and Ferro
        // never tries: report the lock as contended.
        None
    }

    /// Releases the lock and restores the interrupts as `lock` found them.
    ///
    /// # Safety
    ///
    /// As `Backend::unlock`: the caller holds the lock, taken by `lock`.
    unsafe fn unlock(ptr: *mut Self::State, flags: &Self::GuardState) {
        // SAFETY: The caller holds the lock, taken by `lock`, which saved
        // `flags`.
        unsafe { kernel::bindings::_raw_spin_unlock_irqrestore(ptr.cast(), *flags) }
    }

    /// Lockdep's check that the lock is held.
    ///
    /// # Safety
    ///
    /// As `Backend::assert_is_held`: the lock is initialised.
    unsafe fn assert_is_held(ptr: *mut Self::State) {
        // SAFETY: The caller has initialised the lock.
        unsafe { kernel::bindings::spin_assert_is_held(ptr) }
    }
}

/// Local interrupts off around one data structure's lock, for speed: an
/// interrupt taken while the lock is held keeps every other CPU spinning.
///
/// Linux 7.3 turns them off with `local_interrupt_disable()`. Linux 7.2
/// has no `kernel::interrupt` and exports no function that turns them off,
/// so there this holds a [`SpinLockIrq`] of its own: uncontended, as the
/// data structure's lock serialises the same callers, and it turns
/// interrupts off while held.
#[cfg(CONFIG_FERRO_KCRATE_IRQ_DISABLE)]
#[pin_data]
pub(crate) struct IrqOff {}

#[cfg(CONFIG_FERRO_KCRATE_IRQ_DISABLE)]
impl IrqOff {
    /// A new scope.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {})
    }

    /// Local interrupts are off until the result is dropped.
    pub(crate) fn enter(&self) -> impl Sized {
        kernel::interrupt::local_interrupt_disable()
    }
}

/// Local interrupts off around one data structure's lock, for speed: an
/// interrupt taken while the lock is held keeps every other CPU spinning.
///
/// Linux 7.3 turns them off with `local_interrupt_disable()`. Linux 7.2
/// has no `kernel::interrupt` and exports no function that turns them off,
/// so there this holds a [`SpinLockIrq`] of its own: uncontended, as the
/// data structure's lock serialises the same callers, and it turns
/// interrupts off while held.
#[cfg(not(CONFIG_FERRO_KCRATE_IRQ_DISABLE))]
#[pin_data]
pub(crate) struct IrqOff {
    #[pin]
    lock: SpinLockIrq<()>,
}

#[cfg(not(CONFIG_FERRO_KCRATE_IRQ_DISABLE))]
impl IrqOff {
    /// A new scope.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- new_spinlock_irq!(()),
        })
    }

    /// Local interrupts are off until the result is dropped.
    pub(crate) fn enter(&self) -> impl Sized + '_ {
        self.lock.lock()
    }
}
