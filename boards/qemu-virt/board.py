# SPDX-License-Identifier: GPL-2.0
"""QEMU virt, arm64: the board every CI run boots."""

from ferro.board import Board

BOARD = Board(
	name='qemu-virt',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config'],
	qemu_binary='qemu-system-aarch64',
	qemu_machine=['-M', 'virt', '-cpu', 'cortex-a57', '-smp', '4', '-m', '512', '-nic', 'none'],
	console='ttyAMA0',
	dtsi='ferro.dtsi',
	debug_kconfig=['debug.config'],
	kasan_kconfig=['kasan.config'],
	lean_kconfig=['lean.config'],
)
