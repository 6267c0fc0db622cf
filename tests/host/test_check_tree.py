# SPDX-License-Identifier: GPL-2.0
"""scripts/check-tree: which trees can take Ferro, per driver, and why not;
and that make integrate refuses, unchanged, a tree that cannot."""

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir, kernel_source, newest, pinned
from ferro import kbuild, registry, tree

CHECK = os.path.join(TOP, 'scripts', 'check-tree')
INTEGRATE = os.path.join(TOP, 'scripts', 'integrate-kernel-tree')


def run(*args):
	return subprocess.run([*args], capture_output=True, text=True, env=kbuild.toolchain_env(),
			      timeout=300)


def can_build(out: str, name: str) -> bool:
	return re.search(rf'^  DRIVER  {name} +can be built$', out, re.M) is not None


def o_dir(tmp: str, src: str, config: str) -> str:
	"""An O= directory of src with the given .config, as far as check-tree
	reads one."""
	d = os.path.join(tmp, 'build')
	os.makedirs(d)
	with open(os.path.join(d, 'Makefile'), 'w') as f:
		f.write(f'include {src}/Makefile\n')
	with open(os.path.join(d, '.config'), 'w') as f:
		f.write(config)
	return d


def linked_tree(src: str, kdir: str) -> None:
	"""The pinned tree src at kdir, linked file by file (a copy in a
	second), without its drivers/ferro and with its own copies of the two
	files integrate hooks, so that nothing is written through a link."""
	subprocess.run(['cp', '-al', src, kdir], check=True)
	for rel in ('drivers/Kconfig', 'drivers/Makefile'):
		shutil.copy(os.path.join(src, rel), os.path.join(kdir, rel) + '.tmp')
		os.replace(os.path.join(kdir, rel) + '.tmp', os.path.join(kdir, rel))
	if os.path.lexists(os.path.join(kdir, 'drivers', 'ferro')):
		os.unlink(os.path.join(kdir, 'drivers', 'ferro'))


def snapshot(kdir: str) -> dict:
	"""What integrate would change: the two hooked files and drivers/ferro."""
	out = {}
	for rel in ('drivers/Kconfig', 'drivers/Makefile'):
		with open(os.path.join(kdir, rel), 'rb') as f:
			out[rel] = hashlib.sha256(f.read()).hexdigest()
	out['drivers/ferro'] = os.path.lexists(os.path.join(kdir, 'drivers', 'ferro'))
	return out


