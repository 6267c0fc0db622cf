# SPDX-License-Identifier: GPL-2.0
"""make bench: parse the guest's "# bench:" and "# cost:" lines, take
medians, compare each Ferro driver with its C peer."""

import bisect
import os
import re
import statistics
import subprocess
from typing import Dict, List, Optional, Tuple

from ferro import compare, digest, protocol

# Per suite: the board that runs it, the Ferro driver, its C peer (what
# every ratio is to), and what one operation is.
SUITES = {
	'null': {'board': 'qemu-virt', 'ferro': 'ferro_null', 'peer': 'null_blk', 'op': 'I/O'},
	'cpufreq': {'board': 'qemu-virt', 'ferro': 'ferro_cpufreq', 'peer': 'cpufreq_dt',
		    'op': 'operation'},
	'phy': {'board': 'qemu-zcu102', 'ferro': 'ferro_phy', 'peer': 'marvell',
		'op': 'operation'},
	# Not a peer: each Ferro driver built in against itself loaded.
	'init': {'board': 'qemu-virt', 'ferro': None, 'peer': None, 'op': 'init'},
}

# The timed workloads of the null suite (bench.c time_null).
WORKLOADS = ('randread_qd1', 'randread_qd32', 'randread_qd8_t4', 'seqwrite_qd1',
	     'seqwrite_qd32')

# Counts of two boots further apart than this are not reproduced.
SPREAD = 0.01

Key = Tuple[str, str, str]	# (config, workload, driver)


def parse(texts: List[str]) -> Dict[Key, List[Tuple[int, float]]]:
	"""Every timed rate of every boot's log, by (config, workload, driver):
	(boot index, value) in boot and run order."""
	out: Dict[Key, List[Tuple[int, float]]] = {}
	for boot, text in enumerate(texts):
		for b in protocol.of_kind(text, 'bench'):
			out.setdefault((b['config'], b['workload'], b['driver']), []).append(
				(boot, b['value']))
	return out


def shapes(texts: List[str]) -> Dict[str, Tuple[int, int, str]]:
	"""Each timed workload's threads, requests in flight per thread, and unit."""
	return {b['workload']: (b['threads'], b['qd'], b['unit'])
		for text in texts for b in protocol.of_kind(text, 'bench')}


def table(samples: Dict[Key, List[Tuple[int, float]]],
	  shape: Dict[str, Tuple[int, int, str]]) -> List[Dict]:
	"""One row per (config, workload, driver) of timed rates: threads,
	queue depth, boots and samples, median, ratio to null_blk's median in
	the same config and workload."""
	rows = []
	ref = SUITES['null']['peer']
	for (config, workload, driver), got in sorted(samples.items()):
		values = [v for _, v in got]
		med = statistics.median(values)
		peer = [v for _, v in samples.get((config, workload, ref), [])]
		ratio = med / statistics.median(peer) if peer and statistics.median(peer) else None
		threads, qd, unit = shape[workload]
		rows.append({'config': config, 'workload': workload, 'driver': driver,
			     'threads': threads, 'qd': qd, 'boots': len({b for b, _ in got}),
			     'runs': len(values), 'median': med, 'unit': unit,
			     'ratio': ratio, 'min': min(values), 'max': max(values)})
	return rows


