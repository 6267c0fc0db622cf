// SPDX-License-Identifier: GPL-2.0

//! Frequency domains: groups of CPUs that share a clock and an OPP table.
//!
//! The platform driver builds every domain when it probes, before it
//! registers with the cpufreq core, so that a device tree without OPPs or
//! clocks makes the probe fail with a precise message instead of leaving a
//! cpufreq driver registered with no policy. The cpufreq `init` callback then
//! only attaches a policy to the domain of its CPU.

use crate::{compat, opp_table::table_of_cpumask};
use kernel::{
    clk::Clk,
    cpu::{self, CpuId},
    cpufreq,
    cpumask::CpumaskVar,
    device::Device,
    error::code::*,
    macros::vtable,
    opp,
    prelude::*,
    str::CString,
};

/// One frequency domain: the OPP table its CPUs share, added (from the
/// device tree) or shared out (run-time OPPs) by the probe, and kept for as
/// long as the device is bound. Each cpufreq policy takes its own reference
/// to the table in `init`.
///
/// Fields drop in declaration order, the reverse of how they were set up:
/// the OPP table, then the regulator configuration it was created with.
pub(crate) struct Domain {
    _opp_table: opp::Table,
    _supply: Option<opp::ConfigToken>,
    /// The CPUs of the domain, lowest first.
    cpus: KVec<u32>,
    /// Number of OPPs in the table.
    pub(crate) opps: u32,
}

/// The OPP library's per-device configuration callbacks: none are needed.
#[derive(Default)]
pub(crate) struct OppConfig;

#[vtable]
impl opp::ConfigOps for OppConfig {}

/// Where a CPU's OPPs come from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum OppSource {
    /// `operating-points-v2` tables in the device tree.
    DeviceTree,
    /// OPPs another driver adds at run time (`raspberrypi-cpufreq` from the
    /// Raspberry Pi firmware clock); all CPUs share them.
    Runtime,
}

/// How a failed step maps to the error the probe returns.
///
/// `EPROBE_DEFER` passes through, so the driver core retries once the
/// provider appears, and so does `ENOMEM`; anything else becomes `ENODEV`
/// when what the step looked for is `missing`, else `EINVAL` (something is
/// there but broken).
pub(crate) fn probe_error(err: Error, missing: bool) -> Error {
    if err == EPROBE_DEFER || err == ENOMEM {
        err
    } else if missing {
        ENODEV
    } else {
        EINVAL
    }
}

/// Builds the domain of every possible CPU.
pub(crate) fn build_all(dev: &Device, source: OppSource) -> Result<KVec<Domain>> {
    let mut domains: KVec<Domain> = KVec::new();
    for id in 0..cpu::nr_cpu_ids() {
        if domains.iter().any(|d| d.cpus.contains(&id)) {
            continue;
        }
        let Some(cpu) = CpuId::from_u32(id) else {
            continue;
        };
        // SAFETY: CPU devices are registered at boot and unregistered only by
        // physical CPU hot-removal, which the platforms this driver serves do
        // not support; the reference is used only within this probe.
        let Ok(cpu_dev) = (unsafe { cpu::from_cpu(cpu) }) else {
            continue;
        };
        domains.push(build(dev, cpu, cpu_dev, source)?, GFP_KERNEL)?;
    }
    if domains.is_empty() {
        dev_err!(dev, "no CPU devices to scale\n");
        return Err(ENODEV);
    }
    Ok(domains)
}

/// Logs why the domain of `cpu` cannot be built, in one line that names the
/// error the probe returns and the one the failing call gave, and returns
/// the former. Nothing is logged for `EPROBE_DEFER`: the driver core retries.
fn fail(dev: &Device, cpu: u32, what: &str, cause: Error, missing: bool) -> Error {
    let err = probe_error(cause, missing);
    if err != EPROBE_DEFER {
        dev_err!(
            dev,
            "cpu{}: {} (error {}, from {})\n",
            cpu,
            what,
            err.to_errno(),
            cause.to_errno()
        );
    }
    err
}

