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

	def assert_verdict(self, case, ok, name=None):
		"""Runs a case; its result (named `name`, or after the case) is ok or not."""
		res, out = self.run_case(case)
		self.assertEqual(res[name or case].ok, ok, out)
		return res, out

	def test_log_clean_passes_a_whole_log(self):
		_, out = self.assert_verdict('clean', True, 'clean_kernel_log_clean')
		self.assertIn('all 3 records since boot read, none lost', out)

	def test_log_clean_fails_on_lost_records(self):
		for case, lost in (('gap', '2 of 4'), ('late', '5 of 7')):
			_, out = self.assert_verdict(case, False, f'{case}_kernel_log_clean')
			self.assertIn(f'{lost} records since boot were overwritten', out)

	def test_log_clean_fails_on_a_warning(self):
		self.assert_verdict('warned', False, 'warned_kernel_log_clean')

	def test_kunit_skip_is_a_skip(self):
		res, out = self.run_case('kunit_skip')
		r = res['kunit_skip_kunit_second']
		self.assertTrue(r.skipped, out)
		self.assertIn('# SKIP KUnit skipped it: no device', out)
		self.assertFalse(res['kunit_skip_kunit_first'].skipped)

	def test_kunit_pass_and_fail(self):
		res, _ = self.run_case('kunit_pass')
		self.assertTrue(all(r.ok and not r.skipped for r in res.values()))
		self.assert_verdict('kunit_fail', False, 'kunit_fail_kunit_second')

	def test_stack_dump_frames_only(self):
		"""The dump's own frame lines count; the driver's "frame.N:" line
		naming do_init_module, and a later unindented one, do not."""
		self.assert_verdict('dump', True)
		self.assert_verdict('dump_without_frame', False)

	def test_exit_record_frames_only(self):
		"""The frame must be in the exit record, not in a later one."""
		self.assert_verdict('exit_frames', True)
		self.assert_verdict('exit_frames_elsewhere', False)
		self.assert_verdict('exit_without_frames', False)

	def test_record_get_clears_on_absent_key(self):
		self.assert_verdict('record_absent_key', True)


if __name__ == '__main__':
	unittest.main()
