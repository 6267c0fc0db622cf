# SPDX-License-Identifier: GPL-2.0
"""The compare report: its log parser on captured boots, and one real run."""

import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET

from tests.host.common import TOP, build_dir, kernel_source
from ferro import compare, guest, report

DATA = os.path.join(TOP, 'tests', 'data')


def boot_log(name):
	with open(os.path.join(DATA, name), errors='replace') as f:
		return compare.BootLog(f.read())


class Parser(unittest.TestCase):

	def test_builtin_log(self):
		log = boot_log('qemu-virt-compare-builtin.log')
		calls = log.initcalls()
		self.assertGreater(len(calls), 100)
		ours = [c for c in calls if c['fn'] == '__ferro_lifecycle_init']
		self.assertEqual(len(ours), 1, 'the per-driver excerpt must not be counted twice')
		self.assertEqual((ours[0]['ret'], ours[0]['module']), (0, None))
		self.assertGreater(ours[0]['usecs'], 0)
		self.assertIsNotNone(log.freed_init_kib())
		self.assertEqual(log.facts[('lifecycle', 'sysfs')], 'absent')
		self.assertEqual(log.facts[('lifecycle', 'delete_module')], 'No such file or directory')
		rec = log.record('ferro_lifecycle', 'built-in')
		self.assertEqual(rec['entry'], '__ferro_lifecycle_init')
		self.assertEqual(compare.caller_chain(rec)[:3],
				 ['__ferro_lifecycle_init', 'do_one_initcall', 'kernel_init_freeable'])

	def test_module_log(self):
		log = boot_log('qemu-virt-compare-module.log')
		loads = [c for c in log.initcalls() if c['module'] == 'ferro_lifecycle']
		self.assertEqual([c['ret'] for c in loads], [-22, 0, 0])
		self.assertTrue(log.facts[('lifecycle', 'sysfs')].startswith('present:'))
		self.assertGreater(int(log.facts[('lifecycle', 'coresize')]), 0)
		self.assertEqual(log.facts[('lifecycle', 'delete_module')], '0')
		rec = log.record('ferro_lifecycle', 'module')
		self.assertEqual(compare.caller_chain(rec)[:3],
				 ['init_module', 'do_one_initcall', 'do_init_module'])

	def test_timeline_svg(self):
		svg = report.svg_timeline(boot_log('qemu-virt-compare-builtin.log'),
					  boot_log('qemu-virt-compare-module.log'), ['ferro_lifecycle'])
		root = ET.fromstring(svg)
		texts = ''.join(root.itertext())
		self.assertIn('__ferro_lifecycle_init', texts)
		self.assertIn('init_module [ferro_lifecycle]', texts)


class EndToEnd(unittest.TestCase):
	"""ferro-compare --boots 1 on the two builds: every cell is filled (with
	short stress loops: the make check boots run the full ones)."""

	def test_compare_run(self):
		build_dir('m')
		build_dir('y')
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-compare'), '--kdir',
					    kernel_source(), '--boots', '1', '--stress',
					    str(guest.SHORT_LOOPS), '--out', out],
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			with open(os.path.join(out, 'report.json')) as f:
				data = json.load(f)
			drivers = sorted(d for d in os.listdir(os.path.join(TOP, 'drivers'))
					 if os.path.isdir(os.path.join(TOP, 'drivers', d)))
			self.assertEqual(sorted(data['drivers']), drivers)
			for name, per in data['drivers'].items():
				for mode in ('module', 'built-in'):
					cell = per[mode]
					for key in ('entry', 'exit', 'called_by', 'system_state', 'time_s',
						    'sysfs_module', 'delete_module', 'link_order'):
						self.assertTrue(cell.get(key), f'{name} {mode}: no {key}')
					self.assertEqual(len(cell['init_usecs']['samples']), 1)
				self.assertEqual(per['built-in']['initcall']['resolves_to'],
						 f'__ferro_{name}_init')
				self.assertIsNotNone(per['module']['coresize'])
			with open(os.path.join(out, 'report.md')) as f:
				md = f.read()
			self.assertIn('| entry symbol | `init_module` in `.init.text` |', md)
			ET.parse(os.path.join(out, 'timeline.svg'))
			with open(os.path.join(out, 'timeline.png'), 'rb') as f:
				self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


if __name__ == '__main__':
	unittest.main()
