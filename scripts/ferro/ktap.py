# SPDX-License-Identifier: GPL-2.0
"""Parse the KTAP output of a guest run out of a console log.

Like tools/testing/kunit/kunit_parser.py, but for a flat list of results
printed by Ferro's guest init, with kernel messages possibly interleaved.
The plan line ("1..N") may come first or last; a run that stops before its
plan, or whose plan disagrees with its results, is reported as a failure.
"""

import dataclasses
import re
from typing import List, Optional

RESULT = re.compile(r'^(ok|not ok) (\d+) ([^#\s][^#]*?)\s*(?:#\s*(SKIP|skip)\b\s*(.*))?$')
PLAN = re.compile(r'^1\.\.(\d+)$')
HEADER = re.compile(r'^K?TAP version \d+$')


@dataclasses.dataclass
class Result:
	number: int
	name: str
	ok: bool
	skipped: bool = False
	reason: str = ''		# a skip's reason
	diagnostics: List[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Run:
	results: List[Result]
	plan: Optional[int]
	started: bool
	errors: List[str]

	@property
	def passed(self) -> int:
		return sum(1 for r in self.results if r.ok and not r.skipped)

	@property
	def failed(self) -> int:
		return sum(1 for r in self.results if not r.ok) + len(self.errors)

	@property
	def skipped(self) -> int:
		return sum(1 for r in self.results if r.skipped)


# Terminal control sequences on a serial console: a PC's firmware resets
# and clears the terminal (ESC c, ESC [?7l, ESC [2J) before the kernel runs.
_ESCAPES = re.compile(r'\x1b(?:\[[0-9;?]*[A-Za-z]|[A-Za-z])')


def strip_console(line: str) -> str:
	"""Drops the carriage returns and terminal control sequences a serial
	console adds."""
	return _ESCAPES.sub('', line.rstrip('\r\n').replace('\r', ''))


def parse(log: str) -> Run:
	results: List[Result] = []
	plan = None
	started = False
	errors: List[str] = []
	pending: List[str] = []
	for raw in log.splitlines():
		line = strip_console(raw)
		if not started:
			if HEADER.match(line):
				started = True
			continue
		m = RESULT.match(line)
		if m:
			r = Result(int(m.group(2)), m.group(3), m.group(1) == 'ok',
				   skipped=m.group(4) is not None, reason=m.group(5) or '',
				   diagnostics=pending)
			pending = []
			if r.number != len(results) + 1:
				errors.append(f'result {r.number} ({r.name}) out of order')
			results.append(r)
			continue
		m = PLAN.match(line)
		if m:
			plan = int(m.group(1))
			continue
		if line.startswith('# '):
			pending.append(line[2:])
	if not started:
		errors.append('no KTAP output (the guest did not start its tests)')
	elif plan is None:
		errors.append(f'no plan line: the run stopped after {len(results)} results')
	elif plan != len(results):
		errors.append(f'plan says {plan} tests, {len(results)} results were printed')
	return Run(results, plan, started, errors)
