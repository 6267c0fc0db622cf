# SPDX-License-Identifier: GPL-2.0
"""Ferro's DT bindings pass dtschema, and so do the Pi trees with Ferro's
overlay applied (scripts/check-dt-bindings); broken Ferro nodes do not."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, ToolCache, build_dir, kernel_source
from ferro import board as boards, digest, image

CHECK = os.path.join(TOP, 'scripts', 'check-dt-bindings')


def tools():
	"""Where setup-deps installs dtschema's programs."""
	return os.path.join(os.environ.get('FERRO_CACHE') or os.path.expanduser('~/.cache/ferro'),
			    'tools', 'venv', 'bin')


def version(program):
	try:
		return run(program, '--version').stdout.encode()
	except OSError:
		return b'missing'


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
		"""check-dt-bindings on the DTBs, once per set of inputs (ToolCache):
		the script, Ferro's bindings, the kernel's, dtschema's and dtc's
		versions and each DTB."""
		kernel = os.path.join(kernel_source(), 'Documentation', 'devicetree', 'bindings')
		inputs = [digest.contents(os.path.join(TOP, 'Documentation', 'devicetree')),
			  digest.stats(kernel),
			  version(os.path.join(tools(), 'dt-validate')), version('dtc')]
		with open(CHECK, 'rb') as f:
			inputs.append(f.read())
		for dtb in dtbs:
			with open(dtb, 'rb') as f:
				inputs.append(os.path.relpath(dtb, self.tmp.name).encode() + f.read())
		return ToolCache('dt-bindings', *inputs).run(
			'check', [CHECK, '--kdir', kernel_source(), *dtbs], tmp=self.tmp.name)

	def broken(self, name, *edits):
		out = os.path.join(self.tmp.name, f'{name}.dtb')
		with open(self.dtbs[0], 'rb') as src, open(out, 'wb') as dst:
			dst.write(src.read())
		for edit in edits:
			self.assertEqual(run('fdtput', out, *edit).returncode, 0, edit)
		return out

	def test_bindings_validate_and_broken_trees_are_reported(self):
		# One run (the kernel's schemas take seconds to process): the Pi
		# trees and three broken copies; only the broken ones are named,
		# each with its own problem.
		broken = {
			self.broken('unknown-property', ('-t', 'i', '/cpufreq', 'ferro,bogus', '1')):
				"'ferro,bogus' does not match",
			self.broken('wrong-type', ('-t', 'i', '/cpufreq', 'ferro,runtime-opps', '1')):
				'ferro,runtime-opps',
			self.broken('unmatched-compatible',
				    ('-t', 's', '/cpufreq', 'compatible', 'ferro,no-such-driver')):
				"failed to match any schema with compatible: ['ferro,no-such-driver']",
		}
		p = self.check(*self.dtbs, *broken)
		self.assertEqual((p.returncode, p.stderr), (1, ''))
		# check-dt-bindings prints one section per DTB with problems,
		# starting with "<dtb>:" on a line of its own.
		sections = {}
		for line in p.stdout.splitlines():
			if line.endswith('.dtb:') and not line.startswith(' '):
				current = sections.setdefault(line[:-1], [])
			else:
				current.append(line)
		self.assertEqual(sorted(sections), sorted(broken), p.stdout)
		for dtb, want in broken.items():
			self.assertIn(want, '\n'.join(sections[dtb]), dtb)

	def test_bad_input_is_named(self):
		p = run(CHECK, '--kdir', kernel_source(), '/nonexistent.dtb')
		self.assertEqual((p.returncode, p.stderr.strip()),
				 (2, 'check-dt-bindings: no such DTB: /nonexistent.dtb'))
		p = run(CHECK, '--kdir', '/tmp')
		self.assertEqual(p.returncode, 2)
		self.assertIn('has no Documentation/devicetree/bindings/vendor-prefixes.yaml', p.stderr)


if __name__ == '__main__':
	unittest.main()
