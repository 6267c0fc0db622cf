# SPDX-License-Identifier: GPL-2.0
"""ELF facts of the two builds: how C finds the lifecycle probe's entry points.

Offsets come from the kernel that was built (tests/probes/module_layout.c,
compiled by that kernel's Kbuild), never from a number copied here.
"""

import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

from tests.host.common import TOP, build_dir
from ferro import elf
from ferro import kbuild
from ferro.inspect import referenced_by, render_rule, rule

KO = 'drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko'
BUILTIN_OBJ = 'drivers/ferro/drivers/lifecycle/ferro_lifecycle.o'


def layout(build: str) -> elf.Elf:
	"""tests/probes/module_layout.o built against `build`."""
	return elf.Elf(kbuild.layout_probe(build))


def config_has(build: str, line: str) -> bool:
	with open(os.path.join(build, '.config')) as f:
		return line in f.read().splitlines()


class LoadableModule(unittest.TestCase):
	"""FERRO_MODE=m: the .ko has init_module/cleanup_module wired into struct module."""

	@classmethod
	def setUpClass(cls):
		cls.build = build_dir('m')
		cls.ko = elf.Elf(os.path.join(cls.build, KO))
		cls.layout = layout(cls.build)

	def offset(self, name: str) -> int:
		sym = self.layout.symbol(name)
		self.assertIsNotNone(sym, f'{name} missing from module_layout.o')
		self.assertEqual(self.layout.section_of(sym), '*ABS*')
		return sym.value

	def test_init_module_in_init_text(self):
		sym = self.ko.symbol('init_module')
		self.assertIsNotNone(sym, 'init_module is not defined in the .ko')
		self.assertEqual(self.ko.section_of(sym), '.init.text')

	def test_cleanup_module_in_exit_text(self):
		sym = self.ko.symbol('cleanup_module')
		self.assertIsNotNone(sym, 'cleanup_module is not defined in the .ko')
		self.assertEqual(self.ko.section_of(sym), '.exit.text')

	def _this_module_reloc(self, target: str) -> elf.Reloc:
		relocs = [r for r in self.ko.relocations('.gnu.linkonce.this_module')
			  if r.symbol.name == target]
		self.assertEqual(len(relocs), 1,
				 f'expected one relocation against {target} in .gnu.linkonce.this_module')
		self.assertEqual(relocs[0].type, self.ko.abs64_type())
		self.assertEqual(relocs[0].addend, 0)
		return relocs[0]

	def test_this_module_init_points_at_init_module(self):
		reloc = self._this_module_reloc('init_module')
		self.assertEqual(reloc.offset, self.offset('ferro_offsetof_module_init'),
				 'the relocation is not at offsetof(struct module, init)')

	def test_this_module_exit_points_at_cleanup_module(self):
		reloc = self._this_module_reloc('cleanup_module')
		self.assertEqual(reloc.offset, self.offset('ferro_offsetof_module_exit'),
				 'the relocation is not at offsetof(struct module, exit)')

	def test_this_module_section_is_struct_module(self):
		sec = self.ko.section('.gnu.linkonce.this_module')
		self.assertIsNotNone(sec)
		self.assertEqual(sec.size, self.offset('ferro_sizeof_module'))

	def test_no_builtin_initcall(self):
		self.assertIsNone(self.ko.symbol('__ferro_lifecycle_initcall'))
		self.assertIsNone(self.ko.section('.initcall6.init'))
		# module! (rust/macros/module.rs) wires the exit in through
		# cleanup_module alone: no exitcall entry, loadable or not.
		self.assertIsNone(self.ko.section('.exitcall.exit'))


