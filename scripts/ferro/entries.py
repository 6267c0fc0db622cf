# SPDX-License-Identifier: GPL-2.0
"""Every function of a kernel Rust object that C can call, read from the ELF.

C enters a driver in three ways, all visible in the binary:

- through a pointer in data: an ops table (struct phy_driver, blk_mq_ops,
  cpufreq_driver, configfs attributes, struct module's init/exit, KUnit
  cases ...). In a .ko each is an absolute relocation in a data section
  against the driver's own text; in vmlinux, a word of a data section whose
  value is the address of one of the driver's functions.
- through a pointer the driver stores at run time (an hrtimer's function):
  the driver's code takes the function's address (adrp + add on arm64; the
  relocation pair in a .ko, the decoded instructions in vmlinux).
- through the initcall table (built in): __<name>_init, by its initcall
  entry.

The table and field a pointer sits in come from the layout probe
(tests/probes/module_layout.c compiled for the same kernel), which gives
the offset of every function-pointer field of the ops tables C calls
drivers through; the holding data symbol and the offset in it pick the
field. Functions that only Rust calls through a pointer (the methods of
core's traits in a `dyn Trait` vtable, drop glue) are not entries.
"""

import dataclasses
import re
import shutil
import struct
import subprocess
from typing import Dict, List, Optional, Tuple

from ferro import elf, inspect

SHT_PROGBITS = 1
SHF_EXECINSTR = 4
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3

# arm64 relocations that take a function's address in code: the low 12
# bits of an adrp + add pair, or a single adr.
ADDRESS_TAKEN = {277: 'add', 274: 'adr'}

# Per machine (EM_AARCH64, EM_X86_64), the relocation a relocatable vmlinux
# applies to itself at boot (B + A): R_AARCH64_RELATIVE, R_X86_64_RELATIVE.
RELATIVE = {183: 1027, 62: 8}

# Sections whose references to code are not calls from C: the kernel's
# own bookkeeping of the code (jump labels, bug sites, exception fixups,
# patch sites), never a pointer C calls through.
NOT_CALLS = re.compile(r'^(__jump_table|__bug_table|__ex_table|\.altinstructions|'
		       r'__patchable_function_entries|\.kcfi_traps|__mcount_loc|\.eh_frame|'
		       r'\.debug|\.note|\.comment|\.BTF)')

# Functions that only Rust calls through a pointer: drop glue and the
# methods of the standard library's traits (a `dyn Write` vtable's
# write_char, a format argument's Display::fmt).
RUST_ONLY = re.compile(r'^(core::ptr::drop_in_place|<.* as (core|alloc|kernel::fmt)::[\w:]+>::\w+$)')


@dataclasses.dataclass
class Entry:
	"""One function C can call, and where C finds it."""
	symbol: str		# as in the symbol table (v0-mangled for Rust)
	name: str		# demangled, crate disambiguators dropped
	section: str		# of the function
	address: int		# in vmlinux; the offset in its section in a .ko
	table: str = ''		# "struct phy_driver", or "" when not known
	field: str = ''		# "read_status"
	holder: str = ''	# the data symbol, or what stores it
	how: str = 'pointer'	# pointer | run time | initcall
	aliases: List[str] = dataclasses.field(default_factory=list)

	@property
	def slot(self) -> str:
		"""table.field, or what is known of it."""
		if self.table:
			return f'{self.table}.{self.field}'
		if self.how == 'initcall':
			return self.holder
		return f'(set at run time in {self.holder})' if self.how == 'run time' \
			else f'(in {self.holder})'


