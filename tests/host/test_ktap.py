# SPDX-License-Identifier: GPL-2.0
"""The KTAP parser, against console logs captured from real guest runs."""

import os
import unittest

from tests.host.common import TOP
from ferro import ktap

DATA = os.path.join(TOP, 'tests', 'data')


def fixture(name):
	with open(os.path.join(DATA, name), errors='replace') as f:
		return f.read()


class CapturedLogs(unittest.TestCase):

	def test_module_boot(self):
		run = ktap.parse(fixture('qemu-virt-module.log'))
		self.assertEqual(run.errors, [])
		self.assertEqual(run.plan, len(run.results))
		self.assertEqual(run.failed, 0)
		names = [r.name for r in run.results]
		self.assertIn('module_load', names)
		self.assertIn('module_unload', names)

	def test_builtin_boot(self):
		run = ktap.parse(fixture('qemu-virt-builtin.log'))
		self.assertEqual(run.errors, [])
		self.assertEqual(run.failed, 0)
		self.assertIn('builtin_record_entry', [r.name for r in run.results])

	def test_failure_with_diagnostics(self):
		# The module plan run on a built-in kernel: almost everything fails.
		run = ktap.parse(fixture('qemu-virt-module-on-builtin.log'))
		self.assertEqual(run.errors, [])
		self.assertEqual((run.passed, run.failed), (2, 20))
		entry = next(r for r in run.results if r.name == 'module_record_entry')
		self.assertFalse(entry.ok)
		self.assertIn("module_record_entry: entry is '__ferro_lifecycle_init', expected "
			      "'init_module'", entry.diagnostics)

	def test_kernel_lines_interleaved(self):
		log = fixture('qemu-virt-module.log').replace(
			'ok 2 ', '[    1.000000] random: crng init done\r\nok 2 ', 1)
		run = ktap.parse(log)
		self.assertEqual(run.errors, [])


	def test_terminal_control_sequences_before_the_header(self):
		# A PC's firmware resets and clears the serial terminal first.
		log = fixture('qemu-virt-module.log').replace(
			'KTAP version 1', '\x1bc\x1b[?7l\x1b[2JKTAP version 1', 1)
		run = ktap.parse(log)
		self.assertEqual(run.errors, [])
		self.assertEqual(run.passed, ktap.parse(fixture('qemu-virt-module.log')).passed)


class Malformed(unittest.TestCase):

	def test_no_output_is_a_failure(self):
		run = ktap.parse('[    0.000000] Booting Linux\nKernel panic - not syncing\n')
		self.assertFalse(run.started)
		self.assertEqual(run.passed, 0)
		self.assertEqual(run.failed, 1)

	def test_truncated_run_is_a_failure(self):
		log = 'KTAP version 1\nok 1 a\nok 2 b\n'
		run = ktap.parse(log)
		self.assertEqual(run.passed, 2)
		self.assertEqual(run.failed, 1)
		self.assertIn('no plan line', run.errors[0])

	def test_plan_mismatch(self):
		run = ktap.parse('KTAP version 1\n1..3\nok 1 a\nok 2 b\n')
		self.assertEqual(run.failed, 1)

	def test_out_of_order(self):
		run = ktap.parse('KTAP version 1\nok 1 a\nok 3 b\n1..2\n')
		self.assertTrue(any('out of order' in e for e in run.errors))

	def test_skip_is_not_a_pass(self):
		run = ktap.parse('KTAP version 1\nok 1 a # SKIP no hardware\nnot ok 2 b\n1..2\n')
		self.assertEqual((run.passed, run.failed, run.skipped), (0, 1, 1))

	def test_carriage_returns(self):
		run = ktap.parse('KTAP version 1\r\nok 1 a\r\n1..1\r\n')
		self.assertEqual((run.passed, run.failed), (1, 0))


if __name__ == '__main__':
	unittest.main()
