# SPDX-License-Identifier: GPL-2.0
"""The guest's log checks (tests/guest/ktest.c) on logs made to pass and
made to fail: built for the host with tests/host/ktest_harness.c, so each
check is seen failing on the log that lacks what it names."""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP
from ferro import ktap

GUEST = os.path.join(TOP, 'tests', 'guest')


class GuestLogChecks(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cc = shutil.which('cc') or shutil.which('gcc')
		if not cc:
			raise unittest.SkipTest('no host C compiler')
		cls.tmp = tempfile.mkdtemp()
		cls.exe = os.path.join(cls.tmp, 'ktest_harness')
		subprocess.run([cc, '-O2', '-Wall', '-Wextra', '-Werror', '-I', GUEST, '-o', cls.exe,
				os.path.join(TOP, 'tests', 'host', 'ktest_harness.c'),
				os.path.join(GUEST, 'ktest.c')], check=True)

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.tmp)

	def run_case(self, case):
		out = subprocess.run([self.exe, case], capture_output=True, text=True,
				     check=True).stdout
		run = ktap.parse(out)
		self.assertFalse(run.errors, out)
		return {r.name: r for r in run.results}, out

	def test_log_clean_passes_a_whole_log(self):
		res, out = self.run_case('clean')
		self.assertTrue(res['clean_kernel_log_clean'].ok, out)
		self.assertIn('all 3 records since boot read, none lost', out)

	def test_log_clean_fails_on_lost_records(self):
		for case, lost in (('gap', '2 of 4'), ('late', '5 of 7')):
			res, out = self.run_case(case)
			self.assertFalse(res[f'{case}_kernel_log_clean'].ok, out)
			self.assertIn(f'{lost} records since boot were overwritten', out)

	def test_log_clean_fails_on_a_warning(self):
		res, out = self.run_case('warned')
		self.assertFalse(res['warned_kernel_log_clean'].ok, out)

	def test_kunit_skip_is_a_skip(self):
		res, out = self.run_case('kunit_skip')
		r = res['kunit_skip_kunit_second']
		self.assertTrue(r.skipped, out)
		self.assertIn('# SKIP KUnit skipped it: no device', out)
		self.assertFalse(res['kunit_skip_kunit_first'].skipped)

	def test_kunit_pass_and_fail(self):
		res, _ = self.run_case('kunit_pass')
		self.assertTrue(all(r.ok and not r.skipped for r in res.values()))
		res, out = self.run_case('kunit_fail')
		self.assertFalse(res['kunit_fail_kunit_second'].ok, out)

	def test_stack_dump_frames_only(self):
		"""The dump's own frame lines count; the driver's "frame.N:" line
		naming do_init_module, and a later unindented one, do not."""
		res, out = self.run_case('dump')
		self.assertTrue(res['dump'].ok, out)
		res, out = self.run_case('dump_without_frame')
		self.assertFalse(res['dump_without_frame'].ok, out)

	def test_exit_record_frames_only(self):
		"""The frame must be in the exit record, not in a later one."""
		res, out = self.run_case('exit_frames')
		self.assertTrue(res['exit_frames'].ok, out)
		res, out = self.run_case('exit_frames_elsewhere')
		self.assertFalse(res['exit_frames_elsewhere'].ok, out)
		res, out = self.run_case('exit_without_frames')
		self.assertFalse(res['exit_without_frames'].ok, out)

	def test_record_get_clears_on_absent_key(self):
		res, out = self.run_case('record_absent_key')
		self.assertTrue(res['record_absent_key'].ok, out)


if __name__ == '__main__':
	unittest.main()
