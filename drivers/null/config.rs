// SPDX-License-Identifier: GPL-2.0

//! A device's settings, declared once in [`settings!`]: the module
//! parameters, the configfs attributes, [`Config`] and its one check for
//! both, [`Config::validate`], come from it. No kernel state: KUnit tests it.

use kernel::prelude::*;

/// Most devices one module instance serves (module parameter and configfs
/// together); device `N` is `/dev/ferro_nullb<N>`.
pub(crate) const MAX_DEVICES: u32 = 64;

/// The largest value of a setting without an upper bound.
const MAX: u64 = u64::MAX;

/// Every setting of a device, once: `$callback!` gets a line per setting: attribute
/// number, name, parameter type and default, range (and how a log line says it), description.
macro_rules! settings {
    ($callback:ident) => {
        $crate::compat::with_param_flag! { $crate::config::settings_rows, $callback }
    };
}
pub(crate) use settings;

/// [`settings!`]'s rows, given an on/off parameter's type and "off" (`compat::with_param_flag!`).
macro_rules! settings_rows {
    ($flag:ident, $off:tt, $callback:ident) => {
        $callback! {
            0 capacity_mb: u64 = 1024, 1..=1_048_576, "1..1048576 (MiB)",
                "Capacity of each device in MiB (1..1048576)";
            1 block_size: u32 = 512, 512..=4096, "a power of two in 512..4096",
                "Logical block size in bytes (power of two, 512..4096)";
            2 hw_queues: u32 = 1, 1..=64, "1..64",
                "Hardware queues per device (1..64)";
            3 queue_depth: u32 = 64, 1..=4096, "1..4096",
                "Tags per hardware queue (1..4096)";
            4 completion: u32 = 0, 0..=2, "0 (direct), 1 (softirq) or 2 (timer)",
                "Completion: 0 in queue_rq, 1 block softirq, 2 timer";
            5 completion_nsec: u64 = 10000, 0..=MAX, "a number",
                "Delay of the timer completion in ns (1000..1000000000)";
            6 memory_backed: $flag = $off, 0..=1, "0 or 1",
                "Keep written data in memory";
            7 fail_every: u64 = 0, 0..=MAX, "a number",
                "Fail every Nth read or write with an I/O error (0: never)";
            8 fail_sector: u64 = 0, 0..=MAX, "a number",
                "First sector of a range whose reads and writes fail";
            9 fail_sectors: u64 = 0, 0..=MAX, "a number",
                "Sectors in that range (0: no range)";
        }
    };
}
pub(crate) use settings_rows;

/// How a request completes once `queue_rq` has done its work.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Completion {
    /// In `queue_rq` itself (`blk_mq_end_request` before returning).
    Direct,
    /// From the block softirq, through `blk_mq_complete_request_remote`.
    Softirq,
    /// From a high-resolution timer, `completion_nsec` after `queue_rq`.
    Timer,
}

/// A setting that is out of its range: which one, and what it must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Invalid {
    /// The parameter (and configfs attribute) name.
    pub(crate) name: &'static str,
    /// Its value.
    pub(crate) value: u64,
    /// What the value must be.
    pub(crate) rule: &'static str,
}

/// [`Config`], its defaults, names and range checks, from the
/// [`settings!`] table.
macro_rules! config {
    ($($id:tt $name:ident: $ty:ident = $default:tt, $lo:tt..=$hi:tt, $rule:tt, $desc:tt;)*) => {
        /// One device's settings, each the number its module parameter and
        /// configfs attribute hold (`bool`s as 0 and 1).
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub(crate) struct Config {
            $(
                #[doc = $desc]
                pub(crate) $name: u64,
            )*
        }

        impl Default for Config {
            fn default() -> Self {
                Self { $($name: <u64 as From<$ty>>::from($default),)* }
            }
        }

        /// The settings' names, in attribute order.
        pub(crate) const NAMES: &[&str] = &[$(stringify!($name)),*];

        impl Config {
            /// The first setting outside its own range.
            fn check_ranges(&self) -> Result<(), Invalid> {
                $(
                    if !($lo..=$hi).contains(&self.$name) {
                        let (name, value) = (stringify!($name), self.$name);
                        return Err(Invalid { name, value, rule: $rule });
                    }
                )*
                Ok(())
            }
        }
    };
}
settings!(config);

