# SPDX-License-Identifier: GPL-2.0
"""Calls to Rust's panic entry points in a kernel Rust module (.ko).

A panic in a driver callback is an oops in the kernel: an index out of
bounds, a division by zero, an `unwrap` of `None`. Every such site
compiles to a direct call (or tail call) to a function of `core`'s panic
machinery, which the .ko imports by name, so the relocations of its code
list them all. This module finds, for each of the module's own functions
(its crate's, not the kernel crate's generics instantiated in it) the
panic entry points it calls, and whether C can reach it: from an entry
point (entries.py) or any function whose address the module takes,
through direct calls. KUnit test code (`::tests::`) may panic: its
assertions are how KUnit fails a test.
"""

import dataclasses
import re
from typing import Dict, List, Optional, Set

from ferro import elf, entries, inspect

# Direct and tail calls: R_AARCH64_CALL26, R_AARCH64_JUMP26;
# R_X86_64_PLT32, R_X86_64_PC32 (a call's target on x86-64).
CALLS = {183: (283, 282), 62: (4, 2)}

# Where a panic starts, demangled (crate disambiguators dropped).
PANIC = re.compile(r'^(core::panicking::|core::slice::index::\w*fail|core::str::slice_error_fail|'
		   r'core::option::(unwrap|expect)_failed|core::result::unwrap_failed|'
		   r'core::cell::panic_already|core::char::methods::encode_utf8_raw::do_panic|'
		   r'core::num::from_ascii_radix_panic|'
		   r'rust_begin_unwind$|__rust_start_panic$)')

TEST_CODE = re.compile(r'::tests::|::kunit_rust_wrapper_|kunit_suite')


@dataclasses.dataclass
class Site:
	"""A function of the module's crate that calls a panic entry point."""
	function: str		# demangled
	calls: List[str]	# the panic entry points, demangled
	own: bool		# the crate's code, not a kernel-crate generic
	reachable: bool		# from an entry or an address-taken function
	via: List[str]		# the call path from there, outermost first
	test: bool		# KUnit test code


def _crate(e: elf.Elf) -> str:
	"""The module's crate: the name of its `.modinfo` "name=" entry."""
	names = inspect.modinfo(e).get('name')
	if not names:
		raise elf.ElfError(f'{e.path}: no module name in .modinfo (is it a .ko?)')
	return names[0]


def _own(name: str, crate: str) -> bool:
	return name.lstrip('<').startswith(f'{crate}::')


def _local_branches(e: elf.Elf, exec_secs: Set[int], funcs: Dict) -> List:
	"""arm64 BL and B instructions whose target the assembler resolved
	(a function of the same section: no relocation is left for them)."""
	out = []
	for shndx in exec_secs:
		sec = e.sections[shndx]
		starts = sorted((v, f) for (i, v), f in funcs.items() if i == shndx)
		for n, (start, f) in enumerate(starts):
			end = start + f.size if f.size else (starts[n + 1][0] if n + 1 < len(starts)
							      else sec.size)
			code = e.data[sec.offset + start:sec.offset + end]
			for at in range(0, len(code) - 3, 4):
				word = int.from_bytes(code[at:at + 4], 'little')
				if word & 0x7c000000 != 0x14000000:	# B, BL
					continue
				imm = word & 0x3ffffff
				if imm == 0:
					continue	# relocated: the relocation names the target
				imm = imm - (1 << 26) if imm & (1 << 25) else imm
				dst = funcs.get((shndx, start + at + imm * 4))
				if dst is not None and dst is not f:
					out.append((f.name, dst.name))
	return out


