# SPDX-License-Identifier: GPL-2.0
"""What an ELF kernel object says about how C reaches its Rust modules.

Shared by scripts/ferro-inspect and the compare report. Works on a loadable
module (.ko), a built-in object (.o) and a linked vmlinux.
"""

import os
import re
import struct
from typing import Dict, List, NamedTuple, Optional, Tuple

from ferro import elf


class Source(NamedTuple):
	"""A line of the kernel source: its file in the tree, the function
	("name()") or macro ("NAME") it is in, and its code, whitespace
	collapsed and a macro's closing backslash dropped."""
	path: str
	scope: str
	code: str


class Rule(NamedTuple):
	"""What the kernel does with an entry point by design: not measured
	from a build or a boot, but read in the kernel source it names
	(tests/host/test_inspect_rules.py checks every line is there)."""
	text: str
	sources: Tuple[Source, ...]


MODULE_C = 'kernel/module/main.c'
RULES: Dict[str, Rule] = {
	'module-init': Rule(
		'called through struct module .init by do_init_module() when finit_module(2) '
		'loads the module',
		(Source(MODULE_C, 'do_init_module()', 'ret = do_one_initcall(mod->init);'),)),
	'module-exit': Rule(
		'called through struct module .exit by delete_module(2) when the module is unloaded',
		(Source(MODULE_C, 'delete_module()', 'mod->exit();'),)),
	'module-link': Rule(
		'in no initcall table: finit_module(2) loads it at run time, and load_module() '
		'ends in do_init_module(), which calls its init',
		(Source(MODULE_C, 'load_module()', 'return do_init_module(mod);'),)),
	'builtin-init': Rule(
		'called at boot by do_initcall_level() through do_one_initcall(), in the order '
		'of its level\'s table',
		(Source('init/main.c', 'do_initcall_level()',
			'do_one_initcall(initcall_from_entry(fn));'),)),
	'builtin-exit': Rule(
		'never called: delete_module(2) finds a module only in the list of loaded '
		'ones, which add_unformed_module() fills, and the module! macro makes the '
		'built-in exit a plain exported function that no initcall or exitcall table '
		'holds',
		(Source(MODULE_C, 'delete_module()', 'mod = find_module(name);'),
		 Source(MODULE_C, 'add_unformed_module()', 'list_add_rcu(&mod->list, &modules);'),
		 Source('rust/macros/module.rs', 'module()', 'pub extern "C" fn #ident_exit() {'))),
}


def rule(key: str) -> Dict:
	"""A rule as facts carry it: its text and the source lines it comes from."""
	r = RULES[key]
	return {'text': r.text, 'sources': [s._asdict() for s in r.sources]}


def render_rule(r: Dict) -> str:
	"""'rule: <text> (<file>, <scope>: "<code>"; ...)'."""
	where = '; '.join(f'{s["path"]}, {s["scope"]}: "{s["code"]}"' for s in r['sources'])
	return f'rule: {r["text"]} ({where})'


def _code(line: str) -> str:
	return ' '.join(line.rstrip().rstrip('\\').split())


def _scope_lines(lines: List[str], scope: str) -> Optional[range]:
	"""The line indexes of a function's definition ("name()": from its
	head to the closing brace in column 0) or a macro's ("NAME": the
	#define and its continuation lines) in a C file or linker script."""
	if not scope.endswith('()'):
		for i, line in enumerate(lines):
			if re.match(rf'#define {re.escape(scope)}\b(?!\()', line):
				j = i
				while lines[j].rstrip().endswith('\\') and j + 1 < len(lines):
					j += 1
				return range(i, j + 1)
		return None
	name = re.escape(scope[:-2])
	head = re.compile(rf'^(?:SYSCALL_DEFINE\d\({name},|[A-Za-z_].*\b{name}\()')
	for i, line in enumerate(lines):
		if not head.match(line) or line.rstrip().endswith(';'):
			continue
		j = i
		while j < len(lines) and not lines[j].rstrip().endswith('{'):
			if lines[j].rstrip().endswith(';'):
				break		# a declaration over several lines
			j += 1
		if j == len(lines) or not lines[j].rstrip().endswith('{'):
			continue
		while j < len(lines) and lines[j].rstrip() != '}':
			j += 1
		return range(i, j + 1)
	return None


