# SPDX-License-Identifier: GPL-2.0
"""Built-in versus loadable, measured: the data behind `make compare`.

Every cell comes from a built artefact (ELF facts, section sizes, link
order) or from a booted kernel (the guest's records and facts, the kernel
log with initcall_debug), never from a table typed in here.
"""

import os
import re
import statistics
from typing import Dict, List, Optional, Tuple

from ferro import elf, guest, inspect, kbuild
from ferro.board import Board, TOP

KMSG = re.compile(r'^# kmsg: (\d+\.\d+) (.*)$')
FACT = re.compile(r'^# fact: (\w+)\.(\w+)=(.*)$')
RECORD = re.compile(r'^# record \((module|built-in)\):$')
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
		current: Optional[Dict[str, str]] = None
		lines = text.splitlines()
		# With a full dump, the kernel log is taken from it alone: the
		# per-driver excerpts printed before it would count twice.
		if '# kmsg-dump: begin' in lines:
			cut = lines.index('# kmsg-dump: begin')
			lines = [l for l in lines[:cut] if not l.startswith('# kmsg: ')] + lines[cut:]
		for raw in lines:
			line = raw.rstrip('\r')
			if current is not None:
				if line.startswith('#   ') and ': ' in line:
					k, v = line[4:].split(': ', 1)
					current[k] = v
					continue
				current = None
			m = KMSG.match(line)
			if m:
				self.kmsg.append((float(m.group(1)), m.group(2)))
				continue
			m = FACT.match(line)
			if m:
				self.facts[(m.group(1), m.group(2))] = m.group(3)
				continue
			if RECORD.match(line):
				current = {}
				self.records.append(current)

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
					    'start': open_calls.pop(key, t), 'ret': int(m.group(3)),
					    'usecs': int(m.group(4))})
		return out

	def freed_init_kib(self) -> Optional[int]:
		for _, msg in self.kmsg:
			m = FREED.match(msg)
			if m:
				return int(m.group(1))
		return None

	def traced_call(self, module: str, call: str) -> Dict[str, str]:
		"""The first call of a callback that a driver's trace_calls logged
		("<module>: call <call>: ..."), shaped like an init record."""
		rec: Dict[str, str] = {}
		frames = 0
		for t, msg in self.kmsg:
			m = re.match(rf'^{module}: call {call}: (?:\S+ )?system_state=(\S+)', msg)
			if m and not rec:
				rec = {'system_state': m.group(1), 'time': f'{t:.6f}'}
				continue
			m = re.match(rf'^{module}: call {call}: frame\.(\d+): (.*)$', msg)
			if m and rec:
				if m.group(1) == '0' and frames:
					break
				rec[f'frame.{frames}'] = m.group(2)
				frames += 1
		if rec:
			rec['frames'] = str(frames)
		return rec

	def record(self, module: str, mode: str) -> Dict[str, str]:
		"""The last init record of a driver in a mode (the defaults reload)."""
		hits = [r for r in self.records if r.get('mode') == mode and
			r.get('entry', '').endswith(('init_module', f'__{module}_init'))]
		return hits[-1] if hits else {}


def drivers() -> List[str]:
	d = os.path.join(TOP, 'drivers')
	return sorted(x for x in os.listdir(d) if os.path.isfile(os.path.join(d, x, 'Kconfig')))


def record_frames(rec: Dict[str, str]) -> List[str]:
	"""A record's frames as the kernel printed them, innermost first."""
	return [rec[f'frame.{i}'] for i in range(int(rec.get('frames', 0) or 0))
		if f'frame.{i}' in rec]


def caller_chain(rec: Dict[str, str]) -> List[str]:
	"""Frames from the entry symbol outwards, offsets dropped."""
	names = [re.sub(r'\+0x[0-9a-f]+/0x[0-9a-f]+.*$', '', f) for f in record_frames(rec)]
	entry = rec.get('entry', '')
	return names[names.index(entry):] if entry in names else names


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
	table = inspect.initcall_table(vmlinux, '6')
	if fn not in table:
		return {'position': None, 'of': len(table)}
	i = table.index(fn)
	return {'position': i + 1, 'of': len(table),
		'before': table[i - 1] if i else None,
		'after': table[i + 1] if i + 1 < len(table) else None}


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


