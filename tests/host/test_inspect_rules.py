# SPDX-License-Identifier: GPL-2.0
"""The rules ferro-inspect and the compare report state, against the kernel
source they quote: a rule whose line is no longer in that function of the
kernel tree (a stale or wrong label) fails here."""

import os
import tempfile
import unittest

from tests.host.common import kernel_source
from ferro import inspect

# The rules facts() and the compare report attach; a rule dropped from
# inspect.RULES must not leave this test with nothing to check.
USED = {'module-init', 'module-exit', 'module-link', 'builtin-init', 'builtin-exit'}


class Rules(unittest.TestCase):

	def test_every_quoted_line_is_in_the_kernel(self):
		kdir = kernel_source()
		self.assertEqual(set(inspect.RULES), USED)
		checked = 0
		for key, rule in inspect.RULES.items():
			self.assertTrue(rule.sources, f'rule {key} quotes no source')
			for src in rule.sources:
				with self.subTest(rule=key, path=src.path, scope=src.scope):
					try:
						line = inspect.source_line(kdir, src)
					except ValueError as e:
						self.fail(f'rule {key}: {e}')
					self.assertGreater(line, 0)
					checked += 1
		self.assertGreaterEqual(checked, len(USED))

	def test_render(self):
		text = inspect.render_rule(inspect.rule('module-init'))
		self.assertEqual(text, 'rule: ' + inspect.RULES['module-init'].text +
				 ' (kernel/module/main.c, do_init_module(): '
				 '"ret = do_one_initcall(mod->init);")')


class Lookup(unittest.TestCase):
	"""source_line() on a small tree of its own: it finds a line only in
	the function or macro named, so a wrong label cannot pass."""

	TREE = {
		'kernel/module/main.c': (
			'static int do_init_module(struct module *mod);\n'
			'static int load_module(struct load_info *info,\n'
			'\t\t       int flags);\n'
			'\n'
			'static noinline int do_init_module(struct module *mod)\n'
			'{\n'
			'\tint ret = 0;\n'
			'\n'
			'\tif (mod->init != NULL)\n'
			'\t\tret = do_one_initcall(mod->init);\n'
			'\treturn ret;\n'
			'}\n'
			'\n'
			'SYSCALL_DEFINE2(delete_module, const char __user *, name_user,\n'
			'\t\tunsigned int, flags)\n'
			'{\n'
			'\tif (mod->exit != NULL)\n'
			'\t\tmod->exit();\n'
			'}\n'),
		'include/asm-generic/vmlinux.lds.h': (
			'#define EXIT_CALL\t\t\t\\\n'
			'\t*(.exitcall.exit)\n'
			'\n'
			'#define DISCARDS\t\t\t\\\n'
			'\t/DISCARD/ : {\t\t\t\\\n'
			'\tEXIT_CALL\t\t\t\\\n'
			'\t}\n'
			'\n'
			'\tEXIT_TEXT\n'),
	}

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.addCleanup(self.tmp.cleanup)
		for path, text in self.TREE.items():
			os.makedirs(os.path.dirname(os.path.join(self.tmp.name, path)), exist_ok=True)
			with open(os.path.join(self.tmp.name, path), 'w') as f:
				f.write(text)

	def line(self, path, scope, code):
		return inspect.source_line(self.tmp.name, inspect.Source(path, scope, code))

	def test_found(self):
		main = 'kernel/module/main.c'
		self.assertEqual(self.line(main, 'do_init_module()',
					   'ret = do_one_initcall(mod->init);'), 10)
		self.assertEqual(self.line(main, 'delete_module()', 'mod->exit();'), 18)
		self.assertEqual(self.line('include/asm-generic/vmlinux.lds.h', 'DISCARDS',
					   'EXIT_CALL'), 6)

	def test_wrong_line(self):
		with self.assertRaisesRegex(ValueError, 'has no line "ret = do_one_initcall'):
			self.line('kernel/module/main.c', 'do_init_module()',
				  'ret = do_one_initcall(mod->exit);')

	def test_line_of_another_function(self):
		with self.assertRaisesRegex(ValueError, r'delete_module\(\) .* has no line'):
			self.line('kernel/module/main.c', 'delete_module()',
				  'ret = do_one_initcall(mod->init);')

	def test_only_a_declaration(self):
		with self.assertRaisesRegex(ValueError, r'no definition of load_module\(\)'):
			self.line('kernel/module/main.c', 'load_module()', 'int flags);')

	def test_line_outside_the_macro(self):
		with self.assertRaisesRegex(ValueError, 'DISCARDS .* has no line "EXIT_TEXT"'):
			self.line('include/asm-generic/vmlinux.lds.h', 'DISCARDS', 'EXIT_TEXT')

	def test_wrong_file(self):
		with self.assertRaisesRegex(ValueError, 'init/main.c: no such file'):
			self.line('init/main.c', 'do_initcall_level()', 'do_one_initcall(fn);')


if __name__ == '__main__':
	unittest.main()
