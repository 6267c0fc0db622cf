# SPDX-License-Identifier: GPL-2.0
"""The evidence excerpts in Documentation/lifecycle/ match the build."""

import os
import subprocess
import unittest

from tests.host.common import TOP, build_dir, kernel_source


class Evidence(unittest.TestCase):

	def test_not_stale(self):
		build_dir('m')
		build_dir('y')
		p = subprocess.run([os.path.join(TOP, 'scripts', 'gen-docs'), '--check',
				    '--kdir', kernel_source()], capture_output=True, text=True)
		self.assertEqual(p.returncode, 0, p.stderr[-3000:])

	def test_every_excerpt_is_included(self):
		evidence = os.path.join(TOP, 'Documentation', 'lifecycle', 'evidence')
		pages = ''
		for name in os.listdir(os.path.dirname(evidence)):
			if name.endswith('.rst'):
				with open(os.path.join(os.path.dirname(evidence), name)) as f:
					pages += f.read()
		for name in os.listdir(evidence):
			self.assertIn(f'.. include:: evidence/{name}', pages)


if __name__ == '__main__':
	unittest.main()
