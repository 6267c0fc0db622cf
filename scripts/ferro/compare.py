# SPDX-License-Identifier: GPL-2.0
"""Built-in versus loadable, measured: the data behind `make compare`.

Every cell comes from a built artefact (ELF facts, section sizes, link
order, module lists) or from a booted kernel (the guest's records and facts,
the kernel log with initcall_debug), never from a table typed in here; what
the kernel does by design is a rule that quotes its source (inspect.RULES).
A driver's cells come from its own lines only (its record, observed entries,
facts and initcall_debug calls); what belongs to the whole kernel is kept
apart from them.
"""

import os
import re
import statistics
from typing import Dict, List, Optional, Tuple

from ferro import elf, entries, guest, inspect, kbuild, observe, protocol, registry
from ferro.board import Board

CALLING = re.compile(r'^calling  (\S+?)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])? @ (\d+)$')
INITCALL = re.compile(r'^initcall (\S+?)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(\w+)\])? '
		      r'returned (-?\d+) after (\d+) usecs$')
FREED = re.compile(r'^Freeing unused kernel memory: (\d+)K$')
MODES = (('module', 'm'), ('built-in', 'y'))


class BootLog:
	"""What one guest run printed: kernel log, facts and driver records."""

	def __init__(self, text: str):
		self.kmsg: List[Tuple[float, str]] = []
		self.facts: Dict[Tuple[str, str], str] = {}
		self.records: List[Dict[str, str]] = []
		# Observed entries by kprobe event name.
		self.entries: Dict[str, Dict] = {}
		# With a full dump, the kernel log is taken from it alone
		# (protocol.lines drops the excerpts printed before it).
		for line in protocol.lines(text):
			f = line.fields
			if line.kind == 'kmsg':
				self.kmsg.append((f['time'], f['text']))
			elif line.kind == 'entry':
				self.entries[f['event']] = {k: v for k, v in f.items() if k != 'event'}
			elif line.kind == 'fact':
				self.facts[(f['driver'], f['key'])] = f['value']
			elif line.kind == 'record':
				self.records.append(f['fields'])

	def initcalls(self) -> List[Dict]:
		"""Every initcall_debug call: function, module, start, duration, result."""
		out, open_calls = [], {}
		for t, msg in self.kmsg:
			m = CALLING.match(msg)
			if m:
				open_calls[(m.group(1), m.group(2))] = t
				continue
			m = INITCALL.match(msg)
			if m:
				key = (m.group(1), m.group(2))
				out.append({'fn': m.group(1), 'module': m.group(2),
					    # None without its own "calling" line
					    'start': open_calls.pop(key, None), 'end': t,
					    'ret': int(m.group(3)),
					    'usecs': int(m.group(4))})
		return out

	def freed_init_kib(self) -> Optional[int]:
		for _, msg in self.kmsg:
			m = FREED.match(msg)
			if m:
				return int(m.group(1))
		return None

	def entry_record(self, module: str, event: str, symbol: str = '') -> Dict[str, str]:
		"""The first call of entry `event` (or of the first entry whose
		event is `event`_<something>, one per device type) that the guest
		observed, shaped like an init record: frame.0 is the entry
		(`symbol`, or the event's name), then its caller and theirs."""
		for name, e in self.entries.items():
			if e['module'] != module or not e['caller']:
				continue
			if name == event or name.startswith(event + '_'):
				frames = [symbol or name, e['caller']] + e['chain']
				rec = {'frames': str(len(frames)), 'event': name, 'hits': str(e['hits'])}
				if e['system_state']:
					rec['system_state'] = e['system_state']
				rec.update({f'frame.{i}': f for i, f in enumerate(frames)})
				return rec
		return {}

	def record(self, module: str, mode: str) -> Dict[str, str]:
		"""The last init record a driver wrote in a mode, told apart by what
		it holds: a loadable one's init_module frame names [<module>], a
		built-in one is entered at __<module>_init."""
		def own(r: Dict[str, str]) -> bool:
			if r.get('mode') != mode:
				return False
			if mode == 'built-in':
				return r.get('entry') == f'__{module}_init'
			return r.get('entry') == 'init_module' and any(
				re.fullmatch(rf'init_module\+0x[0-9a-f]+/0x[0-9a-f]+ \[{module}\]', f)
				for f in record_frames(r))
		hits = [r for r in self.records if own(r)]
		return hits[-1] if hits else {}

	def init_calls(self, module: str, mode: str) -> List[Dict]:
		"""initcall_debug's calls of a driver's own init: init_module
		[<module>] when loaded, __<module>_init built in."""
		fn = 'init_module' if mode == 'module' else f'__{module}_init'
		return [c for c in self.initcalls() if c['fn'] == fn and
			c['module'] == (module if mode == 'module' else None)]


