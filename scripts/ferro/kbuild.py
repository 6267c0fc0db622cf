# SPDX-License-Identifier: GPL-2.0
"""Configure and build a kernel for a board with Ferro in one build mode.

The kernel source stays pristine apart from the drivers/ferro hook that
scripts/integrate-kernel-tree adds; every build goes to its own O= directory
in the cache, so rebuilds are incremental and the source serves every mode.
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional, Set, Tuple

from ferro import board as boards, chroot, digest, registry
from ferro.board import Board, TOP

MODES = ('m', 'y')

# The kernels a board's architecture gets: the board kernel (''), the debug
# kernel (every checker and fault injection on: make check, make stress) and
# the KASAN kernel (the debug kernel plus KASAN, which 7.3 allows with Rust
# only when clang builds the kernel: make kasan, in the Debian trixie root of
# scripts/setup-chroot llvm), and the lean kernel (one board's fragments only,
# for the other kernel versions make check boots: a board with lean_kconfig).
VARIANTS = ('', 'debug', 'kasan', 'lean')



def _read_text(path: str) -> str:
	with open(path) as f:
		return f.read()

def cache_dir() -> str:
	return os.environ.get('FERRO_CACHE') or os.path.expanduser('~/.cache/ferro')


def build_dir(board: Board, mode: str, kdir: str, variant: str = '') -> str:
	"""The O= directory for a board's architecture, a mode, a kernel source
	and a kernel variant (VARIANTS).

	Every board of one architecture boots the same kernel (see
	siblings()), so CI builds two kernels per architecture, not per board
	(four with the debug kernels).
	"""
	tag = hashlib.sha256(os.path.realpath(kdir).encode()).hexdigest()[:8]
	name = f'{mode}-{variant}' if variant else mode
	return os.path.join(cache_dir(), 'build', f'{board.arch}-{name}-{tag}')


def siblings(board: Board) -> List[Board]:
	"""The boards that share this board's kernel: same architecture."""
	out = [boards.load(n) for n in boards.available()]
	out = [b for b in out if b.arch == board.arch]
	for b in out:
		if (b.cross_compile, b.kernel_image) != (board.cross_compile, board.kernel_image):
			raise BuildError(f'boards {board.name} and {b.name} share {board.arch} kernels '
					 'but disagree on cross_compile or kernel_image')
	return out


def _kconfig_symbols(path: str) -> List[str]:
	with open(path) as f:
		return re.findall(r'^config (FERRO_[A-Z0-9_]+)$', f.read(), re.M)


def ferro_symbols() -> List[str]:
	"""Every tristate Ferro driver symbol, from the registry (drivers/Kconfig)."""
	return [d.symbol for d in registry.drivers()]


def fixture_symbols() -> List[str]:
	"""The test fixtures' symbols (tests/kmod/Kconfig): modules in both
	plans of every kernel whose drivers they depend on (fixture_needs)."""
	return _kconfig_symbols(os.path.join(TOP, 'tests', 'kmod', 'Kconfig'))


def fixture_needs() -> Dict[str, Set[str]]:
	"""Each test fixture's symbol (tests/kmod/Kconfig), with the Ferro
	driver symbols its "depends on" lines name (continued lines joined)."""
	with open(os.path.join(TOP, 'tests', 'kmod', 'Kconfig')) as f:
		text = f.read().replace('\\\n', ' ')
	drivers = set(ferro_symbols())
	out = {}
	for m in re.finditer(r'^config (FERRO_[A-Z0-9_]+)\n((?:\t.*\n|\n)*)', text, re.M):
		deps = ' '.join(re.findall(r'^\tdepends on (.*)$', m[2], re.M))
		named = set(re.findall(r'(?<![!\w])(FERRO_[A-Z0-9_]+)\b', deps))
		out[m[1]] = named & drivers
	return out


def fixture_modules() -> List[str]:
	"""The test fixtures' module names (tests/kmod/Makefile), which a board
	image leaves out."""
	with open(os.path.join(TOP, 'tests', 'kmod', 'Makefile')) as f:
		return re.findall(r'^obj-\$\(CONFIG_FERRO_[A-Z0-9_]+\)\s*\+=\s*(\w+)\.o$', f.read(), re.M)