/// Builds the domain that `cpu` belongs to.
fn build(dev: &Device, cpu: CpuId, cpu_dev: &Device, source: OppSource) -> Result<Domain> {
    let id = cpu.as_u32();

    // The clock first: without it no OPP can ever be set. With run-time
    // OPPs the clock is checked once they exist: the driver that adds them
    // (raspberrypi-cpufreq) is created by the clock's provider, and the
    // Raspberry Pi's CPU clock is a clkdev lookup, which cannot defer.
    let check_clock = || match Clk::get(cpu_dev, None) {
        Ok(_) => Ok(()),
        Err(e) => Err(fail(dev, id, "no usable clock in the device tree", e, true)),
    };
    if source == OppSource::DeviceTree {
        check_clock()?;
    }

    // An optional regulator, named by the CPU node's `cpu-supply`; it must be
    // configured before the OPP table is read so that OPP voltages are
    // checked against it.
    let supply = match cpu_dev.fwnode() {
        Some(node) if node.property_present(c"cpu-supply") => {
            let mut names = KVec::new();
            names.push(CString::try_from_fmt(fmt!("cpu"))?, GFP_KERNEL)?;
            let token = opp::Config::<OppConfig>::new()
                .set_regulator_names(names)?
                .set(cpu_dev)
                .map_err(|e| fail(dev, id, "cannot use its cpu-supply", e, false))?;
            Some(token)
        }
        _ => None,
    };

    let mut mask = CpumaskVar::new_zero(GFP_KERNEL)?;
    mask.set(cpu);
    let mut opp_table = match source {
        OppSource::DeviceTree => {
            opp::Table::of_sharing_cpus(cpu_dev, &mut mask).map_err(|e| {
                if e == ENOENT {
                    fail(
                        dev,
                        id,
                        "no operating-points-v2 in the device tree",
                        e,
                        true,
                    )
                } else {
                    fail(dev, id, "cannot read which CPUs share its OPPs", e, false)
                }
            })?;
            table_of_cpumask(cpu_dev, &mut mask)
                .map_err(|e| fail(dev, id, "broken OPP table in the device tree", e, false))?
        }
        OppSource::Runtime => {
            // Another driver adds the OPPs; until it has, there is nothing
            // to scale and the probe is retried later.
            let table = opp::Table::from_dev(cpu_dev).ok();
            let mut table = match table {
                Some(t) if t.opp_count().unwrap_or(0) > 0 => t,
                _ => return Err(EPROBE_DEFER),
            };
            check_clock()?;
            mask.setall();
            table.set_sharing_cpus(&mut mask)?;
            table
        }
    };

    let opps = opp_table.opp_count().unwrap_or(0);
    if opps == 0 {
        return Err(fail(
            dev,
            id,
            "its OPP table has no usable OPPs",
            compat::enodata(),
            false,
        ));
    }
    // What each policy's `init` will do: fail here, with the reason.
    opp_table
        .cpufreq_table()
        .map_err(|e| fail(dev, id, "cannot build the frequency table", e, false))?;

    let mut cpus = KVec::new();
    for other in 0..cpu::nr_cpu_ids() {
        if let Some(c) = CpuId::from_u32(other) {
            if mask.test(c) {
                cpus.push(other, GFP_KERNEL)?;
            }
        }
    }

    Ok(Domain {
        _opp_table: opp_table,
        _supply: supply,
        cpus,
        opps,
    })
}

/// The index of the first entry of a frequency table.
pub(crate) fn first_index() -> cpufreq::TableIndex {
    // SAFETY: Index 0 exists: the probe checked that the table has OPPs.
    unsafe { cpufreq::TableIndex::new(0) }
}

/// The transition latency to report: the OPP table's, or the cpufreq core's
/// default when the device tree gives none; saturated to `u32`.
pub(crate) fn transition_latency(table_ns: usize) -> u32 {
    match table_ns {
        0 => cpufreq::DEFAULT_TRANSITION_LATENCY_NS,
        ns => u32::try_from(ns).unwrap_or(u32::MAX),
    }
}

#[kunit_tests(ferro_cpufreq)]
mod tests {
    use super::*;

    #[test]
    fn defer_passes_through() {
        assert_eq!(probe_error(EPROBE_DEFER, true), EPROBE_DEFER);
        assert_eq!(probe_error(EPROBE_DEFER, false), EPROBE_DEFER);
    }

    #[test]
    fn missing_is_enodev_broken_is_einval() {
        assert_eq!(probe_error(ENOENT, true), ENODEV);
        assert_eq!(probe_error(ENODEV, false), EINVAL);
        assert_eq!(probe_error(ERANGE, false), EINVAL);
    }

    #[test]
    fn out_of_memory_passes_through() {
        assert_eq!(probe_error(ENOMEM, true), ENOMEM);
        assert_eq!(probe_error(ENOMEM, false), ENOMEM);
    }

    #[test]
    fn latency_defaults_and_saturates() {
        assert_eq!(
            transition_latency(0),
            cpufreq::DEFAULT_TRANSITION_LATENCY_NS
        );
        assert_eq!(transition_latency(100_000), 100_000);
        assert_eq!(transition_latency(usize::MAX), u32::MAX);
    }
}
