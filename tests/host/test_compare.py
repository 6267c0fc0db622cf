# SPDX-License-Identifier: GPL-2.0
"""The compare report: its log parser on captured boots, the checks of its
cells on a report made from them (and on broken copies), and one real run."""

import copy
import json
import os
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ET
from typing import Dict, List

from tests.host.common import TOP, build_dir, kernel_source
from ferro import compare, elf, guest, inspect, observe, report

DATA = os.path.join(TOP, 'tests', 'data')

# The fixtures hold ferro_lifecycle's boots alone. A second driver loaded
# later, as every driver of a real run is: its own initcall_debug lines,
# and the entries the guest observed (no record of its own).
NULL_MODULE = [
	'# kmsg: 0.512100 calling  init_module+0x0/0x1000 [ferro_null] @ 1',
	'# kmsg: 0.513900 initcall init_module+0x0/0x1000 [ferro_null] returned 0 after 1800 usecs',
]
NULL_BUILTIN = [
	'# kmsg: 0.201000 calling  __ferro_null_init+0x0/0x60 @ 1',
	'# kmsg: 0.201700 initcall __ferro_null_init+0x0/0x60 returned 0 after 700 usecs',
]
# The guest's report of the module init entry it observed with a kprobe.
NULL_ENTRY = [
	'# entry: ferro_null null_module_init hits=1 caller=do_one_initcall '
	'state=SYSTEM_RUNNING chain=do_init_module < load_module',
]


def read(name: str) -> str:
	with open(os.path.join(DATA, name), errors='replace') as f:
		return f.read()


def boot_log(name: str, extra: List[str] = ()) -> compare.BootLog:
	return compare.BootLog(read(name) + ''.join(f'{l}\n' for l in extra))


def _symbol(e) -> bool:
	return (isinstance(e, dict) and isinstance(e.get('symbol'), str) and bool(e['symbol'])
		and isinstance(e.get('section'), str) and bool(e['section']))


def cell_problems(name: str, mode: str, c: Dict, boots: int) -> List[str]:
	"""What is not a measured value in a driver's cells of one mode, where
	the report must hold one (a "n/a: ..." string is not one)."""
	mod = f'ferro_{name}'
	out: List[str] = []

	def need(ok: bool, what: str, key: str) -> None:
		if not ok:
			out.append(f'{name} {mode}: {what}: {key}={c.get(key)!r}')

	need(_symbol(c.get('entry')), 'entry is not a symbol with its section', 'entry')
	need(_symbol(c.get('exit')), 'exit is not a symbol with its section', 'exit')
	cb = c.get('called_by')
	need(isinstance(cb, list) and bool(cb) and all(isinstance(x, str) and x for x in cb),
	     'called_by is not a non-empty list of frames', 'called_by')
	state = c.get('system_state')
	need(isinstance(state, str) and state.startswith('SYSTEM_'),
	     'system_state is not a SYSTEM_* state', 'system_state')
	t = c.get('time_s')
	need(isinstance(t, float) and t > 0, 'time_s is not a time in seconds', 'time_s')
	samples = (c.get('init_usecs') or {}).get('samples')
	need(isinstance(samples, list) and len(samples) == boots and
	     all(isinstance(x, int) and x > 0 for x in samples),
	     f'init_usecs is not {boots} sample(s) > 0', 'init_usecs')
	sysfs = c.get('sysfs_module')
	need(isinstance(sysfs, str) and (sysfs == 'absent' or sysfs.startswith('present:')),
	     'sysfs_module is not "absent" or "present:..."', 'sysfs_module')
	size = c.get('object_bytes')
	need(isinstance(size, dict) and isinstance(size.get('text'), int) and size['text'] > 0,
	     'object_bytes has no text bytes', 'object_bytes')
	lo = c.get('link_order')
	lists = (c.get('modules_builtin'), c.get('modules_builtin_modinfo'))
	if mode == 'built-in':
		need(isinstance(lo, dict) and isinstance(lo.get('position'), int) and
		     isinstance(lo.get('of'), int) and 1 <= lo['position'] <= lo['of'],
		     'link_order has no position in the level-6 table', 'link_order')
		i = c.get('initcall')
		need(isinstance(i, dict) and i.get('resolves_to') == f'__{mod}_init' and
		     i.get('level') == '6', f'initcall does not resolve to __{mod}_init at level 6',
		     'initcall')
		dm = c.get('delete_module')
		need(isinstance(dm, str) and bool(dm) and dm != '0' and not dm.startswith('n/a'),
		     'delete_module is not the error a built-in module gets', 'delete_module')
		need(isinstance(lists[0], dict) and
		     [x.rsplit('/', 1)[-1] for x in lists[0].get('listed', [])] == [f'{mod}.ko'],
		     'modules.builtin does not list it', 'modules_builtin')
		need(isinstance(lists[1], dict) and bool(lists[1].get('listed')),
		     'modules.builtin.modinfo has none of its entries', 'modules_builtin_modinfo')
	else:
		need(isinstance(lo, dict) and lo.get('position') is None and
		     isinstance(lo.get('of'), int) and lo['of'] > 0 and 'rule' in lo,
		     'link_order is not its absence from a measured level-6 table, with the rule',
		     'link_order')
		need(c.get('delete_module') == '0', 'delete_module did not return 0', 'delete_module')
		need(isinstance(c.get('coresize'), int) and c['coresize'] > 0,
		     'coresize is not a size', 'coresize')
		for key, d in zip(('modules_builtin', 'modules_builtin_modinfo'), lists):
			need(isinstance(d, dict) and d.get('listed') == [] and
			     isinstance(d.get('lines', d.get('entries')), int),
			     'not the measured absence from the =m build\'s file', key)
	return out


