# SPDX-License-Identifier: GPL-2.0
"""SD-card images for the Raspberry Pi boards, built without root.

Layout (MBR, disk identifier DISK_ID, so the root partition is
PARTUUID=<DISK_ID>-02 whatever the card is called on the board):

  partition 1  FAT32 "FERRO-BOOT": the firmware, the kernel under the name
               the firmware looks for, the mainline DTB, overlays/ferro.dtbo,
               config.txt, cmdline.txt
  partition 2  ext4 "ferro-root": modules_install of the kernel, Ferro's
               modules under /lib/modules/ferro, and a busybox userland
               whose /sbin/init is the same static self-test program QEMU
               boots (tests/guest): the self-test with ferro.selftest=1 on
               the command line, else a root shell (ferro/userland.py)

The partitions are written into the image file in place (mtools with
@@offset, mke2fs -E offset=) after sfdisk has written the table. Every
time stamp comes from SOURCE_DATE_EPOCH (default: the last commit's time)
and every identifier is fixed, so the same inputs give the same bytes.
"""

import dataclasses
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Dict, List, Optional

from ferro import guest, kbuild, userland
from ferro.board import Board, TOP

MIB = 1024 * 1024
# QEMU's SD card model wants a power-of-two size; 256 MiB holds a lean kernel
# and its modules with room to spare.
IMAGE_MB = 256
BOOT_START_MB = 1
BOOT_MB = 96
DISK_ID = 0x46455252		# "FERR"
BOOT_SERIAL = '46455252'
ROOT_UUID = '46455252-0000-4000-8000-000000000002'
ROOT_HASH_SEED = '46455252-0000-4000-8000-000000000003'
PLANS = {'m': 'module', 'y': 'builtin'}


class ImageError(Exception):
	pass


@dataclasses.dataclass
class Image:
	path: str
	dtb: str			# the board DTB with Ferro's overlay applied
	cmdline: str			# what cmdline.txt says
	missing_firmware: List[str]


def root_partuuid() -> str:
	return f'{DISK_ID:08x}-02'


def source_date_epoch() -> int:
	env = os.environ.get('SOURCE_DATE_EPOCH')
	if env:
		if not env.isdigit():
			raise ImageError(f"SOURCE_DATE_EPOCH must be seconds since 1970, not '{env}'")
		return int(env)
	proc = subprocess.run(['git', '-C', TOP, 'log', '-1', '--format=%ct'],
			      capture_output=True, text=True)
	return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else 0


def cmdline(board: Board, mode: str) -> str:
	"""cmdline.txt: the HDMI and the serial console (the last is the
	shell's), the root partition, and what the self-test needs when
	ferro.selftest=1 is added; the card's /etc/ferro/selftest names its
	plan and board."""
	return ' '.join(filter(None, [
		'console=tty1', f'console={board.console},115200', f'root=PARTUUID={root_partuuid()}',
		'rootfstype=ext4', 'rootwait', 'ro', 'quiet', guest.LOG_BUF, board.guest_env(),
		guest.PLAN_CMDLINE[PLANS[mode]]]))


def config_txt(board: Board) -> str:
	sd = board.sd_card
	assert sd
	lines = [f'# Ferro on {board.description} (scripts/build-image)',
		 f'kernel={sd.kernel}', f'device_tree={os.path.basename(board.dtbs[0])}',
		 'dtoverlay=ferro'] + sd.config
	return '\n'.join(lines) + '\n'


def _run(cmd: List[str], env: Optional[Dict[str, str]] = None,
	 stdin: Optional[str] = None) -> None:
	proc = subprocess.run(cmd, capture_output=True, text=True, input=stdin,
			      env=dict(os.environ, **(env or {})))
	if proc.returncode != 0:
		raise ImageError(f'{cmd[0]} failed ({proc.returncode}):\n{proc.stderr or proc.stdout}')


def _need(*tools: str) -> None:
	gone = [t for t in tools if not shutil.which(t)]
	if gone:
		raise ImageError(f"{', '.join(gone)} not found (run make deps)")


