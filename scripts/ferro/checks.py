# SPDX-License-Identifier: GPL-2.0
"""The pieces of `make check` and `make demo`: builds, host tests, guest boots."""

import concurrent.futures
import contextlib
import dataclasses
import io
import os
import shutil
import subprocess
import time
import unittest
from typing import Dict, List, Optional, Tuple

from ferro import board as boards, card, compare, debs, digest, evidence, guest, image, kbuild, \
	ktap, registry, tree, userland
from ferro.board import Board, TOP

@dataclasses.dataclass(frozen=True)
class BootPlan:
	"""One boot of make check (or make stress, make demo)."""
	name: str
	mode: str		# FERRO_MODE: m or y
	plan: str		# the guest's plan: module or builtin
	cmdline: str		# kernel command line
	driver: str = ''	# the driver whose tests run ('': the board's drivers)
	variant: str = ''	# the board's device-tree variant ('' : its tree)
	board: str = ''		# '' : the board make check was asked for (others
				# share its kernel)
	broken: str = ''	# why some entries may not run ('' : all must)
	in_check: bool = True	# debug boots: part of make check, not only stress


MODE_PLANS = (('m', 'module'), ('y', 'builtin'))


def _short(board: str) -> str:
	"""A board's name in boot names: qemu-zcu102 is zcu102."""
	return board[len('qemu-'):] if board.startswith('qemu-') else board


def boot_plans() -> List[BootPlan]:
	"""make check's boots: every driver in each mode, then what the
	registry's drivers ask for (ferro/registry.py): their own boots, boots
	on their boards, one per mode and device-tree variant."""
	drivers = registry.drivers()
	loops = f' ferro_stress={CHECK_LOOPS}'
	out = [BootPlan(plan, mode, plan, guest.PLAN_CMDLINE[plan] + loops)
	       for mode, plan in MODE_PLANS]
	for d in drivers:
		out += [BootPlan(b.name, b.mode, 'module' if b.mode == 'm' else 'builtin', b.args,
				 d.name, broken=b.broken) for b in d.boots]
	for d in drivers:
		out += [BootPlan(f'{_short(on)}-{plan}', mode, plan, guest.PLAN_CMDLINE[plan] + loops,
				 d.name, board=on) for on in d.boards for mode, plan in MODE_PLANS]
	for d in drivers:
		out += [BootPlan(f'{plan}-{variant}', mode, plan, '', d.name, variant, broken=variant)
			for variant in d.dt_variants for mode, plan in MODE_PLANS]
	return out


def debug_plans() -> List[BootPlan]:
	"""The debug kernel's boots (boards with a debug fragment): every
	driver's tests with short stress loops, then allocation failure
	injection on every init and probe path and a kmemleak scan
	(tests/guest/faults.c). make check boots the board it was asked for,
	sampling every CHECK_FAULT_STRIDE-th allocation; make stress also boots
	the drivers' own boards, failing each allocation in turn, with the full
	loop counts."""
	out = [BootPlan(f'debug-{plan}', mode, plan, guest.PLAN_CMDLINE[plan])
	       for mode, plan in MODE_PLANS]
	for d in registry.drivers():
		out += [BootPlan(f'debug-{_short(on)}-{plan}', mode, plan, guest.PLAN_CMDLINE[plan],
				 d.name, board=on, in_check=False)
			for on in d.boards for mode, plan in MODE_PLANS]
	return out


# make check's board boots run each guest loop this many times (the
# guest's default, 50, is make test's, make compare's and make demo's;
# make stress runs FULL_STRESS on the debug kernels).
CHECK_LOOPS = 10
CHECK_STRESS = 1
CHECK_FAULT_STRIDE = 100
FULL_STRESS = 200
# make kasan: KASAN under QEMU's TCG is several times slower still (a
# ferro_cpufreq load takes about 2 s), so its sweeps fail every 10th
# allocation rather than each in turn.
KASAN_STRESS = 20
KASAN_FAULT_STRIDE = 10


