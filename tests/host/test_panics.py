# SPDX-License-Identifier: GPL-2.0
"""No driver code that can panic: ferro-inspect --panics on the real modules.

Every call from a Ferro crate's own functions (outside KUnit tests) to a
Rust panic entry point fails the test, reachable from C or not. Calls in
other crates' generic code instantiated for a driver (the kernel crate's,
core's) fail too, unless only KUnit tests reach them or they are listed
below with the source that makes them.
"""

import glob
import os
import re
import subprocess
import unittest

from tests.host.common import build_dir

from ferro import elf, kbuild, panics, registry, tree

# Kernel-crate code that a driver cannot avoid: (function, panic entry
# point, why, the kernels whose crate has it: () for every one). Each must
# still be found on its kernels, so the list cannot go stale.
KERNEL_CRATE = (
	(r'^<kernel::miscdevice::MiscdeviceVTable<ferro_lifecycle::\w+>>::read_iter$',
	 r'^core::panicking::assert_failed::<bool, bool>$',
	 'rust/kernel/iov.rs: IovIterDest::from_raw asserts that the iterator is a '
	 'destination, which the VFS guarantees for read_iter', ()),
	(r'^<u64 as kernel::str::parse_int::ParseInt>::from_str$',
	 r'^core::num::from_ascii_radix_panic$',
	 'rust/kernel/str/parse_int.rs: from_str passes the radix strip_radix chose (2, 8, '
	 '10 or 16) to u64::from_str_radix, which panics only outside 2..=36', ()),
	(r'^<kernel::platform::Adapter<ferro_cpufreq::FerroCpufreq>>::probe_callback$',
	 r'^core::panicking::panic_bounds_check$',
	 'rust/kernel/device_id.rs (Linux 7.2): IdArray::info indexes the ID infos by the '
	 'matched entry\'s driver_data, an index the table itself set', ((7, 2),)),
)


def modules():
	"""Every driver's module in the module build (all of them: a missing
	one is a failure, not a skip)."""
	build = build_dir('m')
	found = sorted(glob.glob(os.path.join(build, 'drivers', 'ferro', 'drivers', '*',
					      'ferro_*.ko')))
	names = sorted(os.path.basename(p)[len('ferro_'):-len('.ko')] for p in found)
	if names != sorted(registry.names()):
		raise AssertionError(f'{build} has modules {names}, the registry {registry.names()}')
	return found


def objdump_calls(path):
	"""(function, callee) of every relocated call in the .ko, from objdump."""
	tool = 'aarch64-linux-gnu-objdump'
	text = subprocess.run([tool, '-dr', '--no-show-raw-insn', path], capture_output=True,
			      text=True, check=True).stdout
	out, fn = set(), None
	for line in text.splitlines():
		m = re.match(r'^[0-9a-f]+ <(.+)>:$', line)
		if m:
			fn = m[1]
			continue
		m = re.search(r'R_AARCH64_(?:CALL|JUMP)26\s+(\S+)$', line)
		if m and fn:
			out.add((fn, re.sub(r'\+0x[0-9a-f]+$', '', m[1])))
	return out


class Panics(unittest.TestCase):

	def test_no_panic_in_driver_code(self):
		bad, used = [], set()
		version = tree.version(kbuild.source_of(build_dir('m')))[:2]
		known = [i for i, k in enumerate(KERNEL_CRATE) if not k[3] or version in k[3]]
		for path in modules():
			for s in panics.sites(elf.Elf(path)):
				if s.test:
					continue
				if s.own:
					bad.append(f'{os.path.basename(path)}: {s.function} -> {s.calls}')
					continue
				for i in known:
					fn, callee = KERNEL_CRATE[i][:2]
					if re.match(fn, s.function) and all(re.match(callee, c) for c in s.calls):
						used.add(i)
						break
				else:
					bad.append(f'{os.path.basename(path)}: kernel-crate code instantiated '
						   f'for the driver: {s.function} -> {s.calls}')
		self.assertEqual(bad, [], 'panics in driver code (ferro-inspect --panics KO shows '
				 'who reaches them)')
		self.assertEqual(sorted(set(known) - used), [],
				 'KERNEL_CRATE entries that no longer match anything: remove them')

	def test_sites_agree_with_objdump(self):
		"""The panic calls found in relocations are objdump's, function by
		function; and every call objdump shows to something that looks like
		core's panic or failure path is one PANIC knows."""
		for path in modules():
			e = elf.Elf(path)
			calls = objdump_calls(path)
			names = panics.entries.demangle(sorted({n for c in calls for n in c}))
			unknown = sorted({names[c] for _, c in calls
					  if re.match(r'^core::.*(panic|_fail)', names[c])
					  and not panics.PANIC.match(names[c])})
			self.assertEqual(unknown, [], f'{path}: panic paths PANIC does not know')
			want = {(names[fn], names[c]) for fn, c in calls
				if panics.PANIC.match(names[c]) and not panics.PANIC.match(names[fn])}
			got = {(s.function, c) for s in panics.sites(e) for c in s.calls}
			self.assertEqual(got, want, path)

	def test_reachability_follows_local_branches(self):
		"""ferro_lifecycle's Event::log is called by publish() (and the
		exit) with a BL the assembler resolved: no relocation names it, and
		its address is never taken. It is reached through init_module all
		the same."""
		path = next(p for p in modules() if p.endswith('ferro_lifecycle.ko'))
		e = elf.Elf(path)
		names, _, taken = panics.graph(e)
		via = panics.reachable(e)
		log = [n for n in via if names.get(n) == '<ferro_lifecycle::record::Event>::log']
		self.assertEqual(len(log), 1, 'Event::log not reached')
		self.assertNotIn(log[0], taken)
		self.assertEqual([names.get(n, n) for n in via[log[0]]],
				 ['init_module', 'ferro_lifecycle::publish',
				  '<ferro_lifecycle::record::Event>::log'])
		self.assertNotIn((via[log[0]][1], log[0]), objdump_calls(path))


if __name__ == '__main__':
	unittest.main()
