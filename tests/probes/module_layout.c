// SPDX-License-Identifier: GPL-2.0
/*
 * Layout facts of the kernel being tested, as absolute symbols.
 *
 * Compiled by the kernel's own Kbuild against a build directory, so the
 * offsets are those of that configuration, never copied from elsewhere.
 * The host tests read them from the object's symbol table.
 */

#include <linux/blk-mq.h>
#include <linux/configfs.h>
#include <linux/cpufreq.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/phy.h>
#include <linux/platform_device.h>
#include <linux/stddef.h>
#include <kunit/test.h>

/*
 * The function-pointer fields of the ops tables C calls drivers through:
 * ferro-inspect --entries names the table and field an entry sits in from
 * these ("ferro_offsetof__phy_driver__read_status"), and a table's size
 * ("ferro_sizeof__phy_driver") tells an array of them apart.
 */
#define FERRO_SIZE(s) do {						\
	asm volatile(".globl ferro_sizeof__" #s);			\
	asm volatile(".set ferro_sizeof__" #s ", %c0"			\
		     : : "i" (sizeof(struct s)));			\
} while (0)
#define FERRO_FIELD(s, f) do {						\
	asm volatile(".globl ferro_offsetof__" #s "__" #f);		\
	asm volatile(".set ferro_offsetof__" #s "__" #f ", %c0"		\
		     : : "i" (offsetof(struct s, f)));			\
} while (0)

static void __used ferro_ops_layout(void)
{
	FERRO_SIZE(module);
	FERRO_FIELD(module, init);
	FERRO_FIELD(module, exit);

	FERRO_SIZE(platform_driver);
	FERRO_FIELD(platform_driver, probe);
	FERRO_FIELD(platform_driver, remove);
	FERRO_FIELD(platform_driver, shutdown);
	FERRO_FIELD(platform_driver, suspend);
	FERRO_FIELD(platform_driver, resume);

	FERRO_SIZE(phy_driver);
	FERRO_FIELD(phy_driver, soft_reset);
	FERRO_FIELD(phy_driver, config_init);
	FERRO_FIELD(phy_driver, probe);
	FERRO_FIELD(phy_driver, get_features);
	FERRO_FIELD(phy_driver, suspend);
	FERRO_FIELD(phy_driver, resume);
	FERRO_FIELD(phy_driver, config_aneg);
	FERRO_FIELD(phy_driver, aneg_done);
	FERRO_FIELD(phy_driver, read_status);
	FERRO_FIELD(phy_driver, config_intr);
	FERRO_FIELD(phy_driver, handle_interrupt);
	FERRO_FIELD(phy_driver, remove);
	FERRO_FIELD(phy_driver, match_phy_device);
	FERRO_FIELD(phy_driver, link_change_notify);
	FERRO_FIELD(phy_driver, read_mmd);
	FERRO_FIELD(phy_driver, write_mmd);
	FERRO_FIELD(phy_driver, read_page);
	FERRO_FIELD(phy_driver, write_page);

	FERRO_SIZE(blk_mq_ops);
	FERRO_FIELD(blk_mq_ops, queue_rq);
	FERRO_FIELD(blk_mq_ops, commit_rqs);
	FERRO_FIELD(blk_mq_ops, queue_rqs);
	FERRO_FIELD(blk_mq_ops, get_budget);
	FERRO_FIELD(blk_mq_ops, put_budget);
	FERRO_FIELD(blk_mq_ops, timeout);
	FERRO_FIELD(blk_mq_ops, poll);
	FERRO_FIELD(blk_mq_ops, complete);
	FERRO_FIELD(blk_mq_ops, init_hctx);
	FERRO_FIELD(blk_mq_ops, exit_hctx);
	FERRO_FIELD(blk_mq_ops, init_request);
	FERRO_FIELD(blk_mq_ops, exit_request);
	FERRO_FIELD(blk_mq_ops, cleanup_rq);
	FERRO_FIELD(blk_mq_ops, busy);
	FERRO_FIELD(blk_mq_ops, map_queues);

	FERRO_SIZE(cpufreq_driver);
	FERRO_FIELD(cpufreq_driver, init);
	FERRO_FIELD(cpufreq_driver, verify);
	FERRO_FIELD(cpufreq_driver, setpolicy);
	FERRO_FIELD(cpufreq_driver, target);
	FERRO_FIELD(cpufreq_driver, target_index);
	FERRO_FIELD(cpufreq_driver, fast_switch);
	FERRO_FIELD(cpufreq_driver, adjust_perf);
	FERRO_FIELD(cpufreq_driver, get_intermediate);
	FERRO_FIELD(cpufreq_driver, target_intermediate);
	FERRO_FIELD(cpufreq_driver, get);
	FERRO_FIELD(cpufreq_driver, update_limits);
	FERRO_FIELD(cpufreq_driver, bios_limit);
	FERRO_FIELD(cpufreq_driver, online);
	FERRO_FIELD(cpufreq_driver, offline);
	FERRO_FIELD(cpufreq_driver, exit);
	FERRO_FIELD(cpufreq_driver, suspend);
	FERRO_FIELD(cpufreq_driver, resume);
	FERRO_FIELD(cpufreq_driver, ready);
	FERRO_FIELD(cpufreq_driver, set_boost);
	FERRO_FIELD(cpufreq_driver, register_em);

	FERRO_SIZE(configfs_item_operations);
	FERRO_FIELD(configfs_item_operations, release);
	FERRO_FIELD(configfs_item_operations, allow_link);
	FERRO_FIELD(configfs_item_operations, drop_link);
	FERRO_SIZE(configfs_group_operations);
	FERRO_FIELD(configfs_group_operations, make_item);
	FERRO_FIELD(configfs_group_operations, make_group);
	FERRO_FIELD(configfs_group_operations, disconnect_notify);
	FERRO_FIELD(configfs_group_operations, drop_item);
	FERRO_FIELD(configfs_group_operations, is_visible);
	FERRO_FIELD(configfs_group_operations, is_bin_visible);
	FERRO_SIZE(configfs_attribute);
	FERRO_FIELD(configfs_attribute, show);
	FERRO_FIELD(configfs_attribute, store);

	FERRO_SIZE(kernel_param_ops);
	FERRO_FIELD(kernel_param_ops, set);
	FERRO_FIELD(kernel_param_ops, get);
	FERRO_FIELD(kernel_param_ops, free);

	FERRO_SIZE(file_operations);
	FERRO_FIELD(file_operations, llseek);
	FERRO_FIELD(file_operations, read);
	FERRO_FIELD(file_operations, write);
	FERRO_FIELD(file_operations, read_iter);
	FERRO_FIELD(file_operations, write_iter);
	FERRO_FIELD(file_operations, poll);
	FERRO_FIELD(file_operations, unlocked_ioctl);
	FERRO_FIELD(file_operations, compat_ioctl);
	FERRO_FIELD(file_operations, mmap);
	FERRO_FIELD(file_operations, open);
	FERRO_FIELD(file_operations, flush);
	FERRO_FIELD(file_operations, release);
	FERRO_FIELD(file_operations, fsync);
	FERRO_FIELD(file_operations, show_fdinfo);

	FERRO_SIZE(kunit_case);
	FERRO_FIELD(kunit_case, run_case);
	FERRO_SIZE(kunit_suite);
	FERRO_FIELD(kunit_suite, suite_init);
	FERRO_FIELD(kunit_suite, suite_exit);
	FERRO_FIELD(kunit_suite, init);
	FERRO_FIELD(kunit_suite, exit);

	FERRO_SIZE(hrtimer);
	FERRO_FIELD(hrtimer, function);
}

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
