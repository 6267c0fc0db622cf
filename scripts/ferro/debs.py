# SPDX-License-Identifier: GPL-2.0
"""Kernel packages (make debs): the kernel's own bindeb-pkg, and a
linux-headers package that builds Rust modules.

`make bindeb-pkg` runs against Ferro's build of the board's kernel: with
the build's own KBUILD_BUILD_VERSION and the fixed KBUILD_BUILD_TIMESTAMP,
USER and HOST every Ferro build uses (kbuild.build_identity), the kernel
is not relinked and the packages hold the very kernel make check boots.

The 7.3 linux-headers package (scripts/package/install-extmod-build) has
what a C module needs, but none of the Rust metadata a Rust module is
compiled against: rust/*.rmeta, the proc-macro libraries (macros,
pin_init_internal, zerocopy_derive, built for the machine that compiles),
and nothing to rebuild them. rust_headers() adds to the unpacked package:

  rust/*.rmeta, rust/*.so       as the build made them: a machine like the
                                build host (x86_64) builds modules at once
  rust/**/*.rs, host rlibs      the crates' sources and the generated
                                bindings, to rebuild what depends on a proc
                                macro for another machine (the board)
  rust/rebuild-host-crates.sh   that rebuild: the build's own rustc command
                                lines (its .cmd files), in order, for the
                                machine it runs on

A proc macro runs inside the compiler, so it must be built for the machine
that compiles, and every crate that uses one records its hash: on an arm64
board the proc macros and pin_init, bindings, uapi and kernel must be
compiled again (by the same rustc version), which is what the script does.
The upstream fix would teach install-extmod-build the first two rows; the
third is what a headers package built on another architecture would need
too (Documentation/boards/rpi.rst).
"""

import glob
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import time
from typing import Dict, List, Tuple

from ferro import kbuild
from ferro.board import Board

SCRIPT = 'rust/rebuild-host-crates.sh'


class DebsError(Exception):
	pass


def _run(cmd: List[str], **kw) -> subprocess.CompletedProcess:
	proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
	if proc.returncode != 0:
		raise DebsError(f'{" ".join(cmd[:3])} ... failed ({proc.returncode}):\n'
				f'{(proc.stdout + proc.stderr)[-3000:]}')
	return proc


def _saved_command(cmd_file: str) -> Tuple[str, str]:
	"""The target and command of a Kbuild .cmd file (savedcmd_<target> := ...)."""
	with open(cmd_file) as f:
		first = f.readline()
	m = re.match(r'^savedcmd_(\S+) := (.*)$', first.rstrip('\n'))
	if not m:
		raise DebsError(f'{cmd_file}: no savedcmd line')
	return m.group(1), m.group(2).strip()


def _crate(cmd: str) -> Tuple[str, List[str]]:
	name = re.search(r'--crate-name (\S+)', cmd)
	if not name:
		raise DebsError(f'no --crate-name in: {cmd[:200]}')
	return name.group(1), re.findall(r'--extern (\w+)', cmd)


def host_crates(build: str) -> List[Tuple[str, str]]:
	"""(target, command) of every crate that is a proc macro, is built for
	the host, or depends on one of those: what another machine must
	compile again, in dependency order."""
	crates: Dict[str, Tuple[str, str, List[str]]] = {}
	for f in sorted(glob.glob(os.path.join(build, 'rust', '.*.cmd')) +
			glob.glob(os.path.join(build, 'rust', 'host', '.*.cmd'))):
		target, cmd = _saved_command(f)
		if '--crate-name' not in cmd:
			continue
		name, deps = _crate(cmd)
		crates[name] = (target, cmd, deps)
	# Built for the host: no --target (the host rlibs are in rust/host/ in
	# Linux 7.3, in rust/ in 7.2; proc macros are host code too).
	host = {n for n, (_, c, _) in crates.items() if '--target' not in c}
	changed = True
	while changed:
		changed = False
		for n, (_, _, deps) in crates.items():
			if n not in host and any(d in host for d in deps):
				host.add(n)
				changed = True
	order: List[str] = []

	def visit(n: str) -> None:
		if n in order or n not in host:
			return
		for d in crates[n][2]:
			visit(d)
		order.append(n)
	for n in sorted(host):
		visit(n)
	if 'kernel' not in order or 'macros' not in order:
		raise DebsError(f'{build}: no rust/.kernel.o.cmd or rust/.libmacros.so.cmd '
				'(is it a CONFIG_RUST=y build?)')
	return [(crates[n][0], crates[n][1]) for n in order]


