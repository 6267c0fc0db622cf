# SPDX-License-Identifier: GPL-2.0
"""make bench: its parser and medians, and one short real run."""

import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir, kernel_source
from ferro import bench


def line(driver, value, run=1, config='plain', workload='randread_qd1', threads=1, qd=1,
	 unit='iops'):
	return (f'# bench: config={config} driver={driver} workload={workload} '
		f'threads={threads} qd={qd} run={run} value={value} unit={unit}\n')


class Medians(unittest.TestCase):

	def test_medians_and_ratios_over_boots(self):
		boots = [''.join(line(d, v, r) for r, (a, b) in enumerate(pairs, 1)
				 for d, v in (('ferro_null', a), ('null_blk', b)))
			 for pairs in ([(100, 200), (300, 100)], [(200, 150)])]
		rows = bench.table(bench.parse(boots), bench.shapes(boots))
		by = {r['driver']: r for r in rows}
		self.assertEqual(by['ferro_null']['median'], 200)
		self.assertEqual(by['null_blk']['median'], 150)
		self.assertAlmostEqual(by['ferro_null']['ratio'], 200 / 150)
		self.assertEqual(by['null_blk']['ratio'], 1.0)
		self.assertEqual((by['ferro_null']['runs'], by['ferro_null']['boots']), (3, 2))
		self.assertIn('ferro_null', bench.rst(rows, 'make bench', 'x'))

	def test_threads_and_queue_depth_are_columns(self):
		text = [line('null_blk', 9, workload='randread_qd8_t4', threads=4, qd=8)]
		row, = bench.table(bench.parse(text), bench.shapes(text))
		self.assertEqual((row['threads'], row['qd']), (4, 8))
		self.assertRegex(bench.rst([row], 'make bench', 'x'),
				 r'randread_qd8_t4 +null_blk +4 +8 +1 +1 ')

	def test_no_reference_no_ratio(self):
		text = [line('rnull', 5.0, workload='seqwrite_qd1', unit='MB/s')]
		rows = bench.table(bench.parse(text), bench.shapes(text))
		self.assertIsNone(rows[0]['ratio'])
		self.assertIn('n/a', bench.rst(rows, 'make bench', 'x'))


class Profile(unittest.TestCase):

	def test_profile_lines(self):
		text = ('# profile: driver=ferro_null symbol=a_fn [ferro_null] samples=30 of=40\n'
			'# profile: driver=ferro_null symbol=b_fn samples=10 of=40\n'
			'# profile: driver=null_blk symbol=c_fn samples=5 of=5\n')
		prof = bench.profile(text)
		self.assertEqual(prof['ferro_null'], [('a_fn [ferro_null]', 30, 40), ('b_fn', 10, 40)])
		out = bench.profile_rst(prof)
		self.assertIn(' 75.0 a_fn [ferro_null]', out)
		self.assertIn('null_blk: function (5 samples)', out)


class ShortRun(unittest.TestCase):
	"""Two boots of one run of 50 ms per measurement: every driver,
	configuration and workload yields a positive value from both boots,
	and the table compares them."""

	def test_short_run(self):
		build_dir('m')
		with tempfile.TemporaryDirectory() as tmp:
			out = os.path.join(tmp, 'bench.txt')
			p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-bench'), '--kdir',
					    kernel_source(), '--runs', '1', '--ms', '50', '--boots', '2',
					    '--output', out], capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			with open(out) as f:
				table = f.read()
		rows = [line.split() for line in table.splitlines()
			if line.startswith(('plain', 'memory_backed'))]
		want = {(c, w, d) for w in bench.WORKLOADS
			for c, ds in (('plain', ('ferro_null', 'null_blk', 'rnull')),
				      ('memory_backed', ('ferro_null', 'null_blk')))
			for d in ds}
		self.assertEqual({(r[0], r[1], r[2]) for r in rows}, want)
		for r in rows:
			# threads, QD/thread, boots, runs, then the median
			self.assertEqual(r[3:7], ['4' if r[1].endswith('_t4') else '1',
						  '8' if r[1].endswith('_t4') else
						  '32' if r[1].endswith('qd32') else '1', '2', '2'], r)
			self.assertGreater(float(r[7]), 0, r)
		# the sampled profile of both drivers follows the table
		for driver in ('ferro_null', 'null_blk'):
			self.assertRegex(table, rf'{driver}: function \(\d+ samples\)')


if __name__ == '__main__':
	unittest.main()
