# SPDX-License-Identifier: GPL-2.0
"""The drivers: one ``source`` line each in drivers/Kconfig, nothing more.

drivers/Kconfig is the registry. Its order is the link order (and so the
order of the built-in drivers' level-6 initcalls, which drivers/Makefile
follows). From a line ``source "drivers/ferro/drivers/<name>/Kconfig"``
everything else is found by convention:

- drivers/<name>/Kconfig defines ``config FERRO_<NAME>`` (tristate), which
  builds the module ``ferro_<name>``;
- tests/guest/<name>.c defines ``<name>_module()`` and ``<name>_builtin()``,
  the guest's checks per build mode (the guest init's table of drivers is
  generated from this list: guest_header());
- Documentation/drivers/<name>.rst documents it;
- tests/guest/<name>.json, if there is one, says what differs from the
  defaults (every key optional):

  ``builtin_args``  kernel command-line words for the built-in boots
                    (``ferro_<name>.<param>=<value>``: the parameters a
                    module boot gives at load);
  ``boards``        boards with boots of their own for this driver, one
                    ``<board>-module`` and ``<board>-builtin`` boot each
                    (only this driver's tests run there);
  ``dt_variants``   device-tree variants of the board (boards/<board>/
                    dt-variants/<variant>.dtsi), one boot per mode each;
  ``boots``         further boots: ``{"name", "mode", "args", "broken"}``
                    (``broken``: why the boot's entries may not all run);
  ``evidence_board`` the board whose boots the documentation's evidence
                    of this driver comes from (default: qemu-virt).

Board facts (which drivers a board runs at all) are the board's:
boards/<board>/board.py, Board.drivers.
"""

import dataclasses
import json
import os
import re
from typing import Dict, List, Tuple

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_SOURCE = re.compile(r'^source "drivers/ferro/drivers/([a-z0-9_]+)/Kconfig"$')
_KEYS = {'builtin_args', 'boards', 'dt_variants', 'boots', 'evidence_board'}
_BOOT_KEYS = {'name', 'mode', 'args', 'broken'}


class RegistryError(Exception):
	"""drivers/Kconfig names a driver that is not all there."""


@dataclasses.dataclass(frozen=True)
class Boot:
	"""A boot of its own that a driver asks for."""
	name: str
	mode: str		# m or y
	args: str = ''		# kernel command line
	broken: str = ''	# why some entries may not run ('' if all must)


@dataclasses.dataclass(frozen=True)
class Driver:
	"""One Ferro driver, as the registry and the conventions give it."""
	name: str
	symbol: str		# FERRO_<NAME>
	module: str		# ferro_<name>
	builtin_args: str = ''
	boards: Tuple[str, ...] = ()
	dt_variants: Tuple[str, ...] = ()
	boots: Tuple[Boot, ...] = ()
	evidence_board: str = 'qemu-virt'


def _read(path: str) -> str:
	with open(path) as f:
		return f.read()


def names(top: str = TOP) -> List[str]:
	"""The drivers drivers/Kconfig sources, in its order."""
	path = os.path.join(top, 'drivers', 'Kconfig')
	out = []
	for n, line in enumerate(_read(path).splitlines(), 1):
		if line.startswith('source '):
			m = _SOURCE.match(line)
			if not m:
				raise RegistryError(f'drivers/Kconfig:{n}: not a driver\'s line: {line}')
			if m[1] in out:
				raise RegistryError(f'drivers/Kconfig:{n}: {m[1]} is listed twice')
			out.append(m[1])
	if not out:
		raise RegistryError('drivers/Kconfig sources no driver')
	return out


def _facts(top: str, name: str) -> Dict:
	path = os.path.join(top, 'tests', 'guest', f'{name}.json')
	if not os.path.isfile(path):
		return {}
	try:
		facts = json.loads(_read(path))
	except ValueError as e:
		raise RegistryError(f'tests/guest/{name}.json: {e}') from None
	if not isinstance(facts, dict) or set(facts) - _KEYS:
		raise RegistryError(f'tests/guest/{name}.json: unknown keys '
				    f'{sorted(set(facts) - _KEYS) if isinstance(facts, dict) else facts}'
				    f' (known: {", ".join(sorted(_KEYS))})')
	return facts


def load(name: str, top: str = TOP) -> Driver:
	"""One driver, checked against the conventions."""
	kconfig = os.path.join(top, 'drivers', name, 'Kconfig')
	if not os.path.isfile(kconfig):
		raise RegistryError(f'drivers/Kconfig sources drivers/{name}/Kconfig, which is missing')
	symbol = f'FERRO_{name.upper()}'
	if not re.search(rf'^config {symbol}\n\ttristate ', _read(kconfig), re.M):
		raise RegistryError(f'drivers/{name}/Kconfig does not define a tristate {symbol}')
	guest = os.path.join(top, 'tests', 'guest', f'{name}.c')
	if not os.path.isfile(guest):
		raise RegistryError(f'tests/guest/{name}.c is missing (the guest checks of {name})')
	text = _read(guest)
	for fn in (f'{name}_module', f'{name}_builtin'):
		if not re.search(rf'^void {fn}\(void\)$', text, re.M):
			raise RegistryError(f'tests/guest/{name}.c does not define void {fn}(void)')
	facts = _facts(top, name)
	boots = []
	for b in facts.get('boots', []):
		if not isinstance(b, dict) or set(b) - _BOOT_KEYS or not {'name', 'mode'} <= set(b) \
		   or b['mode'] not in ('m', 'y'):
			raise RegistryError(f'tests/guest/{name}.json: a boot needs "name" and "mode" '
					    f'(m or y), and may have "args" and "broken": {b}')
		boots.append(Boot(b['name'], b['mode'], b.get('args', ''), b.get('broken', '')))
	return Driver(name, symbol, f'ferro_{name}', facts.get('builtin_args', ''),
		      tuple(facts.get('boards', ())), tuple(facts.get('dt_variants', ())),
		      tuple(boots), facts.get('evidence_board', 'qemu-virt'))


def drivers(top: str = TOP) -> List[Driver]:
	"""Every driver, in drivers/Kconfig's order."""
	return [load(n, top) for n in names(top)]


def guest_header(top: str = TOP) -> str:
	"""The guest init's list of drivers (tests/guest/drivers.h and
	ferro-init.c include it): with FERRO_DRIVER_DECLARE defined, the
	prototypes of each driver's checks; else FERRO_DRIVER(name) per driver,
	in order."""
	found = drivers(top)
	lines = ['/* SPDX-License-Identifier: GPL-2.0 */',
		 '/* Generated from drivers/Kconfig by scripts/ferro/registry.py. */',
		 '#ifdef FERRO_DRIVER_DECLARE']
	for d in found:
		lines += [f'void {d.name}_module(void);', f'void {d.name}_builtin(void);']
	lines.append('#else')
	lines += [f'FERRO_DRIVER({d.name})' for d in found]
	lines.append('#endif')
	return '\n'.join(lines) + '\n'
