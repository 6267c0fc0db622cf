# SPDX-License-Identifier: GPL-2.0
"""Source rules every Ferro file follows (Documentation/process.rst)."""

import os
import re
import subprocess
import unittest

from tests.host.common import TOP, kernel_source, tracked_files

from ferro import registry

TEXT_SUFFIXES = ('.rs', '.c', '.h', '.py', '.rst', '.dtsi', '.dts', '.config')


def read(rel):
	with open(os.path.join(TOP, rel), errors='replace') as f:
		return f.read()


def rust_files():
	return [f for f in tracked_files() if f.endswith('.rs')]


class Scope(unittest.TestCase):
	"""The per-file checks below pass on an empty list: they must see every
	driver's sources, the guest's C and the scripts."""

	def test_the_checks_see_the_sources(self):
		files = tracked_files()
		for d in sorted(os.listdir(os.path.join(TOP, 'drivers'))):
			if os.path.isfile(os.path.join(TOP, 'drivers', d, 'Kconfig')):
				self.assertIn(f'drivers/{d}/ferro_{d}.rs', rust_files())
		for f in ('tests/guest/ktest.c', 'scripts/ferro/checks.py', 'Makefile'):
			self.assertIn(f, files)


class Spdx(unittest.TestCase):

	def test_every_source_file_has_spdx(self):
		missing = []
		for rel in tracked_files():
			name = os.path.basename(rel)
			if not (rel.endswith(TEXT_SUFFIXES) or name in ('Makefile', 'Kconfig', 'Kbuild')
				or rel.startswith('scripts/') or rel.startswith('.ci/')):
				continue
			head = '\n'.join(read(rel).splitlines()[:3])
			if 'SPDX-License-Identifier:' not in head:
				missing.append(rel)
		self.assertEqual(missing, [], 'files without an SPDX line in their first lines')


class RustRules(unittest.TestCase):

	def test_every_unsafe_block_has_safety_comment(self):
		bad = []
		for rel in rust_files():
			lines = read(rel).splitlines()
			for i, line in enumerate(lines):
				if not re.search(r'\bunsafe\s*\{', line) or line.lstrip().startswith('//'):
					continue
				# The comment sits on the lines right above the statement.
				j = i - 1
				block = []
				while j >= 0 and lines[j].strip().startswith('//'):
					block.append(lines[j])
					j -= 1
				if not any('SAFETY:' in b for b in block):
					bad.append(f'{rel}:{i + 1}')
		self.assertEqual(bad, [], 'unsafe blocks without a // SAFETY: comment')

	def test_every_unsafe_fn_has_safety_section(self):
		bad = []
		for rel in rust_files():
			lines = read(rel).splitlines()
			for i, line in enumerate(lines):
				if re.search(r'\bunsafe\s+(extern\s+"C"\s+)?fn\b', line):
					docs = []
					j = i - 1
					while j >= 0 and lines[j].strip().startswith(('///', '#[')):
						docs.append(lines[j])
						j -= 1
					if not any('# Safety' in d for d in docs):
						bad.append(f'{rel}:{i + 1}')
		self.assertEqual(bad, [], 'unsafe fns without a # Safety section')

	def test_no_unwrap_or_expect(self):
		bad = [f'{rel}:{i + 1}' for rel in rust_files()
		       for i, line in enumerate(read(rel).splitlines())
		       if re.search(r'\.(unwrap|expect)\(', line) and not line.lstrip().startswith('//')]
		self.assertEqual(bad, [], 'unwrap()/expect() in driver code')

	def test_rustfmt_kernel_style(self):
		cfg = os.path.join(kernel_source(), '.rustfmt.toml')
		p = subprocess.run(['rustfmt', '--check', '--config-path', cfg] +
				   [os.path.join(TOP, f) for f in rust_files()],
				   capture_output=True, text=True)
		self.assertEqual(p.returncode, 0, 'rustfmt --check (make rustfmt fixes it):\n' +
				 p.stdout[-3000:] + p.stderr[-1000:])