class Layout:
	"""Sizes and function-pointer field offsets of the kernel's ops tables."""

	def __init__(self, probe: Optional[elf.Elf]):
		self.sizes: Dict[str, int] = {}
		self.fields: Dict[str, Dict[int, str]] = {}
		if probe is None:
			return
		for s in probe.symbols():
			m = re.fullmatch(r'ferro_sizeof__(\w+?)', s.name)
			if m:
				self.sizes[m.group(1)] = s.value
				continue
			m = re.fullmatch(r'ferro_offsetof__(\w+?)__(\w+)', s.name)
			if m:
				self.fields.setdefault(m.group(1), {})[s.value] = m.group(2)

	def place(self, holder_size: int, offsets: List[int], hint: str) -> str:
		"""The struct a data object of `holder_size` bytes is (or an array
		of), given the offsets in it that point at the driver's code:
		every one of them must be a function-pointer field of it. `hint`,
		the first function's name, settles a tie. '' when none fits."""
		found = [st for st, size in self.sizes.items()
			 if size and not holder_size % size and
			 all(o % size in self.fields.get(st, {}) for o in offsets)]
		return self._best(found, hint, holder_size)

	def field(self, st: str, offset: int) -> str:
		return self.fields[st][offset % self.sizes[st]]

	def _best(self, found: List[str], hint: str, holder_size: int = 0) -> str:
		if len(found) > 1:
			words = hint.lower()
			score = {st: (sum(w in words for w in st.split('_') if w != 'kernel'),
				      self.sizes[st] == holder_size)
				 for st in found}
			top = max(score.values())
			found = [st for st in found if score[st] == top]
		return found[0] if len(found) == 1 else ''

	def by_name(self, hint: str) -> Tuple[str, str]:
		"""(struct, field) when the holder is anonymous (a promoted constant):
		the field the function is named after (the kernel crate names its
		trampolines <field> or <field>_callback), in the struct whose name
		its path shares most words with."""
		last = re.sub(r'_callback$', '', hint.rsplit('::', 1)[-1])
		found = [st for st, fields in self.fields.items() if last in fields.values()]
		st = self._best(found, hint)
		return (f'struct {st}', last) if st else ('', '')


# Names already demangled: callers ask for one holder or frame at a time,
# and each miss costs a c++filt process.
_DEMANGLED: Dict[str, str] = {}


def demangle(names: List[str]) -> Dict[str, str]:
	"""Rust v0 and legacy names demangled by binutils (c++filt), with the
	crate disambiguators ("kernel[45a2...]") dropped; C names unchanged."""
	tool = shutil.which('aarch64-linux-gnu-c++filt') or shutil.which('c++filt')
	out = {n: _DEMANGLED.get(n, n) for n in names}
	rust = sorted({n for n in names if n.startswith(('_R', '_ZN')) and n not in _DEMANGLED})
	if not rust:
		return out
	if tool is None:
		raise elf.ElfError('c++filt (binutils) is needed to demangle Rust symbols')
	proc = subprocess.run([tool, '-s', 'rust'], input='\n'.join(rust) + '\n',
			      capture_output=True, text=True, check=True)
	for raw, text in zip(rust, proc.stdout.splitlines()):
		out[raw] = _DEMANGLED[raw] = re.sub(r'\[[0-9a-f]+\]', '', text)
	return out


def _function_index(e: elf.Elf, keep) -> Dict[Tuple[int, int], List[elf.Symbol]]:
	"""(section index, value) -> the function symbols there, for the
	functions `keep` accepts."""
	out: Dict[Tuple[int, int], List[elf.Symbol]] = {}
	for s in e.symbols():
		if s.type == STT_FUNC and 0 < s.shndx < len(e.sections) and keep(s):
			out.setdefault((s.shndx, s.value), []).append(s)
	for syms in out.values():
		syms.sort(key=lambda s: (s.bind != 1, s.name))	# global first
	return out


def _holder(e: elf.Elf, shndx: int, offset: int, kind: int = STT_OBJECT) -> Optional[elf.Symbol]:
	"""The symbol of type `kind` (a data object, or a function) of section
	`shndx` that contains `offset`."""
	best = None
	for s in e.symbols():
		if s.shndx == shndx and s.type == kind and s.size and \
		   s.value <= offset < s.value + s.size:
			if best is None or s.size > best.size:
				best = s
	return best


def _record(found: Dict[str, Entry], syms: List[elf.Symbol], e: elf.Elf, **kw) -> None:
	sym = syms[0]
	if sym.name in found:
		return
	found[sym.name] = Entry(symbol=sym.name, name=sym.name, section=e.section_of(sym) or '',
				address=sym.value, aliases=[s.name for s in syms[1:]], **kw)


def _finish(found: Dict[str, Entry], layout: Layout) -> List[Entry]:
	names = demangle(list(found))
	out = []
	for e in found.values():
		e.name = names[e.symbol]
		if RUST_ONLY.match(e.name):
			continue
		if e.how != 'initcall' and not e.table:
			e.table, e.field = layout.by_name(e.name)
		out.append(e)
	order = {'initcall': 0, 'pointer': 1, 'run time': 2}
	return sorted(out, key=lambda e: (order[e.how], e.table == '', e.table, e.field, e.name))


def _describe_holder(e: elf.Elf, sec: elf.Section, holder: Optional[elf.Symbol],
		     offset: int) -> str:
	if holder is None:
		return f'{sec.name}+{offset:#x}'
	names = demangle([holder.name])
	return f'{names[holder.name]}+{offset - holder.value:#x}'


