# SPDX-License-Identifier: GPL-2.0
"""Arm the kernel's own tracing on every entry of the Ferro drivers.

For a boot of a build, the entries ferro-inspect --entries finds (each
.ko of a module boot, vmlinux for a built-in one) become kprobe events
named "<driver>_<field>": the guest defines a module's before loading it
(from /ferro/entries in the initramfs), and a built-in driver's are
defined at boot by a bootconfig appended to the initramfs (the kernel
command line is too short for them). The guest reports each entry's hits
and first C caller chain ("# entry:" lines, tests/guest/entries.c).
"""

import dataclasses
import glob
import json
import os
import re
import struct
import threading
from typing import List, Optional

from ferro import elf, entries, inspect, kbuild
from ferro.board import TOP

# A module's kprobes are unregistered and registered again at each load of
# the module, and every unregister waits for an RCU grace period: with the
# 200 loads of a module boot's stress loops, the boot took three times as
# long (38 s without probes, 114 s with). Expedited grace periods take a
# fraction of that.
CMDLINE = 'rcupdate.rcu_expedited=1'


def entry_args(build: str) -> str:
	"""What each hit records: its caller (the return address at entry) and
	the kernel's system_state, read at the variable's address (without
	KALLSYMS_ALL a probe cannot name a data symbol)."""
	e = elf.Elf(os.path.join(build, 'vmlinux'))
	state = e.symbol('system_state')
	# At entry the return address is in the link register on arm64, on
	# the top of the stack on x86_64.
	args = 'caller=$stack0:symbol' if e.machine == elf.EM_X86_64 else 'caller=%x30:symbol'
	return args + (f' state=@{state.value:#x}:u32' if state else '')


# The largest bootconfig the kernel takes (include/linux/bootconfig.h).
XBC_DATA_MAX = 32767

# kprobe event names: MAX_EVENT_NAME_LEN is 64 in 7.3; keep well below.
NAME_MAX = 48


@dataclasses.dataclass
class Probe:
	"""One entry of one driver, as the guest probes it."""
	module: str
	event: str
	symbol: str
	address: int
	slot: str
	name: str
	reason: str = ''	# why this boot cannot reach it; '' = it must


def _short(module: str) -> str:
	return module[len('ferro_'):] if module.startswith('ferro_') else module


def _tail(e: entries.Entry) -> str:
	"""What an entry is called in its event name: its field, or the last
	part of its function's name (a KUnit case without its wrapper prefix)."""
	last = e.name.rsplit('::', 1)[-1]
	if e.how == 'initcall':
		return 'initcall'
	if e.table == 'struct module':
		return f'module_{e.field}'
	if e.table == 'struct kunit_case' or not e.field:
		return re.sub(r'^kunit_rust_wrapper_', 'kunit_', re.sub(r'_callback$', '', last))
	return e.field


def init_event(name: str, mode: str) -> str:
	"""The event of driver `name`'s own init (see _tail): init_module
	when loaded (mode 'm' or 'module'), the initcall built in."""
	return f'{name}_module_init' if mode in ('m', 'module') else f'{name}_initcall'


def _distinguish(e: entries.Entry) -> str:
	"""A suffix that tells apart entries in the same field: a const
	generic and its type (a configfs attribute's index), or the innermost
	type argument (a PHY driver's chip)."""
	m = re.search(r'<(\d+): u\d+, (?:\w+::)*(\w+)', e.name)
	if m:
		return f'{m.group(1)}_{m.group(2)}'
	m = re.search(r'<(?:\w+::)*(\w+)>+::\w+$', e.name)
	return m.group(1) if m else ''


def name_events(module: str, found: List[entries.Entry]) -> List[str]:
	"""A unique, valid kprobe event name for each entry."""
	base = [f'{_short(module)}_{_tail(e)}' for e in found]
	names = []
	for i, e in enumerate(found):
		n = base[i]
		if base.count(n) > 1:
			n = f'{n}_{_distinguish(e)}'
		n = re.sub(r'[^A-Za-z0-9_]', '_', n).lower()[:NAME_MAX]
		while n in names:
			n = f'{n[:NAME_MAX - 3]}_{len(names)}'
		names.append(n)
	return names


