# SPDX-License-Identifier: GPL-2.0
"""A Ferro driver reads beside its in-tree anchor: at most twice its size.

Counted as the lines of drivers/<name>/*.rs before each file's KUnit test
module; what the kernel crate lacks lives in kext/ and is not counted (see
Documentation/kext.rst). The anchors are counted in the pinned kernel tree.

Not listed: ferro_lifecycle, which has no in-tree anchor. ferro_null is
allowed 2.5x rnull/ rather than 2x: it also keeps data in memory, completes
from a timer and injects errors, which rnull does not.
"""

import glob
import os
import unittest

from tests.host.common import TOP, newest, pinned

# driver: (anchor files in the kernel tree, how many times their size)
ANCHORS = {
	'cpufreq': (('drivers/cpufreq/rcpufreq_dt.rs',), 2),
	'phy': (('drivers/net/phy/qt2025.rs', 'drivers/net/phy/ax88796b_rust.rs'), 2),
	'null': (('drivers/block/rnull/rnull.rs', 'drivers/block/rnull/configfs.rs'), 2.5),
}


def lines_before_tests(path):
	n = 0
	with open(path) as f:
		for line in f:
			if line.startswith('#[kunit_tests('):
				break
			n += 1
	return n


def driver_lines(name):
	files = glob.glob(os.path.join(TOP, 'drivers', name, '*.rs'))
	if not files:
		raise AssertionError(f'drivers/{name} has no Rust sources')
	return sum(lines_before_tests(p) for p in files)


class Size(unittest.TestCase):

	def test_drivers_within_their_anchor_budget(self):
		# The anchors as the newest kernel has them, whichever kernel this
		# run builds: Ferro's drivers are one source for every kernel.
		ksrc = pinned(newest())
		for name, (anchors, factor) in ANCHORS.items():
			limit = int(factor * sum(lines_before_tests(os.path.join(ksrc, a)) for a in anchors))
			got = driver_lines(name)
			self.assertGreater(limit, 100, anchors)
			self.assertLessEqual(got, limit, f'ferro_{name}: {got} lines, at most {factor}x '
					     f'{" + ".join(anchors)} = {limit}')

	def test_kunit_tests_are_not_counted(self):
		path = os.path.join(TOP, 'drivers', 'cpufreq', 'domain.rs')
		with open(path) as f:
			total = sum(1 for _ in f)
		self.assertLess(lines_before_tests(path), total)


if __name__ == '__main__':
	unittest.main()
