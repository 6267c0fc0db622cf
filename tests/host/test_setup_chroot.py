# SPDX-License-Identifier: GPL-2.0
"""scripts/setup-chroot: bad input is refused, --check and --print-dir
change nothing, and chroot.py's command keeps everything in a private
mount namespace."""

import os
import subprocess
import sys
import tempfile
import unittest

from tests.host.common import TOP

SCRIPT = os.path.join(TOP, 'scripts', 'setup-chroot')
sys.path.insert(0, os.path.join(TOP, 'scripts'))


class SetupChroot(unittest.TestCase):

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.env = dict(os.environ, FERRO_CACHE=os.path.join(self.tmp.name, 'cache'))

	def tearDown(self):
		self.tmp.cleanup()

	def run_script(self, *args):
		return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=self.env)

	def test_bad_input(self):
		for args, msg in ((['nope'], "unknown root 'nope'"), ([], 'name a root'),
				  (['llvm', 'lava'], 'more than one root'),
				  (['--fast', 'llvm'], "unknown option '--fast'")):
			p = self.run_script(*args)
			self.assertEqual(p.returncode, 2, args)
			self.assertIn(msg, p.stderr, args)
		self.assertFalse(os.path.exists(self.env['FERRO_CACHE']))

	def test_check_and_print_dir_change_nothing(self):
		for name, suite in (('llvm', 'trixie'), ('lava', 'bookworm')):
			p = self.run_script('--check', name)
			self.assertEqual(p.returncode, 1)
			self.assertIn(f'run scripts/setup-chroot {name}', p.stderr)
			p = self.run_script('--print-dir', name)
			self.assertEqual(p.stdout.strip(),
					 os.path.join(self.env['FERRO_CACHE'], 'tools', f'{name}-{suite}'))
		self.assertFalse(os.path.exists(self.env['FERRO_CACHE']))

	def test_command_is_private(self):
		from ferro import chroot
		old = os.environ.get('FERRO_CACHE')
		os.environ['FERRO_CACHE'] = self.env['FERRO_CACHE']
		try:
			root = chroot.root_dir('lava')
			cmd = chroot.command('lava', ['true'], ['/a/b', '/a'], {'X': '1'}, tmpfs_tmp=True)
			with self.assertRaises(chroot.ChrootError) as e:
				chroot.require('lava', 'the test')
		finally:
			if old is None:
				del os.environ['FERRO_CACHE']
			else:
				os.environ['FERRO_CACHE'] = old
		self.assertIn('run scripts/setup-chroot lava', str(e.exception))
		self.assertEqual(cmd[:4], ['unshare', '--mount', '--propagation', 'private'])
		script = cmd[6].splitlines()
		# /tmp first, then the binds, shortest path first (a bind inside
		# another must come after it), then chroot with a clean environment.
		self.assertEqual(script[-1], f'exec chroot "{root}" "$@"')
		tmp = script.index(f'mount -t tmpfs tmpfs "{root}/tmp"')
		outer = [i for i, line in enumerate(script) if f'"{root}/a"' in line][0]
		inner = [i for i, line in enumerate(script) if f'"{root}/a/b"' in line][0]
		self.assertLess(tmp, outer)
		self.assertLess(outer, inner)
		self.assertEqual(cmd[8:10], ['env', '-i'])
		self.assertEqual(cmd[-2:], ['X=1', 'true'])


if __name__ == '__main__':
	unittest.main()
