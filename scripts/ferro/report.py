# SPDX-License-Identifier: GPL-2.0
"""Render the compare report: Markdown table and an SVG boot timeline."""

from typing import Dict, List, Optional
from xml.sax.saxutils import escape

from ferro.compare import BootLog
from ferro.inspect import describe_references, render_rule


NOT_REPORTED = 'n/a: not reported by the guest'


def _sym(e) -> str:
	if not e:
		return 'none'
	return f'`{e["symbol"]}` in `{e.get("section")}`'


def _bytes(d) -> str:
	if not d:
		return 'n/a'
	return ', '.join(f'{k} {v}' for k, v in d.items() if v) or 'none'


def _with_rule(text: str, d) -> str:
	"""A cell's text, followed by the rule its fact carries, if any."""
	return text + (f'; {render_rule(d["rule"])}' if d and 'rule' in d else '')


def _listing(c, key: str, what: str) -> str:
	"""A modules.builtin[.modinfo] cell: the module's lines, or that the
	build's file has none of them (or no file)."""
	d = c.get(key)
	if d is None:
		return f'n/a: the build has no {key.replace("_", ".")}'
	total = d.get('lines', d.get('entries'))
	if d['listed']:
		return (', '.join(d['listed']) if key == 'modules_builtin'
			else f'{len(d["listed"])} of {total} {what}')
	return f'not listed ({total} {what}, none of this module)'


def rows(name: str, per: Dict, report: Dict) -> List[List[str]]:
	m, y = per['module'], per['built-in']
	mod = f'ferro_{name}'

	def via_module(c):
		e = c['entry'] or {}
		if 'struct_module_offset' in e:
			return f'`struct module` +{e["struct_module_offset"]:#x} (relocation in `.gnu.linkonce.this_module`)'
		return 'n/a: no relocation against it in `.gnu.linkonce.this_module`'

	def via_builtin(c):
		i = c['initcall']
		if not i:
			return 'n/a: no initcall entry in vmlinux'
		return f'`{i["symbol"]}`, initcall level {i.get("level")} -> `{i["resolves_to"]}`'

	def entry_cell(c):
		return _with_rule(_sym(c['entry']), c['entry'])

	def exit_cell(c):
		e = c['exit']
		if not e:
			return 'none'
		refs = (f'; {describe_references(e["referenced_by"])}' if 'referenced_by' in e
			else '')
		return _with_rule(_sym(e) + refs, e)

	def when(c):
		t = (f'{c["time_s"]:.6f} s (`calling` line of its first init that returned 0)'
		     if c['time_s'] is not None else 'n/a: no initcall_debug line of its init')
		state = (f'`{c["system_state"]}`' if c['system_state'] else
			 'system_state n/a: not recorded by this driver')
		return f'{t}, {state}'

	def dur(c):
		d = c['init_usecs']
		if d['median'] is None:
			return 'n/a: no initcall_debug line of its init returned 0'
		return f'{d["median"]:.0f} us (median of {len(d["samples"])})'

	def memory_m(c):
		sizes = (f'coresize {c["coresize"]} B, initsize {c["initsize"]} B (`/sys/module`)'
			 if c['coresize'] is not None and c['initsize'] is not None
			 else f'/sys/module sizes {NOT_REPORTED}')
		return f'{sizes}; `.ko`: {_bytes(c.get("object_bytes"))}'

	def memory_y(c):
		return f'object: {_bytes(c.get("object_bytes"))}'

	def link(c, kernel):
		lo = c['link_order']
		if lo['position'] is None:
			return _with_rule(f'`{lo["symbol"]}` not in the {kernel} vmlinux\'s '
					  f'level-6 initcall table ({lo["of"]} entries)', lo)
		obs = c.get('observed_call_index')
		seen = f'; initcall_debug saw it as call {obs[0]} of {obs[1]}' if obs else ''
		before = f'after `{lo["before"]}`' if lo['before'] else 'the first'
		after = f'before `{lo["after"]}`' if lo['after'] else 'the last'
		return (f'{lo["position"]} of {lo["of"]} level-6 initcalls, {before}, {after}{seen}; '
			f'{report["ferro_makefile_position"]}')

	def params(c):
		back = ', '.join(f'{k}={v}' for k, v in c['params_read_back'].items())
		return (f'{c["params_given"] or NOT_REPORTED}; read back: '
			f'{back or "n/a: not recorded by this driver"}')

	def cycles(c):
		if c.get('load_unload_cycles'):
			return c['load_unload_cycles']
		if c['delete_module'] and c['delete_module'] != '0':
			return f'none: delete_module(2) failed: {c["delete_module"]}'
		return NOT_REPORTED

	def probe(c):
		return c['probe'] or f'n/a: no observed probe entry (`# entry: {mod} ...probe...`)'

	return [
		['entry symbol', entry_cell(m), entry_cell(y)],
		['how C finds it', via_module(m), via_builtin(y)],
		['exit', exit_cell(m), exit_cell(y)],
		['called by (captured stack)', ' <- '.join(m['called_by']) or 'n/a: not recorded',
		 ' <- '.join(y['called_by']) or 'n/a: not recorded'],
		['when', when(m), when(y)],
		['init duration (initcall_debug)', dur(m), dur(y)],
		['device probe', probe(m), probe(y)],
		['memory', memory_m(m), memory_y(y)],
		['`/sys/module/' + mod + '`', m['sysfs_module'] or NOT_REPORTED,
		 y['sysfs_module'] or NOT_REPORTED],
		['modules.builtin', _listing(m, 'modules_builtin', 'lines'),
		 _listing(y, 'modules_builtin', 'lines')],
		['modules.builtin.modinfo', _listing(m, 'modules_builtin_modinfo', 'entries'),
		 _listing(y, 'modules_builtin_modinfo', 'entries')],
		['parameters', params(m), params(y)],
		['delete_module(2)', m['delete_module'] or NOT_REPORTED,
		 y['delete_module'] or NOT_REPORTED],
		['load/unload cycles without residue', cycles(m), cycles(y)],
		['link order', link(m, '=m'), link(y, '=y')],
	]


