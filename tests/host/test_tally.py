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

	def test_side_by_side_steps(self):
		t = checks.Tally()
		seen = []
		checks.concurrently(t, 'guests', [('a', lambda: (time.sleep(0.2), seen.append('a'))),
						  ('b', lambda: (time.sleep(0.2), seen.append('b')))])
		self.assertEqual(sorted(seen), ['a', 'b'])
		(group, secs), = t.steps
		self.assertEqual(group, 'guests')
		# Two at a time: the group took about as long as one part.
		self.assertLess(secs, 0.35)
		self.assertEqual(sorted(n for n, _ in t.members['guests']), ['a', 'b'])
		rows = t.step_table().splitlines()
		self.assertEqual([r.split()[0] for r in rows], ['step', 'guests', 'a', 'b', 'all']
				 if rows[2].split()[0] == 'a' else ['step', 'guests', 'b', 'a', 'all'])
		self.assertAlmostEqual(float(rows[-1].split()[1]), secs, delta=0.01)

		def fails():
			raise RuntimeError('a part that fails fails the group')
		with self.assertRaises(RuntimeError):
			checks.concurrently(t, 'again', [('ok', lambda: None), ('bad', fails)])

	def test_closing_line_stays_last(self):
		with open(os.path.join(TOP, 'scripts', 'run-checks')) as f:
			src = f.read()
		self.assertLess(src.rindex('tally.step_table()'), src.rindex('tally.closing_line()'))


if __name__ == '__main__':
	unittest.main()
