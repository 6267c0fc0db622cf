# SPDX-License-Identifier: GPL-2.0
"""Shared helpers for the host tests."""

import os
import sys
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(TOP, 'scripts'))


def build_dir(mode: str) -> str:
	"""The build directory scripts/run-checks made for a mode, or skip."""
	path = os.environ.get(f'FERRO_BUILD_{mode.upper()}')
	if not path:
		raise unittest.SkipTest(f'FERRO_BUILD_{mode.upper()} not set (run make check)')
	return path


def kernel_source() -> str:
	path = os.environ.get('FERRO_KDIR')
	if not path:
		raise unittest.SkipTest('FERRO_KDIR not set (run make check)')
	return path
