# SPDX-License-Identifier: GPL-2.0
"""The kernel-crate gap fillers live in kext/, and only there.

Drivers reach C only through the kernel crate and kext/; each kext/ piece
says what it becomes upstream, is used by a driver, and scripts/ferro/kext.py
turns it into a kernel-crate patch (test_patches.py applies and builds the
series).
"""

import os
import re
import unittest

from tests.host.common import TOP, tracked_files

from ferro import kext

# What reaches C behind the kernel crate's back: its raw bindings, or a
# foreign function declared by hand.
RAW_C = re.compile(r'\bbindings\b|\bextern\s+"C"\s*\{')


def read(rel):
	with open(os.path.join(TOP, rel)) as f:
		return f.read()


class Drivers(unittest.TestCase):

	def test_no_raw_c_in_drivers(self):
		sources = [f for f in tracked_files('drivers') if f.endswith('.rs')]
		self.assertTrue(any(f.endswith('ferro_null.rs') for f in sources), sources)
		found = [f'{rel}:{n}: {line.strip()}' for rel in sources
			 for n, line in enumerate(read(rel).splitlines(), 1) if RAW_C.search(line)]
		self.assertEqual(found, [], 'drivers must use the kernel crate or kext/, '
				 'not bindings:: or extern "C"')

	def test_every_piece_is_used_and_every_include_exists(self):
		names = {p.name for p in kext.pieces()}
		self.assertTrue(names)
		included = set()
		for rel in tracked_files('drivers'):
			if rel.endswith('.rs'):
				for m in re.finditer(r'#\[path = "\.\./\.\./kext/([a-z0-9_]+)\.rs"\]\nmod (\w+);',
						     read(rel)):
					self.assertEqual(m[1], m[2], f'{rel}: name the module after '
							 f'kext/{m[1]}.rs')
					included.add(m[1])
		self.assertEqual(included - names, set(), 'includes of missing kext/ files')
		self.assertEqual(names - included, set(), 'kext/ pieces no driver uses')


class Pieces(unittest.TestCase):

	def test_each_piece_says_it_is_an_upstream_candidate(self):
		for p in kext.pieces():
			doc = ' '.join(line[3:].strip() for line in read(os.path.relpath(p.path, TOP))
				       .splitlines() if line.startswith('//!'))
			if p.module:
				self.assertIn('candidate for upstream', doc, p.path)
			elif p.compat:
				self.assertIn('whole file goes when Ferro drops Linux 7.2', doc, p.path)
			else:
				self.assertIn(p.fix, doc, f'{p.path} does not name its fix')

	def test_resolved_for_the_newest_kernel(self):
		"""The series' kext/ sources, every probe holding: none of the
		older shapes' items is left, and the newer ones are."""
		older = ('#[cfg(', 'iter.bi_bvec_done', 'hrtimer_restart_HRTIMER_NORESTART',
			 'from_errno', 'SpinLockIrqBackend', 'crate::THIS_MODULE', '::+! { u8, 0',
			 'lock: SpinLockIrq<()>', 'MODULE_OF_TABLE')
		newer = {'compat': ('kernel::module::this_module::<crate::LocalModule>()',
				    'pub(crate) use kernel::{new_spinlock_irq, sync::SpinLockIrq};',
				    'kernel::interrupt::local_interrupt_disable()',
				    '{ bool, false'),
			 'block_request': ('iter.bi_offset',),
			 'hrtimer': ('bindings::hrtimer_restart::HRTIMER_NORESTART;',),
			 'block_disk': ('    ENAMETOOLONG\n',)}
		by_name = {p.name: p for p in kext.pieces()}
		for name, want in newer.items():
			text = kext.resolve_cfgs(read(os.path.relpath(by_name[name].path, TOP)))
			for w in want:
				self.assertIn(w, text, name)
			for o in older:
				self.assertNotIn(o, text, name)

	def test_resolved_kconfig(self):
		text = ('config FERRO_X\n\tdepends on RUST && (A || B)\n'
			'\tdepends on FERRO_KCRATE_A && FERRO_KCRATE_B\n'
			'\tdepends on C && FERRO_KCRATE_C\n'
			'\tdepends on FERRO_KCRATE_D || \\\n\t\t   (!E && !F)\n\thelp\n')
		self.assertEqual(kext.resolve_kconfig(text),
				 'config FERRO_X\n\tdepends on RUST && (A || B)\n\tdepends on C\n\thelp\n')

	def test_bad_header_is_refused(self):
		import tempfile
		with tempfile.TemporaryDirectory() as top:
			os.mkdir(os.path.join(top, 'kext'))
			with open(os.path.join(top, 'kext', 'x.rs'), 'w') as f:
				f.write('// SPDX-License-Identifier: GPL-2.0\n// upstream: somewhere\n')
			with self.assertRaisesRegex(kext.KextError, 'kext/x.rs: the second line'):
				kext.pieces(top)
			with open(os.path.join(top, 'kext', 'x.rs'), 'w') as f:
				f.write('// SPDX-License-Identifier: GPL-2.0\n'
					'// kext-upstream: fixed by kext/missing.patch\n')
			with self.assertRaisesRegex(kext.KextError, 'missing.patch does not exist'):
				kext.pieces(top)


class AddMod(unittest.TestCase):

	def test_sorted_and_above_the_next_modules_attributes(self):
		text = 'pub mod a;\n#[cfg(CONFIG_X)]\npub mod c;\nmod d;\n'
		self.assertEqual(kext.add_mod(text, 'b'),
				 'pub mod a;\npub mod b;\n#[cfg(CONFIG_X)]\npub mod c;\nmod d;\n')

	def test_last_and_none(self):
		self.assertEqual(kext.add_mod('mod a;\nfn f() {}\n', 'b'), 'mod a;\npub mod b;\nfn f() {}\n')
		self.assertEqual(kext.add_mod('fn f() {}\n\n', 'b'), 'fn f() {}\n\npub mod b;\n')

	def test_twice_is_refused(self):
		with self.assertRaisesRegex(kext.KextError, 'already declares b'):
			kext.add_mod('pub mod b;\n', 'b')


class UseUpstream(unittest.TestCase):

	def test_module_includes_become_uses_fix_includes_stay(self):
		pieces = {p.name: p for p in kext.pieces()}
		src = ('#[path = "../../kext/block_disk.rs"]\nmod block_disk;\n'
		       '#[path = "../../kext/stacktrace.rs"]\nmod stacktrace;\n'
		       'mod local;\n')
		self.assertEqual(kext.use_upstream(src, pieces),
				 'use kernel::block::mq::disk as block_disk;\n'
				 'use kernel::stacktrace;\n'
				 'mod local;\n')
		fixes = [p for p in pieces.values() if p.fix]
		self.assertTrue(fixes)
		for fix in fixes:
			inc = f'#[path = "../../kext/{fix.name}.rs"]\nmod {fix.name};\n'
			self.assertEqual(kext.use_upstream(inc, pieces), inc)
		with self.assertRaisesRegex(kext.KextError, 'kext/nope.rs'):
			kext.use_upstream('#[path = "../../kext/nope.rs"]\nmod nope;\n', pieces)


if __name__ == '__main__':
	unittest.main()