def rebuild_script(build: str, src: str, rustc_version: str) -> str:
	"""rust/rebuild-host-crates.sh: host_crates()' commands, made relative
	to the headers directory the script sits in."""
	lines = [
		'#!/bin/sh',
		'# SPDX-License-Identifier: GPL-2.0',
		'# Rebuild the Rust crates that run in, or depend on what runs in, the',
		'# compiler (proc macros) for the machine this runs on. Written by',
		"# Ferro's make debs from the kernel build's own commands (.cmd files).",
		'# Needs the rustc that built the kernel and a C compiler (HOSTCC).',
		'set -eu',
		'KDIR=$(cd "$(dirname "$0")/.." && pwd)',
		'cd "$KDIR"',
		'RUSTC=${RUSTC:-rustc}',
		'HOSTCC=${HOSTCC:-cc}',
		f'want={shlex.quote(rustc_version)}',
		'have=$("$RUSTC" --version 2>/dev/null) || have="no $RUSTC"',
		'if [ "$have" != "$want" ]; then',
		'\techo "rebuild-host-crates.sh: these headers need $want; $RUSTC is $have" >&2',
		'\texit 1',
		'fi',
		'export RUSTC_BOOTSTRAP=1',
	]
	for target, cmd in host_crates(build):
		cmd = cmd.replace(f'OBJTREE={build}', 'OBJTREE="$KDIR"')
		cmd = cmd.replace(src.rstrip('/') + '/', '"$KDIR"/')
		cmd = re.sub(r'^((?:\S+=\S+ )*)(?:clippy-driver|rustc) ', r'\1"$RUSTC" ', cmd)
		cmd = re.sub(r'-Clinker=\S+', '-Clinker="$HOSTCC"', cmd)
		if build in cmd or src in cmd:
			raise DebsError(f'{target}: a path of the build is left in its command')
		lines += [f'echo "  RUSTC   {target}"', cmd]
	lines.append('echo "rebuild-host-crates.sh: done for $(uname -m)"')
	return '\n'.join(lines) + '\n'


def rust_headers(build: str, src: str, headers: str) -> None:
	"""Add what building a Rust module needs to an unpacked linux-headers
	directory (its usr/src/linux-headers-<release>)."""
	rust = os.path.join(headers, 'rust')
	# The crates' sources, as the kernel's tree has them...
	shutil.copytree(os.path.join(src, 'rust'), rust, dirs_exist_ok=True,
			ignore=shutil.ignore_patterns('*.c', 'helpers', 'Makefile', 'exports*'))
	# ...the generated ones and the build's metadata and proc macros.
	for path in sorted(glob.glob(os.path.join(build, 'rust', '**', '*'), recursive=True)):
		rel = os.path.relpath(path, build)
		if os.path.isfile(path) and re.search(r'\.(rs|rmeta|so)$|^rust/(host/)?lib\w+\.rlib$',
							rel):
			os.makedirs(os.path.dirname(os.path.join(headers, rel)), exist_ok=True)
			shutil.copy(path, os.path.join(headers, rel))
	rustc = _run(['rustc', '--version'], env=kbuild.toolchain_env()).stdout.strip()
	with open(os.path.join(headers, SCRIPT), 'w') as f:
		f.write(rebuild_script(build, src, rustc))
	# Modes as a package has them, whatever the umask or the tree's own.
	for dirpath, dirs, files in os.walk(rust):
		for n in dirs:
			os.chmod(os.path.join(dirpath, n), 0o755)
		for n in files:
			full = os.path.join(dirpath, n)
			os.chmod(full, 0o755 if os.stat(full).st_mode & 0o100 else 0o644)
	os.chmod(os.path.join(headers, SCRIPT), 0o755)


def _installed_size(tree: str) -> int:
	"""Installed-Size in KiB, counted as dpkg-gencontrol does: each file's
	size rounded up to a KiB, one for each directory and link."""
	kib = 0
	for dirpath, dirs, files in os.walk(tree):
		if os.path.relpath(dirpath, tree).split(os.sep)[0] == 'DEBIAN':
			continue
		kib += len(dirs)
		for n in files:
			full = os.path.join(dirpath, n)
			kib += 1 if os.path.islink(full) else (os.path.getsize(full) + 1023) // 1024
	return kib


def _date_shim(epoch: int) -> str:
	"""A `date` first in PATH that gives SOURCE_DATE_EPOCH's time: mkdebian
	stamps debian/changelog with `date -R`, the one time that would differ
	between two package builds."""
	d = os.path.join(kbuild.cache_dir(), 'tools', 'sde-date')
	os.makedirs(d, exist_ok=True)
	with open(os.path.join(d, 'date'), 'w') as f:
		f.write('#!/bin/sh\nexec /bin/date -d "@${SOURCE_DATE_EPOCH:?}" "$@"\n')
	os.chmod(os.path.join(d, 'date'), 0o755)
	return d


