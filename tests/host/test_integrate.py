# SPDX-License-Identifier: GPL-2.0
"""scripts/integrate-kernel-tree on a scratch copy of a kernel tree's skeleton."""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, kernel_source

SCRIPT = os.path.join(TOP, 'scripts', 'integrate-kernel-tree')
SKELETON = ('Makefile', 'Kconfig', 'drivers/Kconfig', 'drivers/Makefile',
	    'scripts/Makefile.build')


def run(*args):
	return subprocess.run([SCRIPT, *args], capture_output=True, text=True)


class Integrate(unittest.TestCase):

	def setUp(self):
		src = kernel_source()
		self.tmp = tempfile.mkdtemp()
		self.kdir = os.path.join(self.tmp, 'linux')
		for rel in SKELETON:
			os.makedirs(os.path.dirname(os.path.join(self.kdir, rel)), exist_ok=True)
			with open(os.path.join(src, rel)) as f:
				text = f.read()
			# The pinned tree is itself integrated; start from pristine files.
			text = text.replace('source "drivers/ferro/Kconfig"\n\n', '')
			text = text.replace('source "drivers/ferro/Kconfig"\n', '')
			text = text.replace('obj-$(CONFIG_FERRO)\t\t+= ferro/\n', '')
			with open(os.path.join(self.kdir, rel), 'w') as f:
				f.write(text)
		# What check-tree reads (the kernel crate, the toolchain checks), as is.
		os.symlink(os.path.join(src, 'rust'), os.path.join(self.kdir, 'rust'))
		for n in os.listdir(os.path.join(src, 'scripts')):
			if n.startswith('rust_is_available') or n in ('min-tool-version.sh',
								      'cc-version.sh'):
				os.symlink(os.path.join(src, 'scripts', n),
					   os.path.join(self.kdir, 'scripts', n))
		self.pristine = self.snapshot()

	def tearDown(self):
		shutil.rmtree(self.tmp)

	def snapshot(self):
		out = {}
		for rel in ('drivers/Kconfig', 'drivers/Makefile'):
			with open(os.path.join(self.kdir, rel)) as f:
				out[rel] = f.read()
		return out

	def test_link_adds_exactly_two_lines(self):
		p = run(self.kdir)
		self.assertEqual(p.returncode, 0, p.stderr)
		after = self.snapshot()
		# The Kconfig line comes with a blank line, as its neighbours do.
		for rel, line, grown in (('drivers/Kconfig', 'source "drivers/ferro/Kconfig"', 2),
					 ('drivers/Makefile', 'obj-$(CONFIG_FERRO)\t\t+= ferro/', 1)):
			added = set(after[rel].splitlines()) - set(self.pristine[rel].splitlines())
			self.assertEqual(added, {line})
			self.assertEqual(len(after[rel].splitlines()),
					 len(self.pristine[rel].splitlines()) + grown)
		self.assertEqual(os.readlink(os.path.join(self.kdir, 'drivers', 'ferro')), TOP)

	def test_kconfig_line_inside_device_drivers_menu(self):
		run(self.kdir)
		lines = self.snapshot()['drivers/Kconfig'].splitlines()
		i = lines.index('source "drivers/ferro/Kconfig"')
		self.assertIn('endmenu', lines[i:])

	def test_idempotent(self):
		run(self.kdir)
		once = self.snapshot()
		p = run(self.kdir)
		self.assertEqual(p.returncode, 0, p.stderr)
		self.assertNotRegex(p.stdout, r'(?m)^  (LINK|COPY|HOOK) ',
				    'a second run should have nothing to do')
		self.assertRegex(p.stdout, r'(?m)^  DRIVER  lifecycle +can be built$')
		self.assertEqual(self.snapshot(), once)

	def test_remove_restores(self):
		run(self.kdir)
		p = run('--remove', self.kdir)
		self.assertEqual(p.returncode, 0, p.stderr)
		self.assertEqual(self.snapshot(), self.pristine)
		self.assertFalse(os.path.lexists(os.path.join(self.kdir, 'drivers', 'ferro')))

	def test_copy_mode(self):
		p = run('--copy', self.kdir)
		self.assertEqual(p.returncode, 0, p.stderr)
		dest = os.path.join(self.kdir, 'drivers', 'ferro')
		self.assertFalse(os.path.islink(dest))
		self.assertTrue(os.path.isfile(os.path.join(dest, 'Kconfig')))
		self.assertTrue(os.path.isfile(os.path.join(dest, 'drivers', 'lifecycle', 'Kconfig')))
		p = run('--remove', self.kdir)
		self.assertEqual(p.returncode, 0, p.stderr)
		self.assertFalse(os.path.lexists(dest))

	def test_refuses_non_kernel_tree(self):
		os.unlink(os.path.join(self.kdir, 'scripts', 'Makefile.build'))
		p = run(self.kdir)
		self.assertNotEqual(p.returncode, 0)
		self.assertIn('is not a kernel source tree', p.stderr)
		self.assertEqual(self.snapshot(), self.pristine, 'a refused tree must be untouched')

	def test_refuses_missing_dir(self):
		p = run(os.path.join(self.tmp, 'nope'))
		self.assertNotEqual(p.returncode, 0)
		self.assertIn('is not a directory', p.stderr)

	def test_refuses_foreign_drivers_ferro(self):
		os.makedirs(os.path.join(self.kdir, 'drivers', 'ferro'))
		p = run(self.kdir)
		self.assertNotEqual(p.returncode, 0)
		self.assertIn('not made by this script', p.stderr)
		self.assertEqual(self.snapshot(), self.pristine)


if __name__ == '__main__':
	unittest.main()