def report_problems(data: Dict, drivers: List[str], boots: int) -> List[str]:
	"""Every cell of a compare report that should hold a measurement and
	does not; [] for a report make check can accept."""
	out = []
	if sorted(data.get('drivers', {})) != sorted(drivers):
		out.append(f'drivers {sorted(data.get("drivers", {}))}, want {sorted(drivers)}')
	growth = data.get('vmlinux_growth_bytes')
	if not (isinstance(growth, dict) and growth and
		all(isinstance(v, int) for v in growth.values()) and any(growth.values())):
		out.append(f'vmlinux_growth_bytes is not a measured difference: {growth!r}')
	if sorted(data.get('builtin_modules', [])) != sorted(f'ferro_{d}' for d in drivers):
		out.append(f'builtin_modules {data.get("builtin_modules")!r} is not every driver')
	freed = data.get('freed_init_kib') or {}
	for mode in ('module', 'built-in'):
		if not (isinstance(freed.get(mode), int) and freed[mode] > 0):
			out.append(f'freed_init_kib[{mode}] is not a size: {freed.get(mode)!r}')
	for name, per in data.get('drivers', {}).items():
		for mode in ('module', 'built-in'):
			out += cell_problems(name, mode, per.get(mode, {}), boots)
	return out


def elf_facts(mode: str) -> Dict:
	"""What inspect.facts() says of ferro_lifecycle in each build (the
	sizes and offsets of a qemu-virt build)."""
	if mode == 'module':
		return {'init': {'symbol': 'init_module', 'section': '.init.text', 'size': 0xcc,
				 'struct_module_offset': 0x130, 'struct_module_field': 'init',
				 'rule': inspect.rule('module-init')},
			'exit': {'symbol': 'cleanup_module', 'section': '.exit.text', 'size': 0x1c,
				 'struct_module_offset': 0x430, 'struct_module_field': 'exit',
				 'rule': inspect.rule('module-exit')}}
	return {'init': {'symbol': '__ferro_lifecycle_init', 'section': '.text', 'size': 0xcc,
			 'rule': inspect.rule('builtin-init')},
		'initcall': {'symbol': '__ferro_lifecycle_initcall', 'level': '6',
			     'resolves_to': '__ferro_lifecycle_init'},
		'exit': {'symbol': '__ferro_lifecycle_exit', 'section': '.text', 'size': 0x1c,
			 'referenced_by': [], 'rule': inspect.rule('builtin-exit')}}


