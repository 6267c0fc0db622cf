# SPDX-License-Identifier: GPL-2.0
"""LAVA jobs: every board's template renders for both plans and passes
LAVA's own job schema (lava_common); a broken job does not."""

import os
import subprocess
import sys
import tempfile
import unittest

from tests.host.common import TOP
from ferro import board as boards, guest

LAVA_JOBS = os.path.join(TOP, 'scripts', 'lava-jobs')
sys.path.insert(0, os.path.join(TOP, 'scripts'))


def lava_boards():
	return [n for n in boards.available()
		if os.path.isfile(os.path.join(TOP, 'boards', n, 'lava', 'job.yaml'))]


def run(*cmd):
	return subprocess.run(list(cmd), capture_output=True, text=True)


class Jobs(unittest.TestCase):

	def test_boards_with_jobs(self):
		self.assertEqual(lava_boards(), ['qemu-virt', 'rpi4', 'rpi5'])

	def test_every_job_renders_and_validates(self):
		with tempfile.TemporaryDirectory() as tmp:
			for name in lava_boards():
				p = run(LAVA_JOBS, '--board', name, '--artifact-url',
					'https://lab.example.org/ferro/', '--out', os.path.join(tmp, name))
				self.assertEqual(p.returncode, 0, p.stderr)
				for plan in ('module', 'builtin'):
					with open(os.path.join(tmp, name, f'ferro-{name}-{plan}.yaml')) as f:
						job = f.read()
					self.assertIn(f'url: https://lab.example.org/ferro/{plan}/Image', job)
					self.assertIn(f'-- {plan} {name} all', job)
					self.assertIn(guest.LOG_BUF, job)
					self.assertNotIn('ferro_stress=', job)
					self.assertNotIn('${', job)

	def test_stress(self):
		with tempfile.TemporaryDirectory() as tmp:
			p = run(LAVA_JOBS, '--board', 'qemu-virt', '--artifact-url', 'file:///x',
				'--out', tmp, '--stress', '2')
			self.assertEqual(p.returncode, 0, p.stderr)
			with open(os.path.join(tmp, 'ferro-qemu-virt-module.yaml')) as f:
				self.assertIn('initcall_debug ferro_stress=2 -- module', f.read())
		p = run(LAVA_JOBS, '--board', 'qemu-virt', '--artifact-url', 'file:///x',
			'--stress', '-1')
		self.assertEqual(p.returncode, 2)
		self.assertIn('--stress must not be negative', p.stderr)

	def test_schema_rejects_a_broken_job(self):
		import importlib.machinery
		import importlib.util
		loader = importlib.machinery.SourceFileLoader('lava_jobs', LAVA_JOBS)
		spec = importlib.util.spec_from_loader('lava_jobs', loader)
		mod = importlib.util.module_from_spec(spec)
		loader.exec_module(mod)
		with tempfile.TemporaryDirectory() as tmp:
			good = mod.render(boards.load('qemu-virt'), 'file:///srv/ferro', tmp)[0]
			self.assertEqual(mod.validate([good]), '')
			with open(good) as f:
				text = f.read()
			bad = os.path.join(tmp, 'bad.yaml')
			with open(bad, 'w') as f:
				f.write(text.replace('method: qemu', 'method: qemuu'))
			self.assertIn("unknown action type @ data['actions']['boot']['qemuu']",
				      mod.validate([bad]))

	def test_bad_input(self):
		p = run(LAVA_JOBS, '--board', 'qemu-virt', '--artifact-url', 'ftp://x')
		self.assertEqual(p.returncode, 2)
		self.assertIn('ARTIFACT_URL must start with', p.stderr)
		p = run(LAVA_JOBS, '--board', 'qemu-zcu102', '--artifact-url', 'file:///x')
		self.assertEqual(p.returncode, 2)
		self.assertIn('board qemu-zcu102 has no LAVA job', p.stderr)


def monitor(board):
	"""The board job's monitor: start, end and result patterns, as LAVA
	reads them (YAML)."""
	import yaml
	with open(os.path.join(TOP, 'boards', board, 'lava', 'job.yaml')) as f:
		job = yaml.safe_load(f.read().replace('${', '_'))
	return [a['test']['monitors'][0] for a in job['actions'] if 'test' in a][0]


def expect_loop(m, console):
	"""What LAVA's monitor does with the console: after the start string,
	search for the end or a result, the earlier match first, and go on
	after it (pexpect's expect with a list of patterns)."""
	import re
	buf = console[console.index(m['start']) + len(m['start']):]
	end, result, found = re.compile(m['end']), re.compile(m['pattern']), []
	while True:
		e, r = end.search(buf), result.search(buf)
		if r and (not e or r.start() < e.start()):
			found.append((m['fixupdict'][r.group('result')], r.group('test_case_id')))
			buf = buf[r.end():]
			continue
		return found, bool(e)