def collect(board: Board, kdir: str, boots: int, stress: Optional[int] = None,
	    say=print) -> Dict:
	"""Boot each kernel `boots` times (stress loops of `stress` cycles, or
	the guest's default) and gather the report's data."""
	builds = {mode: kbuild.build_dir(board, k, kdir) for mode, k in MODES}
	for mode, b in builds.items():
		if not os.path.exists(os.path.join(b, board.kernel_image)):
			raise guest.GuestError(f'no {mode} kernel in {b} (run make kernels)')
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

	vm = {mode: elf.Elf(os.path.join(builds[mode], 'vmlinux')) for mode in builds}
	vm_sizes = {mode: elf.alloc_sizes(e) for mode, e in vm.items()}
	growth = {k: vm_sizes['built-in'][k] - vm_sizes['module'][k] for k in vm_sizes['module']}
	freed = {mode: median_or_none([x for x in (l.freed_init_kib() for l in logs[mode])
				       if x is not None]) for mode in logs}
	freed = {k: int(v) if v is not None else None for k, v in freed.items()}
	report = {'board': board.name, 'boots': boots, 'kernel': guest.kernel_release(builds['module']),
		  'vmlinux_growth_bytes': growth,
		  'freed_init_kib': freed,
		  'ferro_makefile_position': makefile_position(kdir),
		  'drivers': {}}

	builtin_facts = inspect.facts(vm['built-in'])['modules']
	for name in drivers():
		mod = f'ferro_{name}'
		ko = object_path(builds['module'], name, '.ko')
		obj = object_path(builds['built-in'], name)
		per: Dict[str, Dict] = {}
		for mode, _ in MODES:
			f = (inspect.facts(elf.Elf(ko))['modules'] if mode == 'module'
			     else builtin_facts).get(mod, {})
			last = logs[mode][-1]
			rec = last.record(mod, mode)
			fn = 'init_module' if mode == 'module' else f'__{mod}_init'
			probe = last.traced_call(mod, 'probe')
			traced = probe or last.traced_call(mod, 'init')
			if not rec and traced:
				# A driver without an init record: its probe ran inside
				# its init (driver_register), or it traced its init, so
				# the chain holds the init entry and what called it.
				rec = dict(traced, entry=fn)
			durations = []
			for log in logs[mode]:
				calls = [c for c in log.initcalls() if c['fn'] == fn and c['ret'] == 0 and
					 (c['module'] == mod if mode == 'module' else c['module'] is None)]
				if calls:
					durations.append(calls[-1]['usecs'])
			facts = {k: v for (d, k), v in last.facts.items() if d == name}
			cell = {
				'entry': f.get('init'),
				'initcall': f.get('initcall'),
				'exit': f.get('exit'),
				'called_by': caller_chain(rec)[1:],
				'system_state': rec.get('system_state'),
				'time_s': float(rec['time']) if rec.get('time') else None,
				'init_usecs': {'samples': durations, 'median': median_or_none(durations)},
				'probe': (' <- '.join(caller_chain(dict(probe, entry='platform_probe'))[:3])
					  if probe else 'n/a: drives no device' if name == 'lifecycle' else None),
				'sysfs_module': facts.get('sysfs'),
				'coresize': int(facts['coresize']) if 'coresize' in facts else None,
				'initsize': int(facts['initsize']) if 'initsize' in facts else None,
				'delete_module': facts.get('delete_module'),
				'load_unload_cycles': facts.get('load_unload_cycles'),
				'params_given': ((f'finit_module(2) arguments "{facts.get("params", "")}"')
						 if mode == 'module' else
						 ('kernel command line "' + facts['params'] + '"'
						  if facts.get('params') else
						  'kernel command line: none given, defaults')),
				'params_read_back': {k[6:]: v for k, v in rec.items() if k.startswith('param.')},
			}
			if mode == 'built-in':
				with open(os.path.join(builds[mode], 'modules.builtin')) as mb:
					cell['modules_builtin'] = [l.strip() for l in mb if f'/{mod}.ko' in l]
				with open(os.path.join(builds[mode], 'modules.builtin.modinfo'), 'rb') as mi:
					cell['modules_builtin_modinfo'] = [
						x.decode() for x in mi.read().split(b'\0')
						if x.startswith(f'{mod}.'.encode())]
				cell['object_bytes'] = elf.alloc_sizes(elf.Elf(obj)) if obj else None
				cell['link_order'] = link_order(vm['built-in'], fn)
				calls = [c['fn'] for c in last.initcalls()]
				cell['observed_call_index'] = (calls.index(fn) + 1, len(calls)) \
					if fn in calls else None
			else:
				cell['modules_builtin'] = []
				cell['modules_builtin_modinfo'] = []
				cell['link_order'] = 'n/a: loaded at run time by finit_module(2)'
			per[mode] = cell
		report['drivers'][name] = per
	return report