class Tally:
	"""Passed/failed counts per section, the time of each step, and the
	closing line."""

	def __init__(self):
		self.sections: List[Tuple[str, int, int, int]] = []
		self.steps: List[Tuple[str, float]] = []

	@contextlib.contextmanager
	def step(self, name: str):
		"""Times what runs inside it as one step of the run."""
		start = time.monotonic()
		try:
			yield
		finally:
			self.steps.append((name, time.monotonic() - start))

	def step_table(self) -> str:
		"""The steps, the slowest first, with their share of the total."""
		total = sum(s for _, s in self.steps) or 1.0
		width = max([len(n) for n, _ in self.steps] + [4])
		lines = [f'  {"step":{width}}  seconds  share']
		for name, secs in sorted(self.steps, key=lambda s: -s[1]):
			lines.append(f'  {name:{width}}  {secs:7.1f}  {100 * secs / total:4.0f} %')
		lines.append(f'  {"all":{width}}  {total:7.1f}')
		return '\n'.join(lines)

	def add(self, section: str, passed: int, failed: int, skipped: int = 0) -> None:
		self.sections.append((section, passed, failed, skipped))

	@property
	def passed(self) -> int:
		return sum(s[1] for s in self.sections)

	@property
	def failed(self) -> int:
		return sum(s[2] for s in self.sections)

	@property
	def skipped(self) -> int:
		return sum(s[3] for s in self.sections)

	def closing_line(self) -> str:
		line = f'{self.passed} passed, {self.failed} failed'
		return line + (f', {self.skipped} skipped' if self.skipped else '')


def build_all(board: Board, kdir: str, jobs: int, tally: Tally,
	      variant: str = '', label: str = '') -> Dict[str, str]:
	"""Build both modes (of the debug or KASAN kernel, with `variant`, if a
	board of this architecture has a debug fragment); a failed build counts
	as one failed test, named with `label` first."""
	if variant and not kbuild.kernel_boards(board, variant):
		return {}
	what = label + (f'{variant} build' if variant else 'build')
	builds = {}
	for mode in kbuild.MODES:
		try:
			builds[mode] = kbuild.build(board, mode, kdir, jobs, variant)
			tally.add(f'{what} FERRO_MODE={mode}', 1, 0)
		except kbuild.BuildError as e:
			print(f'  FAIL    {what} FERRO_MODE={mode}: {e}', flush=True)
			tally.add(f'{what} FERRO_MODE={mode}', 0, 1)
	return builds


def other_kernels(kdir: str) -> List[str]:
	"""The other kernel versions make check boots: on the newest kernel
	Ferro supports, every older supported one (tree.SUPPORTED); on an older
	one (make check KVERSION=7.2), none."""
	ver = tree.version(tree.source_of(kdir))[:2]
	newest = max(tree.SUPPORTED)
	if ver != newest:
		return []
	return [f'{a}.{b}' for a, b in tree.SUPPORTED if (a, b) != newest]


def lean_kernels(board: Board, versions: List[str], jobs: int, tally: Tally) -> None:
	"""On each other kernel version, the lean kernel of the architecture's
	board that has one (qemu-virt: its fragments alone) in both modes, every
	driver, and its module and built-in boots."""
	lean = [b for b in kbuild.siblings(board) if b.lean_kconfig]
	if not lean:
		print(f'  NOTE    no {board.arch} board has a lean kernel (lean_kconfig): '
		      f'Linux {", ".join(versions)} not booted', flush=True)
		return
	for version in versions:
		fetch = os.path.join(TOP, 'scripts', 'fetch-kernel')
		if subprocess.run([fetch, '--version', version]).returncode != 0:
			print(f'  FAIL    Linux {version}: scripts/fetch-kernel failed', flush=True)
			tally.add(f'Linux {version} source', 0, 1)
			continue
		kdir = subprocess.run([fetch, '--version', version, '--print-dir'], check=True,
				      capture_output=True, text=True).stdout.strip()
		builds = build_all(lean[0], kdir, jobs, tally, 'lean', label=f'Linux {version} ')
		# These boots are about the kernel-crate shims, not endurance.
		guest_boots(lean[0], builds, tally, short_plans(version))


