# SPDX-License-Identifier: GPL-2.0
"""Whether a kernel tree can take Ferro, and per driver why not, before
anything is built or changed (scripts/check-tree).

A tree is a kernel source tree (make integrate, make demo), a configured
and built O= directory or a linux-headers directory (make modules). What
is checked, each from the tree's own files:

- the version (the top Makefile) against the kernels Ferro is tested on;
- CONFIG_RUST, where the tree has a configuration;
- the Rust toolchain, by the tree's own scripts/rust_is_available.sh
  (which reads scripts/min-tool-version.sh), and for a built tree the
  rustc that built it (CONFIG_RUSTC_VERSION): modules must be built by
  the same one;
- per driver, its Kconfig ``depends on`` lines, evaluated on the tree's
  configuration (where it has one) and on the kernel-crate probes of
  kext/Kconfig, which Kconfig evaluates the same way once Ferro is
  integrated.
"""

import dataclasses
import os
import re
import subprocess
from typing import Dict, List, Optional, Tuple

from ferro import kbuild, registry
from ferro.board import TOP

# The kernels make check builds and boots Ferro on (Documentation/building.rst).
SUPPORTED = ((7, 3), (7, 2))


class TreeError(Exception):
	"""Not a kernel tree at all."""


@dataclasses.dataclass(frozen=True)
class Probe:
	"""A kernel-crate abstraction a driver uses (kext/Kconfig)."""
	symbol: str
	path: str		# relative to the source tree
	pattern: str		# a fixed string grep looks for
	why: str		# the help text
	absent: bool = False	# holds when the text is not there (an older form)


_PROBE = re.compile(r'^config (FERRO_KCRATE_\w+)\n\tdef_bool \$\(success,(! )?grep -qs "([^"]+)" '
		    r'\$\(srctree\)/(\S+)\)\n\thelp\n((?:\t  .*\n|\n)+)', re.M)


def probes(top: str = TOP) -> Dict[str, Probe]:
	"""kext/Kconfig's probes, by symbol."""
	with open(os.path.join(top, 'kext', 'Kconfig')) as f:
		text = f.read()
	out = {}
	for m in _PROBE.finditer(text + '\n'):
		why = ' '.join(m[5].split())
		out[m[1]] = Probe(m[1], m[4], m[3], why, absent=bool(m[2]))
	declared = re.findall(r'^config (\w+)$', text, re.M)
	if sorted(declared) != sorted(out):
		raise TreeError(f'kext/Kconfig: {sorted(set(declared) - set(out))} are not probes of '
				'the form def_bool $(success,[! ]grep -qs "<text>" $(srctree)/<file>) '
				'with a help text')
	return out


# A line choosing one shape of kext/'s shims: #[cfg(CONFIG_FERRO_KCRATE_X)]
# (the newer shape, group 2) or #[cfg(not(CONFIG_FERRO_KCRATE_X))] (the
# older, group 1).
PROBE_CFG = re.compile(r'^\s*#\[cfg\((?:not\(CONFIG_(FERRO_KCRATE_\w+)\)|'
		       r'CONFIG_(FERRO_KCRATE_\w+))\)\]$', re.M)


def compat_cfgs(top: str = TOP) -> Dict[str, Tuple[str, str]]:
	"""The probes kext/'s shims are chosen by: per symbol, a file with an
	item for the 7.3 shape (cfg) and one for the older (cfg(not)), or ''."""
	out: Dict[str, Tuple[str, str]] = {}
	kext = os.path.join(top, 'kext')
	for fn in sorted(os.listdir(kext)):
		if fn.endswith('.rs'):
			with open(os.path.join(kext, fn)) as f:
				for m in PROBE_CFG.finditer(f.read()):
					sym = m[1] or m[2]
					on, off = out.get(sym, ('', ''))
					out[sym] = (on, f'kext/{fn}') if m[1] else (f'kext/{fn}', off)
	return out