def fixture_report() -> Dict:
	"""A report as collect() makes it, for ferro_lifecycle: the cells from
	the captured boots go through compare.driver_cell; those of the builds
	(not kept in tests/data) are written as build_cells makes them."""
	logs = {'module': [boot_log('qemu-virt-compare-module.log')],
		'built-in': [boot_log('qemu-virt-compare-builtin.log')]}
	builds = {
		'module': {'modules_builtin': {'lines': 12, 'listed': []},
			   'modules_builtin_modinfo': {'entries': 40, 'listed': []},
			   'object_bytes': {'text': 3012, 'rodata': 400, 'data': 0, 'bss': 0,
					    'init': 220, 'other': 1100},
			   'link_order': {'symbol': '__ferro_lifecycle_init', 'position': None,
					  'of': 171, 'rule': inspect.rule('module-link')},
			   'observed_call_index': None},
		'built-in': {'modules_builtin': {
				     'lines': 13,
				     'listed': ['kernel/drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko']},
			     'modules_builtin_modinfo': {'entries': 46, 'listed': [
				     'ferro_lifecycle.license=GPL',
				     'ferro_lifecycle.file=drivers/ferro/drivers/lifecycle/ferro_lifecycle']},
			     'object_bytes': {'text': 2800, 'rodata': 400, 'data': 0, 'bss': 0,
					      'init': 8, 'other': 900},
			     'link_order': {'symbol': '__ferro_lifecycle_init', 'position': 170,
					    'of': 172, 'before': 'virtio_blk_init', 'after': 'foo_init'},
			     'observed_call_index': [150, 160]},
	}
	return {'board': 'qemu-virt', 'boots': 1, 'kernel': '7.3.4',
		'vmlinux_growth_bytes': {'text': 9000, 'rodata': 1200, 'data': 64, 'bss': 0,
					 'init': 16, 'other': 2000},
		'builtin_modules': ['ferro_lifecycle'],
		'freed_init_kib': {mode: log[-1].freed_init_kib() for mode, log in logs.items()},
		'ferro_makefile_position': 'line 99 of 99 obj- lines in drivers/Makefile',
		'drivers': {'lifecycle': {
			mode: {**compare.driver_cell('lifecycle', mode, logs[mode], elf_facts(mode)),
			       **builds[mode]} for mode in logs}}}


class Parser(unittest.TestCase):

	def test_builtin_log(self):
		log = boot_log('qemu-virt-compare-builtin.log')
		calls = log.initcalls()
		self.assertGreater(len(calls), 100)
		ours = [c for c in calls if c['fn'] == '__ferro_lifecycle_init']
		self.assertEqual(len(ours), 1, 'the per-driver excerpt must not be counted twice')
		self.assertEqual((ours[0]['ret'], ours[0]['module']), (0, None))
		self.assertGreater(ours[0]['usecs'], 0)
		self.assertIsNotNone(log.freed_init_kib())
		self.assertEqual(log.facts[('lifecycle', 'sysfs')], 'absent')
		self.assertEqual(log.facts[('lifecycle', 'delete_module')], 'No such file or directory')
		rec = log.record('ferro_lifecycle', 'built-in')
		self.assertEqual(rec['entry'], '__ferro_lifecycle_init')
		self.assertEqual(compare.caller_chain(rec)[:3],
				 ['__ferro_lifecycle_init', 'do_one_initcall', 'kernel_init_freeable'])

	def test_module_log(self):
		log = boot_log('qemu-virt-compare-module.log')
		loads = [c for c in log.initcalls() if c['module'] == 'ferro_lifecycle']
		self.assertEqual([c['ret'] for c in loads], [-22, 0, 0])
		self.assertTrue(log.facts[('lifecycle', 'sysfs')].startswith('present:'))
		self.assertGreater(int(log.facts[('lifecycle', 'coresize')]), 0)
		self.assertEqual(log.facts[('lifecycle', 'delete_module')], '0')
		rec = log.record('ferro_lifecycle', 'module')
		self.assertEqual(compare.caller_chain(rec)[:3],
				 ['init_module', 'do_one_initcall', 'do_init_module'])

	def test_chain_must_pass_the_entry(self):
		rec = boot_log('qemu-virt-compare-module.log').record('ferro_lifecycle', 'module')
		self.assertEqual(compare.caller_chain(dict(rec, entry='__ferro_null_init')), [],
				 'frames that do not pass through the entry are not its callers')

	def test_timeline_svg(self):
		svg = report.svg_timeline(boot_log('qemu-virt-compare-builtin.log'),
					  boot_log('qemu-virt-compare-module.log'), ['ferro_lifecycle'])
		root = ET.fromstring(svg)
		texts = ''.join(root.itertext())
		self.assertIn('__ferro_lifecycle_init', texts)
		self.assertIn('init_module [ferro_lifecycle]', texts)


