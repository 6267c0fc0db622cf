# SPDX-License-Identifier: GPL-2.0
"""An upstream-ready series: scripts/make-patches, then checkpatch.pl --strict.

The series is made against a small git tree holding the pinned kernel's own
MAINTAINERS, Kconfig and Makefiles (all the series touches outside
drivers/ferro), so it applies to the pinned kernel as it is.
"""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, kernel_source

SKELETON = ('Makefile', 'Kconfig', 'MAINTAINERS', 'drivers/Kconfig', 'drivers/Makefile',
	    'scripts/Makefile.build')
HOOKS = ('source "drivers/ferro/Kconfig"\n\n', 'source "drivers/ferro/Kconfig"\n',
	 'obj-$(CONFIG_FERRO)\t\t+= ferro/\n')


def git(cwd, *args):
	return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True,
			      text=True).stdout


def checkpatch(ksrc, *args):
	return subprocess.run([os.path.join(ksrc, 'scripts', 'checkpatch.pl'), '--strict',
			       '--color=never', '--show-types', *args],
			      cwd=ksrc, capture_output=True, text=True)


def counts(output, allowed=()):
	"""(errors, warnings, checks) of a checkpatch run, less the allowed types."""
	m = re.search(r'total: (\d+) errors, (\d+) warnings, (\d+) checks', output)
	if not m:
		return None
	errors, warnings, checks = (int(x) for x in m.groups())
	for kind in allowed:
		warnings -= len(re.findall(rf'^WARNING:{kind}:', output, re.M))
	return errors, warnings, checks


class Series(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.ksrc = kernel_source()
		cls.tmp = tempfile.mkdtemp()
		cls.kdir = os.path.join(cls.tmp, 'linux')
		for rel in SKELETON:
			os.makedirs(os.path.dirname(os.path.join(cls.kdir, rel)), exist_ok=True)
			with open(os.path.join(cls.ksrc, rel)) as f:
				text = f.read()
			for hook in HOOKS:
				text = text.replace(hook, '')
			with open(os.path.join(cls.kdir, rel), 'w') as f:
				f.write(text)
		git(cls.kdir, 'init', '-q')
		git(cls.kdir, 'config', 'user.name', 'Ferro Tester')
		git(cls.kdir, 'config', 'user.email', 'tester@example.org')
		git(cls.kdir, 'add', '-A')
		git(cls.kdir, 'commit', '-q', '-m', 'base')
		cls.out = os.path.join(cls.tmp, 'patches')
		cls.proc = subprocess.run([os.path.join(TOP, 'scripts', 'make-patches'),
					   '--out', cls.out, cls.kdir], capture_output=True, text=True)
		cls.patches = sorted(glob.glob(os.path.join(cls.out, '*.patch')))

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.tmp)

	def test_made(self):
		self.assertEqual(self.proc.returncode, 0, self.proc.stderr)
		drivers = [d for d in os.listdir(os.path.join(TOP, 'drivers'))
			   if os.path.isdir(os.path.join(TOP, 'drivers', d))]
		self.assertEqual(len(self.patches), 1 + len(drivers))

	def test_kdir_untouched(self):
		self.assertEqual(git(self.kdir, 'status', '--porcelain'), '')
		self.assertEqual(git(self.kdir, 'worktree', 'list').count('\n'), 1)
		self.assertEqual(git(self.kdir, 'log', '--oneline').count('\n'), 1)

	def test_subjects_bodies_signoff(self):
		self.assertTrue(self.patches, 'no patches were made')
		for path in self.patches:
			with open(path) as f:
				text = f.read()
			self.assertRegex(text, r'\nSubject: \[PATCH \d+/\d+\] drivers: ferro: \S')
			body = text.split('\n\n', 1)[1].split('\n---\n', 1)[0]
			self.assertGreater(len(body.split('Signed-off-by:')[0].strip()), 40,
					   f'{path}: no body')
			self.assertIn('Signed-off-by: Ferro Tester <tester@example.org>', text)

	def test_series_applies_and_builds_the_same_tree(self):
		with tempfile.TemporaryDirectory() as clone:
			git(clone, 'clone', '-q', self.kdir, 'linux')
			work = os.path.join(clone, 'linux')
			git(work, 'config', 'user.name', 'x')
			git(work, 'config', 'user.email', 'x@example.org')
			git(work, 'am', '-q', *self.patches)
			for rel in ('drivers/ferro/drivers/lifecycle/ferro_lifecycle.rs',
				    'drivers/ferro/Kconfig'):
				self.assertTrue(os.path.isfile(os.path.join(work, rel)), rel)
			with open(os.path.join(work, 'drivers/Kconfig')) as f:
				self.assertIn(HOOKS[0], f.read())
			with open(os.path.join(work, 'drivers/ferro/drivers/Makefile')) as f:
				self.assertIn('obj-$(CONFIG_FERRO_LIFECYCLE)', f.read())

	def test_checkpatch_strict_clean(self):
		self.assertTrue(self.patches, 'no patches were made')
		with open(self.patches[0]) as f:
			self.assertIn('\n+F:\tdrivers/ferro/\n', f.read())
		for i, path in enumerate(self.patches):
			# checkpatch asks "does MAINTAINERS need updating?" for every
			# patch that adds files without touching MAINTAINERS; the first
			# patch's F: drivers/ferro/ entry already covers the drivers.
			allowed = ('FILE_PATH_CHANGES',) if i > 0 else ()
			p = checkpatch(self.ksrc, path)
			self.assertEqual(counts(p.stdout, allowed), (0, 0, 0),
					 f'{os.path.basename(path)}:\n{p.stdout[-4000:]}')


class SourceFiles(unittest.TestCase):
	"""checkpatch --strict --no-tree -f on every C and Rust file and Makefile."""

	def test_checkpatch_files(self):
		ksrc = kernel_source()
		files = subprocess.run(['git', 'ls-files', '*.rs', '*.c', '*.h', '*Kconfig',
					'*Makefile', '*Kbuild'], cwd=TOP, capture_output=True,
				       text=True).stdout.split()
		self.assertTrue(files)
		for rel in files:
			p = checkpatch(ksrc, '--no-tree', '-f', os.path.join(TOP, rel))
			self.assertEqual(counts(p.stdout)[:2], (0, 0), f'{rel}:\n{p.stdout[-4000:]}')


if __name__ == '__main__':
	unittest.main()