def floor(values: List[float]) -> float:
	"""The lower quartile of a case's measurements in one boot."""
	return sorted(values)[len(values) // 4]


def counts(texts: List[str]) -> Dict[Tuple[str, str, str], List[float]]:
	"""Instructions per operation by (suite, case, driver): one value per
	counting boot, the lower quartile of its measurements of that case. A
	case measured more than once (a probe) costs more whenever an
	allocation has to grow a cache first, now and then by a third; the
	lower quartile is what it costs without that, and unlike the minimum
	it does not hang on one lucky measurement.
	A case measured as two windows, <case>.up and <case>.down over the
	same operations, is their difference."""
	out: Dict[Tuple[str, str, str], List[float]] = {}
	for text in texts:
		boot: Dict[Tuple[str, str, str], List[float]] = {}
		for c in protocol.of_kind(text, 'cost'):
			if c['insns'] is not None and c['ops']:
				boot.setdefault((c['suite'], c['case'], c['driver']), []).append(
					c['insns'] / c['ops'])
		for key, values in boot.items():
			if key[1].endswith(('.up', '.down')):
				continue
			out.setdefault(key, []).append(floor(values))
		# A case measured as two windows: what the first adds to the second.
		for (suite, case, driver), values in boot.items():
			down = boot.get((suite, case[:-3] + '.down', driver))
			if case.endswith('.up') and down:
				out.setdefault((suite, case[:-3], driver), []).append(
					floor(values) - floor(down))
	return out


def times(texts: List[str]) -> Dict[Tuple[str, str, str], List[float]]:
	"""Nanoseconds per operation by (suite, case, driver): one value per
	measurement of the timed boots."""
	out: Dict[Tuple[str, str, str], List[float]] = {}
	for text in texts:
		for c in protocol.of_kind(text, 'cost'):
			if c['insns'] is None and c['ns'] is not None and c['ops']:
				out.setdefault((c['suite'], c['case'], c['driver']), []).append(
					c['ns'] / c['ops'])
	return out


def spread(values: List[float]) -> float:
	"""How far apart the boots' counts are, relative to the smallest."""
	return (max(values) - min(values)) / min(values) if min(values) > 0 else 0.0


def _rst_table(head: Tuple[str, ...], body: List[Tuple[str, ...]]) -> str:
	widths = [max(len(x) for x in col) for col in zip(head, *body)]
	rule = ' '.join('=' * w for w in widths)
	fmt = lambda cells: ' '.join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
	return '\n'.join([rule, fmt(head), rule] + [fmt(b) for b in body] + [rule]) + '\n'


def cost_rows(suite: str, counted: List[str], timed: List[str]) -> List[Dict]:
	"""One row per (case, driver) of a suite: instructions per operation
	(median over the counting boots, their spread, ratio to the peer) and
	time per operation (median over the timed measurements, min, max,
	ratio to the peer)."""
	peer = SUITES[suite]['peer']
	got = {k[1:]: v for k, v in counts(counted).items() if k[0] == suite}
	took = {k[1:]: v for k, v in times(timed).items() if k[0] == suite}
	rows = []
	for case, driver in sorted(set(got) | set(took)):
		insns = statistics.median(got[case, driver]) if (case, driver) in got else None
		ref = got.get((case, peer))
		ns = took.get((case, driver))
		ref_ns = took.get((case, peer))
		rows.append({
			'case': case, 'driver': driver, 'insns': insns,
			'boots': len(got.get((case, driver), [])),
			'spread': spread(got[case, driver]) if (case, driver) in got else None,
			'ratio': insns / statistics.median(ref) if insns is not None and ref else None,
			'ns': statistics.median(ns) if ns else None,
			'ns_min': min(ns) if ns else None, 'ns_max': max(ns) if ns else None,
			'ns_runs': len(ns or []),
			'ns_ratio': statistics.median(ns) / statistics.median(ref_ns)
			if ns and ref_ns else None})
	return rows


def cost_rst(suite: str, rows: List[Dict]) -> str:
	"""A suite's rows as a reStructuredText table."""
	peer = SUITES[suite]['peer']
	op = SUITES[suite]['op']
	head = ('Case', 'Driver', f'Instructions/{op}', 'Boots', 'Spread', f'vs {peer}',
		'Time (us)', 'Runs', 'Min..max', f'vs {peer} ')
	timed = any(r['ns'] is not None for r in rows)
	body = []
	for r in rows:
		body.append((
			r['case'], r['driver'],
			f"{r['insns']:.0f}" if r['insns'] is not None else '-', str(r['boots']),
			f"{100 * r['spread']:.2f} %" if r['spread'] is not None else '-',
			f"{r['ratio']:.3f}" if r['ratio'] is not None else 'n/a',
			f"{r['ns'] / 1e3:.1f}" if r['ns'] is not None else '-', str(r['ns_runs']),
			f"{r['ns_min'] / 1e3:.1f}..{r['ns_max'] / 1e3:.1f}" if r['ns'] is not None
			else '-',
			f"{r['ns_ratio']:.3f}" if r['ns_ratio'] is not None else 'n/a'))
	if not timed:	# the null suite's times are its rates' table
		head, body = head[:6], [b[:6] for b in body]
	return _rst_table(head, body)


def rates_rst(rows: List[Dict]) -> str:
	"""The null suite's timed rates as a reStructuredText table."""
	head = ('Config', 'Workload', 'Driver', 'Threads', 'QD/thread', 'Boots', 'Runs', 'Median',
		'Min..max', 'vs null_blk')
	body = [(r['config'], r['workload'], r['driver'], str(r['threads']), str(r['qd']),
		 str(r['boots']), str(r['runs']),
		 f"{r['median']:.0f} {r['unit']}" if r['unit'] == 'iops' else f"{r['median']:.1f} {r['unit']}",
		 f"{r['min']:.0f}..{r['max']:.0f}",
		 f"{r['ratio']:.3f}" if r['ratio'] is not None else 'n/a') for r in rows]
	return _rst_table(head, body)


def above_peer(suite: str, rows: List[Dict]) -> List[Dict]:
	"""The Ferro driver's rows that count more instructions than the peer."""
	ferro = SUITES[suite]['ferro']
	return [r for r in rows if r['driver'] == ferro and r['ratio'] is not None
		and r['ratio'] > 1.0]


def unreproduced(rows: List[Dict]) -> List[Dict]:
	"""Rows whose counting boots differ by more than SPREAD."""
	return [r for r in rows if r['spread'] is not None and r['spread'] > SPREAD]


# A profiling boot's lines (tests/guest/count.c): a measurement's window
# number, and the text symbols of the modules loaded since the last one.
_WINDOW = re.compile(r'^# window: (\d+)$')
_KSYM = re.compile(r'^# ksym: ([0-9a-f]+) (\S+) \[(\S+)\]$')
_MODULES = re.compile(r'^# modules:(.*)$')


def kernel_symbols(system_map: str) -> List[Tuple[int, str]]:
	"""The kernel's text symbols from a System.map, sorted by address."""
	out = []
	with open(system_map) as f:
		for line in f:
			parts = line.split()
			if len(parts) == 3 and parts[1] in 'tTwW':
				out.append((int(parts[0], 16), parts[2]))
	return sorted(out)


def windows(text: str, kernel: List[Tuple[int, str]]) -> List[Tuple[Dict, List[Tuple[int, str]]]]:
	"""Each window of a profiling boot, in order: its measurement (the
	"# cost:" line after it) and the symbols in force then (the kernel's
	and those of the modules loaded then, as last printed)."""
	modules: Dict[str, List[Tuple[int, str]]] = {}
	fresh: Dict[str, List[Tuple[int, str]]] = {}
	loaded: List[str] = []
	out = []
	pending = False
	for raw in text.splitlines():
		raw = raw.rstrip('\r')
		m = _MODULES.match(raw)
		if m:
			loaded = m[1].split()
			continue
		k = _KSYM.match(raw)
		if k:
			fresh.setdefault(k[3], []).append((int(k[1], 16), f'{k[2]} [{k[3]}]'))
			continue
		if _WINDOW.match(raw):
			modules.update(fresh)
			fresh = {}
			pending = True
			continue
		line = protocol.parse_line(raw)
		if pending and line and line.kind == 'cost':
			syms = sorted(kernel + [s for name in loaded for s in modules.get(name, [])])
			out.append((line.fields, syms))
			pending = False
	return out


def by_function(counts_text: str, syms: List[Tuple[int, str]]) -> Dict[str, int]:
	"""A window file of the ferro-insns plugin ("<vaddr> <instructions>"
	per block), summed per function."""
	starts = [a for a, _ in syms]
	out: Dict[str, int] = {}
	for line in counts_text.splitlines():
		addr, insns = line.split()
		i = bisect.bisect_right(starts, int(addr, 16)) - 1
		name = syms[i][1] if i >= 0 else '[unknown]'
		out[name] = out.get(name, 0) + int(insns)
	return out


PLUGIN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
			  'qemu-plugin')