class PerDriver(unittest.TestCase):
	"""Each driver's record, time and state are its own: ferro_null loads
	after ferro_lifecycle and must not get lifecycle's record or time."""

	def test_record_is_the_drivers_own(self):
		log = boot_log('qemu-virt-compare-module.log', NULL_MODULE)
		self.assertIn('[ferro_lifecycle]', log.record('ferro_lifecycle', 'module')['frame.2'])
		self.assertEqual(log.record('ferro_null', 'module'), {})
		log = boot_log('qemu-virt-compare-builtin.log', NULL_BUILTIN)
		self.assertEqual(log.record('ferro_null', 'built-in'), {})

	def test_module_when(self):
		log = boot_log('qemu-virt-compare-module.log', NULL_MODULE)
		life = compare.driver_cell('lifecycle', 'module', [log], {})
		# Its first load that returned 0 (the first, stack_depth=0, fails).
		self.assertEqual(life['time_s'], 0.370829)
		self.assertEqual(life['system_state'], 'SYSTEM_RUNNING')
		null = compare.driver_cell('null', 'module', [log], {})
		self.assertEqual(null['time_s'], 0.5121)
		self.assertEqual(null['init_usecs']['samples'], [1800])
		self.assertIsNone(null['system_state'])
		self.assertEqual(null['called_by'], [])
		self.assertIsNone(null['params_given'], 'no params fact: not measured')

	def test_builtin_when(self):
		log = boot_log('qemu-virt-compare-builtin.log', NULL_BUILTIN)
		self.assertEqual(compare.driver_cell('lifecycle', 'built-in', [log], {})['time_s'],
				 0.190925)
		null = compare.driver_cell('null', 'built-in', [log], {})
		self.assertEqual((null['time_s'], null['system_state']), (0.201, None))

	def test_observed_init_chain(self):
		log = boot_log('qemu-virt-compare-module.log', NULL_MODULE + NULL_ENTRY)
		null = compare.driver_cell('null', 'module', [log], {})
		self.assertEqual(null['system_state'], 'SYSTEM_RUNNING')
		self.assertEqual(null['called_by'], ['do_one_initcall', 'do_init_module', 'load_module'])

	def test_probe(self):
		lines = ['# entry: ferro_null null_probe hits=2 caller=platform_probe state=- '
			 'chain=really_probe'
			 ' < __driver_probe_device < __platform_driver_register < init_module'
			 ' < do_one_initcall']
		log = boot_log('qemu-virt-compare-module.log', NULL_MODULE + NULL_ENTRY + lines)
		null = compare.driver_cell('null', 'module', [log], {})
		self.assertEqual(null['probe'], 'platform_probe <- really_probe <- __driver_probe_device')
		self.assertEqual(null['called_by'], ['do_one_initcall', 'do_init_module', 'load_module'])
		self.assertIsNone(compare.driver_cell('lifecycle', 'module', [log], {})['probe'])

	def test_rendered_as_not_recorded(self):
		data = fixture_report()
		log = boot_log('qemu-virt-compare-module.log', NULL_MODULE)
		data['drivers']['lifecycle']['module'].update(
			compare.driver_cell('null', 'module', [log], {}))
		when = dict((r[0], r) for r in report.rows('lifecycle', data['drivers']['lifecycle'],
							   data))['when']
		self.assertEqual(when[1], '0.512100 s (`calling` line of its first init that '
				 'returned 0), '
				 'system_state n/a: not recorded by this driver')