def drivers() -> List[str]:
	"""The drivers' names, from the registry (drivers/Kconfig), sorted."""
	return sorted(registry.names())


def record_frames(rec: Dict[str, str]) -> List[str]:
	"""A record's frames as the kernel printed them, innermost first."""
	return [rec[f'frame.{i}'] for i in range(int(rec.get('frames', 0) or 0))
		if f'frame.{i}' in rec]


def frame_name(frame: str) -> str:
	"""A frame's function, without its offset and module."""
	return re.sub(r'\+0x[0-9a-f]+/0x[0-9a-f]+.*$', '', frame)


def caller_chain(rec: Dict[str, str]) -> List[str]:
	"""Frames from the entry symbol outwards, offsets dropped; none if
	the frames do not pass through the entry (they are not its callers)."""
	names = [frame_name(f) for f in record_frames(rec)]
	entry = rec.get('entry', '')
	return names[names.index(entry):] if entry in names else []


def named(frames: List[str]) -> List[str]:
	"""Frames without the bare addresses: code of a module that was
	unloaded before the guest read the record (the trace is symbolised when
	read), whether there is such a frame depending on the timing."""
	return [f for f in frames if not re.fullmatch(r'0x[0-9a-f]+', f)]


def callers(entry: Dict, n: int = 3, literal: bool = False) -> str:
	"""An observed entry's innermost C callers, caller first, demangled."""
	frames = named(([entry['caller']] if entry.get('caller') else []) + entry.get('chain', []))
	plain = entries.demangle(frames[:n])
	return ' ← '.join(f'``{plain[f]}``' if literal else plain[f] for f in frames[:n])


def entry_cells(name: str, builds: Dict[str, str], logs: Dict[str, List[BootLog]]) -> List[Dict]:
	"""A driver's atlas for the report: every entry C can call in either
	mode, and per mode its hits in each boot (a lower bound where the probe
	was disabled after its first record) and the callers of its first
	call."""
	mod = f'ferro_{name}'
	rows: Dict[Tuple[str, str], Dict] = {}
	for mode, kmode in (('module', 'm'), ('built-in', 'y')):
		for p in observe.probes(builds[mode], kmode):
			if p.module != mod:
				continue
			row = rows.setdefault((p.slot, p.name), {'slot': p.slot, 'function': p.name})
			seen = [log.entries.get(p.event) for log in logs[mode]]
			first = next((e for e in seen if e and e['caller']), None)
			row[mode] = {'event': p.event,
				     'hits': [e['hits'] for e in seen if e and e['hits'] >= 0],
				     'at_least': any(e['hits_at_least'] for e in seen if e),
				     'called_by': callers(first) if first else None}
	return [rows[k] for k in sorted(rows)]


def object_path(build: str, name: str, suffix: str = '.o') -> Optional[str]:
	"""ferro_<name><suffix> (.o or .ko) in a build directory, if built."""
	for root, _, files in os.walk(os.path.join(build, 'drivers', 'ferro')):
		for f in files:
			if f == f'ferro_{name}{suffix}':
				return os.path.join(root, f)
	return None


def median_or_none(xs: List[float]) -> Optional[float]:
	return statistics.median(xs) if xs else None


def link_order(vmlinux: elf.Elf, fn: str) -> Dict:
	"""Where `fn` is in a vmlinux's level-6 initcall table (position None:
	not in it, of the table's `of` entries)."""
	table = inspect.initcall_table(vmlinux, '6')
	if fn not in table:
		return {'symbol': fn, 'position': None, 'of': len(table)}
	i = table.index(fn)
	return {'symbol': fn, 'position': i + 1, 'of': len(table),
		'before': table[i - 1] if i else None,
		'after': table[i + 1] if i + 1 < len(table) else None}


def builtin_lists(build: str, mod: str) -> Dict[str, Optional[Dict]]:
	"""What a build's modules.builtin and modules.builtin.modinfo say of a
	module: the lines naming it, and how many the file has (None: no file)."""
	out: Dict[str, Optional[Dict]] = {'modules_builtin': None, 'modules_builtin_modinfo': None}
	path = os.path.join(build, 'modules.builtin')
	if os.path.exists(path):
		with open(path) as f:
			lines = [l.strip() for l in f if l.strip()]
		out['modules_builtin'] = {'lines': len(lines),
					  'listed': [l for l in lines if l.endswith(f'/{mod}.ko')]}
	path = os.path.join(build, 'modules.builtin.modinfo')
	if os.path.exists(path):
		with open(path, 'rb') as f:
			entries = [x.decode(errors='replace') for x in f.read().split(b'\0') if x]
		out['modules_builtin_modinfo'] = {'entries': len(entries),
						  'listed': [x for x in entries
							     if x.startswith(f'{mod}.')]}
	return out


