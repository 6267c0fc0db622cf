# SPDX-License-Identifier: GPL-2.0
"""Board descriptors.

Each board is a folder under boards/ with a ``board.py`` that defines
``BOARD = Board(...)``, in the manner of the kernel's
tools/testing/kunit/qemu_configs/*.py. Adding a board is adding a folder.
"""

import dataclasses
import importlib.util
import os
from typing import List, Optional

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BOARDS_DIR = os.path.join(TOP, 'boards')


@dataclasses.dataclass(frozen=True)
class SdCard:
	"""What a Raspberry Pi's boot partition needs besides Ferro's files."""
	kernel: str                # the name the firmware loads the kernel from
	firmware: List[str]        # boot firmware files (fetch-rpi-firmware)
	config: List[str]          # config.txt lines after kernel/device_tree/dtoverlay


@dataclasses.dataclass(frozen=True)
class Board:
	"""What it takes to build a kernel for a board and boot it in QEMU."""
	name: str
	arch: str
	cross_compile: str
	kernel_image: str          # relative to the build directory
	kconfig: List[str]         # fragment files, relative to the board folder
	qemu_binary: Optional[str] = None
	qemu_machine: List[str] = dataclasses.field(default_factory=list)
	console: str = 'ttyS0'
	dtsi: Optional[str] = None  # nodes Ferro adds to QEMU's own device tree
	dts: Optional[str] = None   # or a whole tree, for machines QEMU gives none
	cmdline: str = ''
	dtbs: List[str] = dataclasses.field(default_factory=list)  # mainline, under arch/*/boot/dts
	overlay: Optional[str] = None  # Ferro's overlay (.dtso) for those DTBs
	description: str = ''
	sd_card: Optional[SdCard] = None  # boards booted from an SD-card image
	# QEMU boots the first of `dtbs` with the overlay applied and these
	# edits, for what QEMU's model of the SoC cannot take: "NODE PROP=VALUE"
	# sets a string property, "NODE -PROP" deletes one.
	qemu_dt_edits: List[str] = dataclasses.field(default_factory=list)
	qemu_console: Optional[str] = None  # where QEMU's model differs from the board
	# A real board's root compatible in its mainline device tree, which
	# the guest checks (ferro_compatible= on the command line); QEMU
	# boards carry a ferro,board property in Ferro's tree instead.
	compatible: Optional[str] = None
	# The drivers the board runs (None: every driver); a board that is
	# there for one driver's hardware names it, e.g. qemu-zcu102's PHY.
	drivers: Optional[List[str]] = None
	# Fragments the debug kernel adds on top of `kconfig` (every checker on;
	# make check's stress pass boots it).
	debug_kconfig: List[str] = dataclasses.field(default_factory=list)
	# Fragments the KASAN kernel adds on top of the debug kernel's (a
	# clang-built kernel: make kasan).
	kasan_kconfig: List[str] = dataclasses.field(default_factory=list)
	# Fragments a kernel of this board alone adds to `kconfig`: what it
	# otherwise gets from its siblings' fragments in the architecture's
	# shared kernel. The lean kernel (make check's other kernel versions)
	# is `kconfig` plus these, and nothing of the other boards.
	lean_kconfig: List[str] = dataclasses.field(default_factory=list)

	def guest_env(self) -> str:
		"""Kernel command-line words that reach the guest init as
		environment variables: what it checks the board by."""
		return f'ferro_compatible={self.compatible}' if self.compatible else ''

	@property
	def folder(self) -> str:
		return os.path.join(BOARDS_DIR, self.name)

	def kconfig_paths(self, variant: str = '') -> List[str]:
		"""The fragments of a kernel variant: '' (the board's kernel),
		'debug' (plus debug_kconfig), 'kasan' (plus kasan_kconfig) or
		'lean' (plus lean_kconfig)."""
		files = self.kconfig
		if variant == 'lean':
			files = files + self.lean_kconfig
		if variant in ('debug', 'kasan'):
			files = files + self.debug_kconfig
		if variant == 'kasan':
			files = files + self.kasan_kconfig
		return [os.path.join(self.folder, f) for f in files]

	def overlay_path(self) -> Optional[str]:
		return os.path.join(self.folder, self.overlay) if self.overlay else None

	def dtsi_path(self) -> Optional[str]:
		return os.path.join(self.folder, self.dtsi) if self.dtsi else None

	def dts_path(self) -> Optional[str]:
		return os.path.join(self.folder, self.dts) if self.dts else None


def available() -> List[str]:
	"""Names of the boards that have a descriptor."""
	return sorted(d for d in os.listdir(BOARDS_DIR)
		      if os.path.isfile(os.path.join(BOARDS_DIR, d, 'board.py')))


def load(name: str) -> Board:
	"""Load boards/<name>/board.py; raise ValueError naming the choices."""
	path = os.path.join(BOARDS_DIR, name, 'board.py')
	if not os.path.isfile(path):
		raise ValueError(f"unknown board '{name}' (boards: {', '.join(available())})")
	spec = importlib.util.spec_from_file_location(f'ferro_board_{name.replace("-", "_")}', path)
	assert spec and spec.loader
	module = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(module)
	board = getattr(module, 'BOARD', None)
	if not isinstance(board, Board) or board.name != name:
		raise ValueError(f'{path} must define BOARD = Board(name={name!r}, ...)')
	return board