class Monitor(unittest.TestCase):
	"""The monitor pattern on a console as a serial line through a pty
	delivers it (\\r\\r\\n), with the guest's echoes of the kernel log."""

	CONSOLE = '\r\r\n'.join([
		'[    0.8] Run /init as init process', 'KTAP version 1', '1..4',
		'ok 1 board_device_tree', '# kmsg: 6.255924 ok 1 ferro_cpufreq',
		'not ok 2 module_load', '[   12.3] ferro_null: loaded',
		'ok 3 module_sweep # SKIP no fault injection', 'ok 4 module_unload',
		'# ferro-init: 2 passed, 1 failed, 1 skipped', ''])

	def test_every_board(self):
		for name in lava_boards():
			found, ended = expect_loop(monitor(name), self.CONSOLE)
			self.assertEqual(found, [('pass', 'board_device_tree'), ('fail', 'module_load'),
						 ('pass', 'module_unload')], name)
			self.assertTrue(ended, name)

	def test_a_line_in_pieces(self):
		# A name cut off by the end of what has arrived is not a result yet.
		m = monitor('qemu-virt')
		found, ended = expect_loop(m, 'KTAP version 1\r\r\n1..1\r\r\nok 1 module_lo')
		self.assertEqual((found, ended), ([], False))


class Checks(unittest.TestCase):
	"""lavarun.checks: what LAVA recorded against the guest's KTAP."""

	CONSOLE = 'KTAP version 1\n1..3\nok 1 a\nnot ok 2 b\nok 3 c # SKIP why\n'

	def outcome(self, cases, job='pass', console=CONSOLE):
		from ferro import lavarun
		return lavarun.Outcome('module', 1.0, job, '', cases, console, 'log')

	def verdicts(self, o):
		from ferro import lavarun
		return {name.replace('lava_module_', ''): ok for name, ok, _ in lavarun.checks(o)}

	def test_match(self):
		v = self.verdicts(self.outcome([('a', 'pass'), ('b', 'fail')]))
		self.assertEqual(v, {'job_complete': True, 'results_match_ktap': True,
				     'selftest_passed': False})

	def test_all_pass(self):
		console = 'KTAP version 1\n1..2\nok 1 a\nok 2 b\n'
		v = self.verdicts(self.outcome([('a', 'pass'), ('b', 'pass')], console=console))
		self.assertEqual(set(v), {'job_complete', 'results_match_ktap', 'selftest_passed'})
		self.assertTrue(all(v.values()), v)

	def test_guest_skips_are_relayed(self):
		from ferro import lavarun
		console = ('KTAP version 1\nok 1 a\nok 2 b # SKIP no PHY here\nnot ok 3 c\n1..3\n')
		o = self.outcome([('a', 'pass'), ('c', 'fail')], console=console)
		self.assertEqual(lavarun.skips(o), [('lava_module_b', 'no PHY here')])
		self.assertTrue(self.verdicts(o)['results_match_ktap'])

	def test_missing_extra_or_different(self):
		for cases in ([('a', 'pass')], [('a', 'pass'), ('b', 'fail'), ('c', 'pass')],
			      [('a', 'pass'), ('b', 'pass')], [('a', 'pass'), ('b', 'fail'), ('a', 'pass')]):
			self.assertFalse(self.verdicts(self.outcome(cases))['results_match_ktap'], cases)

	def test_job_failed(self):
		v = self.verdicts(self.outcome([('a', 'pass'), ('b', 'fail')], job='fail'))
		self.assertFalse(v['job_complete'])

	def test_parse_log(self):
		from ferro import lavarun
		lines = [
			{'lvl': 'target', 'msg': 'KTAP version 1'},
			{'lvl': 'results', 'msg': {'definition': 'ferro-selftest-module', 'case': 'a',
						   'result': 'pass'}},
			{'lvl': 'results', 'msg': {'definition': 'ferro-selftest-builtin', 'case': 'x',
						   'result': 'pass'}},
			{'lvl': 'results', 'msg': {'definition': 'lava', 'case': 'job', 'result': 'fail',
						   'error_msg': 'out of pty devices'}},
		]
		with tempfile.NamedTemporaryFile('w', suffix='.log') as f:
			f.write('\n'.join(__import__('json').dumps(x) for x in lines) + '\nnot json\n')
			f.flush()
			o = lavarun.parse_log('module', f.name)
		self.assertEqual((o.job_result, o.error, o.cases, o.console),
				 ('fail', 'out of pty devices', [('a', 'pass')], 'KTAP version 1\n'))


if __name__ == '__main__':
	unittest.main()
