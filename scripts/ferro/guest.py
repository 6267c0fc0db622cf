# SPDX-License-Identifier: GPL-2.0
"""Boot a built kernel in QEMU with Ferro's test initramfs and collect KTAP.

Data flows one way: build directory + board descriptor -> initramfs and
device tree (cached by content) -> QEMU under a timeout -> console log ->
KTAP results. Every boot keeps its console log in the run directory.
"""

import dataclasses
import glob
import gzip
import os
import re
import shutil
import subprocess
import time
from typing import List, Optional, Sequence, Tuple

from ferro import digest, ktap, registry
from ferro import observe as observe_mod
from ferro.board import Board, TOP
from ferro.kbuild import cache_dir, kernel_release

GUEST_DIR = os.path.join(TOP, 'tests', 'guest')


class GuestError(Exception):
	pass


def run_dir(board: Board) -> str:
	d = os.path.join(cache_dir(), 'run', board.name)
	os.makedirs(d, exist_ok=True)
	return d


def _read(path: str) -> bytes:
	with open(path, 'rb') as f:
		return f.read()


def guest_init(board: Board) -> str:
	"""The static guest init for the board's architecture, built once per
	source. Its table of drivers comes from the registry (drivers/Kconfig):
	the generated ferro-drivers.h, beside the binary."""
	sources = sorted(glob.glob(os.path.join(GUEST_DIR, '*.[ch]')))
	header = registry.guest_header().encode()
	key = digest.of(*[_read(p) for p in sources], header, board.cross_compile.encode())[:16]
	out = os.path.join(run_dir(board), f'ferro-init-{key}')
	if not os.path.exists(out):
		gen = out + '.include'
		os.makedirs(gen, exist_ok=True)
		with open(os.path.join(gen, 'ferro-drivers.h'), 'wb') as f:
			f.write(header)
		cc = board.cross_compile + 'gcc'
		proc = subprocess.run([cc, '-static', '-pthread', '-O2', '-Wall', '-Wextra', '-Werror',
				       '-I', gen, '-o', out + '.tmp'] +
				      [p for p in sources if p.endswith('.c')], capture_output=True, text=True)
		shutil.rmtree(gen)
		if proc.returncode != 0:
			raise GuestError(f'building the guest init failed:\n{proc.stderr}')
		os.rename(out + '.tmp', out)
	return out


def initramfs(board: Board, build: str, tag: str, modules: Optional[str] = None,
	      extra: Sequence[Tuple[str, str]] = ()) -> str:
	"""A gzip cpio with the guest init, Ferro's modules (from the build, or
	from `modules` for an out-of-tree build), the build's module lists and
	`extra` (source path, path in the guest) files."""
	release = kernel_release(build)
	entries = [
		'dir /dev 0755 0 0',
		'nod /dev/console 0600 0 0 c 5 1',
		'dir /proc 0755 0 0',
		'dir /sys 0755 0 0',
		'dir /lib 0755 0 0',
		'dir /lib/modules 0755 0 0',
		'dir /lib/modules/ferro 0755 0 0',
		f'dir /lib/modules/{release} 0755 0 0',
		f'file /init {guest_init(board)} 0755 0 0',
	]
	ko_dir = modules or os.path.join(build, 'drivers', 'ferro')
	for ko in sorted(glob.glob(os.path.join(ko_dir, '**', 'ferro_*.ko'), recursive=True)):
		entries.append(f'file /lib/modules/ferro/{os.path.basename(ko)} {ko} 0644 0 0')
	dirs = sorted({os.path.dirname(dst) for _, dst in extra} - {'/lib/modules'})
	entries += [f'dir {d} 0755 0 0' for d in dirs]
	entries += [f'file {dst} {src} 0644 0 0' for src, dst in extra]
	for name in ('modules.builtin', 'modules.builtin.modinfo'):
		path = os.path.join(build, name)
		if os.path.exists(path):
			entries.append(f'file /lib/modules/{release}/{name} {path} 0644 0 0')
	listing = '\n'.join(entries) + '\n'
	out = os.path.join(run_dir(board), f'initramfs-{tag}.cpio.gz')
	list_path = out + '.list'
	with open(list_path, 'w') as f:
		f.write(listing)
	gen = os.path.join(build, 'usr', 'gen_init_cpio')
	# A kernel built in the LLVM root has a copy built for the host
	# (kbuild.host_gen_init_cpio).
	if os.path.exists(gen + '.host'):
		gen += '.host'
	if not os.path.exists(gen):
		raise GuestError(f'{gen} is missing: the kernel was built without BLK_DEV_INITRD')
	cpio = subprocess.run([gen, list_path], capture_output=True, check=True,
			      env=dict(os.environ, SOURCE_DATE_EPOCH='0')).stdout
	with open(out, 'wb') as f:
		with gzip.GzipFile(fileobj=f, mode='wb', mtime=0) as z:
			z.write(cpio)
	return out