def parse_fragment(text: str) -> Dict[str, str]:
	"""CONFIG_X=v and '# CONFIG_X is not set' lines of a config fragment."""
	out = {}
	for line in text.splitlines():
		m = re.match(r'^(CONFIG_[A-Za-z0-9_]+)=(.*)$', line)
		if m:
			out[m.group(1)] = m.group(2)
			continue
		m = re.match(r'^# (CONFIG_[A-Za-z0-9_]+) is not set$', line)
		if m:
			out[m.group(1)] = 'n'
	return out


def kernel_boards(board: Board, variant: str = '') -> List[Board]:
	"""The boards whose fragments make the kernel: every sibling, or for the
	debug and KASAN kernels only those that name a debug fragment (they
	boot only on them), so the others' SoC drivers stay out; the lean
	kernel is the board's alone."""
	if variant == 'lean':
		return [board] if board.lean_kconfig else []
	return [b for b in siblings(board) if b.debug_kconfig or not variant]


def fragment(board: Board, mode: str, variant: str = '') -> str:
	"""The union of the fragments of every board of this architecture (with
	their debug and KASAN fragments for those variants), plus the Ferro
	drivers of those boards in the given mode (every driver, unless each
	board names its own: Board.drivers) and, as modules, the test fixtures
	of those drivers. Conflicting values, or a board naming a driver the
	registry does not have, are an error."""
	parts = []
	seen: Dict[str, Tuple[str, str]] = {}
	together = kernel_boards(board, variant)
	for b in together:
		for path in b.kconfig_paths(variant):
			rel = os.path.relpath(path, TOP)
			with open(path) as f:
				text = f.read()
			for sym, val in parse_fragment(text).items():
				if sym in seen and seen[sym][0] != val:
					raise BuildError(f'{rel} sets {sym}={val}, but {seen[sym][1]} '
							 f'sets {sym}={seen[sym][0]}')
				seen[sym] = (val, rel)
			parts.append(f'# from {rel}\n{text}')
	# The drivers of the kernel's boards (every one, unless each board
	# names its own), and the test fixtures of those drivers.
	known = {d.name: d.symbol for d in registry.drivers()}
	for b in together:
		unknown = sorted(set(b.drivers or ()) - set(known))
		if unknown:
			raise BuildError(f"board {b.name} names no such driver {', '.join(unknown)} "
					 f"(drivers: {', '.join(sorted(known))})")
	wanted = set(known.values()) if any(b.drivers is None for b in together) else \
		{known[d] for b in together for d in b.drivers}
	lines = ['# Ferro build mode', 'CONFIG_FERRO=y']
	lines += [f'CONFIG_{s}={mode}' for s in known.values() if s in wanted]
	lines += [f'CONFIG_{s}=m' for s, needs in fixture_needs().items() if needs <= wanted]
	parts.append('\n'.join(lines) + '\n')
	return '\n'.join(parts)


class BuildError(Exception):
	pass


def toolchain_env() -> Dict[str, str]:
	"""The environment with the cache's bindgen and libclang (setup-deps)."""
	env = dict(os.environ)
	tools = os.path.join(cache_dir(), 'tools')
	if os.path.isdir(os.path.join(tools, 'bin')):
		env['PATH'] = os.path.join(tools, 'bin') + os.pathsep + env.get('PATH', '')
	if 'LIBCLANG_PATH' not in env:
		clangs = sorted(d for d in os.listdir(tools) if d.startswith('libclang-')) \
			if os.path.isdir(tools) else []
		if clangs:
			env['LIBCLANG_PATH'] = os.path.join(tools, clangs[-1])
	return env


def rust_available(board: Board, kdir: str, out: str, variant: str = '') -> None:
	"""Fail early, with the kernel's own explanation, if Rust cannot build."""
	stamp = os.path.join(out, '.ferro-rustavailable')
	if os.path.isfile(stamp):
		return
	os.makedirs(out, exist_ok=True)
	cmd, env = make_command(board, kdir, out, variant, ['rustavailable'])
	proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
	if proc.returncode != 0:
		sys.stdout.write(proc.stdout[-4000:] + proc.stderr[-4000:])
		raise BuildError("'make rustavailable' failed: the Rust toolchain is not usable "
				 "for this kernel (run 'make deps')")
	open(stamp, 'w').close()


