# SPDX-License-Identifier: GPL-2.0
"""Raspberry Pi 5 (BCM2712 + RP1), arm64: a real board, built for but not booted in CI."""

from ferro.board import Board

BOARD = Board(
	name='rpi5',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config'],
	console='ttyAMA10',
	dtbs=['broadcom/bcm2712-rpi-5-b.dtb'],
	overlay='ferro.dtso',
)
