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

mod domain;
#[path = "../../kext/opp_table.rs"]
mod opp_table;

use domain::{Domain, OppSource};
use kernel::{
    clk::Clk, cpu, cpufreq, device::Core, driver, macros::vtable, of, platform, prelude::*,
    sync::Arc,
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

// The domains of the bound device. A static because the cpufreq core hands
// its callbacks a policy, never the driver's device; `Bound` empties it on
// unbind, after the cpufreq registration is gone.
kernel::sync::global_lock! {
    // SAFETY: Initialised by `FerroCpufreqModule::init` before the platform
    // driver, the only user, is registered; once per load of this module.
    unsafe(uninit) static DOMAINS: Mutex<KVec<Arc<Domain>>> = KVec::new();
}

/// The module: owns the platform driver's registration.
#[pin_data]
struct FerroCpufreqModule {
    #[pin]
    _driver: driver::Registration<platform::Adapter<FerroCpufreq>>,
}

impl kernel::InPlaceModule for FerroCpufreqModule {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        // SAFETY: This is the module's init, which C calls exactly once.
        unsafe { DOMAINS.init() };
        try_pin_init!(Self {
            _driver <- driver::Registration::new(DRIVER_NAME, module),
        })
    }
}

kernel::of_device_table!(
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
    _domains: PublishedDomains,
}

/// Empties `DOMAINS` when dropped.
struct PublishedDomains;

impl Drop for PublishedDomains {
    fn drop(&mut self) {
        let domains = core::mem::take(&mut *DOMAINS.lock());
        // Dropped outside the lock: freeing OPP tables takes the OPP
        // library's locks.
        drop(domains);
    }
}

impl FerroCpufreq {
    fn bind(dev: &kernel::device::Device) -> Result<Bound> {
        let source = match dev.fwnode() {
            Some(node) if node.property_read_bool(c"ferro,runtime-opps") => OppSource::Runtime,
            _ => OppSource::DeviceTree,
        };
        let built = domain::build_all(dev, source)?;
        let count = built.len();
        let mut opps = 0u32;
        for d in built.iter() {
            opps += d.opps;
        }

        let mut shared = KVec::with_capacity(built.len(), GFP_KERNEL)?;
        for d in built {
            shared.push(Arc::new(d, GFP_KERNEL)?, GFP_KERNEL)?;
        }
        {
            let mut published = DOMAINS.lock();
            if !published.is_empty() {
                dev_err!(dev, "another ferro,cpufreq device is already bound\n");
                return Err(EBUSY);
            }
            *published = shared;
        }
        let domains = PublishedDomains;

        let registration = cpufreq::Registration::<Callbacks>::new().inspect_err(|e| {
            dev_err!(dev, "cannot register with the cpufreq core ({:?})\n", e);
        })?;
        dev_info!(
            dev,
            "{} frequency domain(s), {} OPPs ({:?} OPPs)\n",
            count,
            opps,
            source
        );
        Ok(Bound {
            _registration: registration,
            _domains: domains,
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

/// What a cpufreq policy owns while it exists.
struct PolicyData {
    domain: Arc<Domain>,
    /// The CPU clock, also stored in the policy for `cpufreq_generic_get`.
    _clk: Clk,
}

/// The domain of `cpu`, if the bound device built one for it.
fn domain_of(cpu: u32) -> Option<Arc<Domain>> {
    DOMAINS.lock().iter().find(|d| d.has(cpu)).cloned()
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
        let domain = domain_of(cpu.as_u32()).ok_or_else(|| {
            pr_err!("cpu{}: not in any frequency domain\n", cpu.as_u32());
            ENODEV
        })?;
        // SAFETY: CPU devices are never freed, and are unregistered only by
        // physical hot-removal, which the cpufreq core handles by removing
        // the policy first; the device is used within this call only.
        let cpu_dev = unsafe { cpu::from_cpu(cpu)? };
        // SAFETY: The policy keeps `domain` (and so the table) alive in its
        // data until `exit`, after which the core no longer reads the table.
        unsafe { policy.set_freq_table(&domain.freq_table) };
        // SAFETY: The clock is kept in the policy data until `exit`.
        let clk = unsafe { policy.set_clk(cpu_dev, None)? };
        for &other in domain.cpus.iter() {
            if let Some(c) = cpu::CpuId::from_u32(other) {
                policy.cpus().set(c);
            }
        }
        policy
            .set_dvfs_possible_from_any_cpu(true)
            .set_transition_latency_ns(domain.latency_ns)
            .set_suspend_freq(domain.suspend);
        Ok(KBox::new(PolicyData { domain, _clk: clk }, GFP_KERNEL)?)
    }

    fn exit(_policy: &mut cpufreq::Policy, _data: Option<Self::PData>) -> Result {
        // Dropping `_data` releases the policy's domain and clock.
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
        data.domain.opp_table.set_rate(data.domain.lowest)?;
        pr_info!(
            "policy{}: offline, parked at {} kHz\n",
            cpu,
            data.domain.lowest.as_khz()
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
        let freq = data.domain.freq_table.freq(index)?;
        data.domain.opp_table.set_rate(freq)
    }

    fn get(policy: &mut cpufreq::Policy) -> Result<u32> {
        policy.generic_get()
    }
}
