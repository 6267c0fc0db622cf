# SPDX-License-Identifier: GPL-2.0
"""Real boards: their kernel builds their mainline DTBs, Ferro's overlays
compile without a dtc warning and apply to those DTBs."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import build_dir  # also puts scripts/ on sys.path
from ferro import board as boards


def boards_with_overlays():
	return [b for b in (boards.load(n) for n in boards.available()) if b.overlay]


def run(*cmd):
	return subprocess.run(list(cmd), capture_output=True, text=True)


class Overlays(unittest.TestCase):

	def test_there_are_real_boards(self):
		self.assertEqual(sorted(b.name for b in boards_with_overlays()), ['rpi4', 'rpi5'])

	def test_overlays_compile_without_warnings(self):
		with tempfile.TemporaryDirectory() as tmp:
			for b in boards_with_overlays():
				out = os.path.join(tmp, b.name + '.dtbo')
				p = run('dtc', '-@', '-I', 'dts', '-O', 'dtb', '-o', out, b.overlay_path())
				self.assertEqual((p.returncode, p.stderr), (0, ''), b.name)

	def test_overlays_apply_to_the_built_dtbs(self):
		for mode in ('m', 'y'):
			build = build_dir(mode)
			with tempfile.TemporaryDirectory() as tmp:
				for b in boards_with_overlays():
					dtbo = os.path.join(tmp, b.name + '.dtbo')
					self.assertEqual(run('dtc', '-@', '-I', 'dts', '-O', 'dtb', '-o', dtbo,
							     b.overlay_path()).returncode, 0)
					for dtb in b.dtbs:
						base = os.path.join(build, 'arch', b.arch, 'boot', 'dts', dtb)
						self.assertTrue(os.path.isfile(base), f'{base} was not built')
						out = os.path.join(tmp, os.path.basename(dtb))
						p = run('fdtoverlay', '-i', base, '-o', out, dtbo)
						self.assertEqual(p.returncode, 0, p.stderr)
						p = run('fdtget', out, '/cpufreq', 'compatible')
						self.assertEqual(p.stdout.strip(), 'ferro,cpufreq', dtb)
						p = run('fdtget', '-p', out, '/cpufreq')
						self.assertIn('ferro,runtime-opps', p.stdout.split(), dtb)
						# the base tree does not have it: the overlay added it
						p = run('fdtget', base, '/cpufreq', 'compatible')
						self.assertNotEqual(p.returncode, 0, dtb)

	def test_built_kernel_has_the_boards_drivers(self):
		for mode in ('m', 'y'):
			with open(os.path.join(build_dir(mode), '.config')) as f:
				config = f.read()
			for sym in ('CONFIG_ARCH_BCM2835=y', 'CONFIG_ARM_RASPBERRYPI_CPUFREQ=y',
				    'CONFIG_BCMGENET=m', 'CONFIG_MACB=y', f'CONFIG_FERRO_CPUFREQ={mode}',
				    f'CONFIG_FERRO_PHY={mode}'):
				self.assertIn(sym + '\n', config, mode)
			# The C driver that also matches the BCM54213PE is never built
			# in, so a built-in ferro_phy registers first and binds the PHY.
			self.assertIn('CONFIG_BROADCOM_PHY=m\n', config, mode)


if __name__ == '__main__':
	unittest.main()