def makefile_position(kdir: str) -> str:
	"""Where drivers/Makefile puts ferro/ among the kernel's driver directories."""
	path = os.path.join(kdir, 'drivers', 'Makefile')
	with open(path) as f:
		objs = [l for l in f.read().splitlines() if re.match(r'^obj-', l)]
	hits = [i for i, l in enumerate(objs) if 'ferro/' in l]
	if not hits:
		return 'drivers/Makefile does not list ferro/'
	return (f'line {hits[0] + 1} of {len(objs)} obj- lines in drivers/Makefile '
		f'(after {objs[hits[0] - 1].split()[-1] if hits[0] else "nothing"})')


def probe_chain(probe: Dict[str, str], mod: str) -> Optional[str]:
	"""The kernel's side of an observed probe: the first three frames after
	the entry and the driver's own (those that name its module or crate)."""
	frames = record_frames(probe)[1:]
	own = next((i for i, f in enumerate(frames) if mod not in f), len(frames))
	names = [frame_name(f) for f in frames[own:own + 3]]
	return ' <- '.join(names) or None


def driver_cell(name: str, mode: str, logs: List[BootLog], elf_facts: Dict) -> Dict:
	"""A driver's cells in one mode measured from its boots (durations
	from every boot, the rest from the last) and its ELF facts: only from
	its own record, observed entries, facts and initcall_debug lines."""
	mod = f'ferro_{name}'
	last = logs[-1]
	fn = 'init_module' if mode == 'module' else f'__{mod}_init'
	rec = last.record(mod, mode)
	probe = last.entry_record(mod, f'{name}_probe')
	if not rec:
		# A driver without an init record of its own: its init entry as
		# the kernel's tracing saw it enter (tests/guest/entries.c).
		init = last.entry_record(mod, observe.init_event(name, mode), fn)
		rec = dict(init, entry=fn) if init else {}
	# Each boot's calls of its init that returned 0, parsed once.
	ok_calls = [[c for c in log.init_calls(mod, mode) if c['ret'] == 0] for log in logs]
	durations = [calls[-1]['usecs'] for calls in ok_calls if calls]
	first = ok_calls[-1][:1]
	facts = {k: v for (d, k), v in last.facts.items() if d == name}
	if 'params' not in facts:
		given = None
	elif mode == 'module':
		given = f'finit_module(2) arguments "{facts["params"]}"'
	else:
		given = (f'kernel command line "{facts["params"]}"' if facts['params'] else
			 'kernel command line: none given, defaults')
	return {
		'entry': elf_facts.get('init'),
		'initcall': elf_facts.get('initcall'),
		'exit': elf_facts.get('exit'),
		'called_by': caller_chain(rec)[1:],
		'system_state': rec.get('system_state'),
		# Its own "calling  <fn> ... @ <pid>" line: the first init that
		# returned 0 (a loadable driver may be loaded many times).
		'time_s': first[0]['start'] if first else None,
		'init_usecs': {'samples': durations, 'median': median_or_none(durations)},
		'probe': probe_chain(probe, mod) if probe else None,
		'sysfs_module': facts.get('sysfs'),
		'coresize': int(facts['coresize']) if 'coresize' in facts else None,
		'initsize': int(facts['initsize']) if 'initsize' in facts else None,
		'delete_module': facts.get('delete_module'),
		'load_unload_cycles': facts.get('load_unload_cycles'),
		'params_given': given,
		'params_read_back': {k[6:]: v for k, v in rec.items() if k.startswith('param.')},
	}


def build_cells(name: str, mode: str, build: str, vmlinux: elf.Elf,
		log: BootLog) -> Dict:
	"""A driver's cells in one mode measured from that mode's build: its
	object's sizes, the build's module lists, its init in the level-6
	initcall table of that vmlinux, and where the boot called it."""
	mod = f'ferro_{name}'
	obj = object_path(build, name, '.ko' if mode == 'module' else '.o')
	cell = builtin_lists(build, mod)
	cell['object_bytes'] = elf.alloc_sizes(elf.Elf(obj)) if obj else None
	cell['link_order'] = link_order(vmlinux, f'__{mod}_init')
	if mode == 'module':
		cell['link_order']['rule'] = inspect.rule('module-link')
		cell['observed_call_index'] = None
	else:
		calls = [c['fn'] for c in log.initcalls()]
		fn = f'__{mod}_init'
		cell['observed_call_index'] = (calls.index(fn) + 1, len(calls)) if fn in calls else None
	return cell