def header(report: Dict) -> List[str]:
	"""What belongs to the whole kernel, not to one driver: said once."""
	freed = report['freed_init_kib']
	growth = {k: v for k, v in report['vmlinux_growth_bytes'].items() if v}
	built_in = ', '.join(report['builtin_modules']) or 'none'

	def kib(v):
		return f'{v} KiB' if v is not None else 'n/a: no "Freeing unused kernel memory" line'

	return [f'Whole kernel: the =y vmlinux, with {built_in} built in at once, over the =m '
		f'vmlinux, in bytes: {_bytes(growth)}.', '',
		f'Init memory freed at boot (whole kernel): =m {kib(freed["module"])}, '
		f'=y {kib(freed["built-in"])}.', '']


def markdown(report: Dict) -> str:
	out = [f'# Built-in vs loadable on {report["board"]}', '',
	       f'Kernel {report["kernel"]}; every cell measured from the builds and from '
	       f'{report["boots"]} boot(s) of each kernel (durations are medians), except '
	       'those marked "rule:", which quote the kernel source they come from.', '']
	out += header(report)
	for name, per in report['drivers'].items():
		out += [f'## ferro_{name}', '', '| | loadable (=m) | built-in (=y) |', '|---|---|---|']
		for r in rows(name, per, report):
			out.append('| ' + ' | '.join(c.replace('|', '\\|') for c in r) + ' |')
		out.append('')
	out += entries_markdown(report)
	out += ['![boot timeline](timeline.svg)', '']
	return '\n'.join(out)


def _entry_cell(c: Optional[Dict]) -> str:
	if not c:
		return 'not in this build'
	if not c['hits'] or max(c['hits']) <= 0:
		return 'not entered'
	hits = '/'.join(str(h) for h in c['hits']) + ('+' if c['at_least'] else '')
	return f'{hits} hits; first from {c["called_by"]}' if c['called_by'] else f'{hits} hits'


def entries_markdown(report: Dict) -> List[str]:
	"""The atlas: every entry of each driver, hits per boot and the
	callers of its first call, loadable and built in."""
	out = ['## Entries C called', '',
	       'Every function of each driver that C can call (`ferro-inspect --entries`), '
	       'seen by a kprobe event on it in each boot: hits per boot ("+": at least, '
	       'its probe was disabled after the first record) and the innermost C callers '
	       'of its first call.', '']
	for name, rows in report.get('entries', {}).items():
		out += [f'### ferro_{name}', '', '| entry | function | loadable (=m) | built-in (=y) |',
			'|---|---|---|---|']
		for r in rows:
			cells = [r['slot'], r['function'], _entry_cell(r.get('module')),
				 _entry_cell(r.get('built-in'))]
			out.append('| ' + ' | '.join(c.replace('|', '\\|') for c in cells) + ' |')
		out.append('')
	return out


