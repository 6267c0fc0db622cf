# SPDX-License-Identifier: GPL-2.0
"""Render the compare report: Markdown table and an SVG boot timeline."""

from typing import Dict, List
from xml.sax.saxutils import escape

from ferro.compare import BootLog


def _sym(e) -> str:
	if not e:
		return 'none'
	return f'`{e["symbol"]}` in `{e.get("section")}`'


def _bytes(d) -> str:
	if not d:
		return 'n/a'
	return ', '.join(f'{k} {v}' for k, v in d.items() if v)


def rows(name: str, per: Dict, report: Dict) -> List[List[str]]:
	m, y = per['module'], per['built-in']

	def via_module(c):
		e = c['entry'] or {}
		if 'struct_module_offset' in e:
			return f'`struct module` +{e["struct_module_offset"]:#x} (relocation in `.gnu.linkonce.this_module`)'
		return 'n/a'

	def via_builtin(c):
		i = c['initcall']
		if not i:
			return 'n/a'
		return f'`{i["symbol"]}`, initcall level {i.get("level")} -> `{i["resolves_to"]}`'

	def exit_cell(c):
		e = c['exit']
		return f'{_sym(e)}; runs {e["runs"]}' if e else 'none'

	def when(c):
		t = f'{c["time_s"]:.6f} s' if c['time_s'] is not None else '?'
		return f'{t}, `{c["system_state"]}`'

	def dur(c):
		d = c['init_usecs']
		if d['median'] is None:
			return 'n/a'
		return f'{d["median"]:.0f} us (median of {len(d["samples"])})'

	def memory_m(c):
		return f'coresize {c["coresize"]} B, initsize {c["initsize"]} B (`/sys/module`)'

	def memory_y(c):
		g = report['vmlinux_growth_bytes']
		return (f'object: {_bytes(c.get("object_bytes"))}; vmlinux vs the =m kernel: '
			f'{_bytes({k: v for k, v in g.items() if v})}')

	freed = report['freed_init_kib']

	def link(c):
		lo = c['link_order']
		if isinstance(lo, str):
			return lo
		obs = c.get('observed_call_index')
		seen = f'; initcall_debug saw it as call {obs[0]} of {obs[1]}' if obs else ''
		return (f'{lo["position"]} of {lo["of"]} level-6 initcalls, after `{lo["before"]}`, '
			f'before `{lo["after"]}`{seen}; {report["ferro_makefile_position"]}')

	def params(c):
		back = ', '.join(f'{k}={v}' for k, v in c['params_read_back'].items())
		return f'{c["params_given"]}; read back: {back or "n/a"}'

	return [
		['entry symbol', _sym(m['entry']), _sym(y['entry'])],
		['how C finds it', via_module(m), via_builtin(y)],
		['exit', exit_cell(m), exit_cell(y)],
		['called by (captured stack)', ' <- '.join(m['called_by']) or 'n/a',
		 ' <- '.join(y['called_by']) or 'n/a'],
		['when', when(m), when(y)],
		['init duration (initcall_debug)', dur(m), dur(y)],
		['device probe', m['probe'] or 'n/a', y['probe'] or 'n/a'],
		['memory', memory_m(m), memory_y(y)],
		['init memory freed at boot (whole kernel)', f'{freed["module"]} KiB',
		 f'{freed["built-in"]} KiB'],
		['`/sys/module/ferro_' + name + '`', m['sysfs_module'] or '?', y['sysfs_module'] or '?'],
		['modules.builtin', 'not listed', ', '.join(y['modules_builtin']) or 'not listed'],
		['modules.builtin.modinfo', 'none', f'{len(y["modules_builtin_modinfo"])} entries'],
		['parameters', params(m), params(y)],
		['delete_module(2)', m['delete_module'] or '?', y['delete_module'] or '?'],
		['load/unload cycles without residue', m.get('load_unload_cycles') or 'n/a',
		 y.get('load_unload_cycles') or 'n/a: built in'],
		['link order', link(m), link(y)],
	]


def markdown(report: Dict) -> str:
	out = [f'# Built-in vs loadable on {report["board"]}', '',
	       f'Kernel {report["kernel"]}; every cell measured from the builds and from '
	       f'{report["boots"]} boot(s) of each kernel (durations are medians).', '']
	for name, per in report['drivers'].items():
		out += [f'## ferro_{name}', '', '| | loadable (=m) | built-in (=y) |', '|---|---|---|']
		for r in rows(name, per, report):
			out.append('| ' + ' | '.join(c.replace('|', '\\|') for c in r) + ' |')
		out.append('')
	out += ['![boot timeline](timeline.svg)', '']
	return '\n'.join(out)


def svg_timeline(builtin: BootLog, module: BootLog, marks: List[str]) -> str:
	"""Initcalls of the built-in boot as bars on a time axis, Ferro's in red;
	below, the module boot's Ferro load calls."""
	width, left, lane, top = 1000, 180, 90, 40
	calls_y = builtin.initcalls()
	calls_m = [c for c in module.initcalls() if (c['module'] or '') in marks]
	exits = [(t, msg) for t, msg in module.kmsg if ': exit: entry=' in msg]
	end = max([c['start'] + c['usecs'] / 1e6 for c in calls_y + calls_m] +
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
			w = max(1.5, x(c['start'] + c['usecs'] / 1e6) - x(c['start']))
			color = '#d62728' if mine else '#999'
			h = 24 if mine else 14
			parts.append(f'<rect x="{x(c["start"]):.1f}" y="{y0 + 30 - h}" width="{w:.1f}" '
				     f'height="{h}" fill="{color}"><title>{escape(c["fn"])} '
				     f'{c["usecs"]} us</title></rect>')
			if mine and k < 3:
				# Label the first few, staggered; the rest speak as bars.
				lbl = c['fn'] + (f' [{c["module"]}]' if c['module'] else '')
				parts.append(f'<text x="{x(c["start"]):.1f}" y="{y0 + 45 + 14 * (k % 3)}" '
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
