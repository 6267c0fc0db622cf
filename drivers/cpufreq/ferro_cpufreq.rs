// SPDX-License-Identifier: GPL-2.0

//! `ferro_cpufreq`: CPU frequency scaling from device-tree OPPs.
//!
//! A platform driver (`ferro-cpufreq`, matched by the `ferro,cpufreq`
//! compatible) whose probe builds one frequency domain per group of CPUs
//! sharing an OPP table and then registers a cpufreq driver
//! (`ferro-cpufreq`). The cpufreq core calls back into `Callbacks` for
//! every policy; a frequency change is `dev_pm_opp_set_rate`, which sets the
//! CPU clock (and the `cpu-supply` voltage, where there is one).
//!
//! How C enters this module, in order: the module's init (or level-6
//! initcall when built in) registers the platform driver; the driver core
//! matches the device-tree node and calls `platform_probe`, which calls the
//! kernel crate's probe trampoline and `FerroCpufreq::probe`; registering
//! with the cpufreq core calls `init` for each policy, and governors call
//! `target_index`. Unbinding drops `Bound`: the cpufreq registration first
//! (the core calls `exit` for every policy), then the domains.
//!
//! Nothing is global: the bound device owns the domains (their OPP tables),
//! and each policy's `init` takes its own reference to its CPUs' table, as
//! `rcpufreq_dt` does.

#[path = "../../kext/compat.rs"]
mod compat;
mod domain;
#[path = "../../kext/opp_table.rs"]
mod opp_table;

use domain::{Domain, OppSource};
use kernel::{
    clk::{Clk, Hertz},
    cpu, cpufreq,
    cpumask::CpumaskVar,
    device::Core,
    driver,
    macros::vtable,
    of, opp, platform,
    prelude::*,
};

module! {
    type: FerroCpufreqModule,
    name: "ferro_cpufreq",
    authors: ["The Ferro developers"],
    description: "CPU frequency scaling from device-tree OPPs",
    license: "GPL",
}

/// The name of the platform driver and of the cpufreq driver.
const DRIVER_NAME: &CStr = c"ferro-cpufreq";

/// The module: owns the platform driver's registration.
#[pin_data]
struct FerroCpufreqModule {
    #[pin]
    _driver: driver::Registration<platform::Adapter<FerroCpufreq>>,
}

impl kernel::InPlaceModule for FerroCpufreqModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- driver::Registration::new(DRIVER_NAME, module),
        })
    }
}

compat::of_device_table!(
    OF_TABLE,
    <FerroCpufreq as platform::Driver>::IdInfo,
    [(of::DeviceId::new(c"ferro,cpufreq"), ())]
);

/// The platform driver.
struct FerroCpufreq;

/// What a bound device owns. Fields drop in order: the cpufreq registration
/// (the core calls `exit` for every policy), then the domains.
struct Bound {
    _registration: cpufreq::Registration<Callbacks>,
    _domains: KVec<Domain>,
}

impl FerroCpufreq {
    fn bind(dev: &kernel::device::Device) -> Result<Bound> {
        let source = match dev.fwnode() {
            Some(node) if node.property_read_bool(c"ferro,runtime-opps") => OppSource::Runtime,
            _ => OppSource::DeviceTree,
        };
        let built = domain::build_all(dev, source)?;
        let opps: u32 = built.iter().map(|d| d.opps).sum();

        let registration = cpufreq::Registration::<Callbacks>::new().inspect_err(|e| {
            dev_err!(dev, "cannot register with the cpufreq core ({:?})\n", e);
        })?;
        dev_info!(
            dev,
            "{} frequency domain(s), {} OPPs ({:?} OPPs)\n",
            built.len(),
            opps,
            source
        );
        Ok(Bound {
            _registration: registration,
            _domains: built,
        })
    }
}

impl platform::Driver for FerroCpufreq {
    type IdInfo = ();
    type Data<'bound> = Bound;
    const OF_ID_TABLE: Option<of::IdTable<Self::IdInfo>> = Some(&OF_TABLE);

    fn probe<'bound>(
        pdev: &'bound platform::Device<Core<'_>>,
        _id_info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        Self::bind(pdev.as_ref())
    }
}