class BuildFiles(unittest.TestCase):

	def test_builtin_lists(self):
		with tempfile.TemporaryDirectory() as d:
			with open(os.path.join(d, 'modules.builtin'), 'w') as f:
				f.write('kernel/fs/ext4/ext4.ko\n'
					'kernel/drivers/ferro/drivers/null/ferro_null.ko\n')
			with open(os.path.join(d, 'modules.builtin.modinfo'), 'wb') as f:
				f.write(b'ext4.license=GPL\0ferro_null.license=GPL\0')
			got = compare.builtin_lists(d, 'ferro_lifecycle')
			self.assertEqual(got, {'modules_builtin': {'lines': 2, 'listed': []},
					       'modules_builtin_modinfo': {'entries': 2, 'listed': []}})
			got = compare.builtin_lists(d, 'ferro_null')
			self.assertEqual(got['modules_builtin']['listed'],
					 ['kernel/drivers/ferro/drivers/null/ferro_null.ko'])
			self.assertEqual(got['modules_builtin_modinfo']['listed'],
					 ['ferro_null.license=GPL'])
		self.assertEqual(compare.builtin_lists(d, 'ferro_null'),
				 {'modules_builtin': None, 'modules_builtin_modinfo': None})

	def test_module_build(self):
		"""The =m cells of the lists and the link order, from the =m build."""
		build = build_dir('m')
		vmlinux = elf.Elf(os.path.join(build, 'vmlinux'))
		for name in compare.drivers():
			mod = f'ferro_{name}'
			c = compare.build_cells(name, 'module', build, vmlinux, compare.BootLog(''))
			for key in ('modules_builtin', 'modules_builtin_modinfo', 'link_order'):
				self.assertIsInstance(c[key], dict, f'{mod} {key}: {c[key]!r}')
			self.assertEqual(c['modules_builtin']['listed'], [], mod)
			self.assertGreater(c['modules_builtin']['lines'], 0)
			self.assertEqual(c['modules_builtin_modinfo']['listed'], [], mod)
			self.assertIsNone(c['link_order']['position'], mod)
			self.assertGreater(c['link_order']['of'], 0)
			self.assertGreater(c['object_bytes']['text'], 0, f'{mod}.ko')


	def test_assemble(self):
		"""The report of the real builds and the captured boots (which hold
		ferro_lifecycle's lines alone): every cell of lifecycle measured,
		and the cells of the others that come from the builds."""
		builds = {'module': build_dir('m'), 'built-in': build_dir('y')}
		logs = {'module': [boot_log('qemu-virt-compare-module.log')],
			'built-in': [boot_log('qemu-virt-compare-builtin.log')]}
		data = compare.assemble('qemu-virt', kernel_source(), builds, logs)
		from_builds = ('entry', 'exit', 'initcall', 'link_order', 'modules_builtin',
			       'modules_builtin_modinfo', 'object_bytes')
		problems = [p for p in report_problems(data, compare.drivers(), boots=1)
			    if p.startswith('lifecycle ') or ' ' not in p.split(':')[0] or
			    any(f': {k}=' in p for k in from_builds)]
		self.assertEqual(problems, [])
		md = report.markdown(data)
		for name in compare.drivers():
			self.assertRegex(md, rf'`__ferro_{name}_init` not in the =m vmlinux\'s level-6 '
					 r'initcall table \(\d+ entries\); rule: ')