# The kernel log buffer: the guest's checks read the log back (the lines a
# refused load or a fault leaves), and <plan>_kernel_log_clean vouches for
# every record since boot, failing if the ring buffer overwrote any before
# the guest read it. A module boot logged about 7,000 records (about 1 MiB
# with initcall_debug and the drivers' call traces then); the default 128 KiB
# lost 4,293 of 6,973 in one. 8 MiB of text (about 36 MiB of memory with
# the record descriptors) leaves room for the stress boots, and the check
# says so if it ever does not.
LOG_BUF = 'log_buf_len=8M'


def kernel_cmdline(board: Board, plan: str, args: str = '', driver: str = '',
		   last: str = '', baud: str = '') -> str:
	"""The kernel command line that boots the self-test: console (with
	`baud` for a real UART), no reboot loop on panic, a quiet console, the
	log buffer, the board's and the caller's arguments, then after "--"
	the guest init's: plan, board, drivers (guest_drivers) and `last`."""
	console = f'console={board.console}' + (f',{baud}' if baud else '')
	return ' '.join(filter(None, [console, 'panic=-1', 'quiet', LOG_BUF, board.cmdline,
				      board.guest_env(), args,
				      '--', plan, board.name, guest_drivers(board, driver), last]))


def guest_drivers(board: Board, driver: str = '') -> str:
	"""The guest init's driver argument: `driver`, else the drivers the
	board runs (Board.drivers, comma-separated), else all."""
	if driver:
		return driver
	return ','.join(board.drivers) if board.drivers else 'all'


# The guest's stress loops run 50 cycles unless ferro_stress=N says
# otherwise; boots that repeat what the full-count boots already showed
# (the fast loop in make check, the docs, the SD-card boots) run this many.
SHORT_LOOPS = 2

# The kernel command line of each plan's standard boot (make check, compare,
# docs): initcall_debug for the initcall timeline, and for the built-in
# drivers the parameters a module boot gives at load (each driver's
# builtin_args, ferro/registry.py).
PLAN_CMDLINE = {
	'module': 'initcall_debug',
	'builtin': ' '.join(['initcall_debug'] + [d.builtin_args for d in registry.drivers()
						  if d.builtin_args]),
}


def dt_variants(board: Board) -> List[str]:
	"""The board's device-tree variants (dt-variants/<name>.dtsi), by name."""
	return sorted(os.path.basename(p)[:-len('.dtsi')] for p in
		      glob.glob(os.path.join(board.folder, 'dt-variants', '*.dtsi')))