def _place_all(e: elf.Elf, layout: Layout, pointers: Dict, found: Dict[str, Entry]) -> None:
	"""Record the pointers found in each data object, naming the struct it
	is from all of them at once. Offsets are section offsets in a .ko,
	addresses in vmlinux (a holder's value is the same kind)."""
	for target, holder, ptrs in pointers.values():
		st = ''
		if holder is not None:
			first = ptrs[0][1][0].name
			st = layout.place(holder.size, [o - holder.value for o, _ in ptrs],
					  demangle([first])[first])
		for where, syms in ptrs:
			field = layout.field(st, where - holder.value) if st and holder else ''
			rel = where - (0 if holder is not None or not target.addr else target.addr)
			_record(found, syms, e, table=f'struct {st}' if st else '', field=field,
				holder=_describe_holder(e, target, holder, rel))


def module_entries(e: elf.Elf, layout: Layout) -> List[Entry]:
	"""The entries of a relocatable object (.ko or .o), from its relocations."""
	exec_secs = {s.index for s in e.sections if s.flags & SHF_EXECINSTR}
	funcs = _function_index(e, lambda s: s.shndx in exec_secs)
	abs64 = e.abs64_type()
	found: Dict[str, Entry] = {}
	pointers: Dict[Tuple[int, int], Tuple[elf.Section, Optional[elf.Symbol], List]] = {}
	runtime: List[Tuple[List[elf.Symbol], str]] = []
	for rs in e.sections:
		if rs.type != elf.SHT_RELA or not 0 < rs.info < len(e.sections):
			continue
		target = e.sections[rs.info]
		if not target.flags & elf.SHF_ALLOC or NOT_CALLS.match(target.name):
			continue
		in_code = bool(target.flags & SHF_EXECINSTR)
		for r in e.relocations(target.name):
			if (in_code and r.type not in ADDRESS_TAKEN) or (not in_code and r.type != abs64):
				continue
			sym = r.symbol
			if sym.shndx not in exec_secs:
				continue
			if sym.type == STT_FUNC and r.addend:
				continue	# inside a function, not its start
			key = (sym.shndx, sym.value + (r.addend if sym.type == STT_SECTION else 0))
			syms = funcs.get(key)
			if not syms or sym.type not in (STT_FUNC, STT_SECTION):
				continue
			if in_code:
				caller = _holder(e, target.index, r.offset, STT_FUNC)
				if caller and caller.name == syms[0].name:
					continue	# a function's own address
				runtime.append((syms, demangle([caller.name])[caller.name] if caller
						else f'{target.name}+{r.offset:#x}'))
				continue
			holder = _holder(e, target.index, r.offset)
			key2 = (target.index, holder.value if holder else r.offset)
			pointers.setdefault(key2, (target, holder, []))[2].append((r.offset, syms))
	_place_all(e, layout, pointers, found)
	for syms, where in runtime:
		_record(found, syms, e, how='run time', holder=where)
	return _finish(found, layout)


def _crate_pattern(module: str) -> re.Pattern:
	"""A v0 symbol that names crate `module` anywhere in its path or
	generic arguments: a crate root C[s<disambiguator>_]<len><name>."""
	return re.compile(rf'C(s[0-9a-zA-Z]*_)?{len(module)}{module}')