class Probes(unittest.TestCase):
	"""kext/Kconfig's probes, read as Kconfig reads them."""

	def test_every_probe_holds_on_the_newest_kernel(self):
		src = pinned(newest())
		found = tree.probes()
		self.assertGreaterEqual(len(found), 5)
		for p in found.values():
			self.assertTrue(tree.probe_holds(src, p), f'{p.symbol}: no "{p.pattern}" in {p.path}')

	def test_every_probe_is_used(self):
		"""A probe is a driver's Kconfig dependency (an abstraction it needs)
		or the cfg of kext/'s shims (an API shape), both ways round; only
		kext/ has the cfgs."""
		used = set()
		for name in registry.names():
			for dep in tree.depends(TOP, name):
				used |= set(re.findall(r'FERRO_KCRATE_\w+', dep))
		shims = tree.compat_cfgs()
		self.assertEqual(used | set(shims), set(tree.probes()))
		for sym, (on, off) in shims.items():
			self.assertTrue(on and off, f'{sym}: a shim for one shape only ({on or off})')
		for d, _, files in os.walk(os.path.join(TOP, 'drivers')):
			for fn in files:
				with open(os.path.join(d, fn)) as f:
					self.assertNotIn('CONFIG_FERRO_KCRATE', f.read(), os.path.join(d, fn))

	def test_the_out_of_tree_cfgs_are_the_probes(self):
		"""scripts/kcrate-cfgs, which Ferro's Makefile runs out of tree,
		gives the cfgs of exactly the probes that hold: on 7.3 all, on 7.2
		the abstractions but not the shapes."""
		for src in (kernel_source(), pinned('7.2')):
			p = run(os.path.join(TOP, 'scripts', 'kcrate-cfgs'), src)
			self.assertEqual(p.returncode, 0, p.stderr)
			want = {f'--cfg=CONFIG_{s}' for s, pr in tree.probes().items()
				if tree.probe_holds(src, pr)}
			self.assertEqual(set(p.stdout.split()), want, src)
		self.assertLess(len(want), len(tree.probes()))

	def test_kconfig_sets_each_probe_in_a_build(self):
		build = build_dir('m')
		config = tree.read_config(build)[1]
		src = tree.source_of(build)
		for sym, p in tree.probes().items():
			self.assertEqual(config.get(sym), 'y' if tree.probe_holds(src, p) else None,
					 f'CONFIG_{sym} in the module build')

	def test_kconfig_hides_a_driver_whose_abstraction_is_missing(self):
		"""make olddefconfig, with the module build's .config, on the pinned
		tree linked file by file without rust/kernel/xarray.rs."""
		src = kernel_source()
		with tempfile.TemporaryDirectory(dir=os.path.dirname(src)) as tmp:
			kdir, out = os.path.join(tmp, 'linux'), os.path.join(tmp, 'build')
			linked_tree(src, kdir)
			os.unlink(os.path.join(kdir, 'rust', 'kernel', 'xarray.rs'))
			os.symlink(TOP, os.path.join(kdir, 'drivers', 'ferro'))
			os.makedirs(out)
			shutil.copy(os.path.join(build_dir('m'), '.config'), out)
			p = subprocess.run(['make', '-s', '-C', kdir, f'O={out}', 'ARCH=arm64',
					    'CROSS_COMPILE=aarch64-linux-gnu-', 'olddefconfig'],
					   capture_output=True, text=True, env=kbuild.toolchain_env())
			self.assertEqual(p.returncode, 0, p.stderr)
			config = tree.read_config(out)[1]
		self.assertEqual(config.get('RUST'), 'y')
		self.assertIsNone(config.get('FERRO_KCRATE_XARRAY'))
		self.assertIsNone(config.get('FERRO_NULL'))
		self.assertEqual(config.get('FERRO_KCRATE_MISCDEVICE'), 'y')
		self.assertEqual(config.get('FERRO_LIFECYCLE'), 'm')

	def test_a_malformed_probe_is_refused(self):
		with tempfile.TemporaryDirectory() as tmp:
			os.makedirs(os.path.join(tmp, 'kext'))
			with open(os.path.join(tmp, 'kext', 'Kconfig'), 'w') as f:
				f.write('config FERRO_KCRATE_X\n\tdef_bool y\n\thelp\n\t  Not a probe.\n')
			with self.assertRaisesRegex(tree.TreeError, 'FERRO_KCRATE_X'):
				tree.probes(tmp)


class Expressions(unittest.TestCase):

	def value(self, config):
		def get(sym, raw=False):
			v = config.get(sym, sym if sym in ('y', 'm', 'n') else 'n')
			return v if raw else {'y': 2, 'm': 1}.get(v, 0)
		return get

	def test_tristate_logic(self):
		v = self.value({'A': 'y', 'B': 'm', 'C': 'n'})
		for expr, want in (('A && B', 1), ('A || C', 2), ('!C', 2), ('!B', 1),
				   ('C!=y', 2), ('A!=y', 0), ('B=m', 2), ('(A || C) && !A', 0),
				   ('A && (B || C)', 1)):
			self.assertEqual(tree._Expr(expr, v).parse(), want, expr)

	def test_conjuncts(self):
		self.assertEqual(tree.conjuncts('A && (B || C) && D!=y'), ['A', '(B || C)', 'D!=y'])

	def test_unreadable(self):
		with self.assertRaises(tree.TreeError):
			tree._Expr('A && (B', self.value({})).parse()


