# SPDX-License-Identifier: GPL-2.0
"""Debian packages Ferro takes files from, pinned by version and SHA-256,
downloaded by apt through a private sources list (nothing is installed and
the host's apt configuration is untouched) into the cache."""

import dataclasses
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

from ferro.kbuild import cache_dir


class DebianError(Exception):
	pass


@dataclasses.dataclass(frozen=True)
class Package:
	name: str
	version: str		# with its epoch, as apt names it
	arch: str
	suite: str
	component: str
	sha256: str

	@property
	def file_name(self) -> str:
		return f'{self.name}_{self.version.split(":")[-1]}_{self.arch}.deb'


def _sha256(path: str) -> str:
	h = hashlib.sha256()
	with open(path, 'rb') as f:
		for chunk in iter(lambda: f.read(1 << 20), b''):
			h.update(chunk)
	return h.hexdigest()


def fetch(pkg: Package) -> str:
	"""The package's .deb in the cache, downloaded if it is not there yet;
	its SHA-256 must be the pinned one."""
	dl = os.path.join(cache_dir(), 'dl')
	deb = os.path.join(dl, pkg.file_name)
	if not os.path.exists(deb):
		apt = os.path.join(dl, f'apt-{pkg.suite}-{pkg.component}-{pkg.arch}')
		for d in ('lists/partial', 'archives/partial'):
			os.makedirs(os.path.join(apt, d), exist_ok=True)
		with open(os.path.join(apt, 'sources.list'), 'w') as f:
			f.write(f'deb [arch={pkg.arch} signed-by=/usr/share/keyrings/debian-archive-'
				f'keyring.gpg] http://deb.debian.org/debian {pkg.suite} {pkg.component}\n')
		opts = ['-o', f'Dir::Etc::SourceList={apt}/sources.list',
			'-o', 'Dir::Etc::SourceParts=/dev/null',
			'-o', f'Dir::State::Lists={apt}/lists',
			'-o', f'Dir::Cache::Archives={apt}/archives',
			'-o', 'APT::Sandbox::User=root',
			'-o', f'APT::Architectures={pkg.arch}', '-o', f'APT::Architecture={pkg.arch}']
		print(f'  FETCH   {pkg.name} {pkg.version} ({pkg.arch}) from Debian {pkg.suite} '
		      f'{pkg.component} (apt)', flush=True)
		with tempfile.TemporaryDirectory(dir=dl) as tmp:
			for cmd, cwd in ((['apt-get'] + opts + ['-qq', 'update'], None),
					 (['apt-get'] + opts + ['-qq', 'download',
								f'{pkg.name}:{pkg.arch}={pkg.version}'], tmp)):
				proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
				if proc.returncode != 0:
					raise DebianError(f'cannot download {pkg.name} {pkg.version} from '
							  f'Debian {pkg.suite}: {proc.stderr.strip()}')
			got = glob.glob(os.path.join(tmp, '*.deb'))
			if len(got) != 1:
				raise DebianError(f'apt-get download of {pkg.name} gave {got}')
			shutil.move(got[0], deb + '.part')
		os.replace(deb + '.part', deb)
	digest = _sha256(deb)
	if digest != pkg.sha256:
		raise DebianError(f'{deb} has SHA-256 {digest}, expected {pkg.sha256}')
	return deb


def unpack(pkg: Package) -> str:
	"""The package's files, unpacked once into the cache (dpkg-deb -x)."""
	dest = os.path.join(cache_dir(), 'debs', pkg.file_name[:-len('.deb')])
	if os.path.exists(os.path.join(dest, '.ferro-unpacked')):
		return dest
	deb = fetch(pkg)
	tmp = dest + '.part'
	shutil.rmtree(tmp, ignore_errors=True)
	os.makedirs(tmp)
	proc = subprocess.run(['dpkg-deb', '-x', deb, tmp], capture_output=True, text=True)
	if proc.returncode != 0:
		shutil.rmtree(tmp)
		raise DebianError(f'dpkg-deb -x {deb}: {proc.stderr.strip()}')
	open(os.path.join(tmp, '.ferro-unpacked'), 'w').close()
	shutil.rmtree(dest, ignore_errors=True)
	os.replace(tmp, dest)
	return dest
