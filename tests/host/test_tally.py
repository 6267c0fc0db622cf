# SPDX-License-Identifier: GPL-2.0
"""make check's tally: the closing line and the table of its steps."""

import os
import time
import unittest

from tests.host.common import TOP
from ferro import checks


class Tally(unittest.TestCase):

	def test_closing_line_counts_skips_apart(self):
		t = checks.Tally()
		t.add('a', 3, 1, 2)
		t.add('b', 1, 0)
		self.assertEqual(t.closing_line(), '4 passed, 1 failed, 2 skipped')

	def test_steps_slowest_first(self):
		t = checks.Tally()
		with t.step('quick'):
			pass
		with t.step('slow'):
			time.sleep(0.05)
		with self.assertRaises(RuntimeError):
			with t.step('failed'):
				raise RuntimeError('a step that fails is still timed')
		rows = t.step_table().splitlines()
		names = [r.split()[0] for r in rows]
		self.assertEqual((names[:2], names[-1]), (['step', 'slow'], 'all'))
		self.assertEqual(sorted(names[2:-1]), ['failed', 'quick'])
		slow = float(rows[1].split()[1])
		self.assertGreaterEqual(slow, 0.05)
		self.assertAlmostEqual(float(rows[-1].split()[1]), sum(s for _, s in t.steps), delta=0.06)

	def test_closing_line_stays_last(self):
		with open(os.path.join(TOP, 'scripts', 'run-checks')) as f:
			src = f.read()
		self.assertLess(src.rindex('tally.step_table()'), src.rindex('tally.closing_line()'))


if __name__ == '__main__':
	unittest.main()
