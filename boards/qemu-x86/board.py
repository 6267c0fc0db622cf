# SPDX-License-Identifier: GPL-2.0
"""QEMU q35, x86_64: the drivers with no arm64 hardware behind them, built
where objtool checks every object and its warnings are errors."""

from ferro.board import Board

BOARD = Board(
	name='qemu-x86',
	arch='x86_64',
	cross_compile='',
	kernel_image='arch/x86/boot/bzImage',
	kconfig=['kernel.config'],
	qemu_binary='qemu-system-x86_64',
	# The board's name as the DMI product, which the guest checks as the
	# arm64 boards' ferro,board property (x86 boots without a device tree).
	qemu_machine=['-M', 'q35', '-cpu', 'max', '-smp', '2', '-m', '512', '-nic', 'none',
		      '-smbios', 'type=1,product=qemu-x86'],
	console='ttyS0',
	description='QEMU q35 (x86_64)',
	drivers=['lifecycle', 'null'],
)
