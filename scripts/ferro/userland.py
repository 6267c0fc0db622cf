# SPDX-License-Identifier: GPL-2.0
"""The Raspberry Pi card's userland: a root shell on the console, with
Ferro's commands.

busybox comes from Debian's arm64 busybox-static package: one static
binary with a shell, init, modprobe, ip and udhcpc, dd, vi and wget in
under 2 MiB, which is what a board that is there to load, unload and
exercise drivers needs; a Debian root file system (debootstrap) would need
root and emulation to build and be a hundred times larger. Everything else
is small text written here.

PID 1 is ferro-init (tests/guest): with ferro.selftest=1 on the kernel
command line it runs the self-test, prints KTAP and powers off, as make
check and the LAVA jobs expect; otherwise it becomes busybox init, which
runs /etc/init.d/rcS and then a shell on the console (and one on the HDMI
console, tty1). The same binary is the commands ferro-selftest and
ferro-blkio; ferro-lifecycle, ferro-cpufreq and ferro-phy are scripts.
"""

import os
import shutil
from typing import Dict, List

from ferro import debian, guest
from ferro.board import Board

BUSYBOX = debian.Package(
	name='busybox-static', version='1:1.37.0-6+b9', arch='arm64', suite='trixie',
	component='main',
	sha256='c833be48abfa16bc19c4966ec93e289ff1ce5d2f1476cad3a57bd105378cd15c')

# The shell's prompt; make check waits for it before it types.
PROMPT = '# '
# What rcS prints last; make check waits for it too.
READY = 'ferro: the card is up'

INITTAB = '''\
# /etc/inittab of Ferro's card (busybox init; scripts/ferro/userland.py)
::sysinit:/etc/init.d/rcS
# A root shell on the console (the serial port), with job control.
::respawn:/bin/cttyhack /bin/sh -l
# And one on the HDMI console, once Enter is pressed there.
tty1::askfirst:/bin/sh -l
::ctrlaltdel:/bin/reboot
::shutdown:/bin/umount -a -r
'''

RCS = '''\
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /etc/init.d/rcS: busybox init runs this once, before the shells.
# ferro-init, PID 1 before busybox init, mounted /proc, /sys and /dev.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t configfs configfs /sys/kernel/config 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
hostname -F /etc/hostname
ip link set lo up

# Ethernet. The Pi 4's GENET is a module in both build modes; the PHY
# behind it, a BCM54213PE, is ferro_phy's. As modules, ferro_phy goes in
# first, so that it, not the C broadcom driver, binds the PHY.
for alias in /sys/bus/platform/devices/*/modalias; do
	case "$(cat "$alias" 2>/dev/null)" in
	*bcm2711-genet*)
		[ -e /lib/modules/ferro/ferro_phy.ko ] && modprobe ferro_phy
		modprobe genet ;;
	esac
done
if [ -e /sys/class/net/eth0 ]; then
	ip link set eth0 up
	# In the background until a lease comes: a cable may come later.
	udhcpc -i eth0 -b -s /etc/udhcpc/default.script >/dev/null 2>&1
fi
echo "''' + READY + ''' ($(cat /etc/ferro/selftest), $(uname -r)); try ferro-help"
'''

DHCP_SCRIPT = '''\
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# udhcpc's lease script: $1 is what happened, the lease is in the environment.
case "$1" in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up ;;
bound|renew)
	ip -4 addr flush dev "$interface"
	ip -4 addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
	[ -n "$router" ] && ip -4 route replace default via "${router%% *}" dev "$interface"
	: >/run/resolv.conf
	for s in $dns; do echo "nameserver $s" >>/run/resolv.conf; done
	# Into the kernel log (at KERN_INFO), which the console shows.
	echo "<6>udhcpc: $interface: $ip/${mask:-24}, router ${router:-none}" >/dev/kmsg ;;
esac
exit 0
'''

PROFILE = '''\
# /etc/profile: the login shells of Ferro's card.
export PATH=/usr/bin:/bin:/sbin HOME=/root
cd
PS1='\\u@\\h:\\w''' + PROMPT + '''\'
'''

HELP = '''\
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
cat <<EOT
Ferro on $(hostname) ($(cat /etc/ferro/selftest)):
  ferro-selftest [DRIVER,...]   the self-test, in KTAP (drivers: lifecycle null cpufreq phy)
  ferro-lifecycle               how C entered ferro_lifecycle (/dev/ferro_lifecycle)
  ferro-blkio [-v] DEVICE       write, read back (and -v: compare) a block device
  ferro-cpufreq, ferro-phy      the self-test of one driver
  modprobe ferro_null memory_backed=1, rmmod ferro_null, lsmod    (module cards)
  udhcpc -i eth0, ip addr, wget, tftp                            (network)
Documentation/boards/rpi.rst in Ferro's tree says more.
EOT
'''