def short_plans(prefix: str, board: str = '') -> List[BootPlan]:
	"""The module and built-in plans, every check, with the short loops:
	named `prefix`-module and `prefix`-builtin, on `board` ('': the board
	make check was asked for)."""
	short = f' ferro_stress={guest.SHORT_LOOPS}'
	return [dataclasses.replace(p, name=f'{prefix}-{p.name}', board=board,
				    cmdline=guest.PLAN_CMDLINE[p.plan] + short)
		for p in boot_plans() if p.name in ('module', 'builtin')]


def other_arches(board: Board) -> List[Board]:
	"""The QEMU boards of other architectures than `board`'s (qemu-x86
	for arm64), the first of each architecture: make check builds their
	kernels too."""
	out: Dict[str, Board] = {}
	for name in boards.available():
		b = boards.load(name)
		if b.arch != board.arch and b.qemu_binary and b.arch not in out:
			out[b.arch] = b
	return list(out.values())


def arch_kernels(board: Board, kdir: str, jobs: int, tally: Tally) -> None:
	"""Another architecture's board (other_arches): its kernel in both
	modes with the drivers it names, then the module and built-in plans
	with the short loops. Its kernel is built as a user's tree of that
	architecture would be (qemu-x86: allnoconfig plus the board's
	fragment, objtool's warnings fatal), so the boots are about the
	drivers' portability, not endurance."""
	builds = build_all(board, kdir, jobs, tally, label=f'{board.arch} ')
	guest_boots(board, builds, tally, short_plans(_short(board.name), board.name))


def debug_boots(board: Board, builds: Dict[str, str], tally: Tally, full: bool,
		stress: int = FULL_STRESS, variant: str = 'debug', stride: int = 1) -> None:
	"""The debug (or KASAN) kernels' boots: make check's sample
	(full=False), or every board with `stress` cycles per loop and every
	`stride`-th allocation failed in turn."""
	extra = (f' ferro_debug=1 ferro_stress={stress} ferro_fault_stride={stride}' if full else
		 f' ferro_debug=1 ferro_stress={CHECK_STRESS} ferro_fault_stride={CHECK_FAULT_STRIDE}')
	extra += ' ferro_kasan=1' if variant == 'kasan' else ''
	boots = [dataclasses.replace(b, name=b.name.replace('debug', variant, 1),
				     cmdline=b.cmdline + extra)
		 for b in debug_plans()
		 if (full or b.in_check) and (boards.load(b.board) if b.board else board).debug_kconfig]
	guest_boots(board, builds, tally, boots, timeout=3600 if full else 600)


def host_tests(builds: Dict[str, str], kdir: str, tally: Tally) -> None:
	"""tests/host/test_*.py with the build directories in the environment."""
	for mode, path in builds.items():
		os.environ[f'FERRO_BUILD_{mode.upper()}'] = path
	os.environ['FERRO_KDIR'] = kdir
	# The trees check-tree's tests try (test_check_tree.py), once: fetching
	# shows its own steps.
	for version in ('6.12', '7.2'):
		subprocess.run([os.path.join(TOP, 'scripts', 'fetch-kernel'), '--version', version])
	start = time.monotonic()
	print('  HOST    tests/host ...', flush=True)
	suite = unittest.defaultTestLoader.discover(os.path.join(TOP, 'tests', 'host'),
						    top_level_dir=TOP)
	stream = io.StringIO()
	result = unittest.TextTestRunner(stream=stream, verbosity=2,
					 resultclass=_TimedResult).run(suite)
	bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
	skipped = len(result.skipped)
	passed = result.testsRun - bad - skipped
	if bad or skipped:
		print(stream.getvalue())
	print(f'  HOST    {passed} passed, {bad} failed, {skipped} skipped in '
	      f'{time.monotonic() - start:.0f}s; the slowest:', flush=True)
	for name, secs in sorted(result.times, key=lambda t: -t[1])[:5]:
		print(f'            {secs:5.1f}s {name}', flush=True)
	tally.add('host tests', passed, bad, skipped)


