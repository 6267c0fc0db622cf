# SPDX-License-Identifier: GPL-2.0
#
# Ferro: this file is two makefiles in one.
#
# Inside a kernel build (Kbuild sets KERNELRELEASE), in-tree as drivers/ferro
# or out-of-tree with M=, it only lists what to build. Run from a shell, it is
# the user's entry point: `make help` lists the targets.

ifneq ($(KERNELRELEASE),)

# Ferro's own Rust is held to zero warnings (rustc and, with CLIPPY=1, clippy)
# unless the builder opts out with FERRO_WERROR=0.
ifneq ($(FERRO_WERROR),0)
subdir-rustflags-y += -Dwarnings
endif

# The kernel crate's API shape (kext/compat.rs): in a kernel tree Kconfig
# runs kext/Kconfig's probes and sets CONFIG_FERRO_KCRATE_*; out of tree the
# kernel's configuration has none, so run the same probes here.
ifneq ($(KBUILD_EXTMOD),)
subdir-rustflags-y += $(shell $(CONFIG_SHELL) $(KBUILD_EXTMOD)/scripts/kcrate-cfgs $(srctree))
endif

obj-$(CONFIG_FERRO) += drivers/ tests/kmod/

else # user entry point

FERRO_CACHE ?= $(HOME)/.cache/ferro
export FERRO_CACHE
BOARD ?= qemu-virt
# KDIR: the kernel source tree to build against. Defaults to the pinned
# source of KVERSION (7.3, or 7.2) unpacked in the cache by
# scripts/fetch-kernel.
KDIR ?=
KVERSION ?= 7.3
JOBS ?= $(shell nproc)

ifeq ($(KDIR),)
PINNED := 1
KSRC := $(shell scripts/fetch-kernel --version $(KVERSION) --print-dir)
else
KSRC := $(abspath $(KDIR))
endif

BUILD_ARGS = --board $(BOARD) --kdir $(KSRC) --jobs $(JOBS)

# The toolchain environment (bindgen, libclang) written by setup-deps.
-include $(FERRO_CACHE)/tools/env.mk

.PHONY: help deps kernel-src kernels demo check test test-host modules debs check-tree \
	integrate unintegrate patches rust-analyzer rustdoc compare stress kasan bench image lava-jobs docs htmldocs rustfmt rustfmtcheck clean