def source_line(kdir: str, src: Source) -> int:
	"""The line number of `src` in the kernel tree `kdir`; ValueError
	saying what is missing if the file, the scope or the line is not there."""
	path = os.path.join(kdir, src.path)
	if not os.path.isfile(path):
		raise ValueError(f'{src.path}: no such file in {kdir}')
	with open(path, errors='replace') as f:
		lines = f.read().splitlines()
	span = _scope_lines(lines, src.scope)
	if span is None:
		raise ValueError(f'{src.path}: no definition of {src.scope}')
	for i in span:
		if _code(lines[i]) == src.code:
			return i + 1
	raise ValueError(f'{src.path}: {src.scope} (lines {span.start + 1}-{span.stop}) '
			 f'has no line "{src.code}"')


class NotKernelObject(elf.ElfError):
	pass


def kind(e: elf.Elf) -> str:
	if e.section('.gnu.linkonce.this_module'):
		return 'loadable'
	try:
		if e.symbol('__initcall6_start'):
			return 'vmlinux'
	except elf.ElfError:
		pass
	if e.section('.modinfo') or any(s.name.startswith('.initcall') for s in e.sections):
		return 'built-in object'
	raise NotKernelObject(f'{e.path}: not a kernel object (no .gnu.linkonce.this_module, '
			      '.modinfo or initcall table)')


def modinfo(e: elf.Elf, module: Optional[str] = None) -> Dict[str, List[str]]:
	"""The .modinfo key=value strings; built-in ones are "<module>.key=value"."""
	sec = e.section('.modinfo')
	out: Dict[str, List[str]] = {}
	if not sec:
		return out
	for raw in e.data[sec.offset:sec.offset + sec.size].split(b'\0'):
		text = raw.decode('utf-8', 'replace')
		if '=' not in text:
			continue
		key, value = text.split('=', 1)
		if module and '.' in key:
			mod, key = key.split('.', 1)
			if mod != module:
				continue
		out.setdefault(key, []).append(value)
	return out


def module_names(e: elf.Elf) -> List[str]:
	"""Ferro module names an object defines entry points for."""
	k = kind(e)
	if k == 'loadable':
		return modinfo(e).get('name', [])
	return sorted({s.name[2:-5] for s in e.symbols()
		       if re.fullmatch(r'__ferro_\w+_init', s.name) and s.shndx})


def initcall_level(e: elf.Elf, addr: int) -> Optional[str]:
	"""The initcall level ("6", "6s", ...) whose table holds addr, in vmlinux."""
	bounds = sorted((s.value, s.name) for s in e.symbols()
			if re.fullmatch(r'__initcall\d+s?_start|__initcall_end', s.name))
	level = None
	for value, name in bounds:
		if value <= addr:
			level = None if name == '__initcall_end' else name[len('__initcall'):-len('_start')]
	return level


def initcall_table(e: elf.Elf, level: str = '6') -> List[str]:
	"""The functions a linked vmlinux calls at an initcall level (with its
	"sync" sublevel), in order: the entries up to the next level's start."""
	start = e.symbol(f'__initcall{level}_start')
	end = e.symbol(f'__initcall{int(level) + 1}_start' if level != '7' else '__initcall_end')
	if not start or not end:
		return []
	by_addr: Dict[int, str] = {}
	for s in e.symbols():
		if s.shndx and s.type == 2:   # STT_FUNC
			by_addr.setdefault(s.value, s.name)
	out = []
	for addr in range(start.value, end.value, 4):
		target = addr + struct.unpack('<i', e.read(addr, 4))[0]
		out.append(by_addr.get(target, f'{target:#x}'))
	return out


def referenced_by(e: elf.Elf, name: str) -> List[str]:
	"""The relocation sections of an object with an entry against `name`."""
	return [s.name for s in e.sections if s.type == elf.SHT_RELA and any(
		r.symbol.name == name for r in e.relocations(e.sections[s.info].name))]