def probe_holds(src: str, probe: Probe) -> bool:
	"""Whether the tree's file has the probe's text (grep, as Kconfig's),
	or for an `absent` probe does not."""
	try:
		with open(os.path.join(src, probe.path), errors='replace') as f:
			found = probe.pattern in f.read()
	except OSError:
		found = False
	return found != probe.absent


# Kconfig expressions: tristate values n=0, m=1, y=2.
_TOKEN = re.compile(r'\s*(\|\||&&|!=|=|!|\(|\)|[A-Za-z0-9_]+)')


def _tokens(expr: str) -> List[str]:
	out, pos = [], 0
	expr = expr.strip()
	while pos < len(expr):
		m = _TOKEN.match(expr, pos)
		if not m:
			raise TreeError(f'cannot read the Kconfig expression {expr!r} at {expr[pos:]!r}')
		out.append(m[1])
		pos = m.end()
	return out


class _Expr:
	"""A recursive-descent reader of one `depends on` expression."""

	def __init__(self, expr: str, value):
		self.toks = _tokens(expr)
		self.value = value
		self.expr = expr

	def parse(self) -> int:
		v = self._or()
		if self.toks:
			raise TreeError(f'cannot read the Kconfig expression {self.expr!r}')
		return v

	def _or(self) -> int:
		v = self._and()
		while self.toks[:1] == ['||']:
			self.toks.pop(0)
			v = max(v, self._and())
		return v

	def _and(self) -> int:
		v = self._not()
		while self.toks[:1] == ['&&']:
			self.toks.pop(0)
			v = min(v, self._not())
		return v

	def _not(self) -> int:
		if self.toks[:1] == ['!']:
			self.toks.pop(0)
			return 2 - self._not()
		return self._cmp()

	def _cmp(self) -> int:
		if self.toks[:1] == ['(']:
			self.toks.pop(0)
			v = self._or()
			if self.toks[:1] != [')']:
				raise TreeError(f'unbalanced parentheses in {self.expr!r}')
			self.toks.pop(0)
			return v
		if not self.toks:
			raise TreeError(f'cannot read the Kconfig expression {self.expr!r}')
		left = self.toks.pop(0)
		if self.toks[:1] in (['='], ['!=']):
			op = self.toks.pop(0)
			right = self.toks.pop(0)
			same = self.value(left, raw=True) == self.value(right, raw=True)
			return 2 if same == (op == '=') else 0
		return self.value(left)


def conjuncts(expr: str) -> List[str]:
	"""The top-level `&&` operands of an expression."""
	out, depth, start = [], 0, 0
	for i, c in enumerate(expr):
		depth += (c == '(') - (c == ')')
		if depth == 0 and expr.startswith('&&', i):
			out.append(expr[start:i])
			start = i + 2
	out.append(expr[start:])
	return [' '.join(c.split()) for c in out if c.strip()]


def depends(top: str, name: str) -> List[str]:
	"""The `depends on` operands of drivers/<name>/Kconfig's FERRO_<NAME>,
	each top-level `&&` operand on its own."""
	with open(os.path.join(top, 'drivers', name, 'Kconfig')) as f:
		text = re.sub(r'\\\n\s*', ' ', f.read())	# continued lines
	m = re.search(rf'^config FERRO_{name.upper()}\n((?:\t.*\n|\n)*)', text, re.M)
	if not m:
		raise TreeError(f'drivers/{name}/Kconfig has no config FERRO_{name.upper()}')
	out = []
	for line in m[1].splitlines():
		if line.startswith('\tdepends on '):
			out += conjuncts(line[len('\tdepends on '):])
	return out


def read_config(kdir: str) -> Tuple[Optional[str], Dict[str, str]]:
	"""The tree's configuration (.config, or a headers package's
	include/config/auto.conf): its path and the symbols set, without
	CONFIG_; (None, {}) if it has none."""
	for rel in ('.config', os.path.join('include', 'config', 'auto.conf')):
		path = os.path.join(kdir, rel)
		if os.path.isfile(path):
			with open(path, errors='replace') as f:
				values = kbuild.parse_fragment(f.read())
			return path, {k[len('CONFIG_'):]: v.strip('"') for k, v in values.items()
				      if v != 'n'}
	return None, {}