def fetch_firmware() -> str:
	"""The boot firmware's directory from scripts/fetch-rpi-firmware, or ''
	(it says on stderr what is missing)."""
	proc = subprocess.run([os.path.join(TOP, 'scripts', 'fetch-rpi-firmware')],
			      stdout=subprocess.PIPE, text=True)
	return proc.stdout.strip() if proc.returncode == 0 else ''


def mainline_dtb(board: Board, build: str) -> str:
	"""The board's mainline DTB as the build made it."""
	return os.path.join(build, 'arch', board.arch, 'boot', 'dts', board.dtbs[0])


def overlaid_dtb_name(board: Board) -> str:
	"""The file name of the board's DTB with Ferro's overlay applied."""
	return os.path.basename(board.dtbs[0])[:-len('.dtb')] + '-ferro.dtb'


def overlay_dtb(board: Board, build: str, out_dir: str) -> str:
	"""Compile the overlay (dtc -@) and apply it to the board's DTB."""
	dtbo = os.path.join(out_dir, 'ferro.dtbo')
	_run(['dtc', '-@', '-q', '-I', 'dts', '-O', 'dtb', '-o', dtbo, board.overlay_path()])
	base = mainline_dtb(board, build)
	if not os.path.exists(base):
		raise ImageError(f'{base} is missing: build the kernels first (make kernels)')
	dtb = os.path.join(out_dir, overlaid_dtb_name(board))
	_run(['fdtoverlay', '-i', base, '-o', dtb, dtbo])
	return dtb


def _stage_root(board: Board, build: str, mode: str, root: str, epoch: int) -> None:
	os.makedirs(root)
	for d in ('dev', 'proc', 'sys', 'lib/modules/ferro'):
		os.makedirs(os.path.join(root, d), exist_ok=True)
	userland.stage(root, board, PLANS[mode], guest.guest_init(board))
	_run(['make', '-C', build, f'ARCH={board.arch}', f'CROSS_COMPILE={board.cross_compile}',
	      f'INSTALL_MOD_PATH={root}', 'INSTALL_MOD_STRIP=1', 'modules_install'],
	     env={'KBUILD_BUILD_TIMESTAMP': f'@{epoch}'})
	release = guest.kernel_release(build)
	kmods = os.path.join(root, 'lib', 'modules', release)
	# modules_install leaves links to the build tree; they mean nothing on
	# the board.
	for link in ('build', 'source'):
		if os.path.islink(os.path.join(kmods, link)):
			os.unlink(os.path.join(kmods, link))
	# The test fixtures (tests/kmod) simulate hardware for the QEMU
	# tests; a board has the real thing.
	fixtures = {f'{m}.ko' for m in kbuild.fixture_modules()}
	removed = False
	for dirpath, _, files in os.walk(kmods):
		for f in files:
			if f in fixtures:
				os.unlink(os.path.join(dirpath, f))
				removed = True
	if removed:
		_run(['depmod', '-b', root, release])
	for dirpath, _, files in os.walk(kmods):
		for f in sorted(files):
			if f.startswith('ferro_') and f.endswith('.ko'):
				target = os.path.relpath(os.path.join(dirpath, f),
							 os.path.join(root, 'lib', 'modules', 'ferro'))
				os.symlink(target, os.path.join(root, 'lib', 'modules', 'ferro', f))
	if mode == 'm' and not os.listdir(os.path.join(root, 'lib', 'modules', 'ferro')):
		raise ImageError(f'no ferro_*.ko in {build}: is it a FERRO_MODE=m build?')
	for dirpath, dirs, files in os.walk(root):
		for n in dirs + files:
			os.utime(os.path.join(dirpath, n), (epoch, epoch), follow_symlinks=False)
	os.utime(root, (epoch, epoch))