class PythonRules(unittest.TestCase):

	def test_no_import_cycles(self):
		"""scripts/ferro's modules import each other without a cycle (imports
		inside functions count too: a cycle hidden in a function is one)."""
		import ast
		graph = {}
		pkg = os.path.join(TOP, 'scripts', 'ferro')
		for fn in os.listdir(pkg):
			if not fn.endswith('.py') or fn == '__init__.py':
				continue
			deps = set()
			for n in ast.walk(ast.parse(read(f'scripts/ferro/{fn}'))):
				if isinstance(n, ast.ImportFrom) and n.module == 'ferro':
					deps |= {a.name for a in n.names}
				elif isinstance(n, ast.ImportFrom) and (n.module or '').startswith('ferro.'):
					deps.add(n.module.split('.')[1])
				elif isinstance(n, ast.ImportFrom) and n.level:
					deps |= {a.name for a in n.names} if not n.module else {n.module}
				elif isinstance(n, ast.Import):
					deps |= {a.name.split('.')[1] for a in n.names
						 if a.name.startswith('ferro.')}
			graph[fn[:-3]] = deps - {fn[:-3]}
		self.assertIn('registry', graph['kbuild'])

		def cycle(node, path):
			for dep in sorted(graph.get(node, ())):
				if dep in path:
					return path[path.index(dep):] + [dep]
				found = cycle(dep, path + [dep])
				if found:
					return found
			return None
		for mod in sorted(graph):
			found = cycle(mod, [mod])
			self.assertIsNone(found, ' -> '.join(found or []))

	def test_pyflakes(self):
		from ferro.kbuild import cache_dir
		python = os.path.join(cache_dir(), 'tools', 'venv', 'bin', 'python')
		self.assertTrue(os.path.exists(python), f'{python} missing (make deps installs it)')
		files = [f for f in tracked_files() if f.endswith('.py') or
			 (f.startswith('scripts/') and read(f).startswith('#!/usr/bin/env python3'))]
		self.assertTrue(files)
		p = subprocess.run([python, '-m', 'pyflakes', *files], cwd=TOP,
				   capture_output=True, text=True)
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


class MakeHelp(unittest.TestCase):

	def test_every_target_has_one_help_line(self):
		text = read('Makefile')
		phony = re.search(r'^\.PHONY:((?:.*\\\n)*.*)$', text, re.M).group(1)
		targets = phony.replace('\\\n', ' ').split()
		out = subprocess.run(['make', '-s', 'help'], cwd=TOP, capture_output=True,
				     text=True).stdout
		for t in targets:
			if t == 'help':
				continue
			lines = [l for l in out.splitlines() if re.match(rf'^  {re.escape(t)}\s', l)]
			self.assertEqual(len(lines), 1, f'make help: target {t}')


class KconfigRules(unittest.TestCase):
	"""Every driver: tristate FERRO_<NAME>, help text, module ferro_<name>."""

	def drivers(self):
		return sorted(d for d in os.listdir(os.path.join(TOP, 'drivers'))
			      if os.path.isdir(os.path.join(TOP, 'drivers', d)))

	def test_drivers_are_listed(self):
		"""Every driver directory is in the registry (drivers/Kconfig), and
		the registry's checks pass (ferro/registry.py)."""
		self.assertEqual(sorted(registry.names()), self.drivers())
		for d in registry.drivers():
			self.assertEqual((d.symbol, d.module),
					 (f'FERRO_{d.name.upper()}', f'ferro_{d.name}'))

	def test_symbols(self):
		for d in self.drivers():
			text = read(f'drivers/{d}/Kconfig')
			entries = re.split(r'^config ', text, flags=re.M)[1:]
			self.assertTrue(entries, f'drivers/{d}/Kconfig defines no symbol')
			for entry in entries:
				sym = entry.split('\n', 1)[0].strip()
				self.assertTrue(sym.startswith('FERRO_'), f'{sym}: not FERRO_*')
				self.assertRegex(entry, r'\n\ttristate "', f'{sym}: not tristate')
				self.assertRegex(entry, r'\n\thelp\n\t  \S', f'{sym}: no help text')
				self.assertIn('depends on RUST', entry, f'{sym}: no depends on RUST')
			name = d.lower()
			self.assertRegex(read(f'drivers/{d}/Makefile'),
					 rf'obj-\$\(CONFIG_FERRO_{d.upper()}\)\s+\+= ferro_{name}\.o')


if __name__ == '__main__':
	unittest.main()