LIFECYCLE = '''\
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ferro-lifecycle: the record ferro_lifecycle's init left, in which it
# says how C entered it (entry, caller chain, system state).
if [ ! -e /dev/ferro_lifecycle ]; then
	echo "ferro-lifecycle: /dev/ferro_lifecycle is missing: modprobe ferro_lifecycle" >&2
	exit 1
fi
exec cat /dev/ferro_lifecycle
'''

ONE_DRIVER = '''\
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ferro-{0}: the self-test of ferro_{0} alone.
exec ferro-selftest {0} "$@"
'''

# The kernel calls /sbin/modprobe to load modules by alias (request_module).
SBIN = ('modprobe', 'halt', 'poweroff', 'reboot')


def applets(busybox: str) -> List[str]:
	"""busybox's applet names, from the table in the binary (it cannot
	run here to say them): NUL-separated, in order, from "[" to "zcat"."""
	with open(busybox, 'rb') as f:
		data = f.read()
	start = data.find(b'[\x00[[\x00')
	if start < 0:
		raise debian.DebianError(f'{busybox}: no applet table')
	names = data[start:data.index(b'\x00\x00', start)].split(b'\x00')
	return [n.decode() for n in names]


def files(board: Board, plan: str) -> Dict[str, str]:
	"""The text files of the userland, by path (executable if they start
	with "#!")."""
	out = {
		'/etc/inittab': INITTAB,
		'/etc/init.d/rcS': RCS,
		'/etc/udhcpc/default.script': DHCP_SCRIPT,
		'/etc/profile': PROFILE,
		'/etc/hostname': f'ferro-{board.name}\n',
		'/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
		'/etc/group': 'root:x:0:\n',
		'/etc/ferro/selftest': f'{plan} {board.name} {guest.guest_drivers(board)}\n',
		# A broadcom module loaded by alias would not take the PHY from a
		# ferro_phy loaded first, but it need not load at all.
		'/etc/modprobe.d/ferro.conf': '# ferro_phy drives the BCM54213PE\nblacklist broadcom\n',
		'/usr/bin/ferro-help': HELP,
		'/usr/bin/ferro-lifecycle': LIFECYCLE,
	}
	for drv in ('cpufreq', 'phy'):
		out[f'/usr/bin/ferro-{drv}'] = ONE_DRIVER.format(drv)
	return out


def stage(root: str, board: Board, plan: str, init: str) -> None:
	"""Add the userland to the root file system being staged in `root`,
	whose /sbin/init is not there yet; `init` is the ferro-init binary."""
	pkg = debian.unpack(BUSYBOX)
	busybox = os.path.join(pkg, 'usr', 'bin', 'busybox')
	for d in ('bin', 'sbin', 'usr/bin', 'usr/lib/ferro', 'root', 'run', 'tmp', 'mnt', 'var',
		  'etc/init.d', 'etc/udhcpc', 'etc/ferro', 'etc/modprobe.d',
		  'usr/share/doc/busybox-static'):
		os.makedirs(os.path.join(root, d), exist_ok=True)
	os.chmod(os.path.join(root, 'tmp'), 0o1777)
	os.chmod(os.path.join(root, 'root'), 0o700)
	shutil.copy(busybox, os.path.join(root, 'bin', 'busybox'))
	os.chmod(os.path.join(root, 'bin', 'busybox'), 0o755)
	shutil.copy(os.path.join(pkg, 'usr', 'share', 'doc', 'busybox-static', 'copyright'),
		    os.path.join(root, 'usr', 'share', 'doc', 'busybox-static', 'copyright'))
	for name in applets(busybox):
		if name not in ('busybox', 'init', 'linuxrc'):
			os.symlink('busybox', os.path.join(root, 'bin', name))
	for name in SBIN:
		os.symlink('../bin/busybox', os.path.join(root, 'sbin', name))
	shutil.copy(init, os.path.join(root, 'usr', 'lib', 'ferro', 'ferro-init'))
	os.chmod(os.path.join(root, 'usr', 'lib', 'ferro', 'ferro-init'), 0o755)
	os.symlink('../usr/lib/ferro/ferro-init', os.path.join(root, 'sbin', 'init'))
	for cmd in ('ferro-selftest', 'ferro-blkio'):
		os.symlink('../lib/ferro/ferro-init', os.path.join(root, 'usr', 'bin', cmd))
	os.symlink('../run/resolv.conf', os.path.join(root, 'etc', 'resolv.conf'))
	os.symlink('../run', os.path.join(root, 'var', 'run'))
	for path, text in files(board, plan).items():
		full = os.path.join(root, path.lstrip('/'))
		with open(full, 'w') as f:
			f.write(text)
		os.chmod(full, 0o755 if text.startswith('#!') else 0o644)
