# SPDX-License-Identifier: GPL-2.0
"""Adding a driver touches only its own files and one registry line.

A throwaway driver, ferro_sample, is dropped into a copy of the tree with
exactly the files Documentation/development.rst ("Adding a driver") lists:
drivers/sample/, tests/guest/sample.c, Documentation/drivers/sample.rst and
one `source` line in drivers/Kconfig. The copy's fast loop (make test
DRIVER=sample) then builds it out of tree against the cached module kernel
and boots it: the guest init's table, the module list and the entry-point
probes all come from the registry, so its checks run with nothing else
changed.
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import BOARD, TOP, build_dir, kernel_source, tracked_files

from ferro import registry

SAMPLE = {
	'drivers/sample/Kconfig': '''\
# SPDX-License-Identifier: GPL-2.0

config FERRO_SAMPLE
	tristate "Ferro sample driver"
	depends on RUST
	help
	  The smallest Ferro driver: it logs its load and its unload. Made by
	  the host test that adds a driver to a copy of the tree.

	  If unsure, say N.
''',
	'drivers/sample/Makefile': '''\
# SPDX-License-Identifier: GPL-2.0

obj-$(CONFIG_FERRO_SAMPLE)	+= ferro_sample.o
''',
	'drivers/sample/ferro_sample.rs': '''\
// SPDX-License-Identifier: GPL-2.0

//! `ferro_sample`: logs its load and its unload.

use kernel::prelude::*;

module! {
    type: Sample,
    name: "ferro_sample",
    authors: ["The Ferro developers"],
    description: "The registry test's sample driver",
    license: "GPL",
}

/// The module.
struct Sample;

impl kernel::Module for Sample {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("sample loaded\\n");
        Ok(Sample)
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        pr_info!("sample unloaded\\n");
    }
}
''',
	'tests/guest/sample.c': '''\
// SPDX-License-Identifier: GPL-2.0
/* The sample driver's guest checks. */
#include <errno.h>
#include <stdlib.h>

#include "ktest.h"
#include "drivers.h"

void sample_module(void)
{
	size_t mark = log_mark();
	int ret = load_module("/lib/modules/ferro/ferro_sample.ko", "");

	result(ret == 0 && log_count_since(mark, "ferro_sample: sample loaded") == 1,
	       "module_sample_load", "finit_module returned %d, errno %d", ret, errno);
	mark = log_mark();
	ret = unload_module("ferro_sample");
	result(ret == 0 && log_count_since(mark, "ferro_sample: sample unloaded") == 1,
	       "module_sample_unload", "delete_module returned %d, errno %d", ret, errno);
}

void sample_builtin(void)
{
	char *log = kernel_log();

	result(log && log_find(log, "ferro_sample: sample loaded"), "builtin_sample_init",
	       "no load line in the kernel log");
	free(log);
}
''',
	'Documentation/drivers/sample.rst': '''\
.. SPDX-License-Identifier: GPL-2.0

============
ferro_sample
============

The registry test's sample driver: it logs its load and its unload.
''',
}
REGISTRY_LINE = 'source "drivers/ferro/drivers/sample/Kconfig"\n'


def copy_tree(dst):
	"""A copy of the tree's tracked files (of all of them outside git)."""
	for rel in tracked_files():
		os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
		shutil.copy2(os.path.join(TOP, rel), os.path.join(dst, rel))


def add_sample(top):
	for rel, text in SAMPLE.items():
		os.makedirs(os.path.dirname(os.path.join(top, rel)), exist_ok=True)
		with open(os.path.join(top, rel), 'w') as f:
			f.write(text)
	with open(os.path.join(top, 'drivers', 'Kconfig'), 'r+') as f:
		if REGISTRY_LINE not in f.read():
			f.write(REGISTRY_LINE)


class Registry(unittest.TestCase):
	"""What the registry refuses: a line whose driver is not all there."""

	def test_incomplete_driver_is_named(self):
		with tempfile.TemporaryDirectory() as top:
			copy_tree(top)
			with open(os.path.join(top, 'drivers', 'Kconfig'), 'a') as f:
				f.write(REGISTRY_LINE)
			with self.assertRaisesRegex(registry.RegistryError, 'drivers/sample/Kconfig'):
				registry.drivers(top)
			add_sample(top)
			os.unlink(os.path.join(top, 'tests', 'guest', 'sample.c'))
			with self.assertRaisesRegex(registry.RegistryError, 'tests/guest/sample.c'):
				registry.drivers(top)
			with open(os.path.join(top, 'drivers', 'Kconfig'), 'a') as f:
				f.write('source "drivers/other/Kconfig"\n')
			with self.assertRaisesRegex(registry.RegistryError, "not a driver's line"):
				registry.names(top)

	def test_sample_is_whole(self):
		with tempfile.TemporaryDirectory() as top:
			copy_tree(top)
			add_sample(top)
			names = [d.name for d in registry.drivers(top)]
			self.assertEqual(names, registry.names() + ['sample'])
			decl = ''.join(f'void {n}_module(void);\nvoid {n}_builtin(void);\n' for n in names)
			table = ''.join(f'FERRO_DRIVER({n})\n' for n in names)
			self.assertEqual(registry.guest_header(top).split('\n', 2)[2],
					 f'#ifdef FERRO_DRIVER_DECLARE\n{decl}#else\n{table}#endif\n')
			self.assertEqual(registry.load('sample', top).symbol, 'FERRO_SAMPLE')


class NewDriver(unittest.TestCase):

	def test_sample_driver_boots_through_the_registry(self):
		kdir = kernel_source()
		build_dir('m')
		with tempfile.TemporaryDirectory() as tmp:
			top = os.path.join(tmp, 'ferro')
			copy_tree(top)
			add_sample(top)
			p = subprocess.run([os.path.join(top, 'scripts', 'run-checks'), '--board', BOARD,
					    '--kdir', kdir, '--fast', 'sample'], cwd=top,
					   capture_output=True, text=True)
			out = p.stdout + p.stderr
			self.assertEqual(p.returncode, 0, out[-4000:])
			m = re.search(r'\(log: (\S+)\)', out)
			self.assertIsNotNone(m, out[-2000:])
			with open(m[1], errors='replace') as f:
				log = f.read()
		for name in ('module_sample_load', 'module_sample_unload'):
			self.assertRegex(log, rf'\nok \d+ {name}\n', name)
		# The entry-point probes came from the sample's .ko too.
		self.assertRegex(log, r'\nok \d+ module_entry_sample_module_init\b')


if __name__ == '__main__':
	unittest.main()
