# SPDX-License-Identifier: GPL-2.0
"""Documentation/ builds with Sphinx, warnings as errors (make htmldocs)."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP
from ferro.kbuild import cache_dir


class HtmlDocs(unittest.TestCase):

	def test_builds_without_warnings(self):
		sphinx = os.path.join(cache_dir(), 'tools', 'venv', 'bin', 'sphinx-build')
		self.assertTrue(os.path.exists(sphinx), f'{sphinx} missing (make deps installs it)')
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([sphinx, '-W', '--keep-going', '-q', '-b', 'html',
					    os.path.join(TOP, 'Documentation'), out],
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			# The evidence excerpts made it into the pages.
			with open(os.path.join(out, 'lifecycle', 'module-load.html')) as f:
				self.assertIn('do_init_module', f.read())


if __name__ == '__main__':
	unittest.main()