help:
	@echo 'Ferro - Rust-for-Linux drivers, built in and as modules'
	@echo
	@echo 'Main targets:'
	@echo '  demo          set up, build =m and =y for BOARD, boot both, show how C entered'
	@echo '  check         the test suite; ends with "N passed, N failed" (.ci/run)'
	@echo '  compare       measured built-in vs loadable report in compare/BOARD/ (BOOTS=5)'
	@echo '  image         BOARD=rpi4|rpi5: SD-card image out/BOARD/PLAN/ferro-BOARD-PLAN.img'
	@echo '                (FERRO_MODE=m|y, RPI_FIRMWARE=DIR for your own Pi 4 firmware)'
	@echo '  debs          kernel packages, headers that build Rust modules: out/BOARD/PLAN/debs'
	@echo '                (FERRO_MODE=m|y; TWICE=1: build twice, compare the bytes)'
	@echo '  lava-jobs     BOARD=... ARTIFACT_URL=...: LAVA jobs (validated) and their artefacts'
	@echo '                in out/BOARD/lava/ (Documentation/boards/lava.rst)'
	@echo '  stress        the debug kernels (lockdep, kmemleak, UBSAN, fault injection):'
	@echo '                every loop STRESS=200 times, allocation failures injected'
	@echo '  kasan         the same on KASAN kernels built by clang in a Debian trixie'
	@echo '                root (scripts/setup-chroot llvm; KASAN_STRESS=20)'
	@echo '  bench         each driver vs its C peer: exact kernel instructions per'
	@echo '                operation (QEMU -icount) and time; writes'
	@echo '                Documentation/drivers/<suite>-bench.txt (BENCH_SUITES=null,cpufreq,phy,init'
	@echo '                BENCH_RUNS=3 BENCH_MS=1000 BENCH_BOOTS=2)'
	@echo
	@echo 'Other targets:'
	@echo '  deps          install the toolchain (scripts/setup-deps)'
	@echo '  kernel-src    unpack the pinned Linux 7.3.4 source into the cache'
	@echo '  kernels       build the module (=m) and built-in (=y) kernels'
	@echo '  test          fast loop: rebuild one DRIVER out of tree, boot, run its tests'
	@echo '  modules       build the Ferro modules out of tree (make -C KDIR M=...)'
	@echo '  rust-analyzer write rust-project.json for editors (kernel generator + fix-ups)'
	@echo '  patches       a checkpatch-clean git format-patch series for KDIR (a git tree)'
	@echo '  rustdoc       HTML docs of the Ferro crates (warnings are errors)'
	@echo '  docs          regenerate Documentation/lifecycle/evidence from the builds'
	@echo '  htmldocs      Documentation/ as HTML with Sphinx (warnings are errors)'
	@echo '  check-tree    whether KDIR can take Ferro, per driver, and why not'
	@echo '                (integrate, modules and demo run it first)'
	@echo '  integrate     link this tree into KDIR as drivers/ferro'
	@echo '  unintegrate   undo integrate'
	@echo '  rustfmt       format the Rust sources with the kernel'"'"'s rustfmt config'
	@echo '  rustfmtcheck  check the Rust formatting'
	@echo '  test-host     host-side tests only; those that need a kernel build use the'
	@echo '                cached qemu-virt ones (make kernels) or say why they skip'
	@echo '  clean         remove all build output from the cache (keeps source, tools)'
	@echo
	@echo 'Variables:'
	@echo '  KDIR=DIR      kernel source to use (default: pinned 7.3.4 in the cache);'
	@echo '                for `modules`: a configured and built kernel'
	@echo '  KVERSION=X.Y  the pinned kernel without KDIR: 7.3 (default) or 7.2; make check'
	@echo '                on 7.3 also boots 7.2'"'"'s lean virt kernels'
	@echo '  BOARD=NAME    board under boards/ (default: qemu-virt)'
	@echo '  DRIVER=NAME   for `test`: the driver under drivers/ (default: all)'
	@echo '  FERRO_CACHE=DIR cache for sources, tools and builds (default: ~/.cache/ferro)'
	@echo '  JOBS=N        parallel build jobs, and `bench`'"'"'s counting boots at a time (default: nproc)'
	@echo '  BOOTS=N       for `compare`: boots per mode (default: 5)'
	@echo '  STRESS=N      for `stress`: cycles per stress loop (default: 200)'
	@echo '  KASAN_STRESS=N  for `kasan`: the same (default: 20)'
	@echo '  FERRO_MODE=m|y for `image`: Ferro as modules or built in (default: m)'

deps:
	@scripts/setup-deps

kernel-src: deps
ifeq ($(PINNED),1)
	@scripts/fetch-kernel --version $(KVERSION)
endif

kernels: kernel-src
	@scripts/build-kernel $(BUILD_ARGS) --mode m
	@scripts/build-kernel $(BUILD_ARGS) --mode y

demo: kernels
	@scripts/ferro-demo --board $(BOARD) --kdir $(KSRC)

check: kernel-src
	@scripts/run-checks --board $(BOARD) --kdir $(KSRC) --jobs $(JOBS)

# The debug kernels' stress and fault-injection pass with the full counts
# (make check runs it with short loops). STRESS= cycles per loop.
STRESS ?= 200
stress: kernel-src
	@scripts/run-checks --board $(BOARD) --kdir $(KSRC) --jobs $(JOBS) --stress $(STRESS)

# The same pass on the KASAN kernels, which clang builds (LLVM=1) in a
# Debian trixie root made once by scripts/setup-chroot llvm (needs root).
# KASAN_STRESS= cycles per loop.
KASAN_STRESS ?= 20
kasan: kernel-src
	@scripts/setup-chroot llvm
	@scripts/run-checks --board $(BOARD) --kdir $(KSRC) --jobs $(JOBS) --kasan $(KASAN_STRESS)