def _fix_inode_times(fs: str, root: str, epoch: int) -> None:
	"""mke2fs -d copies each file's ctime from the staging tree, which is
	the time the tree was made; set every time stamp to `epoch`."""
	stamp = time.strftime('%Y%m%d%H%M%S', time.gmtime(epoch))
	cmds = []
	paths = ['/', '/lost+found']
	for dirpath, dirs, files in os.walk(root):
		for n in sorted(dirs + files):
			paths.append('/' + os.path.relpath(os.path.join(dirpath, n), root))
	for p in paths:
		for field in ('atime', 'ctime', 'mtime', 'crtime'):
			cmds.append(f'set_inode_field "{p}" {field} {stamp}')
	script = fs + '.debugfs'
	with open(script, 'w') as f:
		f.write('\n'.join(cmds) + '\n')
	_run(['debugfs', '-w', '-f', script, fs],
	     {'E2FSPROGS_FAKE_TIME': str(epoch), 'SOURCE_DATE_EPOCH': str(epoch)})
	os.unlink(script)


def build_image(board: Board, build: str, mode: str, out_dir: str,
		firmware: Optional[str]) -> Image:
	"""Write out_dir/ferro-<board>.img (and the overlaid DTB beside it)."""
	if not board.sd_card:
		raise ImageError(f'board {board.name} has no SD-card image (not a Raspberry Pi board)')
	if mode not in PLANS:
		raise ImageError(f"FERRO_MODE must be m or y, not '{mode}'")
	_need('mformat', 'mcopy', 'mmd', 'sfdisk', 'mke2fs', 'debugfs', 'dtc', 'fdtoverlay')
	epoch = source_date_epoch()
	os.makedirs(out_dir, exist_ok=True)
	work = os.path.join(out_dir, '.work')
	shutil.rmtree(work, ignore_errors=True)
	os.makedirs(work)
	try:
		return _assemble(board, build, mode, out_dir, firmware, work, epoch)
	finally:
		# Nothing half-made stays behind: the image appears whole or not at all.
		shutil.rmtree(work, ignore_errors=True)


def _assemble(board: Board, build: str, mode: str, out_dir: str, firmware: Optional[str],
	      work: str, epoch: int) -> Image:
	"""build_image()'s work, in the scratch directory `work`."""
	sd = board.sd_card
	assert sd
	env = {'SOURCE_DATE_EPOCH': str(epoch), 'TZ': 'UTC'}

	dtb = overlay_dtb(board, build, work)
	line = cmdline(board, mode)
	boot_files = {
		sd.kernel: os.path.join(build, board.kernel_image),
		os.path.basename(board.dtbs[0]): mainline_dtb(board, build),
		'overlays/ferro.dtbo': os.path.join(work, 'ferro.dtbo'),
	}
	for name, text in (('config.txt', config_txt(board)), ('cmdline.txt', line + '\n')):
		path = os.path.join(work, name)
		with open(path, 'w') as f:
			f.write(text)
		boot_files[name] = path
	missing = []
	for fw in sd.firmware:
		path = os.path.join(firmware, fw) if firmware else ''
		if path and os.path.exists(path):
			boot_files[fw] = path
		else:
			missing.append(fw)
	if firmware and os.path.exists(os.path.join(firmware, 'LICENCE.raspi-firmware')):
		boot_files['LICENCE.raspi-firmware'] = os.path.join(firmware, 'LICENCE.raspi-firmware')

	tmp = os.path.join(work, 'image')
	with open(tmp, 'wb') as f:
		f.truncate(IMAGE_MB * MIB)
	boot_start = BOOT_START_MB * MIB // 512
	boot_size = BOOT_MB * MIB // 512
	root_start = boot_start + boot_size
	table = (f'label: dos\nlabel-id: 0x{DISK_ID:08x}\nunit: sectors\n'
		 f'start={boot_start}, size={boot_size}, type=c, bootable\n'
		 f'start={root_start}, type=83\n')
	_run(['sfdisk', '--quiet', '--no-reread', '--no-tell-kernel', tmp], stdin=table)

	fat = f'{tmp}@@{boot_start * 512}'
	_run(['mformat', '-i', fat, '-F', '-N', BOOT_SERIAL, '-v', 'FERRO-BOOT',
	      '-T', str(boot_size), '-h', '64', '-s', '32', '-H', str(boot_start), '::'], env)
	_run(['mmd', '-i', fat, '::/overlays'], env)
	for name in sorted(boot_files):
		_run(['mcopy', '-i', fat, boot_files[name], f'::/{name}'], env)

	root = os.path.join(work, 'root')
	_stage_root(board, build, mode, root, epoch)
	root_blocks = (IMAGE_MB * MIB - root_start * 512) // 4096
	fs = os.path.join(work, 'root.ext4')
	_run(['mke2fs', '-q', '-F', '-t', 'ext4', '-b', '4096', '-d', root, '-L', 'ferro-root',
	      '-U', ROOT_UUID, '-E', f'root_owner=0:0,hash_seed={ROOT_HASH_SEED}',
	      fs, str(root_blocks)], dict(env, E2FSPROGS_FAKE_TIME=str(epoch)))
	_fix_inode_times(fs, root, epoch)
	with open(fs, 'rb') as src, open(tmp, 'r+b') as dst:
		dst.seek(root_start * 512)
		shutil.copyfileobj(src, dst, 4 * MIB)

	# Named by mode: a module image and a built-in one can sit side by side.
	final = os.path.join(out_dir, f'ferro-{board.name}-{PLANS[mode]}.img')
	os.replace(tmp, final)
	final_dtb = os.path.join(out_dir, os.path.basename(dtb))
	os.replace(dtb, final_dtb)
	shutil.copy(os.path.join(work, 'ferro.dtbo'), os.path.join(out_dir, 'ferro.dtbo'))
	with open(os.path.join(out_dir, 'cmdline.txt'), 'w') as f:
		f.write(line + '\n')
	return Image(final, final_dtb, line, missing)