class CheckTree(unittest.TestCase):

	def test_the_pinned_source_takes_every_driver(self):
		p = run(CHECK, kernel_source())
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		for name in registry.names():
			self.assertTrue(can_build(p.stdout, name), p.stdout)

	def test_the_module_build_takes_every_driver(self):
		with tempfile.TemporaryDirectory() as tmp:
			symbols = os.path.join(tmp, 'symbols')
			p = run(CHECK, '--symbols', symbols, build_dir('m'))
			self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
			with open(symbols) as f:
				self.assertEqual(f.read().split(), [f'FERRO_{n.upper()}'
								    for n in registry.names()])

	def build_config(self) -> str:
		with open(os.path.join(build_dir('m'), '.config')) as f:
			return f.read()

	def test_rust_off(self):
		config = self.build_config().replace('CONFIG_RUST=y\n', '# CONFIG_RUST is not set\n')
		with tempfile.TemporaryDirectory() as tmp:
			p = run(CHECK, o_dir(tmp, kernel_source(), config))
		self.assertEqual(p.returncode, 1)
		self.assertIn('CONFIG_RUST is not set in .config', p.stdout)
		self.assertFalse(any(can_build(p.stdout, n) for n in registry.names()), p.stdout)

	def test_conflicting_options_name_the_driver_and_the_option(self):
		config = self.build_config()
		config = re.sub(r'^.*CONFIG_CPUFREQ_DT\b.*$', 'CONFIG_CPUFREQ_DT=y', config, flags=re.M)
		config = re.sub(r'^.*CONFIG_MARVELL_PHY\b.*$', 'CONFIG_MARVELL_PHY=y', config,
				flags=re.M)
		with tempfile.TemporaryDirectory() as tmp:
			p = run(CHECK, '--no-toolchain', o_dir(tmp, kernel_source(), config))
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		self.assertRegex(p.stdout, r'cpufreq +cannot be built:\n.*CPUFREQ_DT!=y.*'
				 r'CONFIG_CPUFREQ_DT=y')
		self.assertRegex(p.stdout, r'phy +cannot be built:\n.*MARVELL_PHY!=y.*'
				 r'CONFIG_MARVELL_PHY=y')
		self.assertTrue(can_build(p.stdout, 'null') and can_build(p.stdout, 'lifecycle'))

	def test_another_rustc_built_the_tree(self):
		config = re.sub(r'^CONFIG_RUSTC_VERSION=\d+$', 'CONFIG_RUSTC_VERSION=108500',
				self.build_config(), flags=re.M)
		with tempfile.TemporaryDirectory() as tmp:
			p = run(CHECK, o_dir(tmp, kernel_source(), config))
		self.assertEqual(p.returncode, 1)
		self.assertIn('the tree was built by rustc 1.85.0, this machine has rustc 1.', p.stdout)

	def test_a_missing_abstraction_names_the_driver(self):
		"""A tree whose kernel crate lacks what ferro_null uses: a copy of
		the pinned source's rust/ without rust/kernel/xarray.rs."""
		src = kernel_source()
		with tempfile.TemporaryDirectory() as tmp:
			fake = os.path.join(tmp, 'linux')
			os.makedirs(os.path.join(fake, 'scripts'))
			shutil.copy(os.path.join(src, 'Makefile'), fake)
			shutil.copytree(os.path.join(src, 'rust'), os.path.join(fake, 'rust'))
			os.makedirs(os.path.join(fake, 'include', 'linux'))
			shutil.copy(os.path.join(src, 'include', 'linux', 'bvec.h'),
				    os.path.join(fake, 'include', 'linux'))
			os.unlink(os.path.join(fake, 'rust', 'kernel', 'xarray.rs'))
			p = run(CHECK, '--no-toolchain', fake)
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		self.assertRegex(p.stdout, r'null +cannot be built:\n +- the tree has no '
				 r'"pub struct XArray" in rust/kernel/xarray.rs \(FERRO_KCRATE_XARRAY, '
				 r'kext/Kconfig\)\n(?!            -)')
		self.assertTrue(can_build(p.stdout, 'phy'), p.stdout)

	def test_an_untested_version_can_be_tried(self):
		env = dict(kbuild.toolchain_env(), FERRO_TRY_KERNEL='1')
		p = subprocess.run([CHECK, '--no-toolchain', pinned('6.12')], capture_output=True,
				   text=True, env=env)
		self.assertIn('trying it anyway (FERRO_TRY_KERNEL=1)', p.stdout)
		# What 6.12's kernel crate lacks still stands in the way; its phylib
		# bindings have what ferro_phy is probed for.
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		self.assertTrue(can_build(p.stdout, 'phy'), p.stdout)
		self.assertRegex(p.stdout, r'cpufreq +cannot be built:\n +- the tree has no')

	def test_linux_7_2_takes_every_driver(self):
		"""Debian's 7.2: every driver, through kext/compat.rs's shims for
		each API whose shape differs, and those are exactly the probes that
		do not hold there."""
		src = pinned('7.2')
		p = run(CHECK, '--no-toolchain', src)
		self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
		for name in registry.names():
			self.assertTrue(can_build(p.stdout, name), p.stdout)
		older = {s for s, pr in tree.probes().items() if not tree.probe_holds(src, pr)}
		self.assertEqual(older, set(tree.compat_cfgs()))

	def test_linux_7_2_spinlock_irq_needs_out_of_line_irqsave(self):
		"""On 7.2 ferro_null's SpinLockIrq shim calls spin_lock_irqsave's
		out-of-line function: a configuration that inlines it cannot take
		the driver, and says so."""
		src = pinned('7.2')
		with tempfile.TemporaryDirectory() as tmp:
			out = o_dir(tmp, src, 'CONFIG_RUST=y\nCONFIG_BLK_DEV=y\nCONFIG_CONFIGFS_FS=y\n'
				    'CONFIG_INLINE_SPIN_LOCK_IRQSAVE=y\n')
			p = run(CHECK, '--no-toolchain', '--only', 'null', out)
		self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
		self.assertRegex(p.stdout, r'null +cannot be built:\n +- needs "FERRO_KCRATE_SPINLOCK_IRQ '
				 r'\|\| \(!PREEMPT_RT .*": the tree has no "pub type SpinLockIrq" .*'
				 r'CONFIG_INLINE_SPIN_LOCK_IRQSAVE=y')

	def test_not_a_tree(self):
		with tempfile.TemporaryDirectory() as tmp:
			p = run(CHECK, tmp)
		self.assertEqual(p.returncode, 1)
		self.assertIn('is not a kernel tree', p.stderr)

	def test_unknown_driver(self):
		p = run(CHECK, '--only', 'nosuch', kernel_source())
		self.assertEqual(p.returncode, 2)
		self.assertIn('no driver nosuch', p.stderr)