def _repack_headers(deb: str, build: str, src: str, epoch: int, work: str) -> None:
	"""rust_headers() into the linux-headers .deb, with its md5sums, rebuilt
	by dpkg-deb as reproducibly as the kernel's own."""
	tree = os.path.join(work, 'headers')
	_run(['dpkg-deb', '-R', deb, tree])
	found = glob.glob(os.path.join(tree, 'usr', 'src', 'linux-headers-*'))
	if len(found) != 1:
		raise DebsError(f'{deb}: no usr/src/linux-headers-* in it')
	rust_headers(build, src, found[0])
	sums = []
	for dirpath, _, files in os.walk(tree):
		for n in files:
			full = os.path.join(dirpath, n)
			rel = os.path.relpath(full, tree)
			if rel.startswith('DEBIAN/') or os.path.islink(full):
				continue
			with open(full, 'rb') as f:
				sums.append(f'{hashlib.md5(f.read()).hexdigest()}  {rel}')
	with open(os.path.join(tree, 'DEBIAN', 'md5sums'), 'w') as f:
		f.write('\n'.join(sorted(sums, key=lambda s: s[34:])) + '\n')
	control = os.path.join(tree, 'DEBIAN', 'control')
	with open(control) as f:
		text = f.read()
	text, n = re.subn(r'^Installed-Size: \d+$', f'Installed-Size: {_installed_size(tree)}',
			  text, flags=re.M)
	if n != 1:
		raise DebsError(f'{deb}: no Installed-Size in its control file')
	with open(control, 'w') as f:
		f.write(text)
	for dirpath, dirs, files in os.walk(tree):
		for n in dirs + files:
			os.utime(os.path.join(dirpath, n), (epoch, epoch), follow_symlinks=False)
	# xz's fastest level: 48 MiB instead of 42, in 5 s instead of 34.
	_run(['dpkg-deb', '--root-owner-group', '-Zxz', '-z1', '--build', tree, deb],
	     env=dict(os.environ, SOURCE_DATE_EPOCH=str(epoch)))


def build_debs(board: Board, build: str, mode: str, out_dir: str) -> List[str]:
	"""linux-image, linux-headers (with rust_headers()) and linux-libc-dev
	for the build, into out_dir; their paths."""
	if board.arch != 'arm64':
		raise DebsError(f'board {board.name}: packages are made for arm64 kernels only')
	src = kbuild.source_of(build)
	release = kbuild.kernel_release(build)
	with open(os.path.join(build, '.version')) as f:
		version = f.read().strip()
	ident = kbuild.build_identity(src)
	epoch = int(ident['KBUILD_BUILD_TIMESTAMP'].lstrip('@'))
	parent = os.path.dirname(build.rstrip('/'))
	for old in glob.glob(os.path.join(parent, f'*_{release}-*_*')):	# and a killed run's
		os.unlink(old)
	env = dict(kbuild.toolchain_env(), **ident, SOURCE_DATE_EPOCH=str(epoch),
		   KDEB_PKGVERSION=f'{release}-{version}', KBUILD_BUILD_VERSION=version,
		   KDEB_CHANGELOG_DIST='stable', DEB_BUILD_PROFILES='pkg.linux-upstream.nokerneldbg')
	env['PATH'] = _date_shim(epoch) + os.pathsep + env['PATH']
	start = time.monotonic()
	print(f'  DEBS    bindeb-pkg of {build} (FERRO_MODE={mode}) ...', flush=True)
	os.makedirs(out_dir, exist_ok=True)
	work = os.path.join(out_dir, '.work')
	shutil.rmtree(work, ignore_errors=True)
	os.makedirs(work)
	# bindeb-pkg writes next to the build: whatever happens, nothing stays there.
	try:
		kbuild.run_logged(kbuild.make_args(board, src, build) +
				  ['CLIPPY=1', f'-j{os.cpu_count()}', 'DPKG_FLAGS=-d', 'bindeb-pkg'],
				  os.path.join(build, 'ferro-debs.log'), show=lambda l: 'error' in l,
				  env=env)
		debs = sorted(glob.glob(os.path.join(parent,
						     f'*_{release}-{version}_{board.arch}.deb')))
		names = [os.path.basename(d).split('_')[0] for d in debs]
		if not any(n.startswith('linux-headers-') for n in names) or \
		   not any(n.startswith('linux-image-') for n in names):
			raise DebsError(f'bindeb-pkg made {names or "nothing"} in {parent}')
		out = []
		for deb in debs:
			if os.path.basename(deb).startswith('linux-headers-'):
				_repack_headers(deb, build, src, epoch, work)
			dest = os.path.join(out_dir, os.path.basename(deb))
			os.replace(deb, dest)
			out.append(dest)
	finally:
		shutil.rmtree(work, ignore_errors=True)
		for left in glob.glob(os.path.join(parent, f'*_{release}-{version}_*')):
			os.unlink(left)
	print(f'  DEBS    {", ".join(os.path.basename(d) for d in out)} in '
	      f'{time.monotonic() - start:.0f}s ({out_dir})', flush=True)
	return out
