# SPDX-License-Identifier: GPL-2.0
"""Raspberry Pi 5 (BCM2712 + RP1), arm64: a real board. CI builds its SD-card
image; no QEMU machine models it."""

from ferro.board import Board, SdCard

BOARD = Board(
	name='rpi5',
	description='Raspberry Pi 5',
	compatible='raspberrypi,5-model-b',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config', '../rpi4/userland.config'],
	console='ttyAMA10',
	dtbs=['broadcom/bcm2712-rpi-5-b.dtb'],
	overlay='ferro.dtso',
	sd_card=SdCard(
		kernel='kernel_2712.img',
		# The Pi 5 boots from its EEPROM; the boot partition needs no firmware.
		firmware=[],
		config=['upstream_kernel=1'],
	),
)
