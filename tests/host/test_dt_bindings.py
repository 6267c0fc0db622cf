# SPDX-License-Identifier: GPL-2.0
"""Ferro's DT bindings pass dtschema, and so do the Pi trees with Ferro's
overlay applied (scripts/check-dt-bindings); broken Ferro nodes do not."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir, kernel_source
from ferro import board as boards, image

CHECK = os.path.join(TOP, 'scripts', 'check-dt-bindings')


def run(*cmd):
	return subprocess.run(list(cmd), capture_output=True, text=True)


class Bindings(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.tmp = tempfile.TemporaryDirectory()
		cls.dtbs = []
		for name in ('rpi4', 'rpi5'):
			for mode in ('m', 'y'):
				out = os.path.join(cls.tmp.name, f'{name}-{mode}')
				os.makedirs(out)
				cls.dtbs.append(image.overlay_dtb(boards.load(name), build_dir(mode), out))

	@classmethod
	def tearDownClass(cls):
		cls.tmp.cleanup()

	def check(self, *dtbs):
		return run(CHECK, '--kdir', kernel_source(), *dtbs)

	def test_bindings_and_pi_trees_validate(self):
		p = self.check(*self.dtbs)
		self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ''))

	def broken(self, *edits):
		out = os.path.join(self.tmp.name, 'broken.dtb')
		with open(self.dtbs[0], 'rb') as src, open(out, 'wb') as dst:
			dst.write(src.read())
		for edit in edits:
			self.assertEqual(run('fdtput', out, *edit).returncode, 0, edit)
		return self.check(out)

	def test_unknown_property_is_reported(self):
		p = self.broken(('-t', 'i', '/cpufreq', 'ferro,bogus', '1'))
		self.assertEqual(p.returncode, 1)
		self.assertIn("'ferro,bogus' does not match", p.stdout)

	def test_wrongly_typed_property_is_reported(self):
		p = self.broken(('-t', 'i', '/cpufreq', 'ferro,runtime-opps', '1'))
		self.assertEqual(p.returncode, 1)
		self.assertIn('ferro,runtime-opps', p.stdout)

	def test_unmatched_ferro_compatible_is_reported(self):
		p = self.broken(('-t', 's', '/cpufreq', 'compatible', 'ferro,no-such-driver'))
		self.assertEqual(p.returncode, 1)
		self.assertIn("failed to match any schema with compatible: ['ferro,no-such-driver']",
			      p.stdout)

	def test_bad_input_is_named(self):
		p = run(CHECK, '--kdir', kernel_source(), '/nonexistent.dtb')
		self.assertEqual((p.returncode, p.stderr.strip()),
				 (2, 'check-dt-bindings: no such DTB: /nonexistent.dtb'))
		p = run(CHECK, '--kdir', '/tmp')
		self.assertEqual(p.returncode, 2)
		self.assertIn('has no Documentation/devicetree/bindings/vendor-prefixes.yaml', p.stderr)


if __name__ == '__main__':
	unittest.main()
