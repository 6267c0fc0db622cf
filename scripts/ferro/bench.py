# SPDX-License-Identifier: GPL-2.0
"""make bench: parse the guest's "# bench:" lines, take medians, compare."""

import statistics
from typing import Dict, List, Tuple

from ferro import protocol

# The driver every other is compared with.
REFERENCE = 'null_blk'

WORKLOADS = ('randread_qd1', 'randread_qd32', 'randread_qd8_t4', 'seqwrite_qd1',
	     'seqwrite_qd32')


Key = Tuple[str, str, str]	# (config, workload, driver)


def parse(texts: List[str]) -> Dict[Key, List[Tuple[int, float]]]:
	"""Every measurement of every boot's log, by (config, workload,
	driver): (boot index, value) in boot and run order."""
	out: Dict[Key, List[Tuple[int, float]]] = {}
	for boot, text in enumerate(texts):
		for b in protocol.of_kind(text, 'bench'):
			out.setdefault((b['config'], b['workload'], b['driver']), []).append(
				(boot, b['value']))
	return out


def shapes(texts: List[str]) -> Dict[str, Tuple[int, int, str]]:
	"""Each workload's threads, requests in flight per thread, and unit."""
	return {b['workload']: (b['threads'], b['qd'], b['unit'])
		for text in texts for b in protocol.of_kind(text, 'bench')}


def table(samples: Dict[Key, List[Tuple[int, float]]],
	  shape: Dict[str, Tuple[int, int, str]]) -> List[Dict]:
	"""One row per (config, workload, driver): threads, queue depth, boots
	and samples, median, ratio to the reference driver's median in the
	same config and workload."""
	rows = []
	for (config, workload, driver), got in sorted(samples.items()):
		values = [v for _, v in got]
		med = statistics.median(values)
		ref = [v for _, v in samples.get((config, workload, REFERENCE), [])]
		ratio = med / statistics.median(ref) if ref and statistics.median(ref) else None
		threads, qd, unit = shape[workload]
		rows.append({'config': config, 'workload': workload, 'driver': driver,
			     'threads': threads, 'qd': qd, 'boots': len({b for b, _ in got}),
			     'runs': len(values), 'median': med, 'unit': unit,
			     'ratio': ratio, 'min': min(values), 'max': max(values)})
	return rows


def rst(rows: List[Dict], command: str, about: str) -> str:
	"""The table as reStructuredText, with how it was made."""
	head = ('Config', 'Workload', 'Driver', 'Threads', 'QD/thread', 'Boots', 'Runs', 'Median',
		'Min..max', 'vs null_blk')
	body = [(r['config'], r['workload'], r['driver'], str(r['threads']), str(r['qd']),
		 str(r['boots']), str(r['runs']),
		 f"{r['median']:.0f} {r['unit']}" if r['unit'] == 'iops' else f"{r['median']:.1f} {r['unit']}",
		 f"{r['min']:.0f}..{r['max']:.0f}",
		 f"{r['ratio']:.3f}" if r['ratio'] is not None else 'n/a') for r in rows]
	widths = [max(len(x) for x in col) for col in zip(head, *body)]
	rule = ' '.join('=' * w for w in widths)
	fmt = lambda cells: ' '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
	lines = [rule, fmt(head), rule] + [fmt(b) for b in body] + [rule]
	return (f'{about}\n\nReproduce with::\n\n   {command}\n\n' + '\n'.join(lines) + '\n')


def profile(text: str) -> Dict[str, List[Tuple[str, int, int]]]:
	"""The guest's sampled profile: per driver, (function, samples, total)
	in descending order."""
	out: Dict[str, List[Tuple[str, int, int]]] = {}
	for p in protocol.of_kind(text, 'profile'):
		out.setdefault(p['driver'], []).append((p['symbol'], p['samples'], p['of']))
	return out


def profile_rst(prof: Dict[str, List[Tuple[str, int, int]]], top: int = 12) -> str:
	"""The hottest functions of each driver's profile, side by side as
	tables (share of the samples, in per cent)."""
	parts = []
	for driver in sorted(prof):
		rows = prof[driver][:top]
		if not rows:
			continue
		body = [(f'{100.0 * n / total:5.1f}', name) for name, n, total in rows]
		head = ('%', f'{driver}: function ({rows[0][2]} samples)')
		widths = [max(len(x) for x in col) for col in zip(head, *body)]
		rule = ' '.join('=' * w for w in widths)
		fmt = lambda cells: ' '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
		parts.append('\n'.join([rule, fmt(head), rule] + [fmt(b) for b in body] + [rule]))
	return '\n\n'.join(parts) + '\n'
