# SPDX-License-Identifier: GPL-2.0
"""An upstream-ready series: scripts/make-patches, then checkpatch.pl --strict,
then the series applied to the whole pinned tree and built.

The series is made against a small git tree holding the pinned kernel's own
MAINTAINERS, Kconfig, Makefiles and the kernel-crate modules the kext/
patches extend (all the series touches outside drivers/ferro and the new
kernel-crate files), so it applies to the pinned kernel as it is.
"""

import concurrent.futures
import functools
import glob
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, ToolCache, build_dir, kernel_source, newest, on_newest

from ferro import digest, kbuild, kext, tree

# The files the series touches, and those check-tree reads before it hooks
# Ferro in (kext/Kconfig's probes).
SKELETON = tuple(dict.fromkeys((
	'Makefile', 'Kconfig', 'MAINTAINERS', 'drivers/Kconfig', 'drivers/Makefile',
	'scripts/Makefile.build', 'rust/kernel/lib.rs', 'rust/kernel/opp.rs',
	'rust/kernel/block/mq.rs', 'rust/kernel/time/hrtimer.rs', 'rust/kernel/net/phy.rs',
	'rust/kernel/configfs.rs', *(p.path for p in tree.probes().values()))))
HOOKS = ('source "drivers/ferro/Kconfig"\n\n', 'source "drivers/ferro/Kconfig"\n',
	 'obj-$(CONFIG_FERRO)\t\t+= ferro/\n')


def rust_patches():
	"""The kernel-crate patches of the series: kext/'s fixes and modules."""
	return len(kext.fixes()) + sum(1 for p in kext.pieces() if p.module)


def unhooked(ksrc, rel):
	"""A file of the pinned tree without the lines integrate-kernel-tree
	adds (make check's kernels are built from an integrated tree)."""
	with open(os.path.join(ksrc, rel)) as f:
		text = f.read()
	for hook in HOOKS:
		text = text.replace(hook, '')
	return text


def git(cwd, *args):
	return subprocess.run(['git', *args], cwd=cwd, check=True, capture_output=True,
			      text=True).stdout


def patch_text(path):
	"""A patch of the series as checkpatch and the build read it, for the
	keys of what is kept of them: format-patch stamps each patch with its
	commit and date, new with every make-patches."""
	with open(path, 'rb') as f:
		return re.sub(rb'^(From [0-9a-f]{40} |Date: ).*$', b'', f.read(), flags=re.M)


@functools.lru_cache(maxsize=None)
def checkpatch_digest(ksrc):
	"""checkpatch.pl and the lists it reads."""
	parts = []
	for rel in ('scripts/checkpatch.pl', 'scripts/spelling.txt',
		    'scripts/const_structs.checkpatch', 'MAINTAINERS'):
		with open(os.path.join(ksrc, rel), 'rb') as f:
			parts.append(f.read())
	return digest.of(*parts).encode()


