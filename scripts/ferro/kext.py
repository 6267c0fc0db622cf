# SPDX-License-Identifier: GPL-2.0
"""The kernel-crate gap fillers of kext/ and their upstream form.

Each kext/<name>.rs is one abstraction the 7.3 kernel crate lacks. Drivers
compile it in with ``#[path = "../../kext/<name>.rs"] mod <name>;``. Its
second line says what it becomes upstream:

``// kext-upstream: rust/kernel/<path>.rs``
    a new module of the kernel crate: the file, with ``pub(crate)`` made
    ``pub``, and a ``pub mod`` line in its parent module;
``// kext-upstream: fixed by kext/<fix>.patch``
    a workaround for a kernel-crate bug whose fix is that patch;
``// kext-upstream: none, <why>``
    shims for the older kernels Ferro supports (kext/compat.rs), which go
    when those kernels do.

Where the kernel crate's API shape differs between the kernels Ferro
supports, kext/ (and only kext/) has an item for each shape, under
``#[cfg(CONFIG_FERRO_KCRATE_<NAME>)]`` and ``#[cfg(not(...))]``, the
probes of kext/Kconfig. The series is for the newest kernel, where every
probe holds: resolve_cfgs() keeps the first and drops the second, and
resolve_kconfig() drops the probes from the drivers' ``depends on``.

Each kext/<fix>.patch fixes a kernel-crate bug (a subject line, a blank
line, the message, a ``---`` line and a unified diff against the kernel
tree); a bug the drivers cannot work around has a patch and no .rs.

scripts/make-patches turns them into its series (fixes first, then
modules), and rewrites the drivers' ``#[path]`` includes of module pieces
into ``use kernel::<path> as <name>;``.
"""

import argparse
import os
import re
import sys
from typing import List, NamedTuple, Optional

from ferro import tree

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEXT = os.path.join(TOP, 'kext')

_HEADER = re.compile(r'^// kext-upstream: (?:(?P<module>rust/kernel/[a-z0-9_/]+\.rs)|'
		     r'fixed by kext/(?P<fix>[a-z0-9-]+\.patch)|none, (?P<compat>.+))$', re.M)
_INCLUDE = re.compile(r'^#\[path = "\.\./\.\./kext/(?P<file>[a-z0-9_]+)\.rs"\]\n'
		      r'mod (?P<name>[a-z0-9_]+);\n', re.M)
_MOD = re.compile(r'^(?:pub )?mod ([a-z0-9_]+);$')


class KextError(Exception):
	"""A kext/ file or patch that does not follow the rules above."""


class Piece(NamedTuple):
	"""One gap filler."""
	name: str		# the file's stem, also the module name drivers use
	path: str		# kext/<name>.rs
	module: Optional[str]	# rust/kernel/... for a module piece
	fix: Optional[str]	# kext/<fix>.patch for a bug workaround
	compat: bool = False	# shims for older kernels

	@property
	def kind(self) -> str:
		"""module, workaround or compat."""
		return 'module' if self.module else 'compat' if self.compat else 'workaround'

	def kernel_path(self) -> str:
		"""The piece's path in the kernel crate, as a Rust path."""
		rel = self.module[len('rust/kernel/'):-len('.rs')]
		return 'kernel::' + rel.replace('/', '::')


def _read(path: str) -> str:
	with open(path) as f:
		return f.read()


def pieces(top: str = TOP) -> List[Piece]:
	"""Every kext/*.rs, checked: SPDX first, then the upstream line."""
	out = []
	kext = os.path.join(top, 'kext')
	for fn in sorted(os.listdir(kext)):
		if not fn.endswith('.rs'):
			continue
		path = os.path.join(kext, fn)
		lines = _read(path).split('\n', 2)
		if len(lines) < 2 or not lines[0].startswith('// SPDX-License-Identifier:'):
			raise KextError(f'kext/{fn}: the first line must be the SPDX line')
		m = _HEADER.match(lines[1])
		if not m:
			raise KextError(f'kext/{fn}: the second line must be '
					'"// kext-upstream: rust/kernel/<path>.rs", '
					'"// kext-upstream: fixed by kext/<fix>.patch" or '
					'"// kext-upstream: none, <why>"')
		if m['fix'] and not os.path.isfile(os.path.join(kext, m['fix'])):
			raise KextError(f'kext/{fn}: kext/{m["fix"]} does not exist')
		out.append(Piece(fn[:-3], path, m['module'], m['fix'] and f'kext/{m["fix"]}',
				 bool(m['compat'])))
	return out


def fixes(top: str = TOP) -> List[str]:
	"""Every kext/*.patch, by name (without .patch), sorted."""
	kext = os.path.join(top, 'kext')
	return sorted(fn[:-len('.patch')] for fn in os.listdir(kext) if fn.endswith('.patch'))


