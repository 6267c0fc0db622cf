# SPDX-License-Identifier: GPL-2.0
"""Digests of what a step reads, for the stamps and caches that let a step
whose inputs did not change be skipped: the guest init, the kernel builds
(kbuild.inputs_digest) and the host tests' tool results
(tests/host/common.py, ToolCache)."""

import hashlib
import os

from ferro.board import TOP


def of(*parts: bytes) -> str:
	"""One hex digest of several inputs, each hashed on its own."""
	h = hashlib.sha256()
	for part in parts:
		h.update(hashlib.sha256(part).digest())
	return h.hexdigest()


def _files(paths, suffix: str = ''):
	"""Every file of `paths` (files, or directories walked in a fixed
	order) whose name ends in `suffix`."""
	for path in paths:
		if os.path.isfile(path):
			yield path
			continue
		for dirpath, dirs, files in os.walk(path):
			dirs.sort()
			yield from (os.path.join(dirpath, n) for n in sorted(files) if n.endswith(suffix))


def contents(*paths: str, suffix: str = '') -> bytes:
	"""The contents of every file of `paths`, each by its path relative to
	this tree: the same sources give the same digest in any clone, whatever
	their mtimes."""
	h = hashlib.sha256()
	for path in _files(paths, suffix):
		with open(path, 'rb') as f:
			h.update(os.path.relpath(path, TOP).encode() + b'\0' +
				 hashlib.sha256(f.read()).digest())
	return h.digest()


def stats(*paths: str) -> bytes:
	"""(path, size, mtime) of every file of `paths`: for large trees that
	stay as they were unpacked (a kernel tree's 96,000 files take about a
	second)."""
	h = hashlib.sha256()
	for path in _files(paths):
		st = os.lstat(path)
		h.update(f'{path} {st.st_size} {st.st_mtime_ns}\n'.encode())
	return h.digest()
