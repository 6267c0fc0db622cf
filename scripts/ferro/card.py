# SPDX-License-Identifier: GPL-2.0
"""A Raspberry Pi card in QEMU: its self-test boot, its shell, and the
excerpts of both that Documentation/boards/rpi.rst quotes.

make check boots each mode's card twice: with ferro.selftest=1 (the
self-test at boot, as the LAVA jobs and a board's first check use it), and
to its shell, where it types shell_commands() and holds each output to a
pattern. The excerpts keep what does not vary from boot to boot of the same
build: no times, rates or kernel console lines.
"""

import os
import re
from typing import Dict, List, Tuple

from ferro import guest, image, kbuild, ktap, userland
from ferro.board import Board


def prompt(board: Board) -> str:
	"""The card shell's prompt, as a pattern: the directory it shows
	changes once line editing is off (guest.shell_conversation)."""
	return rf'root@ferro-{re.escape(board.name)}:\S*# '


def shell_commands(mode: str) -> List[Tuple[str, str]]:
	"""What make check types in a card's shell, with a pattern the output
	must match: the kernel the card booted, how C entered ferro_lifecycle,
	block I/O on a ferro_null disk, which driver scales the CPUs, which
	PHY drivers phylib has, and the self-test as a command. On a module
	card each driver is loaded first and all are unloaded at the end."""
	m = mode == 'm'

	def load(module: str, params: str = '') -> str:
		return f'modprobe {module}{" " + params if params else ""} && ' if m else ''
	entry = 'init_module' if m else '__ferro_lifecycle_init'
	unload = 'rmmod ferro_null ferro_lifecycle ferro_cpufreq ferro_phy && ' if m else ''
	return [('uname -r', '{release}'),
		(f'{load("ferro_lifecycle")}ferro-lifecycle', rf'^entry: {entry}$'),
		(f'{load("ferro_null", "memory_backed=1")}ferro-blkio -v -n 64 /dev/ferro_nullb0',
		 'every block read back as written'),
		(f'{load("ferro_cpufreq")}cat /sys/devices/system/cpu/cpufreq/policy0/scaling_driver',
		 '^ferro-cpufreq$'),
		(f'{load("ferro_phy")}ls -1 /sys/bus/mdio_bus/drivers', '^Ferro BCM54213PE$'),
		(f'{unload}ferro-selftest lifecycle', r'^# ferro-init: [1-9]\d* passed, 0 failed$')]


def shell_boot(board: Board, build: str, mode: str, img: image.Image, tag: str) -> guest.Boot:
	"""Boot the card to its shell and run shell_commands() there; each
	command's exit status and output become a KTAP result of the boot, as
	do the self-test's own results."""
	commands = shell_commands(mode)
	b = guest.boot_sd_card(board, build, f'{tag}-shell', img.path, img.dtb, img.cmdline,
			       extra=f'ferro_stress={guest.SHORT_LOOPS}',
			       typed=guest.shell_conversation([c for c, _ in commands],
							       userland.READY, prompt(board)))
	with open(b.log_path, 'rb') as f:
		log = f.read().decode('utf-8', 'replace')
	release = kbuild.kernel_release(build)
	outputs = guest.shell_outputs(log, prompt(board), len(commands))
	for (cmd, want), (rc, text) in zip(commands, outputs):
		pattern = f'^{re.escape(release)}$' if want == '{release}' else want
		ok = rc == 0 and re.search(pattern, text, re.M) is not None
		b.run.results.append(ktap.Result(
			len(b.run.results) + 1, f'shell: {cmd}', ok,
			diagnostics=[] if ok else [f'exit status {rc}, wanted /{pattern}/ in:'] +
			text.splitlines()[-15:]))
	return b


def boots(board: Board, build: str, mode: str) -> Dict[str, guest.Boot]:
	"""Build the card of `mode` (in the cache) and boot it both ways:
	{'sd': the self-test boot, 'shell': the shell boot}."""
	tag = f'{board.name}-{image.PLANS[mode]}'
	img = image.build_image(board, build, mode,
				os.path.join(kbuild.cache_dir(), 'images', tag),
				image.fetch_firmware() or None)
	return {'sd': guest.boot_sd_card(board, build, f'{tag}-sd', img.path, img.dtb, img.cmdline,
					 extra=f'ferro_stress={guest.SHORT_LOOPS}'),
		'shell': shell_boot(board, build, mode, img, tag)}


# What varies from boot to boot in what the excerpts keep.
_VARYING = [(re.compile(r'^(time: ).*$'), r'\1...'),
	    (re.compile(r'\d+\.\d+ s \(\d+\.\d+ MB/s\)'), '... s (... MB/s)')]


def _keep(line: str) -> bool:
	"""A line an excerpt keeps: not the kernel's console, not the self-test's
	diagnostics (its "# ferro-init:" lines and KTAP results stay)."""
	return not (line.startswith('[') or (line.startswith('#') and
					    not line.startswith('# ferro-init:')))


def _steady(line: str) -> str:
	for pattern, repl in _VARYING:
		line = pattern.sub(repl, line)
	return line


def _trim(lines: List[str]) -> List[str]:
	"""KTAP results beyond the first three and the last three become "..."."""
	idx = [i for i, x in enumerate(lines) if re.match(r'^(not )?ok \d+ ', x)]
	if len(idx) <= 7:
		return lines
	return lines[:idx[3]] + ['...'] + lines[idx[-3]:]


def selftest_excerpt(log: str) -> str:
	"""The self-test boot's KTAP: its header, the first and last three
	results, its plan and its count."""
	lines = [ktap.strip_console(x) for x in log.splitlines()]
	start = next((i for i, x in enumerate(lines) if x == 'KTAP version 1'), None)
	if start is None:
		raise guest.GuestError('no KTAP output in the card\'s self-test boot')
	body = [x for x in lines[start:] if _keep(x) and x]
	end = next((i for i, x in enumerate(body) if re.match(r'^# ferro-init: \d+ passed', x)),
		   len(body) - 1)
	return '\n'.join(_trim(body[:end + 1])) + '\n'


def shell_excerpt(board: Board, mode: str, log: str) -> str:
	"""The shell session: each command as typed after the prompt, and what
	it printed (the self-test's results only)."""
	out = []
	shown = f'root@ferro-{board.name}:~# '
	# What the console shows from rcS's last line to the shell's prompt.
	lines = [ktap.strip_console(x) for x in log.splitlines()]
	ready = next((i for i, x in enumerate(lines) if x.startswith(userland.READY)), None)
	if ready is None:
		raise guest.GuestError(f'the card never printed "{userland.READY}"')
	for x in lines[ready:]:
		if re.match(prompt(board), x):
			break
		if not x.startswith('['):
			out.append(x)
	commands = shell_commands(mode)
	for (cmd, _), (rc, text) in zip(commands, guest.shell_outputs(log, prompt(board),
								     len(commands))):
		out.append(shown + cmd)
		out += _trim([_steady(x) for x in text.splitlines() if x and _keep(x)])
		if rc:
			out.append(f'(exit status {rc})')
	return '\n'.join(out) + '\n'