class _TimedResult(unittest.TextTestResult):
	"""A result that also keeps each test's time (host_tests shows the
	slowest)."""

	def __init__(self, *args, **kwargs):
		super().__init__(*args, **kwargs)
		self.times: List[Tuple[str, float]] = []
		self._started = 0.0

	def startTest(self, test):
		self._started = time.monotonic()
		super().startTest(test)

	def stopTest(self, test):
		super().stopTest(test)
		self.times.append((test.id().replace('tests.host.', ''),
				   time.monotonic() - self._started))


def guest_boots(board: Board, builds: Dict[str, str], tally: Tally,
		boots: Optional[List[BootPlan]] = None, timeout: int = 120,
		evidence_logs: bool = False, side_lane: bool = False) -> List[guest.Boot]:
	"""Boot every plan (default: boot_plans()) whose build exists; print and
	tally the KTAP results in the plans' order. With `evidence_logs` (the
	board kernels' boots), those the documentation's evidence comes from
	(evidence.boots_needed) dump the kernel log, and FERRO_EVIDENCE_LOGS
	names them for the host tests (tests/host/test_docs.py), so they need
	not boot again. With `side_lane`, the boots on the drivers' own boards
	(qemu-zcu102: mostly waiting on phylib's once-a-second polling, a few
	seconds of CPU in nine) run one at a time beside the others instead of
	after them; the board's own boots, which keep a CPU busy, never run
	two at once."""
	needed = evidence.boots_needed(board) if evidence_logs else []
	claimed = set()		# (board, mode) whose first boot dumps the log
	runs = []
	for p in boot_plans() if boots is None else boots:
		if p.mode not in builds:
			runs.append((p, None, None))
			continue
		target = boards.load(p.board) if p.board else board
		key = (target.name, p.mode)
		kmsg = key in needed and not p.variant and key not in claimed
		if kmsg:
			claimed.add(key)

		def run(target=target, p=p, kmsg=kmsg):
			if target.arch != board.arch:
				raise guest.GuestError(f'board {p.board} does not share the {board.arch} '
						       'kernel')
			return guest.boot(target, builds[p.mode], p.name, p.plan, p.cmdline,
					  driver=p.driver, dt_variant=p.variant, timeout=timeout,
					  dump_kmsg=kmsg, broken=p.broken)
		runs.append((p, key if kmsg else None, run))
	done = []
	given: Dict[Tuple[str, str], str] = {}
	with concurrent.futures.ThreadPoolExecutor(max_workers=1) as main, \
	     concurrent.futures.ThreadPoolExecutor(max_workers=1) as side:
		started = [(p, key, ((side if side_lane and p.board and p.board != board.name else
				      main).submit(_boot, run) if run else None))
			   for p, key, run in runs]
		for p, key, future in started:
			if future is None:
				print(f'  FAIL    boot {p.name}: no FERRO_MODE={p.mode} build', flush=True)
				tally.add(f'boot {p.name}', 0, 1)
				continue
			b = _report_boot(p.name, future.result(), tally)
			if b:
				done.append(b)
				if key:
					given[key] = b.log_path
	if given:
		os.environ['FERRO_EVIDENCE_LOGS'] = ';'.join(f'{b}:{m}={p}'
							      for (b, m), p in given.items())
	return done


def _boot(run):
	"""run() a boot: its Boot, or the GuestError that stopped it."""
	try:
		return run()
	except guest.GuestError as e:
		return e


def _report_boot(name: str, outcome, tally: Tally) -> Optional[guest.Boot]:
	"""Print and tally a boot's KTAP results (a boot that could not start
	counts as one failure)."""
	if isinstance(outcome, guest.GuestError):
		print(f'  FAIL    boot {name}: {outcome}', flush=True)
		tally.add(f'boot {name}', 0, 1)
		return None
	print('\n'.join(guest.describe(outcome)), flush=True)
	tally.add(f'boot {name}', outcome.run.passed, outcome.run.failed, outcome.run.skipped)
	return outcome


def _tallied_boot(name: str, run, tally: Tally) -> Optional[guest.Boot]:
	"""run() a boot; print and tally its KTAP results (a boot that cannot
	start counts as one failure)."""
	return _report_boot(name, _boot(run), tally)


