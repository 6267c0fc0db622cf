# SPDX-License-Identifier: GPL-2.0
"""QEMU xlnx-zcu102, arm64: a real MAC (Cadence GEM, Linux's macb) and the
PHY QEMU emulates behind it, for the PHY driver's tests."""

from ferro.board import Board

BOARD = Board(
	name='qemu-zcu102',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config'],
	qemu_binary='qemu-system-aarch64',
	# The four GEMs take -nic options in order; GEM3, the one the tree
	# describes, gets the fourth: QEMU's user-mode network (10.0.2.0/24).
	qemu_machine=['-M', 'xlnx-zcu102', '-smp', '4', '-m', '1G',
		      '-nic', 'user', '-nic', 'user', '-nic', 'user', '-nic', 'user'],
	console='ttyPS0',
	dts='ferro-zcu102.dts',
	# Its tree has no cpufreq node and no room for a null device's tests:
	# it is there for ferro_phy.
	drivers=['lifecycle', 'phy'],
	# Boots the debug kernel too, for ferro_phy's share of the stress pass.
	debug_kconfig=['../qemu-virt/debug.config'],
)
