# SPDX-License-Identifier: GPL-2.0
"""scripts/build-kernel refuses bad input before touching anything."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP

SCRIPT = os.path.join(TOP, 'scripts', 'build-kernel')


def run(*args):
	return subprocess.run([SCRIPT, *args], capture_output=True, text=True)


class BadInput(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.kdir = self.tmp.name

	def tearDown(self):
		self.tmp.cleanup()

	def test_not_a_kernel_tree(self):
		p = run('--kdir', self.kdir)
		self.assertEqual(p.returncode, 1)
		self.assertIn('is not a kernel source tree', p.stderr)
		self.assertEqual(os.listdir(self.kdir), [])

	def test_configured_in_place(self):
		for name in ('Makefile', '.config'):
			open(os.path.join(self.kdir, name), 'w').close()
		os.mkdir(os.path.join(self.kdir, 'arch'))
		p = run('--kdir', self.kdir)
		self.assertEqual(p.returncode, 1)
		self.assertIn('configured in place', p.stderr)
		self.assertFalse(os.path.exists(os.path.join(self.kdir, 'drivers')))

	def test_bad_mode(self):
		p = run('--kdir', self.kdir, '--mode', 'x')
		self.assertEqual(p.returncode, 1)
		self.assertIn("FERRO_MODE must be one of m, y, not 'x'", p.stderr)

	def test_unknown_board(self):
		p = run('--kdir', self.kdir, '--board', 'no-such-board')
		self.assertEqual(p.returncode, 1)
		self.assertIn("unknown board 'no-such-board'", p.stderr)
		self.assertIn('qemu-virt', p.stderr)


if __name__ == '__main__':
	unittest.main()
