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

/* Each fact becomes a global absolute symbol: ".set name, value". */
static void __used ferro_module_layout(void)
{
	asm volatile(".globl ferro_offsetof_module_init\n"
		     ".set ferro_offsetof_module_init, %c0"
		     : : "i" (offsetof(struct module, init)));
	asm volatile(".globl ferro_offsetof_module_exit\n"
		     ".set ferro_offsetof_module_exit, %c0"
		     : : "i" (offsetof(struct module, exit)));
	asm volatile(".globl ferro_sizeof_module\n"
		     ".set ferro_sizeof_module, %c0"
		     : : "i" (sizeof(struct module)));
}