# The host tests alone: the toolchain and the pinned source first (deps,
# kernel-src); tests that need a kernel build use the cached ones or say
# which make target makes them.
test-host: kernel-src
	@python3 -m unittest discover -s tests/host -t . -q

# Out-of-tree build of the Ferro modules against a configured and built
# kernel (scripts/build-modules). With no KDIR, the cached module-mode build
# for BOARD is used. Objects go to the cache (MO=), never into this tree.
MODULES_KDIR = $(if $(PINNED),$(shell scripts/build-kernel $(BUILD_ARGS) --mode m --print-out),$(KSRC))

modules:
	@scripts/build-modules --jobs $(JOBS) $(MODULES_KDIR)

# The fast loop: only the driver is rebuilt (M= against the module kernel),
# the initramfs remade and QEMU booted with that driver's tests.
DRIVER ?=
test: kernel-src
	@scripts/run-checks --board $(BOARD) --kdir $(KSRC) --jobs $(JOBS) --fast $(DRIVER)

rust-analyzer: kernel-src
	@scripts/gen-rust-project --board $(BOARD) --kdir $(KSRC)

BOOTS ?= 5
compare: kernels
	@scripts/ferro-compare --board $(BOARD) --kdir $(KSRC) --boots $(BOOTS)

ARTIFACT_URL ?=
lava-jobs: kernels
	@test -n "$(ARTIFACT_URL)" || { echo 'make lava-jobs needs ARTIFACT_URL=<where out/$(BOARD)/lava/artifacts will be published>' >&2; exit 2; }
	@scripts/lava-jobs --board $(BOARD) --artifact-url $(ARTIFACT_URL) --kdir $(KSRC)

FERRO_MODE ?= m
image: kernel-src
	@scripts/build-image $(BUILD_ARGS) --mode $(FERRO_MODE)

debs: kernel-src
	@scripts/build-debs $(BUILD_ARGS) --mode $(FERRO_MODE) $(if $(TWICE),--twice)

BENCH_SUITES ?= null,cpufreq,phy,init
BENCH_RUNS ?= 3
BENCH_MS ?= 1000
BENCH_BOOTS ?= 2
bench: kernels
	@scripts/ferro-bench --kdir $(KSRC) --jobs $(JOBS) --suites $(BENCH_SUITES) --runs $(BENCH_RUNS) \
		--ms $(BENCH_MS) --boots $(BENCH_BOOTS) $(if $(BENCH_ONLY),--only $(BENCH_ONLY)) \
		--output-dir Documentation/drivers

docs: kernels
	@scripts/gen-docs --board $(BOARD) --kdir $(KSRC)

htmldocs: deps
	@$(FERRO_CACHE)/tools/venv/bin/sphinx-build -W --keep-going -q -b html \
		Documentation $(FERRO_CACHE)/htmldocs
	@echo '  HTML    $(FERRO_CACHE)/htmldocs/index.html'

rustdoc: kernel-src
	@scripts/build-rustdoc --board $(BOARD) --kdir $(KSRC)

patches:
ifeq ($(PINNED),1)
	@echo 'make patches needs KDIR=<a kernel git tree> to base the series on' >&2; exit 2
else
	@scripts/make-patches $(KSRC)
endif

check-tree: deps
	@scripts/check-tree $(KSRC)

integrate: deps
	@scripts/integrate-kernel-tree $(KSRC)

unintegrate:
	@scripts/integrate-kernel-tree --remove $(KSRC)

RUST_SOURCES = $(shell find drivers kext -name '*.rs' | sort)

rustfmt:
	@rustfmt --config-path $(KSRC)/.rustfmt.toml $(RUST_SOURCES)

rustfmtcheck:
	@rustfmt --check --config-path $(KSRC)/.rustfmt.toml $(RUST_SOURCES)

clean:
	rm -rf $(FERRO_CACHE)/build $(FERRO_CACHE)/run $(FERRO_CACHE)/extmod $(FERRO_CACHE)/probes \
		$(FERRO_CACHE)/images

endif