impl Config {
    /// Checks every setting; the first one out of range is named.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        self.check_ranges()?;
        let invalid = |name, value, rule| Err(Invalid { name, value, rule });
        if !self.block_size.is_power_of_two() {
            return invalid("block_size", self.block_size, "a power of two in 512..4096");
        }
        let timer_ns = 1_000..=1_000_000_000;
        if self.completion() == Completion::Timer && !timer_ns.contains(&self.completion_nsec) {
            let rule = "1000..1000000000 with the timer completion";
            return invalid("completion_nsec", self.completion_nsec, rule);
        }
        if self.fail_sector.checked_add(self.fail_sectors).is_none() {
            let rule = "a range that does not overflow";
            return invalid("fail_sectors", self.fail_sectors, rule);
        }
        Ok(())
    }

    /// [`Config::validate`], logging the setting out of range as one line
    /// that names the `source` (parameter or attribute) and its value.
    pub(crate) fn check(&self, source: &str) -> Result {
        self.validate().map_err(|Invalid { name, value, rule }| {
            pr_err!("invalid {source} {name}={value}: must be {rule}\n");
            EINVAL
        })
    }

    /// How requests complete: 0 direct, 1 softirq, 2 timer, the numbering
    /// of C null_blk's `irqmode` ([`Config::validate`] refuses others).
    pub(crate) fn completion(&self) -> Completion {
        match self.completion {
            1 => Completion::Softirq,
            2 => Completion::Timer,
            _ => Completion::Direct,
        }
    }

    /// Whether written data is kept.
    pub(crate) fn memory_backed(&self) -> bool {
        self.memory_backed != 0
    }

    /// Capacity in 512-byte sectors.
    pub(crate) fn capacity_sectors(&self) -> u64 {
        self.capacity_mb << (20 - kernel::block::SECTOR_SHIFT)
    }

    /// The size of the timer's queue: the most requests in flight with
    /// the timer completion, else none.
    pub(crate) fn timer_slots(&self) -> usize {
        if self.completion() != Completion::Timer {
            return 0;
        }
        usize::try_from(self.hw_queues.saturating_mul(self.queue_depth)).unwrap_or(usize::MAX)
    }

    /// Whether the request at `sector` spanning `sectors` overlaps the
    /// failing range.
    pub(crate) fn in_fail_range(&self, sector: u64, sectors: u64) -> bool {
        self.fail_sectors != 0
            && sector < self.fail_sector.saturating_add(self.fail_sectors)
            && self.fail_sector < sector.saturating_add(sectors)
    }

    /// Whether the `nth` request (counted from 1) fails by `fail_every`.
    pub(crate) fn fails_nth(&self, nth: u64) -> bool {
        nth.checked_rem(self.fail_every) == Some(0)
    }
}

#[kunit_tests(ferro_null)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Config::default().validate(), Ok(()));
    }

    #[test]
    fn each_bad_value_is_named() {
        let bad = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate().err().map(|e| e.name)
        };
        assert_eq!(bad(|c| c.capacity_mb = 0), Some("capacity_mb"));
        assert_eq!(bad(|c| c.capacity_mb = (1 << 20) + 1), Some("capacity_mb"));
        assert_eq!(bad(|c| c.block_size = 256), Some("block_size"));
        assert_eq!(bad(|c| c.block_size = 1000), Some("block_size"));
        assert_eq!(bad(|c| c.block_size = 8192), Some("block_size"));
        assert_eq!(bad(|c| c.hw_queues = 0), Some("hw_queues"));
        assert_eq!(bad(|c| c.queue_depth = 4097), Some("queue_depth"));
        assert_eq!(
            bad(|c| {
                c.completion = 2;
                c.completion_nsec = 10;
            }),
            Some("completion_nsec")
        );
        assert_eq!(
            bad(|c| {
                c.fail_sector = u64::MAX;
                c.fail_sectors = 1;
            }),
            Some("fail_sectors")
        );
        assert_eq!(bad(|c| c.block_size = 4096), None);
        // The delay only matters for the timer completion.
        assert_eq!(bad(|c| c.completion_nsec = 0), None);
    }

    #[test]
    fn out_of_range_named_with_value() {
        let bad = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate().err().map(|e| (e.name, e.value))
        };
        assert_eq!(bad(|c| c.completion = 3), Some(("completion", 3)));
        assert_eq!(bad(|c| c.memory_backed = 2), Some(("memory_backed", 2)));
        assert_eq!(bad(|c| c.block_size = 1000), Some(("block_size", 1000)));
        assert_eq!(NAMES.len(), 10);
    }

    #[test]
    fn fail_range_overlap() {
        let c = Config {
            fail_sector: 100,
            fail_sectors: 8,
            ..Config::default()
        };
        assert!(!c.in_fail_range(92, 8));
        assert!(c.in_fail_range(93, 8));
        assert!(c.in_fail_range(107, 1));
        assert!(!c.in_fail_range(108, 8));
        assert!(c.in_fail_range(0, 1 << 20));
        assert!(!Config::default().in_fail_range(0, u64::MAX));
    }

    #[test]
    fn fail_every_nth() {
        let c = Config {
            fail_every: 3,
            ..Config::default()
        };
        assert!(!c.fails_nth(1) && !c.fails_nth(2) && c.fails_nth(3) && c.fails_nth(6));
        assert!(!Config::default().fails_nth(3));
    }

    #[test]
    fn completion_modes() {
        let mode = |completion| {
            Config {
                completion,
                ..Config::default()
            }
            .completion()
        };
        assert_eq!(mode(0), Completion::Direct);
        assert_eq!(mode(1), Completion::Softirq);
        assert_eq!(mode(2), Completion::Timer);
    }
}
