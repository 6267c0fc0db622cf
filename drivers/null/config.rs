// SPDX-License-Identifier: GPL-2.0

//! A device's settings, their limits and how configfs text becomes a value.
//!
//! Pure logic with no kernel state, so that KUnit tests it directly. The
//! module parameters and the configfs attributes share these names and
//! limits, and one [`Config::validate`] decides for both.

use kernel::prelude::*;

/// Most devices one module instance serves (module parameter and configfs
/// together); device `N` is `/dev/ferro_nullb<N>`.
pub(crate) const MAX_DEVICES: u32 = 64;

/// The settings' names: module parameters and configfs attributes alike.
pub(crate) const NAMES: [&str; 10] = [
    "capacity_mb",
    "block_size",
    "hw_queues",
    "queue_depth",
    "completion",
    "completion_nsec",
    "memory_backed",
    "fail_every",
    "fail_sector",
    "fail_sectors",
];

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

impl Completion {
    /// The mode for a parameter value: 0 direct, 1 softirq, 2 timer (the
    /// numbering of C null_blk's `irqmode`).
    pub(crate) fn from_value(value: u64) -> Option<Self> {
        match value {
            0 => Some(Self::Direct),
            1 => Some(Self::Softirq),
            2 => Some(Self::Timer),
            _ => None,
        }
    }

    /// The parameter value of this mode.
    pub(crate) fn value(self) -> u64 {
        match self {
            Self::Direct => 0,
            Self::Softirq => 1,
            Self::Timer => 2,
        }
    }
}

/// One device's settings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Config {
    /// Capacity in MiB.
    pub(crate) capacity_mb: u64,
    /// Logical (and physical) block size in bytes.
    pub(crate) block_size: u64,
    /// Hardware queues of the tag set.
    pub(crate) hw_queues: u64,
    /// Tags per hardware queue.
    pub(crate) queue_depth: u64,
    /// How requests complete.
    pub(crate) completion: Completion,
    /// Delay of [`Completion::Timer`], in nanoseconds.
    pub(crate) completion_nsec: u64,
    /// Keep written data in memory (pages allocated on first write).
    pub(crate) memory_backed: bool,
    /// Fail every Nth request with an I/O error (0: never).
    pub(crate) fail_every: u64,
    /// First 512-byte sector of the failing range.
    pub(crate) fail_sector: u64,
    /// Length of the failing range in 512-byte sectors (0: no range).
    pub(crate) fail_sectors: u64,
}

/// A setting that is out of its range: which one, and what it must be.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Invalid {
    /// The parameter (and configfs attribute) name.
    pub(crate) name: &'static str,
    /// What the value must be.
    pub(crate) rule: &'static str,
}

/// Bounds of the numeric settings.
const CAPACITY_MB: (u64, u64) = (1, 1 << 20);
const HW_QUEUES: (u64, u64) = (1, 64);
const QUEUE_DEPTH: (u64, u64) = (1, 4096);
const COMPLETION_NSEC: (u64, u64) = (1_000, 1_000_000_000);

impl Default for Config {
    fn default() -> Self {
        Self {
            capacity_mb: 1024,
            block_size: 512,
            hw_queues: 1,
            queue_depth: 64,
            completion: Completion::Direct,
            completion_nsec: 10_000,
            memory_backed: false,
            fail_every: 0,
            fail_sector: 0,
            fail_sectors: 0,
        }
    }
}

fn within(value: u64, (low, high): (u64, u64)) -> bool {
    (low..=high).contains(&value)
}

impl Config {
    /// Checks every setting; the first one out of range is named.
    pub(crate) fn validate(&self) -> Result<(), Invalid> {
        let fail = |name, rule| Err(Invalid { name, rule });
        if !within(self.capacity_mb, CAPACITY_MB) {
            return fail("capacity_mb", "1..1048576 (MiB)");
        }
        if !within(self.block_size, (512, 4096)) || !self.block_size.is_power_of_two() {
            return fail("block_size", "a power of two in 512..4096");
        }
        if !within(self.hw_queues, HW_QUEUES) {
            return fail("hw_queues", "1..64");
        }
        if !within(self.queue_depth, QUEUE_DEPTH) {
            return fail("queue_depth", "1..4096");
        }
        if self.completion == Completion::Timer && !within(self.completion_nsec, COMPLETION_NSEC) {
            return fail(
                "completion_nsec",
                "1000..1000000000 with the timer completion",
            );
        }
        if self.fail_sector.checked_add(self.fail_sectors).is_none() {
            return fail("fail_sectors", "a range that does not overflow");
        }
        Ok(())
    }