class Checks(unittest.TestCase):
	"""report_problems() accepts a report of measured cells and refuses
	one where a cell is "n/a", empty or of the wrong kind."""

	def setUp(self):
		self.good = fixture_report()

	def problems(self, mode: str, **cells) -> List[str]:
		bad = copy.deepcopy(self.good)
		bad['drivers']['lifecycle'][mode].update(cells)
		return report_problems(bad, ['lifecycle'], boots=1)

	def test_fixture_report_passes(self):
		self.assertEqual(report_problems(self.good, ['lifecycle'], boots=1), [])

	def test_na_strings_fail(self):
		# Each of these is truthy: the old assertTrue(cell.get(key)) took them.
		for mode, key, value in (
				('module', 'time_s', 'n/a: not recorded'),
				('module', 'link_order', 'n/a: loaded at run time by finit_module(2)'),
				('built-in', 'link_order', 'n/a: no table'),
				('built-in', 'system_state', 'n/a: not recorded by this driver'),
				('module', 'entry', 'n/a'),
				('built-in', 'delete_module', 'n/a: built in'),
				('module', 'modules_builtin', 'not listed')):
			with self.subTest(mode=mode, key=key):
				self.assertTrue(value)
				got = self.problems(mode, **{key: value})
				self.assertEqual(len(got), 1, got)
				self.assertIn(f': {key}=', got[0])

	def test_empty_or_unmeasured_fail(self):
		for mode, key, value in (
				('module', 'called_by', []),
				('built-in', 'time_s', None),
				('module', 'init_usecs', {'samples': [], 'median': None}),
				('built-in', 'init_usecs', {'samples': [0], 'median': 0}),
				('module', 'exit', {'symbol': 'cleanup_module', 'section': None}),
				('built-in', 'link_order', {'symbol': '__ferro_lifecycle_init',
							    'position': None, 'of': 172}),
				('module', 'link_order', {'position': None, 'of': 0,
							  'rule': inspect.rule('module-link')}),
				('built-in', 'modules_builtin', {'lines': 13, 'listed': []}),
				('module', 'coresize', None),
				('built-in', 'object_bytes', None)):
			with self.subTest(mode=mode, key=key):
				got = self.problems(mode, **{key: value})
				self.assertEqual(len(got), 1, got)
				self.assertIn(f': {key}=', got[0])

	def test_whole_kernel_values(self):
		bad = copy.deepcopy(self.good)
		bad['freed_init_kib']['module'] = None
		bad['vmlinux_growth_bytes'] = {}
		got = report_problems(bad, ['lifecycle'], boots=1)
		self.assertEqual(len(got), 2, got)
		self.assertEqual(report_problems(self.good, ['lifecycle', 'null'], boots=1)[:1],
				 ["drivers ['lifecycle'], want ['lifecycle', 'null']"])

	def test_markdown(self):
		md = report.markdown(self.good)
		self.assertEqual(md.count('Whole kernel: the =y vmlinux, with ferro_lifecycle built in '
					  'at once, over the =m vmlinux, in bytes: text 9000, '), 1)
		self.assertNotIn('vmlinux vs the =m kernel', md)
		self.assertIn('| memory | coresize 20480 B, initsize 0 B (`/sys/module`); `.ko`: text 3012, '
			      'rodata 400, init 220, other 1100 | object: text 2800, rodata 400, init 8, '
			      'other 900 |', md)
		self.assertIn('| modules.builtin | not listed (12 lines, none of this module) | '
			      'kernel/drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko |', md)
		self.assertIn('`__ferro_lifecycle_init` not in the =m vmlinux\'s level-6 initcall '
			      'table (171 entries); ' + inspect.render_rule(inspect.rule('module-link')),
			      md)
		self.assertIn('| entry symbol | `init_module` in `.init.text`; ' +
			      inspect.render_rule(inspect.rule('module-init')), md)
		self.assertIn('| load/unload cycles without residue | ', md)
		self.assertIn('| none: delete_module(2) failed: No such file or directory |', md)
		self.assertNotIn('runs ', md)


