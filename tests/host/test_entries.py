# SPDX-License-Identifier: GPL-2.0
"""ferro-inspect --entries against binutils on the real builds.

The functions C can call are found a second way, from readelf's and nm's
text output (relocations in the data sections of a .ko; RELATIVE dynamic
relocations of vmlinux, whose addends are the pointers), and must be the
same set. The tables and fields come from the layout probe compiled for
that kernel; the few asserted by name are the callbacks the drivers'
sources implement.
"""

import os
import re
import subprocess
import unittest

from tests.host.common import TOP, build_dir
from ferro import elf, entries, kbuild

# Sections whose references to code are the kernel's bookkeeping, not
# pointers C calls through (written out here, not taken from entries.py).
BOOKKEEPING = ('__jump_table', '__bug_table', '__ex_table', '.altinstructions',
	       '__patchable_function_entries', '.kcfi_traps', '__mcount_loc', '.eh_frame',
	       '.debug', '.note', '.comment', '.BTF')

FERRO = ['drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko',
	 'drivers/ferro/drivers/cpufreq/ferro_cpufreq.ko',
	 'drivers/ferro/drivers/phy/ferro_phy.ko',
	 'drivers/ferro/drivers/null/ferro_null.ko']
IN_TREE = ['drivers/block/rnull/rnull_mod.ko', 'drivers/net/phy/qt2025.ko']

# Slots the sources fill: (object, table.field) pairs.
KNOWN = {
	'ferro_null.ko': ['struct blk_mq_ops.queue_rq', 'struct blk_mq_ops.complete',
			  'struct configfs_group_operations.make_group', 'struct module.init'],
	'ferro_phy.ko': ['struct phy_driver.probe', 'struct phy_driver.read_status'],
	'ferro_cpufreq.ko': ['struct cpufreq_driver.target_index', 'struct platform_driver.probe'],
	'ferro_lifecycle.ko': ['struct file_operations.open', 'struct module.exit'],
	'rnull_mod.ko': ['struct blk_mq_ops.queue_rq', 'struct module.init'],
	'qt2025.ko': ['struct phy_driver.probe', 'struct phy_driver.read_status'],
}


def run(*cmd: str) -> str:
	return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def readelf_sections(path: str):
	"""index -> (name, flags) from readelf -SW."""
	out = {}
	for m in re.finditer(r'^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+[0-9a-f]+'
			     r'\s+[0-9a-f]+\s+([A-Za-z]*)', run('aarch64-linux-gnu-readelf', '-SW', path),
			     re.M):
		out[int(m.group(1))] = (m.group(2), m.group(3))
	return out


def readelf_functions(path: str):
	"""(section index, value) -> names of FUNC symbols, from readelf -sW."""
	out = {}
	for line in run('aarch64-linux-gnu-readelf', '-sW', path).splitlines():
		f = line.split()
		if len(f) == 8 and f[3] == 'FUNC' and f[6].isdigit():
			out.setdefault((int(f[6]), int(f[1], 16)), []).append(f[7])
	return out


def binutils_entries_ko(path: str):
	"""Functions of the .ko that an R_AARCH64_ABS64 in a data section, or
	an address-taking add in code, points at."""
	secs = readelf_sections(path)
	funcs = readelf_functions(path)
	by_name = {n: k for k, names in funcs.items() for n in names}
	sec_index = {name: i for i, (name, _) in secs.items()}
	found = set()
	target = None
	for line in run('aarch64-linux-gnu-readelf', '-rW', path).splitlines():
		m = re.match(r"Relocation section '\.rela(\S+)'", line)
		if m:
			name = m.group(1)
			flags = secs[sec_index[name]][1] if name in sec_index else ''
			skip = name.startswith(BOOKKEEPING) or 'A' not in flags
			target = None if skip else ('code' if 'X' in flags else 'data')
			continue
		f = line.split()
		if target is None or len(f) < 7 or not re.fullmatch(r'[0-9a-f]{16}', f[0]):
			continue
		kind, sym, addend = f[2], f[4], int(f[6], 16) if f[5] == '+' else -int(f[6], 16)
		if not ((target == 'data' and kind == 'R_AARCH64_ABS64') or
			(target == 'code' and kind in ('R_AARCH64_ADD_ABS_LO12_NC',
						       'R_AARCH64_ADR_PREL_LO21'))):
			continue
		if sym in sec_index and 'X' in secs[sec_index[sym]][1]:
			key = (sec_index[sym], addend)
		elif sym in by_name and addend == 0:
			key = by_name[sym]
		else:
			continue
		if key in funcs:
			found.add(key)
	return found, funcs