def device_tree(board: Board, variant: str = '') -> Optional[str]:
	"""QEMU's own tree for the machine plus the board's Ferro nodes, as a .dtb;
	a `variant` (dt-variants/<variant>.dtsi) is appended last, to break
	something on purpose."""
	dtsi, whole = board.dtsi_path(), board.dts_path()
	if not (dtsi or whole) or not board.qemu_binary:
		return None
	extra = []
	if variant:
		if variant not in dt_variants(board):
			raise GuestError(f"board {board.name} has no DT variant '{variant}' "
					 f"(variants: {', '.join(dt_variants(board)) or 'none'})")
		extra = [os.path.join(board.folder, 'dt-variants', variant + '.dtsi')]
	qemu_version = subprocess.run([board.qemu_binary, '--version'], capture_output=True,
				      text=True, check=True).stdout
	key = digest.of(*[_read(p) for p in [dtsi or whole] + extra],
			' '.join(board.qemu_machine).encode(), qemu_version.encode())[:16]
	out = os.path.join(run_dir(board), f'{board.name}{"-" + variant if variant else ""}-{key}.dtb')
	if os.path.exists(out):
		return out
	if whole:
		dts = ''
	else:
		base = out + '.qemu.dtb'
		machine = list(board.qemu_machine)
		i = machine.index('-M') + 1
		machine[i] += f',dumpdtb={base}'
		subprocess.run([board.qemu_binary] + machine + ['-nographic'], check=True,
			       capture_output=True, timeout=60)
		dts = subprocess.run(['dtc', '-q', '-I', 'dtb', '-O', 'dts', base], check=True,
				     capture_output=True, text=True).stdout
	for path in [dtsi or whole] + extra:
		with open(path) as f:
			dts += '\n' + f.read()
	proc = subprocess.run(['dtc', '-q', '-I', 'dts', '-O', 'dtb', '-o', out + '.tmp', '-'],
			      input=dts, capture_output=True, text=True)
	if proc.returncode != 0:
		what = whole or f"{dtsi} merged into QEMU's tree"
		raise GuestError(f'dtc failed on {what}:\n{proc.stderr}')
	os.rename(out + '.tmp', out)
	if not whole:
		os.unlink(base)
	return out


@dataclasses.dataclass
class Boot:
	name: str
	log_path: str
	seconds: float
	timed_out: bool
	run: ktap.Run


def _require_qemu(board: Board) -> None:
	if not board.qemu_binary:
		raise GuestError(f'board {board.name} does not boot in QEMU')
	if not shutil.which(board.qemu_binary):
		raise GuestError(f'{board.qemu_binary} not found (run make deps)')


def boot(board: Board, build: str, name: str, plan: str, cmdline: str = '',
	 timeout: int = 120, modules: Optional[str] = None, driver: str = '',
	 dump_kmsg: bool = False, dt_variant: str = '',
	 extra: Sequence[Tuple[str, str]] = (), observe: bool = True,
	 broken: str = '', qemu_args: Sequence[str] = ()) -> Boot:
	"""Boot the build's kernel; `plan` is what the guest init tests, for
	every driver or only `driver`; `modules` overrides where .ko files come from;
	`dump_kmsg` has the guest print the whole kernel log at the end;
	`dt_variant` boots with one of the board's broken device trees; `extra`
	adds files to the initramfs. With `observe` (and a kernel with kprobe
	events), a module or built-in boot probes every entry of the drivers
	(ferro/observe.py); where the boot `broken` a driver on purpose (a bad
	device tree or parameter, named by it), only its init must be entered.
	A built-in boot probes the entries said to be unreachable too, and
	entering one fails: its probes are registered once, at boot, so this
	costs nothing there (a module's are registered again at every load).
	`qemu_args` go to QEMU after the board's (make bench's -icount)."""
	_require_qemu(board)
	image = os.path.join(build, board.kernel_image)
	found: List[observe_mod.Probe] = []
	if observe and plan in ('module', 'builtin') and observe_mod.observable(build):
		found = observe_mod.probes(build, 'm' if plan == 'module' else 'y', modules)
		found = [dataclasses.replace(
			p, reason=observe_mod.reason(board.name, p, broken, driver)) for p in found]
		args = observe_mod.entry_args(build)
		listing = os.path.join(run_dir(board), f'{name}.entries')
		with open(listing, 'w') as f:
			f.write(observe_mod.entries_text(found, args, plan == 'builtin'))
		extra = list(extra) + [(listing, '/ferro/entries')]
	initrd = initramfs(board, build, name, modules, extra)
	if found and plan == 'builtin':
		observe_mod.append_bootconfig(initrd, observe_mod.bootconfig(found, args, True))
		cmdline = f'{cmdline} bootconfig'.strip()
	if found:
		cmdline = f'{cmdline} {observe_mod.CMDLINE}'.strip()
	append = kernel_cmdline(board, plan, cmdline, driver, 'kmsg' if dump_kmsg else '')
	cmd = [board.qemu_binary] + board.qemu_machine + [
		'-nographic', '-no-reboot', '-kernel', image, '-initrd', initrd, '-append', append]
	cmd += list(qemu_args)
	dtb = device_tree(board, dt_variant)
	if dtb:
		cmd += ['-dtb', dtb]
	b = _run_qemu(cmd, name, os.path.join(run_dir(board), f'{name}.log'), timeout)
	if found and not b.timed_out and not re.search(r'^# entries: \d+ armed', _read(
			b.log_path).decode('utf-8', 'replace'), re.M):
		b.run.errors.append(f'the guest armed none of the {len(found)} entries it was given')
	return b


