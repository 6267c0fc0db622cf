# SPDX-License-Identifier: GPL-2.0
"""Run a command in one of the Debian roots of scripts/setup-chroot.

The command runs in a private mount namespace (unshare --mount): the
paths it needs are bind-mounted into the root at their own places, with
/proc, /dev and (for those that ask) a fresh /tmp, then chroot. The mounts
vanish with the command, however it ends; nothing stays mounted on the
host. The environment is only what the caller passes (plus PATH, HOME,
LANG), so nothing of the host's toolchain leaks in.
"""

import os
import subprocess
from typing import Dict, List, Optional

from ferro.board import TOP


class ChrootError(Exception):
	pass


def root_dir(name: str) -> str:
	"""Where setup-chroot puts the root `name` (it alone knows the suites)."""
	proc = subprocess.run([os.path.join(TOP, 'scripts', 'setup-chroot'), '--print-dir', name],
			      capture_output=True, text=True)
	if proc.returncode != 0:
		raise ChrootError(proc.stderr.strip())
	return proc.stdout.strip()


def require(name: str, what: str) -> str:
	"""The root's directory; ChrootError naming the fix if it is not complete."""
	root = root_dir(name)
	if not os.path.isfile(os.path.join(root, '.ferro-recipe')):
		raise ChrootError(f'{what} needs the {name} root in {root}, which does not exist '
				  f'(or is incomplete): run scripts/setup-chroot {name}')
	return root


def command(name: str, cmd: List[str], binds: List[str],
	    env: Optional[Dict[str, str]] = None, tmpfs_tmp: bool = False) -> List[str]:
	"""The argv that runs cmd in the root `name` (see the module's doc)."""
	root = root_dir(name)
	lines = ['set -e', f'mount -t proc proc "{root}/proc"', f'mount --rbind /dev "{root}/dev"']
	if tmpfs_tmp:
		lines.append(f'mount -t tmpfs tmpfs "{root}/tmp"')
	for p in sorted(set(os.path.realpath(p) for p in binds), key=len):
		lines.append(f'mkdir -p "{root}{p}"; mount --bind "{p}" "{root}{p}"')
	lines.append(f'exec chroot "{root}" "$@"')
	assigns = [f'{k}={v}' for k, v in sorted((env or {}).items())]
	return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', '\n'.join(lines),
		'sh', 'env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'HOME=/root',
		'LANG=C.UTF-8'] + assigns + cmd


def run(name: str, cmd: List[str], binds: List[str], env: Optional[Dict[str, str]] = None,
	tmpfs_tmp: bool = False, **kw) -> subprocess.CompletedProcess:
	"""subprocess.run of command(); keyword arguments go to subprocess.run."""
	return subprocess.run(command(name, cmd, binds, env, tmpfs_tmp), **kw)
