# SPDX-License-Identifier: GPL-2.0
"""scripts/fetch-kernel trusts nothing but the pinned checksum."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP

SCRIPT = os.path.join(TOP, 'scripts', 'fetch-kernel')
# What the default is: make check KVERSION=7.2 exports KVERSION, which
# fetch-kernel takes as its default version.
DEFAULT_ENV = {k: v for k, v in os.environ.items() if k != 'KVERSION'}


class FetchKernel(unittest.TestCase):

	def test_wrong_checksum_is_refused(self):
		with tempfile.TemporaryDirectory() as cache:
			fake = os.path.join(cache, 'linux-source.deb')
			with open(fake, 'wb') as f:
				f.write(b'not the pinned package\n')
			p = subprocess.run([SCRIPT, '--cache', cache, '--deb', fake],
					   capture_output=True, text=True, env=DEFAULT_ENV)
			self.assertEqual(p.returncode, 1)
			self.assertIn('expected 703e369d', p.stderr)
			self.assertFalse(os.path.exists(os.path.join(cache, 'src', 'linux-7.3.4')))

	def test_print_dir(self):
		p = subprocess.run([SCRIPT, '--cache', '/nonexistent', '--print-dir'],
				   capture_output=True, text=True, env=DEFAULT_ENV)
		self.assertEqual((p.returncode, p.stdout), (0, '/nonexistent/src/linux-7.3.4\n'))

	def test_unknown_argument(self):
		p = subprocess.run([SCRIPT, '--bogus'], capture_output=True, text=True)
		self.assertEqual(p.returncode, 2)
		self.assertIn("unknown argument '--bogus'", p.stderr)


if __name__ == '__main__':
	unittest.main()
