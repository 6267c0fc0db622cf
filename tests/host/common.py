# SPDX-License-Identifier: GPL-2.0
"""Shared helpers for the host tests.

make check gives the tests its builds through the environment
(FERRO_BUILD_M, FERRO_BUILD_Y, FERRO_KDIR). Run on their own (make
test-host, python3 -m unittest), they use the pinned kernel source and the
QEMU virt builds in the cache if those exist, and otherwise skip, saying
what is missing and which make target makes it.
"""

import json
import os
import subprocess
import sys
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, 'scripts'))

# The board whose builds a standalone run looks for: every make check has them.
BOARD = 'qemu-virt'


def _pinned_source() -> str:
	"""The pinned kernel source in the cache, or '' if it is not unpacked."""
	p = subprocess.run([os.path.join(TOP, 'scripts', 'fetch-kernel'), '--print-dir'],
			   capture_output=True, text=True)
	path = p.stdout.strip()
	return path if p.returncode == 0 and os.path.isfile(os.path.join(path, 'Makefile')) else ''


def kernel_source() -> str:
	"""FERRO_KDIR, or the pinned source in the cache, or skip."""
	path = os.environ.get('FERRO_KDIR') or _pinned_source()
	if not path:
		raise unittest.SkipTest('no kernel source: FERRO_KDIR is not set and the pinned '
					'source is not unpacked (make kernel-src)')
	return path


def pinned(version: str) -> str:
	"""A pinned Debian kernel source (scripts/fetch-kernel --version), fetched
	into the cache the first time."""
	fetch = os.path.join(TOP, 'scripts', 'fetch-kernel')
	p = subprocess.run([fetch, '--version', version], capture_output=True, text=True)
	if p.returncode != 0:
		raise AssertionError(f'fetch-kernel --version {version}: {p.stdout}{p.stderr}')
	return subprocess.run([fetch, '--version', version, '--print-dir'], capture_output=True,
			      text=True, check=True).stdout.strip()


def newest() -> str:
	"""The newest kernel Ferro supports, as X.Y (tree.SUPPORTED)."""
	from ferro import tree
	return '%d.%d' % max(tree.SUPPORTED)


def on_newest(src: str) -> bool:
	"""Whether the kernel source src is of the newest supported kernel,
	the one make patches and the lifecycle evidence are for."""
	from ferro import tree
	return tree.version(src)[:2] == max(tree.SUPPORTED)


def build_dir(mode: str) -> str:
	"""FERRO_BUILD_<MODE>, or the cached QEMU virt build of that mode for
	the kernel source, or skip."""
	path = os.environ.get(f'FERRO_BUILD_{mode.upper()}')
	if path:
		return path
	from ferro import board, kbuild
	path = kbuild.build_dir(board.load(BOARD), mode, kernel_source())
	if not os.path.isfile(os.path.join(path, 'vmlinux')):
		raise unittest.SkipTest(f'no FERRO_MODE={mode} kernel built in {path} '
					'(make kernels builds it; make check sets '
					f'FERRO_BUILD_{mode.upper()})')
	return path


def tracked_files(prefix: str = '') -> list:
	"""The tree's tracked files under `prefix` (all of them outside git),
	relative to TOP."""
	out = subprocess.run(['git', 'ls-files', '--', prefix or '.'], cwd=TOP,
			     capture_output=True, text=True)
	if out.returncode == 0 and out.stdout:
		return [f for f in out.stdout.splitlines() if os.path.isfile(os.path.join(TOP, f))]
	found = []
	for root, dirs, files in os.walk(os.path.join(TOP, prefix)):
		dirs[:] = [d for d in dirs if not d.startswith('.') and d != '__pycache__']
		found += [os.path.relpath(os.path.join(root, f), TOP) for f in files]
	return found


class ToolCache:
	"""The output of a deterministic tool run, kept under the cache and
	keyed by everything the run reads, so that a check whose inputs did
	not change reads what the last run printed instead of running again.

	Paths under this tree are stored as '@TOP@' and given back as this
	tree's: a fresh clone elsewhere finds the results of the same sources.
	A key that misses an input would hide a change, so callers hash every
	input: file contents for this tree's files, (path, size, mtime) for
	large trees that do not change (the pinned kernel source), and the
	tool's version (ferro/digest.py: contents() and stats()).
	"""

	def __init__(self, name: str, *inputs: bytes):
		from ferro import digest, kbuild
		self.dir = os.path.join(kbuild.cache_dir(), 'results', name)
		self.key = digest.of(*inputs)

	def run(self, what: str, argv: list, tmp: str = '', **kwargs) -> subprocess.CompletedProcess:
		"""subprocess.run(argv, capture_output=True, text=True, **kwargs),
		or what it returned for the same key and `what` before. Paths
		under `tmp` (a run's own temporary directory) are kept neutral
		too."""
		names = [(TOP, '@TOP@')] + ([(tmp, '@TMP@')] if tmp else [])

		def neutral(text):
			for path, token in names:
				text = text.replace(path, token)
			return text

		def ours(text):
			for path, token in names:
				text = text.replace(token, path)
			return text

		path = os.path.join(self.dir, f'{self.key}-{what}.json')
		if os.path.exists(path):
			with open(path) as f:
				got = json.load(f)
			return subprocess.CompletedProcess(argv, got['returncode'], ours(got['stdout']),
							   ours(got['stderr']))
		p = subprocess.run(argv, capture_output=True, text=True, **kwargs)
		os.makedirs(self.dir, exist_ok=True)
		with open(path + '.tmp', 'w') as f:
			json.dump({'returncode': p.returncode, 'stdout': neutral(p.stdout),
				   'stderr': neutral(p.stderr)}, f)
		os.rename(path + '.tmp', path)
		return p