def graph(e: elf.Elf):
	"""The .ko's call graph: (demangled names, direct calls by caller,
	functions whose address is taken), all by symbol name."""
	if e.machine not in CALLS:
		raise elf.ElfError(f'{e.path}: unsupported machine {e.machine}')
	call_types = CALLS[e.machine]
	exec_secs = {s.index for s in e.sections if s.flags & entries.SHF_EXECINSTR}
	funcs = {}
	for s in e.symbols():
		if s.type == entries.STT_FUNC and s.shndx in exec_secs:
			funcs.setdefault((s.shndx, s.value), s)
	names = entries.demangle(sorted({s.name for s in e.symbols()
					 if s.type == entries.STT_FUNC or s.shndx == elf.SHN_UNDEF}))

	def target(r: elf.Reloc) -> Optional[str]:
		sym = r.symbol
		if sym.type == entries.STT_SECTION:
			f = funcs.get((sym.shndx, r.addend + 4 if e.machine == 62 else r.addend))
			return f.name if f else None
		return sym.name or None

	calls: Dict[str, Set[str]] = {}
	taken: Set[str] = set()
	for rs in e.sections:
		if rs.type != elf.SHT_RELA or not 0 < rs.info < len(e.sections):
			continue
		sec = e.sections[rs.info]
		if not sec.flags & elf.SHF_ALLOC or entries.NOT_CALLS.match(sec.name):
			continue
		code = rs.info in exec_secs
		for r in e.relocations(sec.name):
			callee = target(r)
			if callee is None:
				continue
			if code and r.type in call_types:
				caller = entries._holder(e, sec.index, r.offset, entries.STT_FUNC)
				if caller is not None:
					calls.setdefault(caller.name, set()).add(callee)
			elif r.symbol.shndx in exec_secs:
				taken.add(callee)
	if e.machine == 183:
		for caller, callee in _local_branches(e, exec_secs, funcs):
			calls.setdefault(caller, set()).add(callee)
	return names, calls, taken


def reachable(e: elf.Elf) -> Dict[str, List[str]]:
	"""Every function C can reach outside KUnit test code, by symbol name:
	its call path from an entry or an address-taken function (names)."""
	return _paths(*graph(e))


def _paths(names: Dict[str, str], calls: Dict[str, Set[str]], taken: Set[str]) -> Dict[str, List[str]]:
	roots = {n for n in taken if not TEST_CODE.search(names.get(n, n))}
	via: Dict[str, List[str]] = {r: [r] for r in roots}
	todo = sorted(roots)
	while todo:
		fn = todo.pop()
		for callee in sorted(calls.get(fn, ())):
			if callee not in via and not TEST_CODE.search(names.get(callee, callee)):
				via[callee] = via[fn] + [callee]
				todo.append(callee)
	return via


def _from_tests(names: Dict[str, str], calls: Dict[str, Set[str]]) -> Set[str]:
	"""Every function that KUnit test code calls, directly or through
	others."""
	seen = {fn for fn in calls if TEST_CODE.search(names.get(fn, fn))}
	todo = sorted(seen)
	while todo:
		for callee in sorted(calls.get(todo.pop(), ())):
			if callee not in seen:
				seen.add(callee)
				todo.append(callee)
	return seen


def sites(e: elf.Elf) -> List[Site]:
	"""Every function of the .ko that calls a panic entry point: the crate's
	own, and the generic code of other crates (kernel, core) instantiated
	for it. Generic code that only KUnit tests reach counts as test code."""
	crate = _crate(e)
	names, calls, taken = graph(e)
	via = _paths(names, calls, taken)
	tests = _from_tests(names, calls)
	out = []
	for fn, callees in sorted(calls.items()):
		name = names.get(fn, fn)
		panics = sorted({names.get(c, c) for c in callees if PANIC.match(names.get(c, c))})
		if not panics or PANIC.match(name):
			continue
		own = _own(name, crate)
		test = bool(TEST_CODE.search(name)) or (not own and fn not in via and fn in tests)
		out.append(Site(name, panics, own, fn in via, [names.get(n, n) for n in via.get(fn, [])],
				test))
	return out


def render(path: str, found: List[Site]) -> str:
	lines = [f'{path}: {sum(not s.test for s in found)} function(s) outside KUnit tests '
		 'call a panic entry point']
	for s in found:
		kind = 'test' if s.test else ('reachable' if s.reachable else 'unreached')
		lines.append(f'  {kind:9} {"own" if s.own else "generic":7} {s.function}')
		for c in s.calls:
			lines.append(f'                      -> {c}')
		if s.reachable and len(s.via) > 1:
			lines.append('                      via ' + ' > '.join(s.via[:-1]))
	return '\n'.join(lines) + '\n'
