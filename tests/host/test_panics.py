# SPDX-License-Identifier: GPL-2.0
"""No driver code that can panic: ferro-inspect --panics on the real modules.

Every call from a Ferro crate's own functions (outside KUnit tests) to a
Rust panic entry point fails the test, reachable from C or not. Calls in
the kernel crate's generic code instantiated for a driver fail too, unless
listed below with the kernel-crate source that makes them.
"""

import glob
import os
import re
import subprocess
import unittest

from tests.host.common import build_dir

from ferro import elf, panics

# Kernel-crate code that a driver cannot avoid: (function, panic entry
# point, why). Each must still be found, so the list cannot go stale.
KERNEL_CRATE = (
	(r'^<kernel::miscdevice::MiscdeviceVTable<ferro_lifecycle::\w+>>::read_iter$',
	 r'^core::panicking::assert_failed::<bool, bool>$',
	 'rust/kernel/iov.rs: IovIterDest::from_raw asserts that the iterator is a '
	 'destination, which the VFS guarantees for read_iter'),
)


def modules():
	found = sorted(glob.glob(os.path.join(build_dir('m'), 'drivers', 'ferro', 'drivers', '*',
					      'ferro_*.ko')))
	if not found:
		raise unittest.SkipTest(f'no Ferro modules in {build_dir("m")}')
	return found


def objdump_panic_calls(path):
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
		for path in modules():
			for s in panics.sites(elf.Elf(path)):
				if s.test:
					continue
				if s.own:
					bad.append(f'{os.path.basename(path)}: {s.function} -> {s.calls}')
					continue
				for i, (fn, callee, _why) in enumerate(KERNEL_CRATE):
					if re.match(fn, s.function) and all(re.match(callee, c) for c in s.calls):
						used.add(i)
						break
				else:
					bad.append(f'{os.path.basename(path)}: kernel-crate code instantiated '
						   f'for the driver: {s.function} -> {s.calls}')
		self.assertEqual(bad, [], 'panics in driver code (ferro-inspect --panics KO shows '
				 'who reaches them)')
		self.assertEqual(sorted(set(range(len(KERNEL_CRATE))) - used), [],
				 'KERNEL_CRATE entries that no longer match anything: remove them')

	def test_sites_agree_with_objdump(self):
		"""The panic calls found in relocations are objdump's, function by
		function (v0 names on both sides)."""
		for path in modules():
			e = elf.Elf(path)
			want = {(fn, callee) for fn, callee in objdump_panic_calls(path)
				if panics.PANIC.match(panics.entries.demangle([callee])[callee])}
			names = panics.entries.demangle(sorted({fn for fn, _ in want} |
							       {c for _, c in want}))
			want_named = {(names[fn], names[c]) for fn, c in want
				      if f'{panics._crate(e)}::' in names[fn] and
				      not panics.PANIC.match(names[fn])}
			got = {(s.function, c) for s in panics.sites(e) for c in s.calls}
			self.assertEqual(got, want_named, path)

	def test_reachability_follows_local_branches(self):
		"""The lifecycle module's read_iter trampoline is reached from its
		file_operations; the path through its init is found by decoding BL
		instructions, which leave no relocation inside a section."""
		path = next((p for p in modules() if p.endswith('ferro_lifecycle.ko')), None)
		if path is None:
			self.skipTest('no ferro_lifecycle.ko')
		e = elf.Elf(path)
		self.assertTrue(panics._local_branches(e, {s.index for s in e.sections
							  if s.flags & panics.entries.SHF_EXECINSTR},
						       {(s.shndx, s.value): s for s in e.symbols()
							if s.type == panics.entries.STT_FUNC}))
		read = [s for s in panics.sites(e) if s.function.endswith('>::read_iter')]
		self.assertTrue(read and read[0].reachable, panics.render(path, panics.sites(e)))


if __name__ == '__main__':
	unittest.main()
