# SPDX-License-Identifier: GPL-2.0
"""The classic external-module build (make modules / scripts/build-modules)."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir
from ferro import elf

SCRIPT = os.path.join(TOP, 'scripts', 'build-modules')


def git_status():
	return subprocess.run(['git', 'status', '--porcelain', '--ignored'], cwd=TOP,
			      capture_output=True, text=True).stdout


class OutOfTree(unittest.TestCase):

	def test_builds_loadable_module_outside_the_tree(self):
		kdir = build_dir('m')
		before = git_status()
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([SCRIPT, '--out', out, kdir], capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			ko = os.path.join(out, 'drivers', 'lifecycle', 'ferro_lifecycle.ko')
			self.assertTrue(os.path.isfile(ko), f'no {ko}')
			e = elf.Elf(ko)
			self.assertEqual(e.section_of(e.symbol('init_module')), '.init.text')
			modinfo = e.section('.modinfo')
			text = e.data[modinfo.offset:modinfo.offset + modinfo.size].split(b'\0')
			self.assertIn(b'name=ferro_lifecycle', text)
			self.assertIn(b'parmtype=stack_depth:u32', text)
		self.assertEqual(git_status(), before, 'the out-of-tree build wrote into the tree')

	def test_rebuilds_for_another_kernel_configuration(self):
		# Objects built against another configuration of the kernel
		# (recorded in .ferro-kernel-id) are thrown away, not reused.
		kdir = build_dir('m')
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([SCRIPT, '--out', out, kdir], capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stderr[-2000:])
			stale = os.path.join(out, 'stale-object.o')
			open(stale, 'w').close()
			with open(os.path.join(out, '.ferro-kernel-id'), 'w') as f:
				f.write('another-kernel\n')
			p = subprocess.run([SCRIPT, '--out', out, kdir], capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stderr[-2000:])
			self.assertFalse(os.path.exists(stale))
			self.assertIn('RUSTC [M]', p.stdout)

	def test_refuses_unbuilt_kernel(self):
		with tempfile.TemporaryDirectory() as kdir:
			p = subprocess.run([SCRIPT, kdir], capture_output=True, text=True)
			self.assertNotEqual(p.returncode, 0)
			self.assertIn('is not a configured and built kernel', p.stderr)


if __name__ == '__main__':
	unittest.main()
