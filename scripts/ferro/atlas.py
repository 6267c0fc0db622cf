# SPDX-License-Identifier: GPL-2.0
"""The entry-point atlas: every entry of each driver and how C entered it.

Built from the entries ferro-inspect --entries finds (ferro/observe.py's
probes) and the guest's "# entry:" lines (compare.BootLog.entries), for
the documentation page (Documentation/lifecycle/atlas.rst, make docs) and
the one screen make demo ends with.
"""

from typing import Dict, List, Optional, Tuple

from ferro import compare, observe

# The entries a person looks at first, per driver (file tag -> event or
# its prefix); "init" is the module's own init, named per mode.
KEY_ENTRIES = {
	'cpufreq': {'probe': 'cpufreq_probe', 'init': 'cpufreq_init', 'get': 'cpufreq_get'},
	'phy': {'init': None, 'probe': 'phy_probe_m88e1111'},
	'null': {'init': None, 'queue_rq': 'null_queue_rq', 'make_group': 'null_make_group'},
	'lifecycle': {'init': None},
}


def rst_tables(board: str, other_board: Dict[str, str], probes: Dict[str, List],
	       logs: Dict[Tuple[str, str], compare.BootLog]) -> str:
	"""One list-table per driver: every entry C can call in either mode
	(ops table field -> Rust function) and, per mode, the innermost C
	callers of its first call in one boot, or why the board cannot reach
	it. Hit counts vary from boot to boot and stay out."""
	out = []
	for name in compare.drivers():
		mod = f'ferro_{name}'
		where = other_board.get(name, board)
		rows: Dict[Tuple[str, str], Dict[str, str]] = {}
		for mode in ('m', 'y'):
			log = logs[(name, mode)]
			for p in probes[mode]:
				if p.module != mod:
					continue
				slot = p.slot
				if slot.startswith('struct module.') or slot.startswith('initcall'):
					slot = 'module init/exit: ' + slot
				elif not slot.startswith('struct '):
					slot = '(pointer set at run time)'
				row = rows.setdefault((slot, p.name), {})
				e = log.entries.get(p.event)
				why = observe.reason(where, p)
				if e and e['caller']:
					row[mode] = compare.callers(e, literal=True)
				else:
					row[mode] = f'not reachable on {where}: {why}' if why else 'not observed'
		out += [f'``{mod}``', '~' * (len(mod) + 4), '', '.. list-table::',
			'   :header-rows: 1', '   :widths: 20 30 25 25', '',
			'   * - Entry', '     - Rust function', '     - Loaded: first called by',
			'     - Built in: first called by']
		for (slot, fn), row in sorted(rows.items()):
			out += [f'   * - ``{slot}``', f'     - ``{fn}``',
				f'     - {row.get("m", "not in the module")}',
				f'     - {row.get("y", "not in vmlinux")}']
		out.append('')
	return '\n'.join(out)


def _line(log: compare.BootLog, mod: str, event: str) -> Optional[Dict]:
	rec = log.entry_record(mod, event)
	return log.entries.get(rec['event']) if rec else None


def screen(board: str, logs: Dict[str, compare.BootLog], probes: Dict[str, List],
	   paths: Dict[str, str]) -> str:
	"""What make demo ends with: per driver, how many of its entries each
	mode entered, and for its key entries the C callers in each mode (one
	line when both modes agree), with system_state; then the logs."""
	out = ['How C entered each driver (first call of each entry; '
	       'callers innermost first):', '']
	for name in compare.drivers():
		mod = f'ferro_{name}'
		counts = []
		for mode, label in (('m', 'loaded'), ('y', 'built in')):
			mine = [p for p in probes.get(mode, []) if p.module == mod]
			seen = [p for p in mine if (logs[mode].entries.get(p.event) or {}).get('caller')]
			away = [p for p in mine if p not in seen and observe.reason(board, p)]
			counts.append(f'{label} {len(seen)} of {len(mine)} entered' +
				      (f' ({len(away)} not reachable on {board})' if away else ''))
		out.append(f'{mod}: {", ".join(counts)}')
		for tag, event in KEY_ENTRIES.get(name, {}).items():
			got = {}
			for mode in ('m', 'y'):
				e = _line(logs[mode], mod, event or observe.init_event(name, mode))
				if e:
					state = e.get('system_state') or '?'
					got[mode] = f'{compare.callers(e)}  [{state}]'
			if not got:
				continue
			if got.get('m') == got.get('y'):
				out.append(f'  {tag:11} both:     {got["m"]}')
				continue
			for mode, label in (('m', 'loaded:  '), ('y', 'built in:')):
				if mode in got:
					out.append(f'  {tag:11} {label} {got[mode]}')
		out.append('')
	out.append('Full logs: ' + ', '.join(f'{k} {v}' for k, v in paths.items()))
	out.append('Every entry: Documentation/lifecycle/atlas.rst (make docs); '
		   'measured side by side: make compare.')
	return '\n'.join(out)
