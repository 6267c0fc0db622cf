# SPDX-License-Identifier: GPL-2.0
"""scripts/build-kernel refuses bad input before touching anything."""

import os
import subprocess
import sys
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

	def test_kasan_without_llvm_root(self):
		cache = os.path.join(self.kdir, 'cache')
		p = subprocess.run([SCRIPT, '--kdir', self.kdir, '--variant', 'kasan'],
				   capture_output=True, text=True, env=dict(os.environ, FERRO_CACHE=cache))
		self.assertEqual(p.returncode, 1)
		self.assertIn('run scripts/setup-chroot llvm', p.stderr)
		self.assertFalse(os.path.exists(cache))
		self.assertEqual(os.listdir(self.kdir), [])

	def test_unknown_variant(self):
		p = run('--kdir', self.kdir, '--variant', 'fast')
		self.assertEqual(p.returncode, 2)
		self.assertIn("invalid choice: 'fast'", p.stderr)

	def test_unknown_board(self):
		p = run('--kdir', self.kdir, '--board', 'no-such-board')
		self.assertEqual(p.returncode, 1)
		self.assertIn("unknown board 'no-such-board'", p.stderr)
		self.assertIn('qemu-virt', p.stderr)


class Variants(unittest.TestCase):
	"""The debug and KASAN kernels' configurations, as kbuild puts them together."""

	@classmethod
	def setUpClass(cls):
		sys.path.insert(0, os.path.join(TOP, 'scripts'))
		from ferro import board, kbuild
		cls.kbuild = kbuild
		cls.board = board.load('qemu-virt')

	def values(self, variant):
		return self.kbuild.parse_fragment(self.kbuild.fragment(self.board, 'm', variant))

	def test_fragments(self):
		plain, debug, kasan, lean = (self.values(v) for v in self.kbuild.VARIANTS)
		# The lean kernel is qemu-virt's fragments alone: no other board's.
		self.assertEqual(lean.get('CONFIG_PHYLIB'), 'y')
		self.assertEqual(lean.get('CONFIG_FERRO_NULL'), 'm')
		self.assertNotIn('CONFIG_BCMGENET', lean)
		self.assertEqual(plain.get('CONFIG_BCMGENET'), 'm')
		self.assertNotIn('CONFIG_PROVE_LOCKING', lean)
		self.assertNotIn('CONFIG_PROVE_LOCKING', plain)
		self.assertNotIn('CONFIG_KASAN', plain)
		self.assertEqual(debug.get('CONFIG_PROVE_LOCKING'), 'y')
		self.assertNotIn('CONFIG_KASAN', debug)
		# KASAN's kernel is the debug kernel plus KASAN, with every driver.
		self.assertEqual({k: v for k, v in kasan.items() if not k.startswith('CONFIG_KASAN')},
				 debug)
		self.assertEqual(kasan.get('CONFIG_KASAN'), 'y')
		self.assertEqual(kasan.get('CONFIG_KASAN_GENERIC'), 'y')
		self.assertEqual(kasan.get('CONFIG_FERRO_NULL'), 'm')

	def test_a_board_that_names_its_drivers_gets_only_those(self):
		from ferro import board
		x86 = self.kbuild.parse_fragment(self.kbuild.fragment(board.load('qemu-x86'), 'y'))
		ferro = {k: v for k, v in x86.items() if k.startswith('CONFIG_FERRO_')}
		# ferro_mdio_sim, the PHY tests' fixture, needs ferro_phy: left out.
		self.assertEqual(ferro, {'CONFIG_FERRO_LIFECYCLE': 'y', 'CONFIG_FERRO_NULL': 'y'})
		self.assertEqual(x86.get('CONFIG_OBJTOOL_WERROR'), 'y')
		# arm64's kernel has a board that names none (qemu-virt): every
		# driver, and every fixture as a module.
		arm64 = self.values('')
		self.assertEqual({k[len('CONFIG_'):] for k, v in arm64.items() if v == 'm' and
				  k.startswith('CONFIG_FERRO_')},
				 set(self.kbuild.ferro_symbols()) | set(self.kbuild.fixture_symbols()))

	def test_a_driver_no_registry_has_is_refused(self):
		import dataclasses
		typo = dataclasses.replace(self.board, drivers=['lifecycle', 'nul'])
		with self.assertRaisesRegex(self.kbuild.BuildError,
					    r'board qemu-virt names no such driver nul \(drivers: '):
			self.kbuild.fragment(typo, 'm', 'lean')

	def test_build_dirs_differ(self):
		dirs = {self.kbuild.build_dir(self.board, m, '/k', v)
			for m in self.kbuild.MODES for v in self.kbuild.VARIANTS}
		self.assertEqual(len(dirs), len(self.kbuild.MODES) * len(self.kbuild.VARIANTS))

	def test_kasan_builds_in_the_llvm_root(self):
		with tempfile.TemporaryDirectory() as cache:
			old = os.environ.get('FERRO_CACHE')
			os.environ['FERRO_CACHE'] = cache
			try:
				from ferro import chroot
				root = chroot.root_dir('llvm')
				os.makedirs(root)
				open(os.path.join(root, '.ferro-recipe'), 'w').close()
				cmd, env = self.kbuild.make_command(self.board, '/k', '/o', 'kasan', ['Image'],
								    {'KCONFIG_ALLCONFIG': '/o/f'})
			finally:
				if old is None:
					del os.environ['FERRO_CACHE']
				else:
					os.environ['FERRO_CACHE'] = old
		self.assertEqual(cmd[:3], ['unshare', '--mount', '--propagation'])
		self.assertIn(f'exec chroot "{root}"', cmd[6])
		for path in ('/k', '/o', TOP):
			self.assertIn(f'mount --bind "{path}" "{root}{path}"', cmd[6])
		tail = cmd[cmd.index('-i') + 1:]
		self.assertIn('KCONFIG_ALLCONFIG=/o/f', tail)
		self.assertNotIn('LIBCLANG_PATH', ' '.join(tail))
		self.assertEqual(tail[-3:], ['ARCH=arm64', 'LLVM=1', 'Image'])
		self.assertNotIn('CROSS_COMPILE', ' '.join(tail))


if __name__ == '__main__':
	unittest.main()
