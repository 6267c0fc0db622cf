# SPDX-License-Identifier: GPL-2.0
"""Raspberry Pi 4 Model B (BCM2711), arm64: a real board. CI builds its SD-card
image and boots that image in QEMU's raspi4b machine."""

from ferro.board import Board, SdCard

BOARD = Board(
	name='rpi4',
	description='Raspberry Pi 4 Model B',
	compatible='raspberrypi,4-model-b',
	arch='arm64',
	cross_compile='aarch64-linux-gnu-',
	kernel_image='arch/arm64/boot/Image',
	kconfig=['kernel.config', 'userland.config'],
	console='ttyS1',
	dtbs=['broadcom/bcm2711-rpi-4-b.dtb'],
	overlay='ferro.dtso',
	sd_card=SdCard(
		kernel='kernel8.img',
		firmware=['start4.elf', 'fixup4.dat'],
		# 64-bit kernel; mainline DT names; the mini UART on GPIO 14/15
		# (enable_uart also fixes the core clock it is derived from).
		config=['arm_64bit=1', 'upstream_kernel=1', 'enable_uart=1'],
	),
	# QEMU 10's raspi4b boots the image's kernel, DTB and root file system.
	# Its mini UART model keeps the interrupt raised once the 8250 driver
	# requests it (CPU 0 never leaves the handler when the console opens),
	# so the smoke boot's console is the PL011 (QEMU's first serial port).
	# Its SoC model answers the HDMI interrupt controller and the DVP
	# clock/reset block with a synchronous external abort, so the smoke
	# boot's DTB disables both. QEMU puts the card on the EMMC controller
	# (the board's Wi-Fi slot), whose Wi-Fi power sequence would wait for
	# ever for the firmware's GPIO expander, which QEMU does not model; the
	# DTB drops it. (On the board the card is on EMMC2.) QEMU models no
	# GENET: the smoke boot's DTB disables it, so that the guest does not
	# expect the PHY behind it (tests/guest/phy.c asks the device tree).
	# On the board, GENET and its PHY stay enabled.
	qemu_binary='qemu-system-aarch64',
	qemu_machine=['-M', 'raspi4b'],
	qemu_console='ttyAMA0',
	qemu_dt_edits=['/soc/interrupt-controller@7ef00100 status=disabled',
		       '/soc/clock@7ef00000 status=disabled',
		       '/soc/mmc@7e300000 -mmc-pwrseq',
		       '/scb-bus@fc000000/ethernet@7d580000 status=disabled'],
)
