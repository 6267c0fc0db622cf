# SPDX-License-Identifier: GPL-2.0
"""scripts/build-rustdoc documents every Ferro crate without a warning."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir, kernel_source


class Rustdoc(unittest.TestCase):

	def test_docs_build_clean(self):
		build_dir('m')
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([os.path.join(TOP, 'scripts', 'build-rustdoc'),
					    '--kdir', kernel_source(), '--out', out],
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-4000:] + p.stderr[-2000:])
			self.assertNotIn('warning', p.stdout + p.stderr)
			self.assertTrue(os.path.isfile(os.path.join(out, 'ferro_lifecycle', 'index.html')))
			with open(os.path.join(out, 'ferro_lifecycle', 'index.html')) as f:
				self.assertIn('how the C kernel enters a Rust module', f.read())


if __name__ == '__main__':
	unittest.main()