# The guest init's last line; machines that cannot power off (raspi4b)
# halt after it, so the harness stops QEMU once it has been printed.
END_LINE = re.compile(r'^# ferro-init: \d+ passed, \d+ failed', re.M)


def _run_qemu(cmd: List[str], name: str, log_path: str, timeout: int,
	      halts: bool = False, typed: Sequence[Tuple[str, str]] = ()) -> Boot:
	"""Run QEMU with its console in log_path until it exits, or, when the
	machine `halts` instead of powering off, until the end line is out.
	`typed` is a conversation on the console: (pattern, text) pairs, each
	text typed once its pattern has appeared after what was typed last;
	the run ends when the last pattern has appeared."""
	start = time.monotonic()
	timed_out = False
	script = list(typed)
	with open(log_path, 'wb') as log:
		log.write(('# ' + ' '.join(cmd) + '\n').encode())
		log.flush()
		proc = subprocess.Popen(cmd, stdin=subprocess.PIPE if script else subprocess.DEVNULL,
					stdout=log, stderr=subprocess.STDOUT)
		seen = 0
		try:
			while (halts or script) and proc.poll() is None:
				if time.monotonic() - start > timeout:
					raise subprocess.TimeoutExpired(cmd, timeout)
				with open(log_path, 'rb') as f:
					text = f.read().decode('utf-8', 'replace')
				if script:
					m = re.compile(script[0][0], re.M).search(text, seen)
					if m:
						seen = m.end()
						if proc.stdin and script[0][1]:
							try:
								proc.stdin.write(script[0][1].encode())
								proc.stdin.flush()
							except OSError:
								break	# QEMU has gone: said below
						script.pop(0)
						if not script:
							time.sleep(0.5)
							proc.kill()
							break
						continue
				elif END_LINE.search(text):
					time.sleep(1)	# the halt message
					proc.kill()
					break
				time.sleep(0.2)
			proc.wait(timeout=max(1, timeout - (time.monotonic() - start)))
		except subprocess.TimeoutExpired:
			timed_out = True
			proc.kill()
			proc.wait()
	seconds = time.monotonic() - start
	with open(log_path, 'rb') as f:
		text = f.read().decode('utf-8', 'replace')
	run = ktap.parse(text)
	if timed_out:
		what = (f'reach {script[0][0]!r} on the console' if script else
			'halt' if halts else 'power off')
		run.errors.append(f'QEMU did not {what} within {timeout}s')
	elif script:
		run.errors.append(f'QEMU exited before {script[0][0]!r} was on the console')
	return Boot(name, log_path, seconds, timed_out, run)