    /// A setting by its parameter/attribute name, as a number (booleans
    /// are 0/1, the completion mode its [`Completion::value`]).
    pub(crate) fn get(&self, name: &str) -> Option<u64> {
        Some(match name {
            "capacity_mb" => self.capacity_mb,
            "block_size" => self.block_size,
            "hw_queues" => self.hw_queues,
            "queue_depth" => self.queue_depth,
            "completion" => self.completion.value(),
            "completion_nsec" => self.completion_nsec,
            "memory_backed" => u64::from(self.memory_backed),
            "fail_every" => self.fail_every,
            "fail_sector" => self.fail_sector,
            "fail_sectors" => self.fail_sectors,
            _ => return None,
        })
    }

    /// Sets a setting by name. Refuses values that are not a number of
    /// the setting's kind (completion modes, booleans); ranges are for
    /// [`Config::validate`], once all settings are known.
    pub(crate) fn set(&mut self, name: &'static str, value: u64) -> Result<(), Invalid> {
        match name {
            "capacity_mb" => self.capacity_mb = value,
            "block_size" => self.block_size = value,
            "hw_queues" => self.hw_queues = value,
            "queue_depth" => self.queue_depth = value,
            "completion" => {
                self.completion = Completion::from_value(value).ok_or(Invalid {
                    name,
                    rule: "0 (direct), 1 (softirq) or 2 (timer)",
                })?
            }
            "completion_nsec" => self.completion_nsec = value,
            "memory_backed" => {
                self.memory_backed = match value {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(Invalid {
                            name,
                            rule: "0 or 1",
                        })
                    }
                }
            }
            "fail_every" => self.fail_every = value,
            "fail_sector" => self.fail_sector = value,
            "fail_sectors" => self.fail_sectors = value,
            _ => {
                return Err(Invalid {
                    name,
                    rule: "a known setting",
                })
            }
        }
        Ok(())
    }

    /// Capacity in 512-byte sectors.
    pub(crate) fn capacity_sectors(&self) -> u64 {
        self.capacity_mb << (20 - kernel::block::SECTOR_SHIFT)
    }

    /// Most requests in flight at once: the size of the timer's queue.
    pub(crate) fn max_in_flight(&self) -> usize {
        // Both factors are validated to be small (<= 64 and <= 4096).
        (self.hw_queues * self.queue_depth) as usize
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
        self.fail_every != 0 && nth % self.fail_every == 0
    }
}

/// Parses a configfs write: a decimal number, optionally followed by one
/// newline (what `echo` writes). Anything else is `EINVAL`.
pub(crate) fn parse_u64(text: &[u8]) -> Result<u64> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    if text.is_empty() {
        return Err(EINVAL);
    }
    text.iter().try_fold(0u64, |acc, &c| {
        if !c.is_ascii_digit() {
            return Err(EINVAL);
        }
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or(EINVAL)
    })
}

/// Parses a configfs boolean: `0`/`1`, `n`/`y`, `N`/`Y`, `off`/`on`.
pub(crate) fn parse_bool(text: &[u8]) -> Result<bool> {
    match text.strip_suffix(b"\n").unwrap_or(text) {
        b"1" | b"y" | b"Y" | b"on" => Ok(true),
        b"0" | b"n" | b"N" | b"off" => Ok(false),
        _ => Err(EINVAL),
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
                c.completion = Completion::Timer;
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
    fn set_and_get_by_name() {
        let mut c = Config::default();
        for (i, name) in NAMES.iter().enumerate() {
            let value = if *name == "completion" || *name == "memory_backed" {
                1
            } else {
                4096 + i as u64
            };
            assert_eq!(c.set(name, value), Ok(()));
            assert_eq!(c.get(name), Some(value));
        }
        assert_eq!(
            c.set("completion", 3).map_err(|e| e.name),
            Err("completion")
        );
        assert_eq!(
            c.set("memory_backed", 2).map_err(|e| e.name),
            Err("memory_backed")
        );
        assert_eq!(c.get("nope"), None);
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
    fn configfs_text() {
        assert_eq!(parse_u64(b"4096\n"), Ok(4096));
        assert_eq!(parse_u64(b"0"), Ok(0));
        assert_eq!(parse_u64(b""), Err(EINVAL));
        assert_eq!(parse_u64(b"\n"), Err(EINVAL));
        assert_eq!(parse_u64(b"12a"), Err(EINVAL));
        assert_eq!(parse_u64(b"-1"), Err(EINVAL));
        assert_eq!(parse_u64(b"18446744073709551616"), Err(EINVAL));
        assert_eq!(parse_bool(b"1\n"), Ok(true));
        assert_eq!(parse_bool(b"off"), Ok(false));
        assert_eq!(parse_bool(b"2"), Err(EINVAL));
        assert_eq!(Completion::from_value(2), Some(Completion::Timer));
        assert_eq!(Completion::from_value(3), None);
    }
}
