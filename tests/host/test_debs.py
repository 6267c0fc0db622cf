# SPDX-License-Identifier: GPL-2.0
"""Kernel packages whose headers build Rust modules (ferro/debs.py), and
what scripts/build-modules does with a linux-headers directory. make
check builds the packages, builds Ferro against them and boots the result
(checks.kernel_packages, the fast loop); these are the parts it cannot
show failing."""

import os
import shutil
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir
from ferro import board as boards, debs, guest, kbuild

BUILD_MODULES = os.path.join(TOP, 'scripts', 'build-modules')


class HostCrates(unittest.TestCase):

	def test_what_depends_on_a_proc_macro_in_order(self):
		build = build_dir('m')
		names = [t for t, _ in debs.host_crates(build)]
		# syn is built at rust/host/ in Linux 7.3, at rust/ in 7.2.
		syn = [t for t in names if t in ('rust/host/libsyn.rlib', 'rust/libsyn.rlib')]
		self.assertEqual(len(syn), 1, names)
		for t in ('rust/libmacros.so', 'rust/libpin_init_internal.so', 'rust/pin_init.o',
			  'rust/bindings.o', 'rust/kernel.o'):
			self.assertIn(t, names)
		# Nothing that no proc macro reaches: those .rmeta stay as built.
		for t in ('rust/core.o', 'rust/ffi.o', 'rust/build_error.o', 'rust/compiler_builtins.o'):
			self.assertNotIn(t, names)
		self.assertLess(names.index('rust/libmacros.so'), names.index('rust/pin_init.o'))
		self.assertLess(names.index('rust/pin_init.o'), names.index('rust/bindings.o'))
		self.assertLess(names.index(syn[0]), names.index('rust/libmacros.so'))
		self.assertEqual(names[-1], 'rust/kernel.o')

	def test_script_names_no_path_of_the_build(self):
		build = build_dir('m')
		text = debs.rebuild_script(build, kbuild.source_of(build), 'rustc 0.0.0')
		self.assertNotIn(build, text)
		self.assertNotIn(kbuild.source_of(build), text)
		self.assertNotIn('clippy-driver', text)
		self.assertIn('"$RUSTC"', text)

	def test_script_refuses_another_rustc(self):
		build = build_dir('m')
		with tempfile.TemporaryDirectory() as tmp:
			os.makedirs(os.path.join(tmp, 'rust'))
			script = os.path.join(tmp, debs.SCRIPT)
			with open(script, 'w') as f:
				f.write(debs.rebuild_script(build, kbuild.source_of(build), 'rustc 0.0.0'))
			os.chmod(script, 0o755)
			p = subprocess.run([script], capture_output=True, text=True,
					   env=kbuild.toolchain_env())
			self.assertEqual(p.returncode, 1)
			self.assertIn('these headers need rustc 0.0.0; rustc is rustc ', p.stderr)
			self.assertNotIn('RUSTC', p.stdout)

	def test_not_a_build(self):
		with tempfile.TemporaryDirectory() as tmp:
			with self.assertRaisesRegex(kbuild.BuildError, 'not a kernel build directory'):
				kbuild.source_of(tmp)
			with self.assertRaisesRegex(debs.DebsError, 'is it a CONFIG_RUST=y build'):
				debs.host_crates(tmp)


class HeadersDirectory(unittest.TestCase):
	"""build-modules against a directory laid out as a linux-headers package."""

	def headers(self, tmp, fixdep, macros=None, rebuild='echo "stand-in rebuild ran"'):
		d = os.path.join(tmp, 'linux-headers')
		os.makedirs(os.path.join(d, 'include', 'config'))
		os.makedirs(os.path.join(d, 'include', 'generated'))
		os.makedirs(os.path.join(d, 'scripts', 'basic'))
		# What check-tree reads: the module build's configuration, the
		# top Makefile and the kernel crate's sources.
		shutil.copy(os.path.join(build_dir('m'), '.config'),
			    os.path.join(d, 'include', 'config', 'auto.conf'))
		src = kbuild.source_of(build_dir('m'))
		shutil.copy(os.path.join(src, 'Makefile'), d)
		open(os.path.join(d, 'include', 'generated', 'autoconf.h'), 'w').close()
		open(os.path.join(d, 'Module.symvers'), 'w').close()
		shutil.copy(fixdep, os.path.join(d, 'scripts', 'basic', 'fixdep'))
		if macros:
			os.makedirs(os.path.join(d, 'rust'))
			os.symlink(os.path.join(src, 'rust', 'kernel'), os.path.join(d, 'rust', 'kernel'))
			open(os.path.join(d, 'rust', 'libkernel.rmeta'), 'w').close()
			shutil.copy(macros, os.path.join(d, 'rust', 'libmacros.so'))
			with open(os.path.join(d, debs.SCRIPT), 'w') as f:
				f.write(f'#!/bin/sh\n{rebuild}\n')
			os.chmod(os.path.join(d, debs.SCRIPT), 0o755)
		return d

	def run_modules(self, kdir, tmp):
		return subprocess.run([BUILD_MODULES, '--out', os.path.join(tmp, 'out'), kdir],
				      capture_output=True, text=True, timeout=120)

	def test_the_kernels_own_headers_package_lacks_rust(self):
		with tempfile.TemporaryDirectory() as tmp:
			p = self.run_modules(self.headers(tmp, '/bin/true'), tmp)
			self.assertEqual(p.returncode, 1)
			self.assertIn('has no Rust metadata (rust/libkernel.rmeta)', p.stderr)

	def test_another_machines_host_programs_are_rebuilt(self):
		with tempfile.TemporaryDirectory() as tmp:
			# The init the guest runs is an arm64 program.
			other = guest.guest_init(boards.load('rpi4'))
			p = self.run_modules(self.headers(tmp, other, macros='/bin/true'), tmp)
			self.assertIn('HOSTCC  fixdep and modpost', p.stdout)
			self.assertIn('could not build the host programs', p.stderr)

	def test_another_machines_proc_macros_are_rebuilt(self):
		with tempfile.TemporaryDirectory() as tmp:
			other = guest.guest_init(boards.load('rpi4'))
			p = self.run_modules(self.headers(tmp, '/bin/true', macros=other), tmp)
			self.assertIn('stand-in rebuild ran', p.stdout)
			self.assertRegex(p.stdout, r'MODULES .* against ')
			mine = self.headers(os.path.join(tmp, 'b'), '/bin/true', macros='/bin/true')
			p = self.run_modules(mine, tmp)
			self.assertNotIn('stand-in rebuild ran', p.stdout)
			self.assertRegex(p.stdout, r'MODULES .* against ')

	def test_a_failed_proc_macro_rebuild_stops_the_build(self):
		with tempfile.TemporaryDirectory() as tmp:
			other = guest.guest_init(boards.load('rpi4'))
			p = self.run_modules(self.headers(tmp, '/bin/true', macros=other, rebuild='exit 3'),
					     tmp)
			self.assertEqual(p.returncode, 1)
			self.assertIn('rebuild-host-crates.sh failed', p.stderr)
			self.assertNotIn('MODULES', p.stdout)


if __name__ == '__main__':
	unittest.main()
