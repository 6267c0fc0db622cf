# SPDX-License-Identifier: GPL-2.0
"""ferro_null's settings are declared once, in the settings! table of
drivers/null/config.rs, and the module parameters, the configfs attributes
and the Config type all come from it.

The guest's null_configfs_every_attribute checks the attributes a device
directory has against the subsystem's `features` list (Config's NAMES); here
the module's parameters in the built .ko are checked against the table.
"""

import glob
import os
import re
import unittest

from tests.host.common import TOP, build_dir

from ferro import elf, inspect, tree

LINE = re.compile(r'^\s*(\d+) (\w+): (\$?\w+) = (\S+), (\S+)\.\.=(\S+), "[^"]*",$', re.M)


def table():
	"""(attribute number, name, parameter type) of each table line."""
	with open(os.path.join(TOP, 'drivers', 'null', 'config.rs')) as f:
		text = f.read()
	m = re.search(r'macro_rules! settings_rows \{(.*?)\n\}\n', text, re.S)
	if not m:
		raise AssertionError('drivers/null/config.rs has no settings! table')
	return [(int(n), name, ty) for n, name, ty, *_ in LINE.findall(m[1])]


class Settings(unittest.TestCase):

	def test_table_numbers_attributes_in_order(self):
		rows = table()
		self.assertGreaterEqual(len(rows), 10)
		self.assertEqual([n for n, _, _ in rows], list(range(len(rows))))

	def test_everything_comes_from_the_table(self):
		uses = set()
		for path in glob.glob(os.path.join(TOP, 'drivers', 'null', '*.rs')):
			with open(path) as f:
				code = re.sub(r'//.*', '', f.read())
				uses |= set(re.findall(r'\bsettings!\((\w+)\)', code))
		self.assertEqual(uses, {'config', 'null_module', 'given', 'device_dir_type',
					'setting_attributes'})

	def test_module_parameters_are_the_table(self):
		kos = glob.glob(os.path.join(build_dir('m'), 'drivers', 'ferro', 'drivers', 'null',
					     'ferro_null.ko'))
		if not kos:
			self.skipTest('no ferro_null.ko in the module build')
		types = inspect.modinfo(elf.Elf(kos[0])).get('parmtype', [])
		params = dict(t.split(':', 1) for t in types)
		# An on/off setting's type is compat::with_param_flag!'s: bool where
		# module! takes bool parameters (Linux 7.3), else u8.
		flag = 'bool' if tree.read_config(build_dir('m'))[1].get(
			'FERRO_KCRATE_PARAM_BOOL') == 'y' else 'u8'
		want = {name: flag if ty == '$flag' else ty for _, name, ty in table()}
		want['nr_devices'] = 'u32'
		self.assertEqual(params, want)


if __name__ == '__main__':
	unittest.main()
