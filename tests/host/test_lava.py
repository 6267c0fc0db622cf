# SPDX-License-Identifier: GPL-2.0
"""LAVA jobs: every board's template renders for both plans and passes
LAVA's own job schema (lava_common); a broken job does not."""

import os
import subprocess
import sys
import tempfile
import unittest

from tests.host.common import TOP
from ferro import board as boards

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
					self.assertNotIn('${', job)

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


if __name__ == '__main__':
	unittest.main()