def build_identity(kdir: str) -> Dict[str, str]:
	"""What the kernel stamps into itself (uname -v) besides its sources:
	fixed, so that the same sources give the same kernel, and so that
	make debs (bindeb-pkg) finds nothing to relink. The time is the kernel
	tree's Makefile's, as its source package left it."""
	return {'KBUILD_BUILD_TIMESTAMP': f'@{int(os.stat(os.path.join(kdir, "Makefile")).st_mtime)}',
		'KBUILD_BUILD_USER': 'ferro', 'KBUILD_BUILD_HOST': 'ferro'}


def source_of(build: str) -> str:
	"""The kernel tree an O= build directory was made from."""
	try:
		with open(os.path.join(build, 'Makefile')) as f:
			m = re.search(r'^include (\S+)/Makefile$', f.read(), re.M)
	except OSError:
		m = None
	if not m:
		raise BuildError(f'{build} is not a kernel build directory (no Makefile naming its source)')
	return m.group(1)


def kernel_release(build: str) -> str:
	with open(os.path.join(build, 'include', 'config', 'kernel.release')) as f:
		return f.read().strip()


def make_args(board: Board, kdir: str, out: str) -> List[str]:
	"""make for a board's kernel with the host's GCC cross toolchain."""
	return ['make', '-C', kdir, f'O={out}', f'ARCH={board.arch}',
		f'CROSS_COMPILE={board.cross_compile}']


def check_llvm_root(variant: str) -> None:
	"""The KASAN kernel needs the LLVM root; say how to make it if missing."""
	if variant == 'kasan':
		try:
			chroot.require('llvm', 'the KASAN kernel (built by clang)')
		except chroot.ChrootError as e:
			raise BuildError(str(e))


def make_command(board: Board, kdir: str, out: str, variant: str, args: List[str],
		 env: Optional[Dict[str, str]] = None) -> Tuple[List[str], Dict[str, str]]:
	"""The make command line and environment for a variant's build: the
	host's GCC and the cache's bindgen, or for KASAN clang with LLVM=1 in
	the LLVM root (the host's toolchain environment stays out of it;
	build() has checked that the root exists)."""
	extra = env or {}
	if variant != 'kasan':
		return make_args(board, kdir, out) + args, dict(toolchain_env(), **build_identity(kdir),
							       **extra)
	cmd = ['make', '-C', kdir, f'O={out}', f'ARCH={board.arch}', 'LLVM=1'] + args
	return chroot.command('llvm', cmd, [kdir, out, TOP], extra), dict(os.environ)


def step(what: str):
	print(f'  BUILD   {what} ...', flush=True)
	return time.monotonic()


def done(what: str, start: float) -> None:
	print(f'  BUILD   {what} done in {time.monotonic() - start:.0f}s', flush=True)


BUILD_STEP = re.compile(r'^\s+(CC|LD|AR|AS|RUSTC|CLIPPY|OBJCOPY|MODPOST)\b')


def run_logged(cmd: List[str], log_path: str, show=lambda line: False,
	       env: Optional[Dict[str, str]] = None) -> int:
	"""Run cmd with its output in log_path; echo lines that show() picks,
	and a progress line every 30 seconds so a long build is never silent.
	Returns how many compile or link steps ran."""
	start = time.monotonic()
	steps = [0]
	stop = threading.Event()

	def ticker() -> None:
		while not stop.wait(30):
			print(f'    ... {time.monotonic() - start:.0f}s, {steps[0]} build steps so far',
			      flush=True)

	tick = threading.Thread(target=ticker, daemon=True)
	with open(log_path, 'w') as log:
		proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
					text=True, errors='replace', env=env or toolchain_env())
		assert proc.stdout
		tick.start()
		try:
			for line in proc.stdout:
				log.write(line)
				steps[0] += 1
				if show(line):
					print('    ' + line.rstrip(), flush=True)
		finally:
			stop.set()
			tick.join()
	rc = proc.wait()
	if rc != 0:
		with open(log_path) as f:
			tail = f.readlines()[-40:]
		sys.stdout.write(''.join(tail))
		raise BuildError(f"'{' '.join(cmd)}' failed with exit code {rc} (log: {log_path})")
	with open(log_path) as f:
		return sum(1 for line in f if BUILD_STEP.match(line))


