// SPDX-License-Identifier: GPL-2.0
/*
 * Layout facts of the kernel being tested, as absolute symbols.
 *
 * Compiled by the kernel's own Kbuild against a build directory, so the
 * offsets are those of that configuration, never copied from elsewhere.
 * The host tests read them from the object's symbol table.
 */

#include <linux/module.h>
#include <linux/stddef.h>

#define LAYOUT_SYMBOL(name, value) \
	asm volatile(".globl " #name "\n.set " #name ", %c0" : : "i" (value))

void ferro_module_layout(void);

void ferro_module_layout(void)
{
	LAYOUT_SYMBOL(ferro_offsetof_module_init, offsetof(struct module, init));
	LAYOUT_SYMBOL(ferro_offsetof_module_exit, offsetof(struct module, exit));
	LAYOUT_SYMBOL(ferro_sizeof_module, sizeof(struct module));
}