def entry_problems(data: Dict) -> List[str]:
	"""Entries the report holds no observation for: every driver must have
	entries, and each entry, in each mode it is built in, is entered with
	callers unless observe.reason() says the board cannot reach it."""
	out = []
	for name in compare.drivers():
		rows = data.get('entries', {}).get(name)
		if not rows:
			out.append(f'{name}: no entries')
			continue
		for mode in ('module', 'built-in'):
			if not any(r.get(mode) for r in rows):
				out.append(f'{name}: no entries {mode}')
		for r in rows:
			for mode in ('module', 'built-in'):
				c = r.get(mode)
				if c is None or observe.reason(data['board'], observe.Probe(
						f'ferro_{name}', c['event'], '', 0, r['slot'], r['function'])):
					continue
				if not c['hits'] or max(c['hits']) <= 0:
					out.append(f'{name} {mode} {r["slot"]} {r["function"]}: not observed')
	return out


class EntryProblems(unittest.TestCase):
	"""entry_problems() itself: an entry not entered is one, unless the
	board cannot reach it."""

	def test_unobserved_entries(self):
		def row(event, hits, called_by):
			cell = {'event': event, 'hits': hits, 'at_least': False, 'called_by': called_by}
			return {'slot': 'struct x.y', 'function': 'f', 'module': cell, 'built-in': cell}
		data = {'board': 'qemu-virt', 'entries': {n: [row(f'{n}_y', [1], 'a')]
							  for n in compare.drivers()}}
		self.assertEqual(entry_problems(data), [])
		data['entries']['null'].append(row('null_queue_rq', [0], None))
		data['entries']['phy'].append(row('phy_read_status', [0], None))
		data['entries']['cpufreq'] = []
		del data['entries']['lifecycle'][0]['built-in']
		self.assertEqual(entry_problems(data), [
			'cpufreq: no entries', 'lifecycle: no entries built-in',
			'null module struct x.y f: not observed',
			'null built-in struct x.y f: not observed'])


def evidence_logs(board):
	"""mode -> log of make check's module and built-in boots of `board`
	(FERRO_EVIDENCE_LOGS, set by run-checks), or {} outside make check."""
	given = dict(item.split('=', 1) for item in
		     os.environ.get('FERRO_EVIDENCE_LOGS', '').split(';') if '=' in item)
	logs = {'module': given.get(f'{board}:m'), 'built-in': given.get(f'{board}:y')}
	return logs if all(logs.values()) else {}


class EndToEnd(unittest.TestCase):
	"""ferro-compare on the two builds: every cell holds a measurement.
	In make check it reads the logs of the module and built-in boots that
	already ran (--log); alone, it boots once per mode with short stress
	loops (--boots 1)."""

	def test_compare_run(self):
		build_dir('m')
		build_dir('y')
		logs = evidence_logs('qemu-virt')
		how = ([a for mode, path in logs.items() for a in ('--log', f'{mode}={path}')] if logs
		       else ['--boots', '1', '--stress', str(guest.SHORT_LOOPS)])
		with tempfile.TemporaryDirectory() as out:
			p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-compare'), '--kdir',
					    kernel_source(), '--out', out] + how,
					   capture_output=True, text=True)
			self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
			with open(os.path.join(out, 'report.json')) as f:
				data = json.load(f)
			self.assertEqual(report_problems(data, compare.drivers(), boots=1), [])
			with open(os.path.join(out, 'report.md')) as f:
				md = f.read()
			self.assertIn('| entry symbol | `init_module` in `.init.text`; rule: ', md)
			self.assertEqual(entry_problems(data), [])
			self.assertIn('| struct blk_mq_ops.queue_rq | <kernel::block::mq::operations::'
				      'OperationsVTable<ferro_null::NullOps>>::queue_rq_callback | ', md)
			ET.parse(os.path.join(out, 'timeline.svg'))
			with open(os.path.join(out, 'timeline.png'), 'rb') as f:
				self.assertEqual(f.read(8), b'\x89PNG\r\n\x1a\n')


if __name__ == '__main__':
	unittest.main()