def check_source(kdir: str, out: str) -> None:
	if not os.path.isfile(os.path.join(kdir, 'Makefile')) or \
	   not os.path.isdir(os.path.join(kdir, 'arch')):
		raise BuildError(f"KDIR '{kdir}' is not a kernel source tree")
	if os.path.exists(os.path.join(kdir, '.config')) and \
	   os.path.realpath(kdir) != os.path.realpath(out):
		raise BuildError(f"KDIR '{kdir}' is configured in place (it has a .config); "
				 "O= builds need a clean source: run 'make mrproper' there, or "
				 "use it with 'make modules KDIR=...'")


def configure(board: Board, mode: str, kdir: str, out: str, variant: str = '') -> None:
	"""allnoconfig + fragment, redone only when the fragment changed."""
	frag = fragment(board, mode, variant)
	stamp = os.path.join(out, '.ferro-fragment')
	config = os.path.join(out, '.config')
	if os.path.isfile(config) and os.path.isfile(stamp):
		with open(stamp) as f:
			if f.read() == frag:
				return
	os.makedirs(out, exist_ok=True)
	frag_path = os.path.join(out, 'ferro.config')
	with open(frag_path, 'w') as f:
		f.write(frag)
	start = step(f'configure {board.arch} (FERRO_MODE={mode}{", " + variant if variant else ""})')
	cmd, env = make_command(board, kdir, out, variant, ['allnoconfig'],
				{'KCONFIG_ALLCONFIG': frag_path})
	proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
	if proc.returncode != 0:
		sys.stdout.write(proc.stdout[-4000:] + proc.stderr[-4000:])
		raise BuildError('kernel configuration failed')
	with open(config) as f:
		got = parse_fragment(f.read())
	lost = [f'{k}={v} (got {got.get(k, "n")})' for k, v in parse_fragment(frag).items()
		if got.get(k, 'n') != v]
	if lost:
		raise BuildError('these config values did not survive olddefconfig:\n  ' +
				 '\n  '.join(lost))
	with open(stamp, 'w') as f:
		f.write(frag)
	done('configure', start)


def seed(board: Board, mode: str, kdir: str, out: str, variant: str = '') -> None:
	"""Start a new build directory as a copy of the other mode's finished
	one, less drivers/ferro.

	The two modes' configurations differ only in the CONFIG_FERRO_*
	symbols, and Kbuild rebuilds an object only when a symbol it uses
	changed (fixdep's include/config/ files), so the second mode costs its
	Ferro objects and the link instead of a whole kernel. The copy goes to
	a temporary name first: an interrupted copy leaves no half directory
	that would look configured.
	"""
	if os.path.isfile(os.path.join(out, '.config')):
		return
	src = next((d for d in (build_dir(board, m, kdir, variant) for m in MODES if m != mode)
		    if os.path.isfile(os.path.join(d, board.kernel_image))), None)
	if src is None:
		return
	start = step(f'seed {os.path.basename(out)} from {os.path.basename(src)}')
	tmp = out + '.seeding'
	shutil.rmtree(tmp, ignore_errors=True)
	subprocess.run(['cp', '-a', '--reflink=auto', src, tmp], check=True)
	shutil.rmtree(os.path.join(tmp, 'drivers', 'ferro'), ignore_errors=True)
	_rehome_tools(tmp, src, out)
	for stale in ('.ferro-fragment', '.ferro-inputs', 'ferro-build.log'):
		if os.path.exists(os.path.join(tmp, stale)):
			os.remove(os.path.join(tmp, stale))
	shutil.rmtree(out, ignore_errors=True)
	os.rename(tmp, out)
	done('seed', start)


