# SPDX-License-Identifier: GPL-2.0
"""The guest's output protocol, besides KTAP (ktap.py): one parser for it.

Between its KTAP results, tests/guest/ prints diagnostic lines of the form
"# <kind>: <payload>":

``# kmsg: <seconds> <text>``
    a kernel log record (ktest.c diag_log, or all of them after
    ``# kmsg-dump: begin``);
``# fact: <driver>.<key>=<value>``
    something a driver's checks found out (ktest.c report_fact);
``# entry: <module> <event> hits=<n>[+] caller=<fn> state=<state> chain=<a < b>``
    an entry point observed by its kprobe event (entries.c);
``# bench: config=<c> driver=<d> workload=<w> threads=<n> qd=<n> run=<n> value=<f> unit=<u>``
    one measurement of make bench (bench.c);
``# cost: suite=<s> case=<c> driver=<d> ops=<n> insns=<n>|- ns=<n>|-``
    what `ops` operations cost: the kernel's instructions where the boot
    counts them (QEMU with -icount), and their time (count.c);
``# record (module|built-in):``
    a lifecycle record, followed by its ``#   <key>: <value>`` lines.

Every other line (the console's kernel messages, KTAP) is not the
protocol's and is left alone.
"""

import re
from typing import Dict, Iterator, List, NamedTuple, Optional

_KIND = re.compile(r'^# (kmsg|fact|entry|bench|cost): (.*)$')
_KMSG = re.compile(r'^(\d+\.\d+) (.*)$')
_FACT = re.compile(r'^(\w+)\.(\w+)=(.*)$')
_ENTRY = re.compile(r'^(?P<module>\S+) (?P<event>\S+) hits=(?P<hits>-?\d+)(?P<more>\+?) '
		    r'caller=(?P<caller>\S+) state=(?P<state>\S+) chain=(?P<chain>.*)$')
_BENCH = re.compile(r'^config=(?P<config>\S+) driver=(?P<driver>\S+) workload=(?P<workload>\S+) '
		    r'threads=(?P<threads>\d+) qd=(?P<qd>\d+) run=(?P<run>\d+) '
		    r'value=(?P<value>[0-9.]+) unit=(?P<unit>\S+)$')
_COST = re.compile(r'^suite=(\S+) case=(\S+) driver=(\S+) ops=(\d+) insns=(\d+|-) ns=(\d+|-)$')
_RECORD = re.compile(r'^# record \((module|built-in)\):$')
KMSG_DUMP = '# kmsg-dump: begin'


class Line(NamedTuple):
	"""One line of the protocol: its kind and its fields."""
	kind: str		# kmsg, fact, entry, bench, cost or record
	fields: Dict


def parse_line(line: str) -> Optional[Line]:
	"""The protocol line `line` is, or None (also for a malformed one)."""
	line = line.rstrip('\r')
	m = _KIND.match(line)
	if not m:
		m = _RECORD.match(line)
		return Line('record', {'mode': m[1], 'fields': {}}) if m else None
	kind, payload = m.groups()
	if kind == 'kmsg':
		k = _KMSG.match(payload)
		return Line(kind, {'time': float(k[1]), 'text': k[2]}) if k else None
	if kind == 'fact':
		f = _FACT.match(payload)
		return Line(kind, {'driver': f[1], 'key': f[2], 'value': f[3]}) if f else None
	if kind == 'entry':
		e = _ENTRY.match(payload)
		if not e:
			return None
		g = e.groupdict()
		return Line(kind, {
			'module': g['module'], 'event': g['event'], 'hits': int(g['hits']),
			# "N+": its probe was disabled after the first record
			'hits_at_least': bool(g['more']),
			'caller': None if g['caller'] == '-' else g['caller'],
			'system_state': None if g['state'] == '-' else g['state'],
			'chain': [] if g['chain'] == '-' else g['chain'].split(' < ')})
	if kind == 'cost':
		c = _COST.match(payload)
		if not c:
			return None
		number = lambda v: None if v == '-' else int(v)
		return Line(kind, {'suite': c[1], 'case': c[2], 'driver': c[3], 'ops': int(c[4]),
				   'insns': number(c[5]), 'ns': number(c[6])})
	b = _BENCH.match(payload)
	if not b:
		return None
	g = b.groupdict()
	return Line(kind, dict(g, threads=int(g['threads']), qd=int(g['qd']), run=int(g['run']),
			       value=float(g['value'])))


def lines(text: str) -> Iterator[Line]:
	"""The protocol lines of a guest's console log, in order. A record
	comes with its fields. With a full kernel log dump, the log's records
	before it are left out (they are in the dump again)."""
	raw = text.splitlines()
	if KMSG_DUMP in raw:
		cut = raw.index(KMSG_DUMP)
		raw = [r for r in raw[:cut] if not r.startswith('# kmsg: ')] + raw[cut:]
	record: Optional[Line] = None
	for r in raw:
		r = r.rstrip('\r')
		if record is not None:
			if r.startswith('#   ') and ': ' in r:
				k, v = r[4:].split(': ', 1)
				record.fields['fields'][k] = v
				continue
			yield record
			record = None
		line = parse_line(r)
		if line is None:
			continue
		if line.kind == 'record':
			record = line
		else:
			yield line
	if record is not None:
		yield record


def of_kind(text: str, kind: str) -> List[Dict]:
	"""The fields of every line of one kind."""
	return [line.fields for line in lines(text) if line.kind == kind]