def fast_loop(board: Board, kdir: str, driver: str, jobs: int, tally: Tally,
	      stress: int = 0, against: str = '') -> None:
	"""Rebuild one driver out of tree against the module kernel and boot it.

	The kernel itself is built only if it does not exist yet; after that a
	change to a driver costs an M= build of that driver, a new initramfs and
	one boot. `stress` sets the guest's loop counts (0: their default).
	`against` builds against that directory (an unpacked linux-headers
	package of the module kernel) instead of the kernel's build tree.
	"""
	if driver and driver not in compare.drivers():
		raise ValueError(f"no driver '{driver}' (drivers: {', '.join(compare.drivers())})")
	build = kbuild.build_dir(board, 'm', kdir)
	if not os.path.exists(os.path.join(build, board.kernel_image)):
		build = kbuild.build(board, 'm', kdir, jobs)
	out = os.path.join(kbuild.cache_dir(), 'extmod', 'headers' if against else 'fast')
	start = time.monotonic()
	cmd = [os.path.join(TOP, 'scripts', 'build-modules'), '--out', out, '--jobs', str(jobs)]
	cmd += ['--only', driver] if driver else []
	proc = subprocess.run(cmd + [against or build], capture_output=True, text=True)
	if proc.returncode != 0:
		print(proc.stdout[-3000:] + proc.stderr[-3000:], flush=True)
		print('  FAIL    out-of-tree build', flush=True)
		tally.add('fast build', 0, 1)
		return
	print(f'  FAST    {driver or "all drivers"} rebuilt out of tree against '
	      f'{against or build} in {time.monotonic() - start:.1f}s', flush=True)
	tally.add('fast build', 1, 0)
	cmdline = 'initcall_debug' + (f' ferro_stress={stress}' if stress else '')
	_tallied_boot('fast', lambda: guest.boot(board, build, 'fast', 'module', cmdline,
						 modules=out, driver=driver), tally)


def kernel_packages(board: Board, build: str, tally: Tally) -> str:
	"""make debs for the module kernel (kept in the cache while the build
	and the packaging code are the same), its linux-headers package
	unpacked into an empty directory, and the Rust crates that depend on a
	proc macro rebuilt there as on a board (rust/rebuild-host-crates.sh).
	Returns that headers directory ('' if a step failed)."""
	with open(os.path.join(build, '.ferro-inputs'), 'rb') as f:
		stamp = f.read()
	with open(os.path.join(build, '.version'), 'rb') as f:
		stamp += f.read()
	key = digest.of(stamp, *[open(os.path.join(TOP, 'scripts', 'ferro', n), 'rb').read()
				 for n in ('debs.py', 'kbuild.py')])[:16]
	top = os.path.join(kbuild.cache_dir(), 'debs-check', key)
	headers = os.path.join(top, 'unpacked', 'usr', 'src', f'linux-headers-{kbuild.kernel_release(build)}')
	start = time.monotonic()
	try:
		if os.path.isfile(os.path.join(top, '.ready')):
			print(f'  DEBS    up to date ({top})', flush=True)
		else:
			shutil.rmtree(os.path.dirname(top), ignore_errors=True)
			made = debs.build_debs(board, build, 'm', os.path.join(top, 'debs'))
			deb = [d for d in made if os.path.basename(d).startswith('linux-headers-')][0]
			subprocess.run(['dpkg-deb', '-x', deb, os.path.join(top, 'unpacked')], check=True,
				       capture_output=True)
			proc = subprocess.run([os.path.join(headers, debs.SCRIPT)], capture_output=True,
					      text=True, env=kbuild.toolchain_env())
			if proc.returncode != 0:
				raise debs.DebsError(f'{debs.SCRIPT} failed:\n{proc.stdout[-2000:]}'
						     f'{proc.stderr[-2000:]}')
			open(os.path.join(top, '.ready'), 'w').close()
			print(f'  DEBS    linux-headers unpacked and its Rust crates rebuilt for this '
			      f'machine in {time.monotonic() - start:.0f}s', flush=True)
	except (debs.DebsError, kbuild.BuildError, subprocess.CalledProcessError, OSError) as e:
		print(f'  FAIL    kernel packages: {e}', flush=True)
		tally.add('kernel packages', 0, 1)
		return ''
	tally.add('kernel packages', 1, 0)
	return headers


