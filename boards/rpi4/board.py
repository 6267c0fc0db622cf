# SPDX-License-Identifier: GPL-2.0
"""Raspberry Pi 4 Model B (BCM2711), arm64: a real board, built for but not booted in CI."""

from ferro.board import Board

BOARD = Board(
	name='rpi4',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config'],
	console='ttyS1',
	dtbs=['broadcom/bcm2711-rpi-4-b.dtb'],
	overlay='ferro.dtso',
)