def resolve_cfgs(text: str) -> str:
	"""A kext/ source as on a tree where every probe holds: the
	``#[cfg(CONFIG_FERRO_KCRATE_*)]`` lines go, and so does each item under
	``#[cfg(not(CONFIG_FERRO_KCRATE_*))]``, with the comments and
	attributes above it (rustfmt's layout: the item ends where its brackets close on
	a line ending in ``;`` or ``}``)."""
	lines = text.split('\n')
	out: List[str] = []
	i = 0
	while i < len(lines):
		line = lines[i]
		cfg = tree.PROBE_CFG.match(line)
		if not cfg:
			out.append(line)
			i += 1
			continue
		if cfg[2]:		# the newer shape: keep the item
			i += 1
			continue
		while out and re.match(r'^\s*(//|#\[)', out[-1]):
			out.pop()
		depth = 0
		i += 1
		while i < len(lines):
			body = lines[i].split('//')[0] if not lines[i].lstrip().startswith('#') else ''
			depth += sum(body.count(c) for c in '([{') - sum(body.count(c) for c in ')]}')
			i += 1
			if depth == 0 and body.rstrip().endswith((';', '}')):
				break
		if out and out[-1] == '' and i < len(lines) and lines[i] == '':
			i += 1
	return '\n'.join(out)


def resolve_kconfig(text: str) -> str:
	"""A driver's Kconfig as on a tree where every probe holds: each
	``depends on`` keeps only its top-level ``&&`` operands that are
	neither a probe nor a probe ``|| ...``; a line left empty goes."""
	text = re.sub(r'\\\n\s*', ' ', text)
	out = []
	for line in text.split('\n'):
		if line.startswith('\tdepends on '):
			keep = [c for c in tree.conjuncts(line[len('\tdepends on '):])
				if not re.match(r'^FERRO_KCRATE_\w+( \|\||$)', c)]
			if not keep:
				continue
			line = '\tdepends on ' + ' && '.join(keep)
		out.append(line)
	return '\n'.join(out)


def upstream_text(piece: Piece) -> str:
	"""The piece as a module of the kernel crate."""
	first, _, rest = resolve_cfgs(_read(piece.path)).split('\n', 2)
	return first + '\n' + re.sub(r'\bpub\(crate\)', 'pub', rest)


def parent_module(tree: str, module: str) -> str:
	"""The file that declares rust/kernel/<dir>/<name>.rs: <dir>.rs,
	<dir>/mod.rs, or lib.rs for the crate root."""
	d = os.path.dirname(module)
	if d == 'rust/kernel':
		return os.path.join(tree, 'rust/kernel/lib.rs')
	for cand in (d + '.rs', os.path.join(d, 'mod.rs')):
		if os.path.isfile(os.path.join(tree, cand)):
			return os.path.join(tree, cand)
	raise KextError(f'{module}: no parent module {d}.rs or {d}/mod.rs in {tree}')


def add_mod(text: str, name: str) -> str:
	"""`text` with ``pub mod <name>;`` among its module declarations, in
	alphabetical order and above the attributes of the one it precedes;
	at the end if it has none."""
	lines = text.split('\n')
	decls = [(i, m.group(1)) for i, line in enumerate(lines) for m in [_MOD.match(line)] if m]
	if any(n == name for _, n in decls):
		raise KextError(f'the parent module already declares {name}')
	new = f'pub mod {name};'
	after = [i for i, n in decls if n > name]
	if after:
		at = after[0]
		while at > 0 and lines[at - 1].startswith('#['):
			at -= 1
	elif decls:
		at = decls[-1][0] + 1
	else:
		while lines and lines[-1] == '':
			lines.pop()
		lines += ['', new, '']
		return '\n'.join(lines)
	lines.insert(at, new)
	return '\n'.join(lines)


def install(piece: Piece, tree: str) -> List[str]:
	"""Writes a module piece into the kernel tree `tree`; returns the
	files it wrote, relative to `tree`."""
	if not piece.module:
		raise KextError(f'{piece.name}: not a module piece')
	dst = os.path.join(tree, piece.module)
	if os.path.exists(dst):
		raise KextError(f'{piece.module} already exists in {tree}')
	parent = parent_module(tree, piece.module)
	text = add_mod(_read(parent), os.path.basename(piece.module)[:-3])
	os.makedirs(os.path.dirname(dst), exist_ok=True)
	with open(dst, 'w') as f:
		f.write(upstream_text(piece))
	with open(parent, 'w') as f:
		f.write(text)
	return [piece.module, os.path.relpath(parent, tree)]