def lava_local(board: Board, kdir: str, tally: Tally, plan: str = 'all') -> None:
	"""The board's QEMU LAVA jobs run by LAVA's own dispatcher
	(scripts/lava-run-local), with 2 cycles per stress loop (the virt
	boots run the full counts): its checks tallied, each failure printed."""
	# The lava root is made once (about 80 s); its steps show here.
	if subprocess.run([os.path.join(TOP, 'scripts', 'setup-chroot'), 'lava']).returncode:
		tally.add('lava', 0, 1)
		return
	start = time.monotonic()
	print(f'  LAVA    lava-run of the {board.name} jobs ({plan}) ...', flush=True)
	proc = subprocess.run([os.path.join(TOP, 'scripts', 'lava-run-local'), '--board', board.name,
			       '--kdir', kdir, '--plan', plan, '--stress', str(guest.SHORT_LOOPS)],
			      capture_output=True, text=True)
	run = ktap.parse(proc.stdout)
	bad = [r for r in run.results if not r.ok]
	if proc.returncode != 0 and not bad:
		print(proc.stdout[-3000:] + proc.stderr[-3000:], flush=True)
		tally.add('lava', 0, 1)
		return
	print(f'  LAVA    {run.passed} passed, {run.failed} failed, {run.skipped} skipped in '
	      f'{time.monotonic() - start:.0f}s', flush=True)
	for r in bad:
		print(f'    not ok {r.name}\n      ' + '\n      '.join(r.diagnostics), flush=True)
	for e in run.errors:
		print(f'    error: {e}', flush=True)
	tally.add('lava', run.passed, run.failed, run.skipped)


def _image_checks(board: Board, build: str, mode: str,
		  img: image.Image) -> List[Tuple[str, bool, str]]:
	"""What a board's firmware and kernel will find on the card."""
	facts = image.inspect(img.path)
	out = []
	parts = facts['partitions']
	out.append(('partition_table', facts['label_id'] == f'0x{image.DISK_ID:08x}' and
		    [(p['type'], p.get('bootable', False)) for p in parts] == [('c', True), ('83', False)],
		    f"label-id {facts['label_id']}, partitions {parts}"))
	want = {board.sd_card.kernel, os.path.basename(board.dtbs[0]), 'overlays/ferro.dtbo',
		'config.txt', 'cmdline.txt'} | set(board.sd_card.firmware)
	have = set(facts['boot_files'])
	out.append(('boot_files', want <= have, f'missing {sorted(want - have)}'))
	with open(os.path.join(build, board.kernel_image), 'rb') as f:
		kernel = f.read()
	out.append(('kernel_is_the_build', facts['boot_file'](board.sd_card.kernel) == kernel,
		    f'{board.sd_card.kernel} differs from {board.kernel_image}'))
	config = facts['boot_file']('config.txt').decode()
	out.append(('config_txt', f'kernel={board.sd_card.kernel}\n' in config and
		    'dtoverlay=ferro\n' in config, config))
	cmdline = facts['boot_file']('cmdline.txt').decode().strip()
	out.append(('cmdline_root_partuuid', f'root=PARTUUID={image.root_partuuid()}' in cmdline
		    and ' -- ' not in cmdline and 'ferro.selftest' not in cmdline, cmdline))
	release = guest.kernel_release(build)
	root = facts['root_files']
	need = ['/sbin/init', f'/lib/modules/{release}/modules.dep',
		f'/lib/modules/{release}/modules.builtin', '/bin/busybox', '/bin/sh',
		'/usr/bin/ferro-selftest', '/usr/bin/ferro-blkio', '/usr/bin/ferro-lifecycle']
	links = facts['links']

	def resolve(n: str) -> str:
		"""Where the root file system's path leads, links followed."""
		for _ in range(8):
			if n not in links:
				break
			n = os.path.normpath(os.path.join(os.path.dirname(n), links[n]))
		return n
	out.append(('root_files', all(resolve(n) in root and resolve(n) not in links for n in need),
		    f'missing or dangling {[n for n in need if resolve(n) not in root]}'))
	selftest = facts['etc'].get('/etc/ferro/selftest', '')
	out.append(('card_selftest_plan',
		    selftest == f'{image.PLANS[mode]} {board.name} {guest.guest_drivers(board)}\n',
		    f'/etc/ferro/selftest is {selftest!r}'))
	# The scripts run only if they are executable (and the kernel takes #!).
	scripts = sorted(n for n, t in userland.files(board, image.PLANS[mode]).items()
			 if t.startswith('#!'))
	scripts += ['/usr/lib/ferro/ferro-init', '/usr/bin/ferro-selftest', '/usr/bin/ferro-blkio']
	modes = facts['modes']
	out.append(('card_scripts_executable',
		    '/etc/init.d/rcS' in scripts and
		    all(modes.get(resolve(n), 0) & 0o111 for n in scripts),
		    f'modes {[(n, oct(modes.get(resolve(n), 0))) for n in scripts]}'))
	fixtures = {f'{m}.ko' for m in kbuild.fixture_modules()}
	shipped = sorted(n for n in root if os.path.basename(n) in fixtures)
	out.append(('no_test_fixtures', bool(fixtures) and not shipped, f'shipped {shipped}'))
	ferro = {n: t for n, t in links.items() if n.startswith('/lib/modules/ferro/')}
	if mode == 'm':
		names = {f'ferro_{d}.ko' for d in compare.drivers()}
		resolved = {os.path.basename(n) for n in ferro if resolve(n) in root}
		out.append(('ferro_modules_installed', names == resolved,
			    f'want {sorted(names)}, resolving links {sorted(resolved)}'))
	else:
		out.append(('ferro_modules_built_in', not ferro, f'links {sorted(ferro)}'))
	return out