def _stamp(paths: List[str]) -> str:
	"""What the cached probes depend on: the objects, and the code that
	finds and names their entries."""
	code = [entries.__file__, __file__, os.path.join(TOP, 'tests', 'probes', 'module_layout.c')]
	return json.dumps([(p, os.path.getsize(p), os.path.getmtime(p)) for p in paths + code])


# Boots of one build may run side by side (checks.guest_boots); they share
# its entries' cache and its layout probe's build.
_PROBES_LOCK = threading.Lock()


def probes(build: str, mode: str, modules: Optional[str] = None) -> List[Probe]:
	"""Every entry of every Ferro driver of a boot: from the .ko files (in
	`modules` or the build) for FERRO_MODE=m, from vmlinux for =y.
	Cached beside the build's run files until an object changes."""
	with _PROBES_LOCK:
		return _probes(build, mode, modules)


def _probes(build: str, mode: str, modules: Optional[str]) -> List[Probe]:
	if mode == 'm':
		# The drivers, not the C test helpers under tests/kmod.
		objs = sorted(p for p in glob.glob(os.path.join(
			modules or os.path.join(build, 'drivers', 'ferro'), '**', 'ferro_*.ko'),
			recursive=True) if f'{os.sep}tests{os.sep}' not in p)
	else:
		objs = [os.path.join(build, 'vmlinux')]
	cache = os.path.join(kbuild.cache_dir(), 'entries',
			     re.sub(r'[^A-Za-z0-9]', '_', os.path.abspath(build)) + f'-{mode}'
			     + ('-' + re.sub(r'[^A-Za-z0-9]', '_', modules) if modules else '') + '.json')
	stamp = _stamp(objs)
	if os.path.exists(cache):
		with open(cache) as f:
			saved = json.load(f)
		if saved.get('stamp') == stamp:
			return [Probe(**p) for p in saved['probes']]
	layout = entries.Layout(elf.Elf(kbuild.layout_probe(build)))
	out: List[Probe] = []
	for path in objs:
		e = elf.Elf(path)
		mods = inspect.module_names(e)
		for module in mods:
			found = entries.entries(e, layout, None if mode == 'm' else module)
			for ent, event in zip(found, name_events(module, found)):
				out.append(Probe(module, event, ent.symbol, ent.address, ent.slot, ent.name))
	os.makedirs(os.path.dirname(cache), exist_ok=True)
	with open(cache + '.tmp', 'w') as f:
		json.dump({'stamp': stamp, 'probes': [dataclasses.asdict(p) for p in out]}, f)
	os.replace(cache + '.tmp', cache)
	return out


# Entries a board's boots cannot reach, by board, module and event-name
# pattern, with the reason; every other entry must be observed.
# How a reason starts when it only says a boot's plans do not drive an
# entry (it may still run there), not that it cannot run.
NOT_DRIVEN = "not driven by this board's plans: "

UNREACHABLE: List[tuple] = [
	('qemu-virt', 'ferro_phy', r'phy_(?!module_|initcall|kunit_).*',
	 NOT_DRIVEN + 'QEMU virt has no PHY of its own (the qemu-zcu102 boots reach it: '
	 'the 88E1111 behind the GEM, the BCM54213PE on the simulated MDIO bus, which the '
	 "debug boots' fault sweep also loads here)"),
	('.*', 'ferro_lifecycle', 'lifecycle_check_stack_depth',
	 'not a C entry: a KUnit test takes its address (Rust to Rust)'),
]


# How reason() starts the excuse of a boot that breaks a driver on purpose:
# its entries may run or not (KUnit still runs, a failed probe unbinds), so
# it is no claim that they cannot.
BROKEN = 'this boot breaks the driver on purpose ('


