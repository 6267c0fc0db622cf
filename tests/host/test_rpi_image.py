# SPDX-License-Identifier: GPL-2.0
"""The Raspberry Pi SD-card images: reproducible, honest about missing
firmware, and clear about bad input (scripts/build-image, image.py)."""

import hashlib
import os
import subprocess
import tempfile
import unittest

from tests.host.common import TOP, build_dir
from ferro import board as boards, image


def sha(path):
	with open(path, 'rb') as f:
		return hashlib.sha256(f.read()).hexdigest()


def run(*cmd, env=None):
	return subprocess.run(list(cmd), capture_output=True, text=True,
			      env=dict(os.environ, **(env or {})))


class Images(unittest.TestCase):

	def build(self, board, out, epoch, firmware=None):
		old = os.environ.get('SOURCE_DATE_EPOCH')
		os.environ['SOURCE_DATE_EPOCH'] = str(epoch)
		try:
			return image.build_image(boards.load(board), build_dir('m'), 'm', out, firmware)
		finally:
			if old is None:
				del os.environ['SOURCE_DATE_EPOCH']
			else:
				os.environ['SOURCE_DATE_EPOCH'] = old

	def test_same_inputs_same_bytes(self):
		with tempfile.TemporaryDirectory() as tmp:
			a = self.build('rpi5', os.path.join(tmp, 'a'), 1700000000)
			b = self.build('rpi5', os.path.join(tmp, 'b'), 1700000000)
			self.assertEqual(sha(a.path), sha(b.path))
			c = self.build('rpi5', os.path.join(tmp, 'c'), 1700000001)
			self.assertNotEqual(sha(a.path), sha(c.path), 'SOURCE_DATE_EPOCH is not used')

	def test_modes_do_not_overwrite_each_other(self):
		with tempfile.TemporaryDirectory() as tmp:
			imgs = {mode: image.build_image(boards.load('rpi5'), build_dir(mode), mode, tmp, None)
				for mode in ('m', 'y')}
			self.assertEqual([os.path.basename(imgs[m].path) for m in ('m', 'y')],
					 ['ferro-rpi5-module.img', 'ferro-rpi5-builtin.img'])
			for mode, img in imgs.items():
				self.assertTrue(os.path.isfile(img.path), img.path)
				self.assertEqual(image.inspect(img.path)['etc']['/etc/ferro/selftest'],
						 f'{image.PLANS[mode]} rpi5 all\n')
			self.assertNotEqual(sha(imgs['m'].path), sha(imgs['y'].path))

	def test_missing_firmware_is_named_and_the_image_still_written(self):
		with tempfile.TemporaryDirectory() as tmp:
			img = self.build('rpi4', tmp, 1700000000, firmware=None)
			self.assertEqual(img.missing_firmware, ['start4.elf', 'fixup4.dat'])
			self.assertTrue(os.path.isfile(img.path))
			self.assertNotIn('start4.elf', image.inspect(img.path)['boot_files'])

	def test_a_failed_build_leaves_nothing(self):
		with tempfile.TemporaryDirectory() as tmp:
			out = os.path.join(tmp, 'out')
			with self.assertRaisesRegex(image.ImageError, 'is missing: build the kernels first'):
				image.build_image(boards.load('rpi4'), os.path.join(tmp, 'no-build'), 'm', out,
						  None)
			self.assertEqual(os.listdir(out), [])

	def test_bad_source_date_epoch(self):
		os.environ['SOURCE_DATE_EPOCH'] = 'yesterday'
		try:
			with self.assertRaisesRegex(image.ImageError, "SOURCE_DATE_EPOCH must be seconds"):
				image.source_date_epoch()
		finally:
			del os.environ['SOURCE_DATE_EPOCH']

	def test_build_image_refuses_boards_without_a_card_and_bad_modes(self):
		cli = os.path.join(TOP, 'scripts', 'build-image')
		p = run(cli, '--board', 'qemu-virt', '--kdir', '/nonexistent')
		self.assertEqual(p.returncode, 1)
		self.assertIn('board qemu-virt has no SD-card image', p.stderr)
		p = run(cli, '--board', 'rpi4', '--mode', 'x', '--kdir', '/nonexistent')
		self.assertEqual((p.returncode, p.stderr.strip()),
				 (1, "build-image: --mode must be m or y, not 'x'"))
		p = run(cli, '--board', 'nope', '--kdir', '/nonexistent')
		self.assertIn("unknown board 'nope'", p.stderr)

	def test_firmware_from_a_directory_lacking_it(self):
		with tempfile.TemporaryDirectory() as tmp:
			p = run(os.path.join(TOP, 'scripts', 'fetch-rpi-firmware'), env={'RPI_FIRMWARE': tmp})
			self.assertEqual((p.returncode, p.stderr.strip()),
					 (1, f'fetch-rpi-firmware: {tmp} lacks start4.elf fixup4.dat'))
			for f in ('start4.elf', 'fixup4.dat'):
				open(os.path.join(tmp, f), 'w').close()
			p = run(os.path.join(TOP, 'scripts', 'fetch-rpi-firmware'), env={'RPI_FIRMWARE': tmp})
			self.assertEqual((p.returncode, p.stdout.strip()), (0, os.path.realpath(tmp)))

	def test_scripts_have_help(self):
		for s in ('build-image', 'fetch-rpi-firmware', 'check-dt-bindings'):
			p = run(os.path.join(TOP, 'scripts', s), '--help')
			self.assertEqual(p.returncode, 0, s)
			self.assertIn('sage', p.stdout, s)


if __name__ == '__main__':
	unittest.main()