def sd_cards(builds: Dict[str, str], tally: Tally) -> None:
	"""The Raspberry Pi boards' SD-card images: built for both modes and
	checked from the outside; the Pi 4's booted in QEMU raspi4b, with 2
	load/bind cycles per loop (the virt boots run the full counts), and
	again to its shell, where make check types commands (ferro/card.py)."""
	firmware = image.fetch_firmware()
	if not firmware:
		# Found, it is a precondition of the checks below, not one of them.
		print('  FAIL    scripts/fetch-rpi-firmware found no Pi 4 firmware', flush=True)
		tally.add('rpi firmware', 0, 1)
	for name in boards.available():
		board = boards.load(name)
		if not board.sd_card:
			continue
		for mode, build in sorted(builds.items()):
			tag = f'{name}-{image.PLANS[mode]}'
			start = time.monotonic()
			try:
				img = image.build_image(board, build, mode,
							os.path.join(kbuild.cache_dir(), 'images', tag),
							firmware or None)
				checks = _image_checks(board, build, mode, img)
			except (image.ImageError, guest.GuestError, OSError) as e:
				print(f'  FAIL    image {tag}: {e}', flush=True)
				tally.add(f'image {tag}', 0, 1)
				continue
			bad = [c for c in checks if not c[1]]
			print(f'  IMAGE   {tag}: {len(checks) - len(bad)} passed, {len(bad)} failed '
			      f'in {time.monotonic() - start:.1f}s ({img.path})', flush=True)
			for c in bad:
				print(f'    not ok {c[0]}\n      {c[2]}', flush=True)
			tally.add(f'image {tag}', len(checks) - len(bad), len(bad))
			if not board.qemu_binary:
				continue
			logs = [_tallied_boot(f'{tag}-sd', lambda: guest.boot_sd_card(
				board, build, f'{tag}-sd', img.path, img.dtb, img.cmdline,
				extra=f'ferro_stress={guest.SHORT_LOOPS}'), tally),
				_tallied_boot(f'{tag}-shell', lambda: card.shell_boot(
					board, build, mode, img, tag), tally)]
			# The documentation's excerpts of the cards come from these
			# (tests/host/test_docs.py, evidence.card_boots).
			for kind, b in zip(('sd', 'shell'), logs):
				if b:
					given = os.environ.get('FERRO_EVIDENCE_LOGS', '')
					os.environ['FERRO_EVIDENCE_LOGS'] = ';'.join(filter(None, [
						given, f'{name}:{mode}-{kind}={b.log_path}']))