def sd_card_dtb(board: Board, dtb: str) -> str:
	"""The board's DTB (overlay applied) with the board's QEMU edits, in
	the run directory."""
	out = os.path.join(run_dir(board), f'{board.name}-qemu.dtb')
	shutil.copy(dtb, out + '.tmp')
	for edit in board.qemu_dt_edits:
		node, change = edit.split(' ', 1)
		if change.startswith('-'):
			cmd = ['fdtput', '-d', out + '.tmp', node, change[1:]]
		else:
			prop, value = change.split('=', 1)
			cmd = ['fdtput', '-t', 's', out + '.tmp', node, prop, value]
		proc = subprocess.run(cmd, capture_output=True, text=True)
		if proc.returncode != 0:
			raise GuestError(f"cannot apply '{edit}' to {dtb}: {proc.stderr.strip()}")
	os.rename(out + '.tmp', out)
	return out


def boot_sd_card(board: Board, build: str, name: str, image: str, dtb: str, cmdline: str,
		 extra: str = '', timeout: int = 240,
		 typed: Sequence[Tuple[str, str]] = ()) -> Boot:
	"""Boot an SD-card image the way the board's firmware would: the
	build's kernel with the image's cmdline.txt (plus `extra` kernel
	parameters), the root file system and its init from the card (QEMU
	loads kernel and DTB itself; it does not run the Pi firmware). Without
	`typed` the card runs its self-test (ferro.selftest=1); with it, the
	card comes up to its shell and `typed` is typed there (_run_qemu)."""
	_require_qemu(board)
	if board.qemu_console:
		cmdline = cmdline.replace(f'console={board.console},', f'console={board.qemu_console},')
	append = ' '.join(filter(None, [cmdline, 'panic=-1', extra,
					 '' if typed else 'ferro.selftest=1']))
	cmd = [board.qemu_binary] + board.qemu_machine + [
		'-nographic', '-no-reboot',
		'-kernel', os.path.join(build, board.kernel_image), '-dtb', sd_card_dtb(board, dtb),
		'-drive', f'if=sd,format=raw,file={image},snapshot=on', '-append', append]
	return _run_qemu(cmd, name, os.path.join(run_dir(board), f'{name}.log'), timeout,
			 halts=not typed, typed=typed)


def shell_conversation(commands: Sequence[str], ready: str,
		       prompt: str) -> List[Tuple[str, str]]:
	# `prompt` is a pattern: the shell shows the directory differently once
	# it stops editing lines.
	"""What _run_qemu types to run `commands` one by one in a card's shell,
	once `ready` is out: first "stty -echo", so that the console shows
	only what the commands print (and the shell edits no lines), then each
	command after a prompt, with an end line holding its exit status
	(shell_outputs reads them back)."""
	out = [(re.escape(ready), ''), (prompt, 'stty -echo\n')]
	for i, c in enumerate(commands, 1):
		# The output starts on a line of its own, not after the prompt.
		out.append((prompt, f'echo; {c}; echo "# shell: $? <- {i}"\n'))
		out.append((rf'^# shell: \d+ <- {i}\r?$', ''))
	return out


def shell_outputs(log: str, prompt: str, n: int) -> List[Tuple[Optional[int], str]]:
	"""Each of the `n` commands' exit status (None if it never ended) and
	what it printed, from the console log of a shell_conversation."""
	out: List[Tuple[Optional[int], str]] = []
	pos = 0
	for i in range(1, n + 1):
		end = re.compile(rf'^# shell: (\d+) <- {i}\r?$', re.M).search(log, pos)
		if not end:
			out.append((None, ''))
			continue
		begins = [m.end() for m in re.finditer(prompt, log[:end.start()])
			  if m.start() >= pos]
		body = log[begins[-1] if begins else pos:end.start()]
		out.append((int(end.group(1)), body.replace('\r', '')))
		pos = end.end()
	return out


def describe(b: Boot) -> List[str]:
	"""Human-readable lines for a boot's outcome."""
	lines = [f'  BOOT    {b.name}: {b.run.passed} passed, {b.run.failed} failed '
		 f'in {b.seconds:.1f}s (log: {b.log_path})']
	for r in b.run.results:
		if not r.ok:
			lines.append(f'    not ok {r.name}')
			lines += [f'      {d}' for d in r.diagnostics]
	lines += [f'    error: {e}' for e in b.run.errors]
	return lines