def keep(funcs, found):
	"""The found functions that are not Rust-only (drop glue, core trait
	methods), as sets of symbol names."""
	out = []
	all_names = [n for k in found for n in funcs[k]]
	plain = entries.demangle(all_names)
	for k in found:
		if not any(entries.RUST_ONLY.match(plain[n]) for n in funcs[k]):
			out.append(frozenset(funcs[k]))
	return set(out)


class Modules(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.build = build_dir('m')
		cls.layout = entries.Layout(elf.Elf(kbuild.layout_probe(cls.build)))

	def check(self, rel: str):
		path = os.path.join(self.build, rel)
		if not os.path.exists(path):
			self.fail(f'{rel} was not built (the kernel config builds it)')
		got = entries.entries(elf.Elf(path), self.layout)
		found, funcs = binutils_entries_ko(path)
		want = keep(funcs, found)
		got_sets = {frozenset([e.symbol] + e.aliases) for e in got}
		self.assertEqual(got_sets, want, f'{rel}: ferro-inspect and readelf disagree')
		slots = {e.slot for e in got}
		for slot in KNOWN[os.path.basename(rel)]:
			self.assertIn(slot, slots, f'{rel}: no entry in {slot}')
		for e in got:
			if e.symbol.startswith('_R'):
				self.assertNotIn('_R', e.name, f'{e.symbol} not demangled')

	def test_ferro_modules(self):
		for rel in FERRO:
			with self.subTest(ko=rel):
				self.check(rel)

	def test_in_tree_rust_modules(self):
		for rel in IN_TREE:
			with self.subTest(ko=rel):
				self.check(rel)

	def test_cli(self):
		ko = os.path.join(self.build, FERRO[3])
		out = run(os.path.join(TOP, 'scripts', 'ferro-inspect'), '--entries',
			  '--kernel', self.build, ko)
		self.assertIn('struct blk_mq_ops.queue_rq', out)
		self.assertIn('<kernel::block::mq::operations::OperationsVTable<ferro_null::NullOps>>'
			      '::queue_rq_callback', out)
		self.assertRegex(out, r'\n\s+_RNv\S*queue_rq_callback')


class BuiltIn(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		cls.build = build_dir('y')
		cls.layout = entries.Layout(elf.Elf(kbuild.layout_probe(cls.build)))
		cls.vmlinux = os.path.join(cls.build, 'vmlinux')

	def test_pointers_match_dynamic_relocations(self):
		"""Every pointer entry is an addend of a RELATIVE relocation in
		readelf -r, at the address nm gives its function; and every such
		addend that is a Ferro function is an entry."""
		e = elf.Elf(self.vmlinux)
		nm = {}
		for line in run('aarch64-linux-gnu-nm', self.vmlinux).splitlines():
			f = line.split()
			if len(f) == 3 and f[1] in 'tT':
				nm.setdefault(int(f[0], 16), []).append(f[2])
		addends = set()
		for line in run('aarch64-linux-gnu-readelf', '-rW', self.vmlinux).splitlines():
			f = line.split()
			if len(f) == 4 and f[2] == 'R_AARCH64_RELATIVE':
				addends.add(int(f[-1], 16) & 0xffffffffffffffff)
		got = entries.entries(e, self.layout)
		self.assertTrue(got)
		mods = ('ferro_lifecycle', 'ferro_cpufreq', 'ferro_phy', 'ferro_null')
		for name in mods:
			mine = [x for x in got if x.how == 'pointer' and
				(entries._crate_pattern(name).search(x.symbol))]
			want = set()
			for a in addends:
				names = nm.get(a, [])
				if any(entries._crate_pattern(name).search(n) for n in names):
					plain = entries.demangle(names)
					if not any(entries.RUST_ONLY.match(plain[n]) for n in names):
						want.add(a)
			with self.subTest(module=name):
				self.assertEqual({x.address for x in mine}, want)
				for x in mine:
					self.assertIn(x.symbol, nm.get(x.address, []))
		inits = {x.symbol for x in got if x.how == 'initcall'}
		self.assertEqual(inits, {f'__{m}_init' for m in mods})
		slots = {x.slot for x in got}
		for slot in ('struct blk_mq_ops.queue_rq', 'struct phy_driver.read_status',
			     'struct cpufreq_driver.target_index', 'struct file_operations.read_iter'):
			self.assertIn(slot, slots)


if __name__ == '__main__':
	unittest.main()