PLUGIN_SOURCE = os.path.join(PLUGIN_DIR, 'ferro-insns.c')
PLUGIN_HEADER = os.path.join(PLUGIN_DIR, 'qemu-plugin-api.h')


def plugin(out_dir: str) -> str:
	"""The ferro-insns QEMU plugin, built for the host once per source."""
	with open(PLUGIN_SOURCE, 'rb') as f, open(PLUGIN_HEADER, 'rb') as h:
		key = digest.of(f.read(), h.read())[:16]
	out = os.path.join(out_dir, f'ferro-insns-{key}.so')
	if not os.path.exists(out):
		proc = subprocess.run(['cc', '-shared', '-fPIC', '-O2', '-Wall', '-Wextra', '-Werror',
				       '-fvisibility=hidden', '-o', out + '.tmp', PLUGIN_SOURCE],
				      capture_output=True, text=True)
		if proc.returncode != 0:
			raise RuntimeError(f'building {PLUGIN_SOURCE} failed:\n{proc.stderr}')
		os.rename(out + '.tmp', out)
	return out


def profiles(text: str, prefix: str,
	     kernel: List[Tuple[int, str]]) -> Dict[Tuple[str, str, str], Tuple[int, Dict[str, int]]]:
	"""Per (suite, case, driver) of a profiling boot: the operations and
	instructions per function of its cheapest window (the one the PMU
	counted fewest instructions in per operation)."""
	out: Dict[Tuple[str, str, str], Tuple[int, Dict[str, int]]] = {}
	best: Dict[Tuple[str, str, str], float] = {}
	for n, (cost, syms) in enumerate(windows(text, kernel), 1):
		key = (cost['suite'], cost['case'], cost['driver'])
		per = cost['insns'] / cost['ops'] if cost['insns'] is not None else float(n)
		if key in best and best[key] <= per:
			continue
		path = f'{prefix}.{n}'
		if not os.path.exists(path):
			raise RuntimeError(f'the profiling boot has no window file {path}')
		with open(path) as f:
			out[key] = (cost['ops'], by_function(f.read(), syms))
		best[key] = per
	return out