def version(src: str) -> Tuple[int, int, int]:
	"""VERSION, PATCHLEVEL and SUBLEVEL of the tree's top Makefile."""
	try:
		with open(os.path.join(src, 'Makefile'), errors='replace') as f:
			text = f.read(4096)
	except OSError:
		raise TreeError(f'{src} is not a kernel tree (no Makefile)') from None
	got = [re.search(rf'^{k} = (\d+)$', text, re.M) for k in ('VERSION', 'PATCHLEVEL', 'SUBLEVEL')]
	if not all(got):
		raise TreeError(f'{src} is not a kernel tree (its Makefile has no VERSION, PATCHLEVEL '
				'and SUBLEVEL)')
	return tuple(int(m[1]) for m in got)	# type: ignore


def source_of(kdir: str) -> str:
	"""The source tree of kdir: itself, or the one an O= directory names."""
	if os.path.isfile(os.path.join(kdir, 'Makefile')):
		with open(os.path.join(kdir, 'Makefile'), errors='replace') as f:
			if not re.search(r'^VERSION = ', f.read(4096), re.M):
				try:
					return kbuild.source_of(kdir)
				except kbuild.BuildError as e:
					raise TreeError(str(e)) from None
	return kdir


@dataclasses.dataclass
class Report:
	"""What check() found."""
	kdir: str
	src: str
	version: Tuple[int, int, int]
	config: Optional[str]
	problems: List[str]		# the tree's: no driver can be built
	drivers: Dict[str, List[str]]	# per driver, why it cannot be built ([] if it can)
	notes: List[str]

	@property
	def ok(self) -> bool:
		return not self.problems and any(not why for why in self.drivers.values())

	def buildable(self) -> List[str]:
		return [] if self.problems else [n for n, why in self.drivers.items() if not why]

	def lines(self) -> List[str]:
		v = '.'.join(map(str, self.version))
		out = [f'  TREE    {self.kdir}: Linux {v}' +
		       (f' (source {self.src})' if self.src != self.kdir else '') +
		       (f', {os.path.relpath(self.config, self.kdir)}' if self.config
			else ', not configured')]
		out += [f'  TREE    {p}' for p in self.problems]
		out += [f'  NOTE    {n}' for n in self.notes]
		width = max(len(n) for n in self.drivers) if self.drivers else 0
		for name, why in self.drivers.items():
			if not why and not self.problems:
				out.append(f'  DRIVER  {name:<{width}}  can be built')
			elif not why:
				out.append(f'  DRIVER  {name:<{width}}  cannot be built: see TREE above')
			else:
				out.append(f'  DRIVER  {name:<{width}}  cannot be built:')
				out += [f'            - {w}' for w in why]
		return out


def _toolchain(src: str, config: Dict[str, str]) -> List[str]:
	"""The tree's own verdict on this machine's Rust toolchain."""
	env = dict(kbuild.toolchain_env(), RUSTC='rustc', BINDGEN='bindgen',
		   CC=os.environ.get('CC', 'gcc'))
	problems = []
	script = os.path.join(src, 'scripts', 'rust_is_available.sh')
	if os.path.isfile(script):
		p = subprocess.run(['sh', script], capture_output=True, text=True, env=env, cwd=src)
		if p.returncode != 0:
			said = [x.strip('* ').strip() for x in p.stderr.splitlines()
				if x.strip('* ').strip()]
			problems.append('scripts/rust_is_available.sh: ' + ' '.join(said[:6]))
	built = config.get('RUSTC_VERSION')
	if built:
		p = subprocess.run(['rustc', '--version'], capture_output=True, text=True, env=env)
		m = re.match(r'rustc (\d+)\.(\d+)\.(\d+)', p.stdout)
		# scripts/rustc-version.sh: major * 100000 + minor * 100 + patch
		have = int(m[1]) * 100000 + int(m[2]) * 100 + int(m[3]) if m else None
		if have != int(built):
			b = int(built)
			problems.append(f'the tree was built by rustc {b // 100000}.{b // 100 % 1000}.'
					f'{b % 100}, this machine has '
					f'{p.stdout.strip() or "no rustc"}: a module must be built '
					'by the rustc that built its kernel')
	return problems


