# SPDX-License-Identifier: GPL-2.0
"""make bench: its parsers, medians, spreads and ratios, and one short real run."""

import os
import re
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
		self.assertIn('ferro_null', bench.rates_rst(rows))

	def test_threads_and_queue_depth_are_columns(self):
		text = [line('null_blk', 9, workload='randread_qd8_t4', threads=4, qd=8)]
		row, = bench.table(bench.parse(text), bench.shapes(text))
		self.assertEqual((row['threads'], row['qd']), (4, 8))
		self.assertRegex(bench.rates_rst([row]),
				 r'randread_qd8_t4 +null_blk +4 +8 +1 +1 ')

	def test_no_reference_no_ratio(self):
		text = [line('rnull', 5.0, workload='seqwrite_qd1', unit='MB/s')]
		rows = bench.table(bench.parse(text), bench.shapes(text))
		self.assertIsNone(rows[0]['ratio'])
		self.assertIn('n/a', bench.rates_rst(rows))


def cost(driver, insns, ops=1, suite='cpufreq', case='transition', ns=None):
	return (f'# cost: suite={suite} case={case} driver={driver} ops={ops} '
		f'insns={"-" if insns is None else insns} ns={"-" if ns is None else ns}\n')


class Costs(unittest.TestCase):

	def test_counts_per_boot_median_spread_and_ratio(self):
		# two counting boots; the probe measured three times in each
		boots = [cost('ferro_cpufreq', 300, case='probe') + cost('ferro_cpufreq', 100, case='probe') +
			 cost('ferro_cpufreq', 110, case='probe') + cost('cpufreq_dt', 400, 4, case='probe'),
			 cost('ferro_cpufreq', 101, case='probe') + cost('ferro_cpufreq', 99, case='probe') +
			 cost('ferro_cpufreq', 500, case='probe') + cost('cpufreq_dt', 404, 4, case='probe')]
		timed = [cost('ferro_cpufreq', None, 2, case='probe', ns=4000) +
			 cost('cpufreq_dt', None, 1, case='probe', ns=1000)]
		got = bench.counts(boots)
		self.assertEqual(got['cpufreq', 'probe', 'ferro_cpufreq'], [100, 99])
		self.assertEqual(got['cpufreq', 'probe', 'cpufreq_dt'], [100, 101])
		rows = {r['driver']: r for r in bench.cost_rows('cpufreq', boots, timed)}
		ferro = rows['ferro_cpufreq']
		self.assertAlmostEqual(ferro['insns'], 99.5)
		self.assertAlmostEqual(ferro['spread'], 1 / 99)
		self.assertAlmostEqual(ferro['ratio'], 99.5 / 100.5)
		self.assertEqual((ferro['ns'], ferro['ns_ratio']), (2000, 2.0))
		self.assertEqual(bench.above_peer('cpufreq', rows.values()), [])
		self.assertEqual([r['driver'] for r in bench.unreproduced(rows.values())],
				 ['ferro_cpufreq'])
		self.assertRegex(bench.cost_rst('cpufreq', list(rows.values())),
				 r'probe +ferro_cpufreq +100 +2 +1.01 % +0.990 +2.0 +1 +2.0..2.0 +2.000')
		rows['cpufreq_dt']['ratio'], rows['ferro_cpufreq']['ratio'] = 1.0, 1.001
		self.assertEqual([r['driver'] for r in bench.above_peer('cpufreq', rows.values())],
				 ['ferro_cpufreq'])

	def test_timed_lines_are_not_counts(self):
		text = [cost('marvell', None, 1, suite='phy', case='probe', ns=5)]
		self.assertEqual(bench.counts(text), {})
		row, = bench.cost_rows('phy', [], text)
		self.assertIsNone(row['insns'])
		self.assertIn('-', bench.cost_rst('phy', [row]))


class Profiles(unittest.TestCase):
	"""A profiling boot's windows: the plugin's files named per function
	with the kernel's and the loaded modules' symbols, the difference
	between the Ferro driver and its peer."""

	LOG = (
		'# modules: ferro_cpufreq\n'
		'# ksym: ffff800001000000 ferro_probe [ferro_cpufreq]\n'
		'# window: 1\n' + cost('ferro_cpufreq', 900, 1, case='probe') +
		'# modules: cpufreq_dt\n'
		'# ksym: ffff800001000000 dt_probe [cpufreq_dt]\n'
		'# window: 2\n' + cost('cpufreq_dt', 700, 1, case='probe') +
		'# window: 3\n' + cost('cpufreq_dt', 800, 1, case='probe'))
	KERNEL = [(0xffff800080000000, 'vsnprintf'), (0xffff800080000100, 'strcmp')]

	def test_windows_breakdown(self):
		with tempfile.TemporaryDirectory() as tmp:
			prefix = os.path.join(tmp, 'w')
			for n, text in ((1, 'ffff800001000000 500\nffff800080000010 400\n'),
					(2, 'ffff800001000004 300\nffff800080000104 400\n'),
					(3, 'ffff800001000004 999\n')):
				with open(f'{prefix}.{n}', 'w') as f:
					f.write(text)
			prof = bench.profiles(self.LOG, prefix, self.KERNEL)
			# the module's symbol is the one loaded at the time; the
			# cheaper of cpufreq_dt's two windows is kept
			self.assertEqual(prof['cpufreq', 'probe', 'ferro_cpufreq'],
					 (1, {'ferro_probe [ferro_cpufreq]': 500, 'vsnprintf': 400}))
			self.assertEqual(prof['cpufreq', 'probe', 'cpufreq_dt'],
					 (1, {'dt_probe [cpufreq_dt]': 300, 'strcmp': 400}))
			os.unlink(f'{prefix}.2')
			with self.assertRaisesRegex(RuntimeError, 'no window file'):
				bench.profiles(self.LOG, prefix, self.KERNEL)
		rows = [{'case': 'probe', 'driver': 'ferro_cpufreq', 'ratio': 1.29},
			{'case': 'probe', 'driver': 'cpufreq_dt', 'ratio': 1.0}]
		out = bench.breakdown_rst('cpufreq', rows, prof)
		self.assertRegex(out, r'ferro_probe \[ferro_cpufreq\] +500.0 +0.0 +\+500.0')
		self.assertRegex(out, r'\(all functions\) +900 +700 +\+200')


