# SPDX-License-Identifier: GPL-2.0
"""The evidence excerpts in Documentation/lifecycle/ match the build."""

import os
import subprocess
import unittest

from tests.host.common import TOP, build_dir, kernel_source, on_newest


class Evidence(unittest.TestCase):

	def test_not_stale(self):
		build_dir('m')
		build_dir('y')
		# make check hands over its own boots (run with the kernel log
		# dumped) rather than have gen-docs boot the same kernels again.
		logs = os.environ.get('FERRO_EVIDENCE_LOGS', '')
		args = [f'--log={spec}' for spec in logs.split(';') if spec]
		ksrc = kernel_source()
		p = subprocess.run([os.path.join(TOP, 'scripts', 'gen-docs'), '--check',
				    '--kdir', ksrc] + args, capture_output=True, text=True)
		if on_newest(ksrc):
			self.assertEqual(p.returncode, 0, p.stderr[-3000:])
			return
		# The evidence is the newest kernel's, whose symbols and offsets
		# another kernel's builds do not repeat: there every excerpt must
		# still come out of the builds and boots, and may only differ.
		lines = p.stderr.splitlines()
		self.assertIn(p.returncode, (0, 1), p.stderr[-3000:])
		self.assertEqual([line for line in lines if not line.endswith(': differs (run make docs)')],
				 [], p.stderr[-3000:])

	def test_every_excerpt_is_included(self):
		evidence = os.path.join(TOP, 'Documentation', 'lifecycle', 'evidence')
		pages = ''
		for sub in ('lifecycle', 'drivers', 'boards'):
			folder = os.path.join(TOP, 'Documentation', sub)
			for name in os.listdir(folder):
				if name.endswith('.rst'):
					with open(os.path.join(folder, name)) as f:
						pages += f.read()
		for name in os.listdir(evidence):
			self.assertTrue(f'.. include:: evidence/{name}' in pages or
					f'include:: ../lifecycle/evidence/{name}' in pages,
					f'{name} is included by no page')


if __name__ == '__main__':
	unittest.main()