def checkpatch(ksrc, key, *args, tmp=''):
	"""checkpatch --strict ARGS in the kernel tree, run once per `key` (what
	it reads of the file or patch) and checkpatch (ToolCache)."""
	argv = [os.path.join(ksrc, 'scripts', 'checkpatch.pl'), '--strict', '--color=never',
		'--show-types', *args]
	return ToolCache('checkpatch', key, checkpatch_digest(ksrc)).run('strict', argv, tmp=tmp,
									cwd=ksrc)


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
		if not on_newest(cls.ksrc):
			raise unittest.SkipTest(f'the series is for the newest kernel, Linux {newest()} '
						'(make patches keeps only its API shapes); this run '
						'builds another')
		cls.tmp = tempfile.mkdtemp()
		cls.kdir = os.path.join(cls.tmp, 'linux')
		for rel in SKELETON:
			os.makedirs(os.path.dirname(os.path.join(cls.kdir, rel)), exist_ok=True)
			with open(os.path.join(cls.kdir, rel), 'w') as f:
				f.write(unhooked(cls.ksrc, rel))
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
		self.assertEqual(len(self.patches), rust_patches() + 1 + len(drivers))

	def test_an_older_kernel_is_refused(self):
		"""The series keeps only the newest kernel's API shapes: a tree of
		an older one is refused before anything is written."""
		with tempfile.TemporaryDirectory() as tmp:
			old, out = os.path.join(tmp, 'linux'), os.path.join(tmp, 'patches')
			shutil.copytree(self.kdir, old, ignore=shutil.ignore_patterns('.git'))
			with open(os.path.join(old, 'Makefile')) as f:
				text = f.read()
			text = re.sub(r'^PATCHLEVEL = \d+$', 'PATCHLEVEL = 2', text, count=1, flags=re.M)
			with open(os.path.join(old, 'Makefile'), 'w') as f:
				f.write(text)
			git(old, 'init', '-q')
			git(old, 'add', '-A')
			git(old, '-c', 'user.name=T', '-c', 'user.email=t@example.org', 'commit', '-q',
			    '-m', 'base')
			p = subprocess.run([os.path.join(TOP, 'scripts', 'make-patches'), '--out', out, old],
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
			self.assertIn(f'is Linux 7.2; the series is for Linux {newest()}', p.stderr)
			self.assertFalse(os.path.exists(out))

	def test_kdir_untouched(self):
		self.assertEqual(git(self.kdir, 'status', '--porcelain'), '')
		self.assertEqual(git(self.kdir, 'worktree', 'list').count('\n'), 1)
		self.assertEqual(git(self.kdir, 'log', '--oneline').count('\n'), 1)

	def test_subjects_bodies_signoff(self):
		self.assertTrue(self.patches, 'no patches were made')
		for path in self.patches:
			with open(path) as f:
				text = f.read()
			self.assertRegex(text, r'\nSubject: \[PATCH \d+/\d+\] (drivers: ferro|rust): \S')
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

	def test_series_builds_on_the_pinned_tree(self):
		"""The whole series on a copy of the pinned tree (hard links; a patched
		file gets a new inode, so the cache's source is never written), then
		the kernel crate and drivers/ferro built with the QEMU virt module
		kernel's configuration. A series already built is not built again:
		the stamp holds the patches' text, the configuration and the tree."""
		self.assertTrue(self.patches, 'no patches were made')
		config = os.path.join(build_dir('m'), '.config')
		root = os.path.join(kbuild.cache_dir(), 'series')
		h = hashlib.sha256(os.path.realpath(self.ksrc).encode())
		rustc = subprocess.run(['rustc', '--version'], capture_output=True, text=True,
				       env=kbuild.toolchain_env())
		h.update(rustc.stdout.encode())
		for path in self.patches + [config]:
			h.update(patch_text(path))
		stamp = os.path.join(root, 'built')
		if os.path.isfile(stamp) and open(stamp).read() == h.hexdigest():
			return
		src, out = os.path.join(root, 'src'), os.path.join(root, 'build')
		if os.path.lexists(stamp):
			os.unlink(stamp)
		shutil.rmtree(src, ignore_errors=True)
		os.makedirs(root, exist_ok=True)
		subprocess.run(['cp', '-al', self.ksrc, src], check=True)
		if os.path.lexists(os.path.join(src, 'drivers', 'ferro')):
			os.unlink(os.path.join(src, 'drivers', 'ferro'))
		for rel in ('drivers/Kconfig', 'drivers/Makefile'):
			text = unhooked(src, rel)
			os.unlink(os.path.join(src, rel))
			with open(os.path.join(src, rel), 'w') as f:
				f.write(text)
		for path in self.patches:
			p = subprocess.run(['git', 'apply', path], cwd=src, capture_output=True,
					   text=True)
			self.assertEqual(p.returncode, 0,
					 f'{os.path.basename(path)} does not apply: {p.stderr[-2000:]}')
		# Objects of an earlier series must not stand in for this one's.
		shutil.rmtree(os.path.join(out, 'drivers', 'ferro'), ignore_errors=True)
		os.makedirs(out, exist_ok=True)
		shutil.copy(config, os.path.join(out, '.config'))
		make = ['make', '-s', '-C', src, f'O={out}', 'ARCH=arm64',
			'CROSS_COMPILE=aarch64-linux-gnu-', f'-j{os.cpu_count() or 1}']
		for target in (['olddefconfig'], ['prepare'], ['rust/', 'drivers/ferro/']):
			p = subprocess.run(make + target, env=kbuild.toolchain_env(),
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, f'make {" ".join(target)} on the patched '
					 f'tree:\n{(p.stdout + p.stderr)[-4000:]}')
		for d in os.listdir(os.path.join(TOP, 'drivers')):
			if os.path.isfile(os.path.join(TOP, 'drivers', d, 'Kconfig')):
				obj = os.path.join(out, 'drivers', 'ferro', 'drivers', d, f'ferro_{d}.o')
				self.assertTrue(os.path.isfile(obj), f'{obj} was not built')
		shutil.rmtree(src)
		with open(stamp, 'w') as f:
			f.write(h.hexdigest())

	def test_kernel_crate_patches_first(self):
		subjects = []
		for path in self.patches:
			with open(path) as f:
				# A long subject is folded onto indented lines (RFC 5322).
				m = re.search(r'\nSubject: \[PATCH \d+/\d+\] (.*(?:\n .*)*)', f.read())
			subjects.append(m[1].replace('\n ', ' ') if m else '')
		rust = [i for i, t in enumerate(subjects) if t.startswith('rust: ')]
		self.assertEqual(rust, list(range(rust_patches())), subjects)
		for fix, subject in zip(kext.fixes(), subjects):
			with open(os.path.join(TOP, 'kext', f'{fix}.patch')) as f:
				self.assertEqual(subject, f.readline().strip())

	def test_checkpatch_strict_clean(self):
		self.assertTrue(self.patches, 'no patches were made')
		first = rust_patches()
		with open(self.patches[first]) as f:
			self.assertIn('\n+F:\tdrivers/ferro/\n', f.read())
		def check(path):
			return checkpatch(self.ksrc, b'patch\0' + patch_text(path), path,
					  tmp=os.path.dirname(path))

		with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
			runs = list(pool.map(check, self.patches))
		for i, (path, p) in enumerate(zip(self.patches, runs)):
			# checkpatch asks "does MAINTAINERS need updating?" for every
			# patch that adds files without touching MAINTAINERS; the
			# drivers/ferro patch's F: entry covers the drivers, and the
			# kernel crate's files are covered by the RUST entry.
			allowed = ('FILE_PATH_CHANGES',) if i != first else ()
			self.assertEqual(counts(p.stdout, allowed), (0, 0, 0),
					 f'{os.path.basename(path)}:\n{p.stdout[-4000:]}')


class SourceFiles(unittest.TestCase):
	"""checkpatch --strict --no-tree -f on every C and Rust file and Makefile.

	Each result is kept under the cache, keyed by the file's path and
	bytes and by checkpatch.pl and the lists it reads: a file, or a
	checkpatch, that changed is checked again; one that did not costs
	nothing. Files run two at a time."""

	def test_checkpatch_files(self):
		ksrc = kernel_source()
		files = subprocess.run(['git', 'ls-files', '*.rs', '*.c', '*.h', '*Kconfig',
					'*Makefile', '*Kbuild'], cwd=TOP, capture_output=True,
				       text=True).stdout.split()
		self.assertTrue(files)

		def check(rel):
			with open(os.path.join(TOP, rel), 'rb') as f:
				key = b'file\0' + rel.encode() + b'\0' + f.read()
			return checkpatch(ksrc, key, '--no-tree', '-f', os.path.join(TOP, rel))

		with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1) as pool:
			runs = list(pool.map(check, files))
		for rel, p in zip(files, runs):
			self.assertEqual(counts(p.stdout)[:2], (0, 0), f'{rel}:\n{p.stdout[-4000:]}')


if __name__ == '__main__':
	unittest.main()