class ShortRun(unittest.TestCase):
	"""make bench in short: every suite, two counting, one profiling and one
	timed boot of one run (50 ms per rate, one counted null workload).
	Every driver and case yields a count from both boots, the counts of the
	two boots agree within 1 %, every row above the peer has its
	per-function breakdown, and the timed boots yield times and rates."""

	def test_short_run(self):
		build_dir('m')
		with tempfile.TemporaryDirectory() as tmp:
			p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-bench'), '--kdir',
					    kernel_source(), '--runs', '1', '--ms', '50', '--boots', '2',
					    '--timed-boots', '1', '--only', 'plain/randread_qd1',
					    '--suites', 'null,cpufreq,phy', '--output-dir', tmp],
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			tables = {}
			for suite in ('null', 'cpufreq', 'phy'):
				with open(os.path.join(tmp, f'{suite}-bench.txt')) as f:
					tables[suite] = f.read()
		want = {'null': {('plain/randread_qd1', d) for d in ('ferro_null', 'null_blk', 'rnull')},
			'cpufreq': {(c, d) for c in ('probe', 'governor', 'transition')
				    for d in ('ferro_cpufreq', 'cpufreq_dt', 'rcpufreq_dt')},
			'phy': {(c, d) for c in ('probe', 'link_up', 'poll')
				for d in ('ferro_phy', 'marvell')}}
		for suite, cases in want.items():
			rows = [line.split() for line in tables[suite].splitlines()
				if line.split()[:1] and (line.split()[0], line.split()[1:2] and
							 line.split()[1]) in cases]
			self.assertEqual({(r[0], r[1]) for r in rows}, cases, tables[suite])
			for r in rows:
				# instructions, boots, spread (%) and the ratio to the peer
				self.assertGreater(int(r[2]), 100, r)
				self.assertEqual(r[3], '2', r)
				self.assertLessEqual(float(r[4]), 100 * bench.SPREAD, r)
				if r[0] != 'poll' and suite != 'null':
					self.assertGreater(float(r[6]), 0, r)	# time, us
		# every row above the peer has its per-function breakdown
		for suite, text in tables.items():
			listed = re.search(r'^Rows where \S+ counts more instructions than \S+: (.*)\.$',
					   text, re.M)
			for case in re.findall(r'(\S+) \(\d\.\d+\)', listed[1] if listed else ''):
				self.assertRegex(text, rf'(?m)^{re.escape(case)} \(\d\.\d+\):\n\n=+ ', suite)
		rates = [line.split() for line in tables['null'].splitlines()
			 if line.startswith(('plain ', 'memory_backed '))]
		self.assertEqual({(r[0], r[1], r[2]) for r in rates},
				 {(c, w, d) for w in bench.WORKLOADS
				  for c, ds in (('plain', ('ferro_null', 'null_blk', 'rnull')),
						('memory_backed', ('ferro_null', 'null_blk')))
				  for d in ds})
		for r in rates:
			self.assertGreater(float(r[7]), 0, r)

	def test_init(self):
		"""One counting boot of each kernel: every driver has its built-in
		initcall's and its module init's initcall_debug time, and the
		PMU's count of its finit_module()."""
		build_dir('m')
		build_dir('y')
		with tempfile.TemporaryDirectory() as tmp:
			p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-bench'), '--kdir',
					    kernel_source(), '--boots', '1', '--suites', 'init',
					    '--output-dir', tmp], capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			with open(os.path.join(tmp, 'init-bench.txt')) as f:
				table = f.read()
		rows = {line.split()[0]: line.split() for line in table.splitlines()
			if line.startswith('ferro_')}
		self.assertEqual(set(rows), {f'ferro_{d}' for d in bench.INIT_DRIVERS}, table)
		for r in rows.values():
			# built-in us, module us, ratio, instructions
			self.assertGreater(int(r[1]), 0, r)
			self.assertGreater(int(r[2]), 0, r)
			self.assertGreater(int(r[4]), 10000, r)


class BadInput(unittest.TestCase):

	def test_no_boots_at_a_time(self):
		"""--jobs 0 is a usage error that names the option and its value."""
		p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-bench'), '--kdir', '/nonexistent',
				    '--jobs', '0'], capture_output=True, text=True)
		self.assertEqual(p.returncode, 2, p.stderr)
		self.assertIn('--jobs must be at least 1, not 0', p.stderr)


if __name__ == '__main__':
	unittest.main()