class BuiltIn(unittest.TestCase):
	"""FERRO_MODE=y: __ferro_lifecycle_init is reached from a level-6 initcall."""

	@classmethod
	def setUpClass(cls):
		cls.build = build_dir('y')
		cls.vmlinux = elf.Elf(os.path.join(cls.build, 'vmlinux'))
		cls.obj = elf.Elf(os.path.join(cls.build, BUILTIN_OBJ))
		with open(os.path.join(cls.build, 'System.map')) as f:
			cls.system_map = {line.split()[2]: (int(line.split()[0], 16), line.split()[1])
					  for line in f if len(line.split()) == 3}

	def test_init_in_system_map(self):
		self.assertIn('__ferro_lifecycle_init', self.system_map)
		addr, kind = self.system_map['__ferro_lifecycle_init']
		self.assertIn(kind, ('T', 't'), f'__ferro_lifecycle_init is of type {kind}, not text')
		self.assertEqual(addr, self.vmlinux.symbol('__ferro_lifecycle_init').value)

	def test_initcall_entry_in_initcall6(self):
		entry = self.vmlinux.symbol('__ferro_lifecycle_initcall')
		self.assertIsNotNone(entry, '__ferro_lifecycle_initcall missing from vmlinux')
		start = self.vmlinux.symbol('__initcall6_start').value
		end = self.vmlinux.symbol('__initcall7_start').value
		self.assertTrue(start <= entry.value < end,
				f'{entry.value:#x} is outside level 6 [{start:#x}, {end:#x})')

	def test_initcall_entry_resolves_to_init(self):
		entry = self.vmlinux.symbol('__ferro_lifecycle_initcall').value
		init = self.vmlinux.symbol('__ferro_lifecycle_init').value
		if config_has(self.build, 'CONFIG_HAVE_ARCH_PREL32_RELOCATIONS=y'):
			# initcall_entry_t is a 32-bit offset from the entry itself.
			target = entry + struct.unpack('<i', self.vmlinux.read(entry, 4))[0]
		else:
			target = struct.unpack('<Q', self.vmlinux.read(entry, 8))[0]
		self.assertEqual(target, init, f'initcall entry resolves to {target:#x}, not {init:#x}')

	def test_object_initcall_section(self):
		relocs = self.obj.relocations('.initcall6.init')
		self.assertEqual([r.symbol.name for r in relocs], ['__ferro_lifecycle_init'],
				 'ferro_lifecycle.o: .initcall6.init should point at __ferro_lifecycle_init')

	def test_init_is_not_init_text(self):
		# Linux 7.3's module! macro emits the built-in init without
		# #[link_section = ".init.text"], so it is never freed with init
		# memory (see Documentation/lifecycle.rst). If this fails, the
		# kernel crate changed and the documentation must follow.
		sym = self.obj.symbol('__ferro_lifecycle_init')
		self.assertTrue(self.obj.section_of(sym).startswith('.text'),
				f'__ferro_lifecycle_init is in {self.obj.section_of(sym)}')

	def test_exit_symbol_present(self):
		# Emitted by module!, but no initcall or exitcall table points at
		# it: Linux 7.3's module! (rust/macros/module.rs) emits no
		# __exitcall for built-in code, so the object has no .exitcall.exit
		# section at all, and no relocation in it names the exit. (C's
		# built-in module_exit() fills .exitcall.exit, which vmlinux's
		# DISCARDS drops: vmlinux has none either way.) If the first
		# assertion fails, module! now emits an exitcall: look at what
		# refers to it before changing this test.
		self.assertIsNotNone(self.vmlinux.symbol('__ferro_lifecycle_exit'))
		self.assertIsNone(self.obj.section('.exitcall.exit'),
				  'ferro_lifecycle.o has an .exitcall.exit section')
		# The scan sees references: the initcall entry's names the init.
		self.assertIn('.rela.initcall6.init', referenced_by(self.obj, '__ferro_lifecycle_init'))
		self.assertEqual(referenced_by(self.obj, '__ferro_lifecycle_exit'), [],
				 'relocation sections of ferro_lifecycle.o that name __ferro_lifecycle_exit')
		self.assertIsNone(self.vmlinux.section('.exitcall.exit'))

	def test_loadable_entry_points_absent(self):
		for name in ('init_module', 'cleanup_module'):
			self.assertIsNone(self.vmlinux.symbol(name),
					  f'{name} should not exist in a built-in kernel')