def _builds(board: Board, kdir: str) -> Dict[str, str]:
	"""Mode ('module', 'built-in') -> the board's build of it, which must
	exist."""
	builds = {mode: kbuild.build_dir(board, k, kdir) for mode, k in MODES}
	for mode, b in builds.items():
		if not os.path.exists(os.path.join(b, board.kernel_image)):
			raise guest.GuestError(f'no {mode} kernel in {b} (run make kernels)')
	return builds


def collect(board: Board, kdir: str, boots: int, stress: Optional[int] = None,
	    say=print) -> Dict:
	"""Boot each kernel `boots` times (stress loops of `stress` cycles, or
	the guest's default) and gather the report's data."""
	builds = _builds(board, kdir)
	logs: Dict[str, List[BootLog]] = {'module': [], 'built-in': []}
	for i in range(boots):
		for mode, plan in (('module', 'module'), ('built-in', 'builtin')):
			cmdline = guest.PLAN_CMDLINE[plan] + (f' ferro_stress={stress}' if stress else '')
			b = guest.boot(board, builds[mode], f'compare-{plan}-{i + 1}', plan, cmdline,
				       dump_kmsg=True)
			if b.run.failed:
				raise guest.GuestError(f'{b.name}: {b.run.failed} guest checks failed '
						       f'(log: {b.log_path})')
			with open(b.log_path, errors='replace') as f:
				logs[mode].append(BootLog(f.read()))
			say(f'  COMPARE boot {i + 1}/{boots} {mode}: {b.seconds:.1f}s')
	return assemble(board.name, kdir, builds, logs)


def from_logs(board: Board, kdir: str, paths: Dict[str, str]) -> Dict:
	"""The report's data from logs of boots made elsewhere (make check's
	module and built-in boots, which dump the kernel log as compare's do):
	mode ('module', 'built-in') -> log path."""
	builds = _builds(board, kdir)
	if sorted(paths) != sorted(builds):
		raise ValueError(f'logs for {", ".join(sorted(builds))} needed, '
				 f'not {", ".join(sorted(paths)) or "none"}')
	logs: Dict[str, List[BootLog]] = {}
	for mode, path in paths.items():
		try:
			with open(path, errors='replace') as f:
				logs[mode] = [BootLog(f.read())]
		except OSError as e:
			raise ValueError(f'{mode} log {path}: {e.strerror}') from e
	return assemble(board.name, kdir, builds, logs)


def assemble(board_name: str, kdir: str, builds: Dict[str, str],
	     logs: Dict[str, List[BootLog]]) -> Dict:
	"""The report's data from the two builds (mode -> build directory)
	and the logs of their boots (mode -> one BootLog per boot)."""
	boots = len(logs['module'])
	vm = {mode: elf.Elf(os.path.join(builds[mode], 'vmlinux')) for mode in builds}
	vm_sizes = {mode: elf.alloc_sizes(e) for mode, e in vm.items()}
	growth = {k: vm_sizes['built-in'][k] - vm_sizes['module'][k] for k in vm_sizes['module']}
	freed = {mode: median_or_none([x for x in (l.freed_init_kib() for l in logs[mode])
				       if x is not None]) for mode in logs}
	freed = {k: int(v) if v is not None else None for k, v in freed.items()}
	builtin = inspect.facts(vm['built-in'])['modules']
	report = {'board': board_name, 'boots': boots, 'kernel': guest.kernel_release(builds['module']),
		  # The whole kernel's: vmlinux with every Ferro module it holds
		  # (builtin_modules) built in, over the =m kernel's.
		  'vmlinux_growth_bytes': growth,
		  'builtin_modules': sorted(builtin),
		  'freed_init_kib': freed,
		  'ferro_makefile_position': makefile_position(kdir),
		  'drivers': {}}

	for name in drivers():
		mod = f'ferro_{name}'
		ko = object_path(builds['module'], name, '.ko')
		obj = object_path(builds['built-in'], name)
		elf_facts = {'module': inspect.facts(elf.Elf(ko))['modules'].get(mod, {}) if ko else {},
			     'built-in': dict(builtin.get(mod, {}))}
		exit_y = elf_facts['built-in'].get('exit')
		if exit_y and obj:
			# vmlinux keeps no relocations: what refers to the built-in
			# exit is measured in its object.
			o = (inspect.facts(elf.Elf(obj))['modules'].get(mod) or {}).get('exit') or {}
			if 'referenced_by' in o:
				elf_facts['built-in']['exit'] = dict(exit_y, referenced_by=o['referenced_by'])
		report['drivers'][name] = {
			mode: {**driver_cell(name, mode, logs[mode], elf_facts[mode]),
			       **build_cells(name, mode, builds[mode], vm[mode], logs[mode][-1])}
			for mode, _ in MODES}
	report['entries'] = {name: entry_cells(name, builds, logs) for name in drivers()}
	return report