class Refused(unittest.TestCase):
	"""make integrate on trees that cannot take Ferro: each driver's reason,
	a non-zero exit, and the tree as it was."""

	def integrate_refuses(self, kdir: str) -> str:
		before = snapshot(kdir)
		p = run(INTEGRATE, kdir)
		self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
		self.assertIn(f'integrate-kernel-tree: {kdir} left unchanged', p.stderr)
		self.assertEqual(snapshot(kdir), before)
		for name in registry.names():
			self.assertRegex(p.stdout, rf'(?m)^  DRIVER  {name} +cannot be built')
		return p.stdout

	def test_debian_6_12(self):
		out = self.integrate_refuses(pinned('6.12'))
		self.assertIn('Linux 6.12 is not a kernel Ferro supports', out)
		self.assertIn('no "pub trait Driver" in rust/kernel/cpufreq.rs', out)
		self.assertIn('no "pub struct MiscDeviceRegistration" in rust/kernel/miscdevice.rs', out)

	def test_7_3_with_rust_off(self):
		"""The pinned tree (linked_tree), configured in place with
		CONFIG_RUST off."""
		src = kernel_source()
		with tempfile.TemporaryDirectory(dir=os.path.dirname(src)) as tmp:
			kdir = os.path.join(tmp, 'linux')
			linked_tree(src, kdir)
			with open(os.path.join(build_dir('m'), '.config')) as f:
				config = f.read().replace('CONFIG_RUST=y\n', '# CONFIG_RUST is not set\n')
			with open(os.path.join(kdir, '.config'), 'w') as f:
				f.write(config)
			out = self.integrate_refuses(kdir)
		self.assertIn('CONFIG_RUST is not set in .config', out)


if __name__ == '__main__':
	unittest.main()