class Inspector(unittest.TestCase):
	"""scripts/ferro-inspect on both builds, and on inputs it must refuse."""

	def run_tool(self, *args, rc=0):
		p = subprocess.run([os.path.join(TOP, 'scripts', 'ferro-inspect'), *args],
				   capture_output=True, text=True)
		self.assertEqual(p.returncode, rc, p.stderr)
		return p.stdout + p.stderr

	def test_loadable(self):
		build = build_dir('m')
		out = self.run_tool('--kernel', build, os.path.join(build, KO))
		self.assertRegex(out, r'init +init_module +\.init\.text .*<- struct module '
				 r'\+0x[0-9a-f]+ \(\.init\)')
		self.assertRegex(out, r'exit +cleanup_module +\.exit\.text .*\(\.exit\)')
		self.assertIn('modinfo   parmtype=stack_depth:u32', out)
		# What runs them is a rule of the kernel source, shown as one.
		self.assertIn(f'{render_rule(rule("module-init"))}\n', out)
		self.assertIn(f'{render_rule(rule("module-exit"))}\n', out)
		self.assertNotIn(' runs ', out)

	def test_builtin(self):
		build = build_dir('y')
		out = self.run_tool(os.path.join(build, 'vmlinux'))
		self.assertRegex(out, r'initcall +__ferro_lifecycle_initcall +level 6 +'
				 r'-> __ferro_lifecycle_init\n')
		self.assertIn(f'{render_rule(rule("builtin-init"))}\n', out)
		self.assertIn(f'{render_rule(rule("builtin-exit"))}\n', out)
		out = self.run_tool(os.path.join(build, BUILTIN_OBJ))
		self.assertIn('referenced by nothing: no relocation in this object names it', out)
		self.assertIn('modinfo   file=drivers/ferro/drivers/lifecycle/ferro_lifecycle', out)

	def test_json(self):
		build = build_dir('y')
		facts = json.loads(self.run_tool('--json', os.path.join(build, 'vmlinux')))
		m = facts[0]['modules']['ferro_lifecycle']
		self.assertEqual(m['initcall']['resolves_to'], '__ferro_lifecycle_init')
		self.assertEqual(m['initcall']['level'], '6')
		self.assertEqual(m['init']['rule'], rule('builtin-init'))
		self.assertNotIn('referenced_by', m['exit'], 'vmlinux keeps no relocations to scan')

	def test_layout_option(self):
		build = build_dir('m')
		out = self.run_tool('--layout', layout(build).path, os.path.join(build, KO))
		self.assertIn('(.init)', out)

	def test_not_a_kernel_build(self):
		with tempfile.TemporaryDirectory() as d:
			out = self.run_tool('--kernel', d, os.path.join(build_dir('m'), KO), rc=1)
		self.assertIn('is not a configured kernel build', out)

	def test_not_elf(self):
		out = self.run_tool(__file__, rc=1)
		self.assertIn('not an ELF file', out)

	def test_not_a_kernel_object(self):
		out = self.run_tool(sys.executable, rc=1)
		self.assertIn('not a kernel object', out)

	def test_truncated(self):
		with open(os.path.join(build_dir('m'), KO), 'rb') as f:
			head = f.read(4096)
		with tempfile.NamedTemporaryFile(suffix='.ko') as t:
			t.write(head)
			t.flush()
			out = self.run_tool(t.name, rc=1)
		self.assertIn('truncated or corrupt ELF', out)

	def test_32bit(self):
		with tempfile.NamedTemporaryFile(suffix='.ko') as t:
			t.write(b'\x7fELF\x01\x01\x01' + bytes(57))
			t.flush()
			out = self.run_tool(t.name, rc=1)
		self.assertIn('only 64-bit little-endian ELF', out)


if __name__ == '__main__':
	unittest.main()
