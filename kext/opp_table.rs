// SPDX-License-Identifier: GPL-2.0
// kext-upstream: fixed by kext/opp-from-of-cpumask-leak.patch

//! [`table_of_cpumask`]: `opp::Table::from_of_cpumask` without its leak.
//!
//! The 7.3 kernel crate adds the OPP tables of every CPU in the mask from
//! the device tree, then clones the mask (an allocation with
//! `CONFIG_CPUMASK_OFFSTACK`) to remember what to remove on drop. If that
//! allocation (or the table lookup) fails, it returns the error with the
//! tables still added, and every later probe finds OPPs where there must be
//! none (`-EBUSY` from `dev_pm_opp_set_config`). Allocation failure
//! injection found it. The fix for upstream, clone the mask before adding
//! the tables and remove them on any later error, is
//! `kext/opp-from-of-cpumask-leak.patch`; until a kernel has it, this
//! removes the tables on error.

use kernel::{bindings, cpumask::CpumaskVar, device::Device, opp, prelude::*};

/// The OPP table of the CPUs in `mask`, from the device tree; on error no
/// table of theirs is left added.
pub(crate) fn table_of_cpumask(cpu_dev: &Device, mask: &mut CpumaskVar) -> Result<opp::Table> {
    opp::Table::from_of_cpumask(cpu_dev, mask).inspect_err(|_| {
        // SAFETY: `mask` is a valid cpumask. Removing the device-tree OPP
        // tables of its CPUs drops only the static OPPs and the reference
        // that adding them took, so where `dev_pm_opp_of_cpumask_add_table`
        // failed (and undid itself) it removes nothing.
        unsafe { bindings::dev_pm_opp_of_cpumask_remove_table(mask.as_raw()) }
    })
}