def _start(c: Dict) -> float:
	"""When an initcall started: its "calling" line, or, without one, its
	"initcall ... returned" line less its duration (the timeline only)."""
	return c['start'] if c['start'] is not None else c['end'] - c['usecs'] / 1e6


def svg_timeline(builtin: BootLog, module: BootLog, marks: List[str]) -> str:
	"""Initcalls of the built-in boot as bars on a time axis, Ferro's in red;
	below, the module boot's Ferro load calls."""
	width, left, lane, top = 1000, 180, 90, 40
	calls_y = builtin.initcalls()
	calls_m = [c for c in module.initcalls() if (c['module'] or '') in marks]
	exits = [(t, msg) for t, msg in module.kmsg if ': exit: entry=' in msg]
	end = max([_start(c) + c['usecs'] / 1e6 for c in calls_y + calls_m] +
		  [t for t, _ in exits] + [0.001]) * 1.05

	def x(t):
		return left + (width - left - 20) * t / end

	parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{top + 3 * lane + 40}" '
		 'font-family="sans-serif" font-size="12">',
		 f'<rect width="{width}" height="{top + 3 * lane + 40}" fill="white"/>',
		 '<text x="10" y="20" font-size="14">Boot timeline: initcalls (initcall_debug), '
		 'Ferro in red</text>']
	lanes = [('built-in kernel', calls_y,
		  lambda c: c['fn'] in [f'__{m}_init' for m in marks] and c['module'] is None),
		 ('module kernel', calls_m, lambda c: True)]
	for i, (label, calls, ours) in enumerate(lanes):
		y0 = top + i * lane + 10
		parts.append(f'<text x="10" y="{y0 + 20}">{escape(label)}</text>')
		parts.append(f'<line x1="{left}" y1="{y0 + 30}" x2="{width - 20}" y2="{y0 + 30}" '
			     'stroke="#ccc"/>')
		k = 0
		for c in calls:
			mine = ours(c)
			w = max(1.5, x(_start(c) + c['usecs'] / 1e6) - x(_start(c)))
			color = '#d62728' if mine else '#999'
			h = 24 if mine else 14
			parts.append(f'<rect x="{x(_start(c)):.1f}" y="{y0 + 30 - h}" width="{w:.1f}" '
				     f'height="{h}" fill="{color}"><title>{escape(c["fn"])} '
				     f'{c["usecs"]} us</title></rect>')
			if mine and k < 3:
				# Label the first few, staggered; the rest speak as bars.
				lbl = c['fn'] + (f' [{c["module"]}]' if c['module'] else '')
				parts.append(f'<text x="{x(_start(c)):.1f}" y="{y0 + 45 + 14 * (k % 3)}" '
					     f'fill="#d62728" text-anchor="end">{escape(lbl)} '
					     f'({c["usecs"]} us, ret {c["ret"]})</text>')
			k += mine
		if i == 1:
			for t, msg in exits:
				parts.append(f'<line x1="{x(t):.1f}" y1="{y0 + 4}" x2="{x(t):.1f}" '
					     f'y2="{y0 + 30}" stroke="#1f77b4" stroke-width="2"/>')
			if exits:
				parts.append(f'<text x="{x(exits[0][0]) + 4:.1f}" y="{y0 + 12}" '
					     'fill="#1f77b4">exit</text>')
	ya = top + 2 * lane + 30
	parts.append(f'<line x1="{left}" y1="{ya}" x2="{width - 20}" y2="{ya}" stroke="black"/>')
	step = max(0.05, round(end / 8, 2))
	t = 0.0
	while t <= end:
		parts.append(f'<line x1="{x(t):.1f}" y1="{ya}" x2="{x(t):.1f}" y2="{ya + 5}" stroke="black"/>')
		parts.append(f'<text x="{x(t):.1f}" y="{ya + 18}" text-anchor="middle">{t:.2f} s</text>')
		t += step
	parts.append('</svg>')
	return '\n'.join(parts) + '\n'