def describe_references(sections: List[str]) -> str:
	"""referenced_by()'s answer in words."""
	if sections:
		return f'referenced by relocations in {", ".join(sections)}'
	return 'referenced by nothing: no relocation in this object names it'


def facts(e: elf.Elf, layout: Optional[elf.Elf] = None) -> Dict:
	"""Entry points, their sections and how C reaches them, per module."""
	k = kind(e)
	result: Dict = {'file': e.path, 'kind': k, 'modules': {}}
	for name in module_names(e):
		m: Dict = {'modinfo': modinfo(e, None if k == 'loadable' else name)}
		if k == 'loadable':
			fields = {}
			if layout:
				for f in ('init', 'exit'):
					sym = layout.symbol(f'ferro_offsetof_module_{f}')
					if sym:
						fields[sym.value] = f
			relocs = {r.symbol.name: r for r in e.relocations('.gnu.linkonce.this_module')}
			for role, sym_name in (('init', 'init_module'), ('exit', 'cleanup_module')):
				sym = e.symbol(sym_name)
				if not sym:
					m[role] = None		# not defined in this .ko
					continue
				entry = {'symbol': sym_name, 'section': e.section_of(sym), 'size': sym.size}
				if sym_name in relocs:
					off = relocs[sym_name].offset
					entry['struct_module_offset'] = off
					entry['struct_module_field'] = fields.get(off)
				entry['rule'] = rule(f'module-{role}')
				m[role] = entry
		else:
			init = e.symbol(f'__{name}_init')
			m['init'] = {'symbol': init.name, 'section': e.section_of(init), 'size': init.size,
				     'rule': rule('builtin-init')}
			call = e.symbol(f'__{name}_initcall')
			if call and k == 'vmlinux':
				target = call.value + struct.unpack('<i', e.read(call.value, 4))[0]
				m['initcall'] = {'symbol': call.name, 'level': initcall_level(e, call.value),
						 'resolves_to': init.name if target == init.value
						 else f'{target:#x}'}
			elif call:
				relocs = e.relocations(e.section_of(call))
				m['initcall'] = {'symbol': call.name, 'section': e.section_of(call),
						 'resolves_to': ', '.join(r.symbol.name for r in relocs)
						 or 'nothing (no relocation)'}
			exit_sym = e.symbol(f'__{name}_exit')
			if exit_sym:
				m['exit'] = {'symbol': exit_sym.name, 'section': e.section_of(exit_sym),
					     'size': exit_sym.size}
				if k != 'vmlinux':
					# Measured in the object (a linked vmlinux keeps
					# no relocations).
					m['exit']['referenced_by'] = referenced_by(e, exit_sym.name)
				m['exit']['rule'] = rule('builtin-exit')
		result['modules'][name] = m
	return result


def render(f: Dict, name: Optional[str] = None) -> str:
	"""facts() as the text ferro-inspect prints; `name` replaces the path."""
	lines = [f'{name or f["file"]}: {f["kind"]}']
	if not f['modules']:
		lines.append('  (no Ferro module in it)')
	for mod, m in f['modules'].items():
		lines.append(f'  module {mod}')
		for role in ('init', 'initcall', 'exit'):
			e = m.get(role)
			if not e:
				continue
			where = f'level {e["level"]}' if 'level' in e else e.get('section') or ''
			line = f'    {role:9} {e["symbol"]:28} {where:16}'
			if e.get('size') is not None:
				line += f' size {e["size"]:#x}'
			if 'struct_module_offset' in e:
				line += f'  <- struct module +{e["struct_module_offset"]:#x}'
				if e.get('struct_module_field'):
					line += f' (.{e["struct_module_field"]})'
			if 'resolves_to' in e:
				line += f'-> {e["resolves_to"]}'
			lines.append(line.rstrip())
			if 'referenced_by' in e:
				lines.append(f'    {"":9} {describe_references(e["referenced_by"])}')
			if 'rule' in e:
				lines.append(f'    {"":9} {render_rule(e["rule"])}')
		for key in ('license', 'description', 'parmtype', 'parm', 'file'):
			for v in m['modinfo'].get(key, []):
				lines.append(f'    modinfo   {key}={v}')
	return '\n'.join(lines) + '\n'