def check(kdir: str, top: str = TOP, only: Optional[List[str]] = None,
	  toolchain: bool = True) -> Report:
	"""Everything this module's docstring lists, for the tree at kdir."""
	if not os.path.isdir(kdir):
		raise TreeError(f"'{kdir}' is not a directory")
	kdir = os.path.abspath(kdir)
	src = source_of(kdir)
	ver = version(src)
	path, config = read_config(kdir)
	problems, notes = [], []
	if ver[:2] not in SUPPORTED:
		said = (f'Linux {ver[0]}.{ver[1]} is not a kernel Ferro supports: it is built '
			'and tested on ' + ', '.join(f'{a}.{b}' for a, b in SUPPORTED) +
			' (Documentation/building.rst, "Supported kernels")')
		if os.environ.get('FERRO_TRY_KERNEL') == '1':
			notes.append(said + '; trying it anyway (FERRO_TRY_KERNEL=1)')
		else:
			problems.append(said + '; FERRO_TRY_KERNEL=1 tries it anyway')
	if not os.path.isfile(os.path.join(src, 'rust', 'kernel', 'lib.rs')):
		problems.append('the tree has no kernel crate (rust/kernel/lib.rs)')
	if path and config.get('RUST') != 'y':
		problems.append(f'CONFIG_RUST is not set in {os.path.relpath(path, kdir)}: '
				'every Ferro driver is Rust (make menuconfig: General setup -> '
				'Rust support)')
	if not path:
		notes.append('no configuration yet: whether each driver can be selected also '
			     'depends on the .config you make (its Kconfig "depends on")')
	if toolchain:
		problems += _toolchain(src, config)
	found = probes(top)
	holds = {s: probe_holds(src, p) for s, p in found.items()}

	def value(sym: str, raw: bool = False):
		if sym in holds:
			v = 'y' if holds[sym] else 'n'
		elif sym in ('y', 'n'):
			v = sym
		elif sym == 'm':
			v = 'm' if config.get('MODULES') == 'y' else 'n'
		else:
			v = config.get(sym, 'n')
		return v if raw else {'y': 2, 'm': 1}.get(v, 0)

	drivers: Dict[str, List[str]] = {}
	for name in registry.names(top):
		if only and name not in only:
			continue
		why = []
		for dep in depends(top, name):
			syms = [t for t in _tokens(dep) if re.match(r'^[A-Z][A-Z0-9_]+$', t)]
			probe = [found[s] for s in syms if s in found]
			if (not path and not probe) or _Expr(dep, value).parse():
				continue	# without a configuration only the probes count
			lacks = [f'the tree has{" an older form: " if p.absent else " no "}'
				 f'"{p.pattern}" in {p.path} ({p.symbol}, kext/Kconfig)'
				 for p in probe if not holds[p.symbol]]
			others = [s for s in syms if s not in found]
			have = ', '.join(f'CONFIG_{s}={config.get(s, "n")}' if config.get(s)
					 else f'CONFIG_{s} is not set' for s in others)
			if not others:
				why += lacks
			elif not probe:
				why.append(f'needs "{dep}"; the configuration has {have} '
					   f'(drivers/{name}/Kconfig says why)')
			else:
				why.append(f'needs "{dep}": {"; ".join(lacks)}, and the configuration '
					   f'has {have} (drivers/{name}/Kconfig says why)')
		drivers[name] = why
	return Report(kdir, src, ver, path, problems, drivers, notes)
