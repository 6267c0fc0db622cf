# SPDX-License-Identifier: GPL-2.0
"""A small reader for 64-bit little-endian ELF files (vmlinux, .ko, .o).

Enough of the format to answer Ferro's questions about a build: which
section a symbol lives in, what a relocation points at, what bytes sit at
an address. Standard library only, so it runs wherever the tests run.
"""

import dataclasses
import struct
from typing import Dict, List, Optional

SHT_SYMTAB = 2
SHT_NOBITS = 8
SHF_ALLOC = 2
SHT_RELA = 4
SHN_UNDEF = 0
SHN_ABS = 0xfff1

# ELF machines (e_machine).
EM_AARCH64 = 183
EM_X86_64 = 62

# Per machine, the relocation type that stores a symbol's address (S + A)
# in a pointer field: R_AARCH64_ABS64, R_X86_64_64.
ABS64_TYPE = {EM_AARCH64: 257, EM_X86_64: 1}


class ElfError(Exception):
	pass


@dataclasses.dataclass
class Section:
	index: int
	name: str
	type: int
	flags: int
	addr: int
	offset: int
	size: int
	link: int
	info: int
	entsize: int


@dataclasses.dataclass
class Symbol:
	name: str
	value: int
	size: int
	bind: int
	type: int
	shndx: int


@dataclasses.dataclass
class Reloc:
	offset: int
	symbol: Symbol
	type: int
	addend: int


class Elf:
	"""An ELF64 little-endian file, read whole into memory."""

	def __init__(self, path: str):
		self.path = path
		with open(path, 'rb') as f:
			self.data = f.read()
		d = self.data
		if d[:4] != b'\x7fELF':
			raise ElfError(f'{path}: not an ELF file')
		if d[4] != 2 or d[5] != 1:
			raise ElfError(f'{path}: only 64-bit little-endian ELF is supported')
		try:
			self._parse_sections()
		except (struct.error, IndexError, ValueError) as e:
			raise ElfError(f'{path}: truncated or corrupt ELF ({e})') from None
		self._symbols: Optional[List[Symbol]] = None

	def _parse_sections(self) -> None:
		d = self.data
		(self.type, self.machine, _, _, _, shoff, _, _, _, _, shentsize, shnum,
		 shstrndx) = struct.unpack_from('<HHIQQQIHHHHHH', d, 16)
		self.sections: List[Section] = []
		raw = [struct.unpack_from('<IIQQQQIIQQ', d, shoff + i * shentsize) for i in range(shnum)]
		strtab = raw[shstrndx]
		for i, (name, typ, flags, addr, off, size, link, info, _align, entsize) in enumerate(raw):
			if off + (size if typ != SHT_NOBITS else 0) > len(d):
				raise ValueError(f'section {i} extends past the end of the file')
			self.sections.append(Section(i, self._str(strtab[4], name), typ, flags, addr, off,
						     size, link, info, entsize))

	def _str(self, table_offset: int, index: int) -> str:
		end = self.data.index(b'\0', table_offset + index)
		return self.data[table_offset + index:end].decode('utf-8', 'replace')

	def section(self, name: str) -> Optional[Section]:
		return next((s for s in self.sections if s.name == name), None)

	def symbols(self) -> List[Symbol]:
		if self._symbols is None:
			symtab = next((s for s in self.sections if s.type == SHT_SYMTAB), None)
			if symtab is None:
				raise ElfError(f'{self.path}: no symbol table')
			strtab = self.sections[symtab.link]
			out = []
			for i in range(symtab.size // 24):
				name, info, _other, shndx, value, size = struct.unpack_from(
					'<IBBHQQ', self.data, symtab.offset + i * 24)
				out.append(Symbol(self._str(strtab.offset, name), value, size,
						  info >> 4, info & 0xf, shndx))
			self._symbols = out
		return self._symbols

	def symbol(self, name: str) -> Optional[Symbol]:
		"""The defined symbol of that name (undefined ones are skipped)."""
		return next((s for s in self.symbols() if s.name == name and s.shndx != SHN_UNDEF),
			    None)

	def section_of(self, sym: Symbol) -> Optional[str]:
		if sym.shndx == SHN_ABS:
			return '*ABS*'
		if 0 < sym.shndx < len(self.sections):
			return self.sections[sym.shndx].name
		return None

	def relocations(self, target: str) -> List[Reloc]:
		"""The RELA relocations that apply to section `target`."""
		syms = self.symbols()
		out = []
		for s in self.sections:
			if s.type != SHT_RELA or self.sections[s.info].name != target:
				continue
			for i in range(s.size // 24):
				off, info, addend = struct.unpack_from('<QQq', self.data, s.offset + i * 24)
				out.append(Reloc(off, syms[info >> 32], info & 0xffffffff, addend))
		return out

	def abs64_type(self) -> int:
		"""The relocation type that fills a pointer with S + A on this machine."""
		if self.machine not in ABS64_TYPE:
			raise ElfError(f'{self.path}: unsupported machine {self.machine}')
		return ABS64_TYPE[self.machine]

	def read(self, addr: int, size: int) -> bytes:
		"""Bytes at a virtual address of a linked image (vmlinux)."""
		for s in self.sections:
			if s.addr and s.addr <= addr and addr + size <= s.addr + s.size and s.type != SHT_NOBITS:
				start = s.offset + addr - s.addr
				return self.data[start:start + size]
		raise ElfError(f'{self.path}: address {addr:#x} is in no section with contents')

	def symbols_in(self, section: str) -> Dict[str, Symbol]:
		idx = self.section(section)
		if idx is None:
			return {}
		return {s.name: s for s in self.symbols() if s.shndx == idx.index}


def alloc_sizes(e: Elf) -> Dict[str, int]:
	"""Bytes of the loaded image by kind: text, rodata, data, bss, init, other."""
	out = {k: 0 for k in ('text', 'rodata', 'data', 'bss', 'init', 'other')}
	for s in e.sections:
		if not s.flags & SHF_ALLOC:
			continue
		n = s.name
		if n.startswith(('.init', '.exit')):
			out['init'] += s.size
		elif n.startswith('.text'):
			out['text'] += s.size
		elif n.startswith('.rodata'):
			out['rodata'] += s.size
		elif n.startswith('.bss') or s.type == SHT_NOBITS:
			out['bss'] += s.size
		elif n.startswith('.data'):
			out['data'] += s.size
		else:
			out['other'] += s.size
	return out
