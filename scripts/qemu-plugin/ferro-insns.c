// SPDX-License-Identifier: GPL-2.0
/*
 * ferro-insns: a QEMU TCG plugin for make bench's per-function breakdown.
 *
 * The emulated PMU counts a guest's instructions exactly under -icount,
 * but its samples are useless (QEMU raises the overflow interrupt at the
 * next change of exception level). This plugin counts instead, for every
 * translation block of the guest kernel, how many instructions it
 * executed, in windows the guest opens and closes itself: each execution
 * of the function at `mark` (the guest calls sync(2) at both ends of a
 * measurement; ksys_sync is the mark) toggles a window, and closing window
 * N writes "<vaddr> <instructions>" for every block that ran in it to
 * <out>.<N>. scripts/ferro-bench resolves the addresses against the
 * kernel's symbols.
 *
 *   qemu-system-aarch64 ... -plugin ferro-insns.so,mark=0x<addr>,out=<prefix>
 *
 * The plugin API is QEMU's (include/qemu/qemu-plugin.h), which Debian
 * does not package; qemu-plugin-api.h restates the few declarations used.
 */

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu-plugin-api.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 2;

/* One block: where it starts, how many instructions, how often it ran. */
struct block {
	uint64_t vaddr, insns, runs;
};

#define SLOTS (1u << 21)	/* hash slots; the kernel translates far fewer blocks */
#define KERNEL 0xffff000000000000ull

static struct block *blocks;
static size_t n_blocks;
static uint32_t *slot;		/* index + 1 into blocks, 0 if empty */
static uint64_t mark;
static char out[512];
static int open_window, windows;

static struct block *block_of(uint64_t vaddr, uint64_t insns)
{
	uint64_t h = (vaddr ^ (insns << 48)) * 0x9e3779b97f4a7c15ull;
	uint32_t i = (uint32_t)(h >> 43) & (SLOTS - 1);

	for (; slot[i]; i = (i + 1) & (SLOTS - 1)) {
		struct block *b = &blocks[slot[i] - 1];

		if (b->vaddr == vaddr && b->insns == insns)
			return b;
	}
	if (n_blocks + 1 >= SLOTS / 2)
		return NULL;	/* full: the block goes uncounted */
	blocks[n_blocks] = (struct block){ vaddr, insns, 0 };
	slot[i] = ++n_blocks;
	return &blocks[n_blocks - 1];
}

static void ran(unsigned int vcpu, void *data)
{
	struct block *b = data;

	(void)vcpu;
	b->runs++;
}

static void toggle(unsigned int vcpu, void *data)
{
	char path[600];
	FILE *f;
	size_t i;

	ran(vcpu, data);
	open_window = !open_window;
	if (open_window) {
		for (i = 0; i < n_blocks; i++)
			blocks[i].runs = 0;
		return;
	}
	snprintf(path, sizeof(path), "%s.%d", out, ++windows);
	f = fopen(path, "w");
	if (!f)
		return;
	for (i = 0; i < n_blocks; i++) {
		if (blocks[i].runs)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", blocks[i].vaddr,
				blocks[i].runs * blocks[i].insns);
	}
	fclose(f);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct block *b;

	(void)id;
	if (vaddr < KERNEL)
		return;
	b = block_of(vaddr, qemu_plugin_tb_n_insns(tb));
	if (b)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, vaddr == mark ? toggle : ran,
						     QEMU_PLUGIN_CB_NO_REGS, b);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc, char **argv)
{
	int i;

	(void)info;
	for (i = 0; i < argc; i++) {
		if (strncmp(argv[i], "mark=", 5) == 0)
			mark = strtoull(argv[i] + 5, NULL, 16);
		else if (strncmp(argv[i], "out=", 4) == 0)
			snprintf(out, sizeof(out), "%s", argv[i] + 4);
	}
	if (!mark || !*out) {
		fprintf(stderr, "ferro-insns: needs mark=<hex address> and out=<path prefix>\n");
		return -1;
	}
	blocks = calloc(SLOTS / 2, sizeof(*blocks));
	slot = calloc(SLOTS, sizeof(*slot));
	if (!blocks || !slot)
		return -1;
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	return 0;
}