def inspect(path: str) -> dict:
	"""Read an image back with the same tools, as the board would see it:
	the partition table, the boot partition's files (and a reader for
	them), the root file system's paths, symbolic links, permissions and
	the text of its /etc."""
	_need('sfdisk', 'mdir', 'mcopy', 'debugfs')
	proc = subprocess.run(['sfdisk', '--json', path], capture_output=True, text=True)
	if proc.returncode != 0:
		raise ImageError(f'{path}: no partition table: {proc.stderr.strip()}')
	table = json.loads(proc.stdout)['partitiontable']
	parts = [{k: p[k] for k in ('start', 'size', 'type', 'bootable') if k in p}
		 for p in table.get('partitions', [])]
	if len(parts) != 2:
		raise ImageError(f'{path}: {len(parts)} partitions, expected 2')
	fat = f'{path}@@{parts[0]["start"] * 512}'
	proc = subprocess.run(['mdir', '-/', '-b', '-i', fat, '::/'], capture_output=True, text=True)
	if proc.returncode != 0:
		raise ImageError(f'{path}: boot partition unreadable: {proc.stderr.strip()}')
	boot_files = sorted(line[3:] for line in proc.stdout.splitlines()
			    if line.startswith('::/') and not line.endswith('/'))

	def boot_file(name: str) -> bytes:
		p = subprocess.run(['mcopy', '-n', '-i', fat, f'::/{name}', '-'], capture_output=True)
		return p.stdout if p.returncode == 0 else b''

	root_files, links, texts, modes = set(), {}, {}, {}
	with tempfile.TemporaryDirectory() as tmp:
		dev = f'{path}?offset={parts[1]["start"] * 512}'
		proc = subprocess.run(['debugfs', '-R', f'rdump / {tmp}', dev], capture_output=True,
				      text=True)
		for dirpath, dirs, files in os.walk(tmp):
			for n in dirs + files:
				full = os.path.join(dirpath, n)
				rel = '/' + os.path.relpath(full, tmp)
				root_files.add(rel)
				if os.path.islink(full):
					links[rel] = os.readlink(full)
				elif rel.startswith('/etc/') and os.path.isfile(full):
					with open(full, errors='replace') as f:
						texts[rel] = f.read()
				if not os.path.islink(full):
					modes[rel] = os.stat(full).st_mode & 0o7777
	if not root_files:
		raise ImageError(f'{path}: root file system unreadable: {proc.stderr.strip()}')
	return {'label_id': table.get('id'), 'partitions': parts, 'boot_files': boot_files,
		'boot_file': boot_file, 'root_files': root_files, 'links': links,
		'etc': texts, 'modes': modes}