def _fix_text(fix: str) -> str:
	text = _read(os.path.join(TOP, 'kext', f'{fix}.patch'))
	if '\n---\n' not in text:
		raise KextError(f'kext/{fix}.patch: no "---" line between message and diff')
	return text


def fix_message(fix: str) -> str:
	"""The commit message of kext/<fix>.patch: subject, blank line, body."""
	return _fix_text(fix).split('\n---\n', 1)[0].strip() + '\n'


def fix_diff(fix: str) -> str:
	"""The unified diff of kext/<fix>.patch."""
	return _fix_text(fix).split('\n---\n', 1)[1]


def message(piece: Piece) -> str:
	"""The commit message of a module piece's patch: subject, blank line, body."""
	area = ': '.join(piece.module[len('rust/kernel/'):-len('.rs')].split('/')[:-1])
	name = os.path.basename(piece.module)[:-3]
	subject = f'rust: {area + ": " if area else ""}add {name}'
	doc = []
	for line in _read(piece.path).splitlines():
		if line.startswith('//!'):
			doc.append(line[4:] if line.startswith('//! ') else '')
		elif doc:
			break
	body = '\n'.join(doc).strip()
	body = re.sub(r'\[`([^`]+)`\]', r'`\1`', body)
	return f'{subject}\n\n{body}\n'


def use_upstream(text: str, by_name: dict) -> str:
	"""A driver source with its #[path] includes of module pieces turned
	into ``use kernel::<path> as <name>;``."""
	def sub(m):
		p = by_name.get(m['file'])
		if p is None:
			raise KextError(f'an include of kext/{m["file"]}.rs, which does not exist')
		if not p.module:
			return m.group(0)
		path = p.kernel_path()
		if path.rsplit('::', 1)[1] == m['name']:
			return f'use {path};\n'
		return f'use {path} as {m["name"]};\n'
	return _INCLUDE.sub(sub, text)


def main(argv=None) -> int:
	p = argparse.ArgumentParser(prog='kext', description=__doc__.split('\n\n')[0])
	sub = p.add_subparsers(dest='cmd', required=True)
	sub.add_parser('list', help='NAME fix|module|workaround TARGET, fixes first')
	m = sub.add_parser('message', help="a fix's or a module piece's commit message")
	m.add_argument('name')
	d = sub.add_parser('diff', help="a fix's diff")
	d.add_argument('name')
	i = sub.add_parser('install', help='write a module piece into a kernel tree')
	i.add_argument('name')
	i.add_argument('tree')
	u = sub.add_parser('use-upstream', help='rewrite a driver source file in place')
	u.add_argument('files', nargs='+')
	r = sub.add_parser('resolved', help="a workaround or compat piece, every probe holding")
	r.add_argument('name')
	k = sub.add_parser('resolve-kconfig', help="a driver's Kconfig without the probes, in place")
	k.add_argument('files', nargs='+')
	args = p.parse_args(argv)
	try:
		all_pieces = pieces()
		all_fixes = fixes()
		by_name = {x.name: x for x in all_pieces}
		if args.cmd == 'list':
			for fix in all_fixes:
				print(fix, 'fix', f'kext/{fix}.patch')
			for x in all_pieces:
				print(x.name, x.kind, x.module or x.fix or f'kext/{x.name}.rs')
			return 0
		if args.cmd == 'resolve-kconfig':
			for path in args.files:
				text = resolve_kconfig(_read(path))
				with open(path, 'w') as f:
					f.write(text)
			return 0
		if args.cmd == 'resolved':
			if args.name not in by_name:
				raise KextError(f'no piece kext/{args.name}.rs')
			sys.stdout.write(resolve_cfgs(_read(by_name[args.name].path)))
			return 0
		if args.cmd == 'use-upstream':
			for path in args.files:
				text = use_upstream(_read(path), by_name)
				with open(path, 'w') as f:
					f.write(text)
			return 0
		if args.cmd in ('message', 'diff') and args.name in all_fixes:
			sys.stdout.write((fix_message if args.cmd == 'message' else fix_diff)(args.name))
			return 0
		piece = by_name.get(args.name)
		if piece is None or not piece.module:
			raise KextError(f'no fix kext/{args.name}.patch and no module piece '
					f'kext/{args.name}.rs')
		if args.cmd == 'message':
			sys.stdout.write(message(piece))
		elif args.cmd == 'diff':
			raise KextError(f'{args.name} is a module piece, not a fix')
		else:
			for rel in install(piece, args.tree):
				print(rel)
	except (KextError, OSError) as e:
		print(f'kext: {e}', file=sys.stderr)
		return 1
	return 0


if __name__ == '__main__':
	sys.exit(main())