def _rehome_tools(tmp: str, src: str, out: str) -> None:
	"""Point the host tools' dependency files in a seeded copy at its own
	directory. The tools' build (objtool, on x86) records its commands
	and dependencies with absolute paths; left naming `src`, they make the
	copy rebuild objtool, and with it every object objtool checks."""
	old, new = os.path.realpath(src).encode(), os.path.realpath(out).encode()
	for root, _, files in os.walk(os.path.join(tmp, 'tools')):
		for name in files:
			path = os.path.join(root, name)
			if not (name.endswith('.cmd') or name.endswith('.d')) or os.path.islink(path):
				continue
			with open(path, 'rb') as f:
				text = f.read()
			if old in text:
				st = os.stat(path)
				with open(path, 'wb') as f:
					f.write(text.replace(old, new))
				os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# What the kernel build reads from this tree (drivers/ferro in the kernel).
FERRO_INPUTS = ('Kconfig', 'Makefile', 'drivers', 'kext', 'tests/kmod')


def inputs_digest(board: Board, mode: str, kdir: str, variant: str,
		  targets: List[str]) -> str:
	"""Everything a build reads, for a stamp that lets an unchanged build
	skip make: the configuration fragment and targets, the contents of
	Ferro's sources (a fresh clone has new mtimes, which make would
	rebuild for), the compilers' versions, and the kernel tree as it lies
	on disk (each file's path, size and mtime)."""
	h = hashlib.sha256()
	h.update(f'{mode}\0{variant}\0{" ".join(targets)}\0{fragment(board, mode, variant)}\0'
		 .encode())
	# How make is called, and what Ferro's Makefile reads from the
	# environment.
	h.update(f'{make_args(board, kdir, "")}\0{os.environ.get("FERRO_WERROR", "")}\0'.encode())
	env = toolchain_env()
	for tool in ('rustc', 'bindgen', board.cross_compile + 'gcc'):
		try:
			ver = subprocess.run([tool, '--version'], capture_output=True, text=True,
					     env=env).stdout
		except OSError:
			ver = 'missing'
		h.update(f'{tool} {ver}\0'.encode())
	h.update(digest.contents(*(os.path.join(TOP, rel) for rel in FERRO_INPUTS)))
	h.update(digest.stats(kdir))
	return h.hexdigest()


def build(board: Board, mode: str, kdir: str, jobs: int, variant: str = '') -> str:
	"""Configure and build; return the build directory."""
	if mode not in MODES:
		raise BuildError(f"FERRO_MODE must be one of {', '.join(MODES)}, not '{mode}'")
	if variant not in VARIANTS:
		raise BuildError(f"unknown kernel variant '{variant}' "
				 f"(one of: {', '.join(v for v in VARIANTS if v)})")
	if variant == 'lean' and not kernel_boards(board, variant):
		raise BuildError(f'board {board.name} has no lean kernel (lean_kconfig)')
	if variant and not kernel_boards(board, variant):
		raise BuildError(f'no board of {board.arch} has a debug fragment (debug_kconfig)')
	check_llvm_root(variant)
	out = build_dir(board, mode, kdir, variant)
	check_source(kdir, out)
	# integrate-kernel-tree runs scripts/check-tree first and says why a
	# tree cannot take Ferro; the build stops there, with the tree unchanged.
	if subprocess.run([os.path.join(TOP, 'scripts', 'integrate-kernel-tree'), kdir]).returncode:
		raise BuildError(f'Ferro cannot be integrated into {kdir} (said above); nothing built')
	seed(board, mode, kdir, out, variant)
	rust_available(board, kdir, out, variant)
	configure(board, mode, kdir, out, variant)
	start = time.monotonic()
	what = f'{board.arch} {variant + " " if variant else ""}kernel (FERRO_MODE={mode}; ' + \
		'boards: ' + ', '.join(b.name for b in kernel_boards(board, variant)) + ')'
	print(f'  BUILD   {what} in {out}', flush=True)
	targets = [os.path.basename(board.kernel_image), 'modules']
	targets += [dtb for b in siblings(board) for dtb in b.dtbs if not variant]
	stamp = os.path.join(out, '.ferro-inputs')
	inputs = inputs_digest(board, mode, kdir, variant, targets)
	if os.path.isfile(os.path.join(out, board.kernel_image)) and os.path.isfile(stamp) and \
	   _read_text(stamp) == inputs:
		print(f'  BUILD   {what} up to date (inputs unchanged) in '
		      f'{time.monotonic() - start:.0f}s', flush=True)
		return out
	if os.path.exists(stamp):
		os.remove(stamp)
	cmd, env = make_command(board, kdir, out, variant, [f'-j{jobs}', 'CLIPPY=1'] + targets)
	steps = run_logged(cmd, os.path.join(out, 'ferro-build.log'),
			   show=lambda l: 'drivers/ferro/' in l or 'warning:' in l or 'error:' in l,
			   env=env)
	if variant == 'kasan':
		host_gen_init_cpio(kdir, out)
	with open(stamp, 'w') as f:
		f.write(inputs)
	state = f'built ({steps} compile/link steps)' if steps else 'up to date'
	print(f'  BUILD   {what} {state} in {time.monotonic() - start:.0f}s', flush=True)
	return out