/// What a cpufreq policy owns while it exists: its own reference to the OPP
/// table of its CPUs, the frequency table made from it, and the CPU clock
/// (also stored in the policy for `cpufreq_generic_get`).
struct PolicyData {
    opp_table: opp::Table,
    freq_table: opp::FreqTable,
    /// The slowest OPP, where an offline domain is parked.
    lowest: Hertz,
    _clk: Clk,
}

/// The cpufreq driver's callbacks.
#[derive(Default)]
struct Callbacks;

#[vtable]
impl cpufreq::Driver for Callbacks {
    const NAME: &'static CStr = DRIVER_NAME;
    const FLAGS: u16 = cpufreq::flags::NEED_INITIAL_FREQ_CHECK;
    const BOOST_ENABLED: bool = false;

    type PData = KBox<PolicyData>;

    fn init(policy: &mut cpufreq::Policy) -> Result<Self::PData> {
        let cpu = policy.cpu();
        // SAFETY: CPU devices are never freed, and are unregistered only by
        // physical hot-removal, which the cpufreq core handles by removing
        // the policy first; the device is used within this call only.
        let cpu_dev = unsafe { cpu::from_cpu(cpu)? };
        // The table the probe added (or shared out) for the CPU's domain.
        let mut opp_table = opp::Table::from_dev(cpu_dev).inspect_err(|_| {
            pr_err!("cpu{}: not in any frequency domain\n", cpu.as_u32());
        })?;
        let mut cpus = CpumaskVar::new_zero(GFP_KERNEL)?;
        opp::Table::sharing_cpus(cpu_dev, &mut cpus)?;
        let freq_table = opp_table.cpufreq_table()?;
        let lowest = freq_table.freq(domain::first_index())?;
        // SAFETY: The policy data keeps `freq_table` until `exit`, after
        // which the core no longer reads it.
        unsafe { policy.set_freq_table(&freq_table) };
        // SAFETY: The clock is kept in the policy data until `exit`.
        let clk = unsafe { policy.set_clk(cpu_dev, None)? };
        cpus.copy(policy.cpus());
        policy
            .set_dvfs_possible_from_any_cpu(true)
            .set_transition_latency_ns(domain::transition_latency(
                opp_table.max_transition_latency_ns(),
            ))
            .set_suspend_freq(opp_table.suspend_freq());
        Ok(KBox::new(
            PolicyData {
                opp_table,
                freq_table,
                lowest,
                _clk: clk,
            },
            GFP_KERNEL,
        )?)
    }

    fn exit(_policy: &mut cpufreq::Policy, _data: Option<Self::PData>) -> Result {
        // Dropping `_data` releases the policy's tables and clock.
        Ok(())
    }

    fn online(policy: &mut cpufreq::Policy) -> Result {
        // The domain was parked at its lowest OPP when it went offline; the
        // governor sets the frequency it wants when it starts again.
        pr_info!("policy{}: online\n", policy.cpu().as_u32());
        Ok(())
    }

    fn offline(policy: &mut cpufreq::Policy) -> Result {
        let cpu = policy.cpu().as_u32();
        // The last CPU of the domain is going down: park the clock at the
        // slowest OPP. The policy data stays for `online`.
        let data: &PolicyData = policy.data::<Self::PData>().ok_or(ENODEV)?;
        data.opp_table.set_rate(data.lowest)?;
        pr_info!(
            "policy{}: offline, parked at {} kHz\n",
            cpu,
            data.lowest.as_khz()
        );
        Ok(())
    }

    fn suspend(policy: &mut cpufreq::Policy) -> Result {
        policy.generic_suspend()
    }

    fn verify(data: &mut cpufreq::PolicyData) -> Result {
        data.generic_verify()
    }

    fn target_index(policy: &mut cpufreq::Policy, index: cpufreq::TableIndex) -> Result {
        let data: &PolicyData = policy.data::<Self::PData>().ok_or(ENODEV)?;
        let freq = data.freq_table.freq(index)?;
        data.opp_table.set_rate(freq)
    }

    fn get(policy: &mut cpufreq::Policy) -> Result<u32> {
        policy.generic_get()
    }
}
