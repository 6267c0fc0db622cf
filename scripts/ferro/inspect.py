# SPDX-License-Identifier: GPL-2.0
"""What an ELF kernel object says about how C reaches its Rust modules.

Shared by scripts/ferro-inspect and the compare report. Works on a loadable
module (.ko), a built-in object (.o) and a linked vmlinux.
"""

import re
import struct
from typing import Dict, List, Optional

from ferro import elf


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
				entry = {'symbol': sym_name, 'section': e.section_of(sym) if sym else None,
					 'size': sym.size if sym else None}
				if sym_name in relocs:
					off = relocs[sym_name].offset
					entry['struct_module_offset'] = off
					entry['struct_module_field'] = fields.get(off)
				entry['runs'] = ('from do_init_module on load' if role == 'init'
						 else 'from delete_module(2) on unload')
				m[role] = entry
		else:
			init = e.symbol(f'__{name}_init')
			m['init'] = {'symbol': init.name, 'section': e.section_of(init), 'size': init.size,
				     'runs': 'from do_one_initcall at boot'}
			call = e.symbol(f'__{name}_initcall')
			if call and k == 'vmlinux':
				target = call.value + struct.unpack('<i', e.read(call.value, 4))[0]
				m['initcall'] = {'symbol': call.name, 'level': initcall_level(e, call.value),
						 'resolves_to': init.name if target == init.value
						 else f'{target:#x}'}
			elif call:
				relocs = e.relocations(e.section_of(call))
				m['initcall'] = {'symbol': call.name, 'section': e.section_of(call),
						 'resolves_to': ', '.join(r.symbol.name for r in relocs)}
			exit_sym = e.symbol(f'__{name}_exit')
			if exit_sym:
				users = []
				if k != 'vmlinux':
					users = [s.name for s in e.sections if s.type == elf.SHT_RELA and any(
						r.symbol.name == exit_sym.name
						for r in e.relocations(e.sections[s.info].name))]
				m['exit'] = {'symbol': exit_sym.name, 'section': e.section_of(exit_sym),
					     'size': exit_sym.size,
					     'runs': 'never: built-in code is not unloaded'
					     + (f' (referenced by {", ".join(users)})' if users else
						'; nothing refers to it' if k != 'vmlinux' else '')}
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
			if 'runs' in e:
				lines.append(f'    {"":9} runs {e["runs"]}')
		for key in ('license', 'description', 'parmtype', 'parm', 'file'):
			for v in m['modinfo'].get(key, []):
				lines.append(f'    modinfo   {key}={v}')
	return '\n'.join(lines) + '\n'