def checkable(reason_text: str) -> bool:
	"""Whether a reason says the entry cannot run (so running fails), not
	only that it need not."""
	return bool(reason_text) and not reason_text.startswith((BROKEN, NOT_DRIVEN))


def reason(board: str, p: Probe, broken: str = '', driver: str = '') -> str:
	"""Why `board`'s boots cannot reach entry `p`, or ''. A boot that
	breaks `driver` on purpose (`broken` says how) need only enter its
	init and its probe."""
	if broken and p.module == f'ferro_{driver}' and \
	   not re.search(r'_(module_init|initcall|probe)$', p.event):
		return f'{BROKEN}{broken}): only its init and probe must run'
	for b, module, pattern, why in UNREACHABLE:
		if re.fullmatch(b, board) and module == p.module and re.fullmatch(pattern, p.event):
			return why
	return ''


def entries_text(found: List[Probe], args: str, check_reasons: bool = False) -> str:
	"""/ferro/entries: the probes' fetch arguments, then module, event,
	symbol, reason per line; tab-separated. With `check_reasons`, a reason
	is marked "?": the guest probes the entry anyway and fails if it runs."""
	def column(p: Probe) -> str:
		return ('?' if check_reasons and checkable(p.reason) else '') + p.reason
	return f'args\t{args}\n' + ''.join(
		f'{p.module}\t{p.event}\t{p.symbol}\t{column(p)}\n' for p in found)


def bootconfig(found: List[Probe], args: str, check_reasons: bool = False) -> bytes:
	"""A bootconfig (Documentation/admin-guide/bootconfig.rst) that defines
	and enables a kprobe event on every built-in entry the board can reach
	(with `check_reasons`, on those it cannot reach too), by address (a v0
	name can pass the 256 bytes trace_boot allows a probe), with stack
	traces on; to be appended to the initramfs, with "bootconfig" on the
	command line."""
	# The buffer is one page per CPU until something expands it: size it
	# at boot, or the records of the boot's first calls are gone before
	# the guest reads them.
	lines = ['ftrace.options = stacktrace', 'ftrace.buffer_size = 1MB']
	for p in found:
		if p.reason and not (check_reasons and checkable(p.reason)):
			continue	# not reachable on this board, or excused: no probe
		lines.append(f'ftrace.event.kprobes.{p.event}.probes = '
			     f'"{p.address:#x} {args}"')
		lines.append(f'ftrace.event.kprobes.{p.event}.enable')
	text = ('\n'.join(lines) + '\n').encode()
	if len(text) >= XBC_DATA_MAX:
		raise ValueError(f'the bootconfig for {len(found)} entries is {len(text)} bytes; '
				 f'the kernel takes at most {XBC_DATA_MAX - 1} (XBC_DATA_MAX)')
	return text


def append_bootconfig(initrd: str, text: bytes) -> None:
	"""Append `text` to an initrd the way tools/bootconfig does: the text
	and a NUL, padded so the whole file stays 4-byte aligned, then size,
	checksum and the magic."""
	data = text + b'\0'
	csum = sum(data) & 0xffffffff
	footer = 4 + 4 + 12
	total = os.path.getsize(initrd) + len(data) + footer
	data += b'\0' * ((-total) % 4)
	with open(initrd, 'ab') as f:
		f.write(data + struct.pack('<II', len(data), csum) + b'#BOOTCONFIG\n')


def observable(build: str) -> bool:
	"""Whether the build's kernel has kprobe events and bootconfig, and no
	KASLR (built-in entries are probed at their vmlinux addresses; an
	unknown "nokaslr" would go to the guest init's arguments)."""
	try:
		with open(os.path.join(build, '.config')) as f:
			config = f.read().splitlines()
	except OSError:
		return False
	return ('CONFIG_KPROBE_EVENTS=y' in config and 'CONFIG_BOOT_CONFIG=y' in config and
		'CONFIG_RANDOMIZE_BASE=y' not in config)