def breakdown_rst(suite: str, rows: List[Dict],
		  prof: Dict[Tuple[str, str, str], Tuple[int, Dict[str, int]]], top: int = 8) -> str:
	"""For every row where the Ferro driver counts more than its peer, the
	functions whose instructions per operation differ most between them."""
	ferro, peer = SUITES[suite]['ferro'], SUITES[suite]['peer']
	parts = []

	def of(case: str, driver: str) -> Optional[Tuple[int, Dict[str, int]]]:
		up, down = prof.get((suite, case + '.up', driver)), prof.get((suite, case + '.down', driver))
		if up and down:
			return up[0], {n: up[1].get(n, 0) - down[1].get(n, 0)
				       for n in set(up[1]) | set(down[1])}
		return prof.get((suite, case, driver))

	for r in above_peer(suite, rows):
		a, b = of(r['case'], ferro), of(r['case'], peer)
		if not a or not b:
			parts.append(f'{r["case"]}: no profile (counted by the PMU only)\n')
			continue
		(ops_a, fa), (ops_b, fb) = a, b
		names = sorted(set(fa) | set(fb),
			       key=lambda n: (-abs(fa.get(n, 0) / ops_a - fb.get(n, 0) / ops_b), n))
		body = [(n if len(n) <= 70 else n[:67] + '...', f'{fa.get(n, 0) / ops_a:.1f}',
			 f'{fb.get(n, 0) / ops_b:.1f}',
			 f'{fa.get(n, 0) / ops_a - fb.get(n, 0) / ops_b:+.1f}') for n in names[:top]]
		total = (f'{sum(fa.values()) / ops_a:.0f}', f'{sum(fb.values()) / ops_b:.0f}')
		body.append(('(all functions)', total[0], total[1],
			     f'{float(total[0]) - float(total[1]):+.0f}'))
		parts.append(f'{r["case"]} ({r["ratio"]:.3f}):\n\n' +
			     _rst_table(('Function', ferro, peer, 'Difference'), body))
	return '\n'.join(parts)


# The init suite: each driver's built-in initcall against its module's init.
INIT_DRIVERS = ('lifecycle', 'null', 'cpufreq', 'phy')


def init_rows(loaded: List[str], builtin: List[str]) -> List[Dict]:
	"""Per driver, over the counting boots of each kernel: the virtual
	microseconds initcall_debug gives its built-in initcall and its
	module's init (under -icount, 1,000 instructions each while the CPU
	runs), and the PMU's instructions for the whole finit_module()."""
	loads = counts(loaded)
	logs = {mode: [compare.BootLog(t) for t in texts]
		for mode, texts in (('module', loaded), ('built-in', builtin))}
	rows = []
	for name in INIT_DRIVERS:
		module = f'ferro_{name}'
		usecs = {mode: [c['usecs'] for log in boots
				for c in log.init_calls(module, mode)[:1] if c['ret'] == 0]
			 for mode, boots in logs.items()}
		load = loads.get(('init', 'load', module), [])
		rows.append({'driver': module, 'builtin_us': usecs['built-in'],
			     'module_us': usecs['module'], 'load': load})
	return rows


def init_rst(rows: List[Dict]) -> str:
	"""The init suite's rows as a reStructuredText table."""
	def cell(values: List[float], fmt: str) -> str:
		if not values:
			return '-'
		return fmt.format(statistics.median(values)) + (
			f' ({min(values):.0f}..{max(values):.0f})' if len(set(values)) > 1 else '')

	head = ('Driver', 'Built-in initcall (us)', 'Module init (us)', 'Module / built-in',
		'finit_module (instructions)', 'Spread')
	body = []
	for r in rows:
		b, m = r['builtin_us'], r['module_us']
		ratio = (f'{statistics.median(m) / statistics.median(b):.2f}'
			 if b and m and statistics.median(b) else 'n/a')
		body.append((r['driver'], cell(b, '{:.0f}'), cell(m, '{:.0f}'), ratio,
			     cell(r['load'], '{:.0f}'),
			     f'{100 * spread(r["load"]):.2f} %' if r['load'] else '-'))
	return _rst_table(head, body)