def _adrp_add_targets(code: bytes, pc: int) -> List[int]:
	"""Addresses formed by adrp + add (64-bit, immediate) pairs in arm64 code."""
	pages: Dict[int, int] = {}
	out = []
	for i, (insn,) in enumerate(struct.iter_unpack('<I', code[:len(code) // 4 * 4])):
		rd = insn & 31
		if insn & 0x9f000000 == 0x90000000:		# adrp Xd, page
			imm = ((insn >> 29) & 3) | (((insn >> 5) & 0x7ffff) << 2)
			if imm & (1 << 20):
				imm -= 1 << 21
			pages[rd] = ((pc + 4 * i) & ~0xfff) + (imm << 12)
			continue
		if insn & 0xffc00000 == 0x91000000:		# add Xd, Xn, #imm12
			rn = (insn >> 5) & 31
			if rn in pages:
				out.append(pages[rn] + ((insn >> 10) & 0xfff))
		# Any other write of Xd (or the add's) leaves no page in it. Stores
		# and branches name no destination here, but dropping a page too
		# often only misses a pair, never invents one.
		pages.pop(rd, None)
	return out


def builtin_entries(e: elf.Elf, module: str, layout: Layout) -> List[Entry]:
	"""The entries of built-in module `module` in a linked vmlinux: the
	words of its data sections that hold the address of one of the
	module's functions, the addresses its code takes, and its initcall."""
	crate = _crate_pattern(module)
	own = {f'__{module}_init', f'__{module}_exit'}
	funcs = _function_index(e, lambda s: s.name in own or bool(crate.search(s.name)))
	by_addr: Dict[int, List[elf.Symbol]] = {}
	for (_, addr), syms in funcs.items():
		by_addr.setdefault(addr, []).extend(syms)
	found: Dict[str, Entry] = {}
	init = e.symbol(f'__{module}_init')
	call = e.symbol(f'__{module}_initcall')
	if init and call:
		level = None
		target = call.value + struct.unpack('<i', e.read(call.value, 4))[0]
		if target == init.value:
			level = inspect.initcall_level(e, call.value)
		_record(found, [init], e, how='initcall',
			holder=f'initcall level {level}' if level else f'{call.name} (unresolved)')
	data = [s for s in e.sections if s.flags & elf.SHF_ALLOC and s.type == SHT_PROGBITS
		and not s.flags & SHF_EXECINSTR and not NOT_CALLS.match(s.name)
		and not s.name.startswith('.initcall')]
	pointers: Dict[Tuple[int, int], Tuple[elf.Section, Optional[elf.Symbol], List]] = {}
	syms_by_sec: Dict[int, List[elf.Symbol]] = {}
	for s in e.symbols():
		if s.type == STT_OBJECT and s.size:
			syms_by_sec.setdefault(s.shndx, []).append(s)
	def note(sec: elf.Section, where: int, syms: List[elf.Symbol]) -> None:
		holder = next((s for s in syms_by_sec.get(sec.index, [])
			       if s.value <= where < s.value + s.size), None)
		ptrs = pointers.setdefault((sec.index, holder.value if holder else where),
					   (sec, holder, []))[2]
		if (where, syms) not in ptrs:
			ptrs.append((where, syms))

	for sec in data:
		raw = e.data[sec.offset:sec.offset + sec.size]
		start = (-sec.addr) % 8
		for i, (word,) in enumerate(struct.iter_unpack('<Q', raw[start:start + (len(raw) - start)
									 // 8 * 8])):
			if word in by_addr:
				note(sec, sec.addr + start + 8 * i, by_addr[word])
	# A relocatable kernel may leave a pointer's word empty in the file and
	# keep its value in a RELATIVE dynamic relocation (applied at boot).
	for rs in e.sections:
		if rs.type != elf.SHT_RELA or not rs.flags & elf.SHF_ALLOC:
			continue
		for i in range(rs.size // 24):
			off, info, addend = struct.unpack_from('<QQQ', e.data, rs.offset + 24 * i)
			if info & 0xffffffff == RELATIVE.get(e.machine) and addend in by_addr:
				sec = next((s for s in data if s.addr <= off < s.addr + s.size), None)
				if sec is not None:
					note(sec, off, by_addr[addend])
	_place_all(e, layout, pointers, found)
	for syms in by_addr.values():
		f = syms[0]
		code = e.read(f.value, f.size) if f.size else b''
		for target in _adrp_add_targets(code, f.value):
			if target in by_addr and target != f.value:
				_record(found, by_addr[target], e, how='run time',
					holder=demangle([f.name])[f.name])
	return _finish(found, layout)


def entries(e: elf.Elf, layout: Layout, module: Optional[str] = None) -> List[Entry]:
	"""module_entries() of a .ko or .o; builtin_entries() of vmlinux, for
	`module` or every Ferro module built into it."""
	if e.type == 1:		# ET_REL
		return module_entries(e, layout)
	names = [module] if module else inspect.module_names(e)
	out = []
	for name in names:
		out.extend(builtin_entries(e, name, layout))
	return out


def render(path: str, found: List[Entry], mangled: bool = True) -> str:
	"""The entries as ferro-inspect --entries prints them."""
	lines = [f'{path}: {len(found)} entries C can call']
	width = max([len(e.slot) for e in found] + [10])
	for e in found:
		lines.append(f'  {e.slot:{width}}  {e.name}  [{e.section}]')
		if mangled and e.symbol != e.name:
			lines.append(f'  {"":{width}}  {e.symbol}')
		if e.how == 'run time' and e.table:
			lines.append(f'  {"":{width}}  (set at run time in {e.holder})')
		elif e.how == 'pointer' and not e.table:
			lines.append(f'  {"":{width}}  (table not known to the layout probe)')
	return '\n'.join(lines) + '\n'