def host_gen_init_cpio(kdir: str, out: str) -> str:
	"""usr/gen_init_cpio.host: the initramfs generator built by the host's cc.

	The host programs of a build made in the LLVM root link against
	trixie's C library and may not run on the host (bookworm's is older);
	the guest harness packs initramfs images with this copy instead.
	"""
	src = os.path.join(kdir, 'usr', 'gen_init_cpio.c')
	dst = os.path.join(out, 'usr', 'gen_init_cpio.host')
	if os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
		return dst
	proc = subprocess.run(['cc', '-O2', '-o', dst + '.tmp', src], capture_output=True, text=True)
	if proc.returncode != 0:
		raise BuildError(f'building {dst} with the host cc failed:\n{proc.stderr[-2000:]}')
	os.replace(dst + '.tmp', dst)
	return dst


def kernel_id(build: str) -> str:
	"""Identifies a built kernel's configuration and exports."""
	h = hashlib.sha256()
	for rel in ('include/generated/autoconf.h', 'Module.symvers'):
		path = os.path.join(build, rel)
		if os.path.exists(path):
			with open(path, 'rb') as f:
				h.update(f.read())
	return h.hexdigest()[:16]


def layout_probe(build: str) -> str:
	"""tests/probes/module_layout.o compiled by the Kbuild of a built kernel.

	Its absolute symbols carry offsetof(struct module, init/exit) and
	sizeof(struct module) for that kernel's configuration.
	"""
	if not os.path.isfile(os.path.join(build, '.config')):
		raise BuildError(f"'{build}' is not a configured kernel build (no .config)")
	with open(os.path.join(build, '.config')) as f:
		config = f.read()
	if 'CONFIG_ARM64=y' in config:
		arch, cross = 'arm64', '' if os.uname().machine == 'aarch64' else 'aarch64-linux-gnu-'
	elif 'CONFIG_X86_64=y' in config:
		arch, cross = 'x86_64', ''
	else:
		raise BuildError(f'{build}: cannot tell the architecture from .config')
	out = os.path.join(cache_dir(), 'probes', os.path.basename(os.path.normpath(build)))
	# Kbuild does not rebuild an external object when only the kernel's
	# configuration changed; start afresh when it did (as build-modules does).
	ident = kernel_id(build)
	stamp = os.path.join(out, '.ferro-kernel-id')
	if not os.path.isfile(stamp) or _read_text(stamp) != ident:
		shutil.rmtree(out, ignore_errors=True)
		os.makedirs(out)
		with open(stamp, 'w') as f:
			f.write(ident)
	proc = subprocess.run(['make', '-s', '-C', build, f'ARCH={arch}', f'CROSS_COMPILE={cross}',
			       f'M={TOP}/tests/probes', f'MO={out}', 'module_layout.o'],
			      capture_output=True, text=True, env=toolchain_env())
	if proc.returncode != 0:
		raise BuildError(f'building tests/probes/module_layout.o against {build} failed:\n'
				 f'{proc.stdout[-2000:]}{proc.stderr[-2000:]}')
	return os.path.join(out, 'module_layout.o')
