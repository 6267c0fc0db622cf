# SPDX-License-Identifier: GPL-2.0
"""rust-project.json from scripts/gen-rust-project, checked by rust-analyzer itself."""

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.host import test_null_settings as null_settings
from tests.host.common import TOP, ToolCache, build_dir, kernel_source

from ferro import digest, kbuild


def crate_roots():
	"""drivers/<d>/<crate>.rs for every `obj-... += <crate>.o` in a driver Makefile."""
	roots = []
	for d in sorted(os.listdir(os.path.join(TOP, 'drivers'))):
		mk = os.path.join(TOP, 'drivers', d, 'Makefile')
		if os.path.isfile(mk):
			with open(mk) as f:
				for obj in re.findall(r'\+= (\w+)\.o', f.read()):
					roots.append(os.path.join(TOP, 'drivers', d, obj + '.rs'))
	return roots



def all_sources():
	"""Every .rs file of the drivers."""
	return glob.glob(os.path.join(TOP, 'drivers', '**', '*.rs'), recursive=True)


def in_kernel_macro(diagnostic):
	"""Whether a diagnostic points at the invocation of one of the kernel
	crate's macros (kernel::module_phy_driver! { ... }): it is about the
	macro's expansion, where rustc does not apply lints (external macro)
	but rust-analyzer does."""
	m = re.search(r'file (\S+): .*? from LineCol \{ line: (\d+), col: \d+ \}', diagnostic)
	if not m or not os.path.isfile(m[1]):
		return False
	with open(m[1]) as f:
		lines = f.read().splitlines()
	n = int(m[2])
	return n < len(lines) and re.match(r'^\s*kernel::\w+!\s*[{(]', lines[n]) is not None


def older_kernel_shape(diagnostic):
	"""Whether a diagnostic is rust-analyzer's note that an item of kext/
	is cfg'd out: the shape of an API on the other supported kernel
	(kext/compat.rs), inactive by design. Only kext/ has such cfgs."""
	m = re.search(r'file (\S+): .*Ra\("inactive-code"', diagnostic)
	return m is not None and m[1].startswith(os.path.join(TOP, 'kext') + os.sep)


class RustAnalyzer(unittest.TestCase):

	@classmethod
	def setUpClass(cls):
		if not shutil.which('rust-analyzer'):
			raise AssertionError('rust-analyzer not found (make deps installs it)')
		cls.tmp = tempfile.mkdtemp()
		p = subprocess.run([os.path.join(TOP, 'scripts', 'gen-rust-project'),
				    '--kdir', kernel_source(), '--build', build_dir('m'),
				    '--output', os.path.join(cls.tmp, 'rust-project.json')],
				   capture_output=True, text=True)
		if p.returncode != 0:
			raise AssertionError(p.stderr)
		with open(os.path.join(cls.tmp, 'rust-project.json')) as f:
			text = f.read()
		cls.project = json.loads(text)
		# rust-analyzer reads the project, the sources of its crates (ours,
		# the kernel's, the build's generated ones) and the sysroot.
		version = subprocess.run(['rust-analyzer', '--version'], capture_output=True,
					 text=True).stdout
		rustc = os.path.join(cls.project['sysroot'], 'bin', 'rustc')
		sysroot = subprocess.run([rustc, '--version', '--verbose'], capture_output=True,
					 text=True).stdout
		cls.cache = ToolCache('rust-analyzer', text.replace(TOP, '@TOP@').encode(),
				      version.encode(), sysroot.encode(),
				      digest.contents(os.path.join(TOP, 'drivers'), os.path.join(TOP, 'kext'),
						      suffix='.rs'),
				      digest.stats(os.path.join(kernel_source(), 'rust')),
				      digest.contents(os.path.join(build_dir('m'), 'rust'), suffix='.rs'))

	@classmethod
	def tearDownClass(cls):
		shutil.rmtree(cls.tmp)

	def ra(self, what):
		"""rust-analyzer `what` on the project: run once per set of inputs
		(ToolCache)."""
		return self.cache.run(what, ['rust-analyzer', what, self.tmp],
				      env=dict(os.environ, RUST_BACKTRACE='0'))

	def test_every_ferro_crate_is_a_member(self):
		members = sorted(c['root_module'] for c in self.project['crates']
				 if c['is_workspace_member'])
		self.assertEqual(members, sorted(crate_roots()))
		for c in self.project['crates']:
			if c['is_workspace_member']:
				names = {d['name'] for d in c['deps']}
				self.assertTrue({'kernel', 'pin_init'} <= names, c['display_name'])
				self.assertIn('MODULE', c['cfg'])

	def test_no_diagnostics_in_our_code(self):
		p = self.ra('diagnostics')
		out = (p.stdout + p.stderr).replace('\r', '\n')
		ours = [line for line in out.splitlines() if 'at crate ferro_' in line]
		self.assertEqual([line for line in ours
				  if not in_kernel_macro(line) and not older_kernel_shape(line)], [])
		self.assertEqual(p.returncode, 0, out[-3000:])

	def test_every_expression_typed(self):
		# "??ty" counts expressions of unknown type, "?ty" partly unknown:
		# both are unresolved names or paths somewhere in our crates.
		p = self.ra('analysis-stats')
		out = (p.stdout + p.stderr).replace('\r', '\n')
		m = re.search(r'exprs: (\d+), \?\?ty: (\d+) \(\d+%\), \?ty: (\d+)', out)
		self.assertIsNotNone(m, out[-3000:])
		exprs, unknown, partial = (int(x) for x in m.groups())
		self.assertGreater(exprs, 100, 'our crates were not analysed')
		# rust-analyzer 1.95 leaves two expressions of the kernel crate's
		# of_device_table! expansion partly typed (measured: without the
		# table ferro_cpufreq has none), and cannot type a call with a const
		# generic argument, C22::vendor_specific::<N>() (one unknown each,
		# measured per item with analysis-stats --only); allow exactly those.
		# The kernel crate's configfs_attrs! names its statics with paste!,
		# which rust-analyzer does not expand: one unknown expression per
		# attribute listed (measured: 12 in make_group, 1 in init).
		# Linux 7.2's module_device_table! sizes the alias table's static
		# by a const expression, raw_ids().size(), which rust-analyzer does
		# not evaluate: measured 5 more partly typed expressions for an OF
		# table (MODULE_OF_TABLE) and 3 for module_phy_driver!'s (phydev).
		with open(os.path.join(kbuild.source_of(build_dir('m')), 'rust', 'kernel',
				       'device_id.rs')) as f:
			sized_by_raw_ids = 'raw_ids().size()]' in f.read()
		tables = phy_tables = const_generic_calls = attrs = 0
		for path in all_sources():
			with open(path) as f:
				text = f.read()
			tables += text.count('of_device_table!(')
			phy_tables += text.count('module_phy_driver!')
			const_generic_calls += text.count('vendor_specific::<')
			for m in re.finditer(r'configfs_attrs! \{.*?attributes: \[(.*?)\]', text, re.S):
				attrs += len(re.findall(r'\w+: \d+,', m.group(1)))
				# ferro_null lists one attribute per line of its settings!
				# table with a macro repetition.
				if '$($name: $id,)*' in m.group(1):
					attrs += len(null_settings.table())
		self.assertLessEqual(unknown, const_generic_calls + attrs)
		older = 5 * tables + 3 * phy_tables if sized_by_raw_ids else 0
		self.assertLessEqual(partial, 2 * tables + older)


if __name__ == '__main__':
	unittest.main()
