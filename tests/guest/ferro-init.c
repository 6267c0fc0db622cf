// SPDX-License-Identifier: GPL-2.0
/*
 * ferro-init - the guest side of Ferro's tests: PID 1 of the test initramfs.
 *
 * The harness boots a kernel with "-- <plan> <board> [<driver>|all [kmsg]]"
 * at the end of the command line; the kernel hands those words to init as
 * argv. <driver> limits the run to those drivers (comma-separated), "kmsg" makes the guest print
 * the whole kernel log at the end (for the compare report). The plan says
 * how Ferro was built:
 *   module   drivers are /lib/modules/ferro/ferro_*.ko: load, inspect, unload them
 *   builtin  drivers ran their initcalls during boot: inspect what they left
 *   bench    ferro_null against C null_blk and rnull (make bench; bench.c)
 * With ferro_debug=1 on the command line (the debug kernel's boots), the
 * module and builtin plans end with fault injection and a kmemleak scan
 * (faults.c).
 * Every test prints one KTAP result line; the run ends with a power-off.
 * Expectations come from what the guest can see (the kernel command line,
 * the record the driver wrote), never from a copy of an earlier run.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

/*
 * The device tree is the board's, with Ferro's additions. QEMU boards carry
 * a ferro,board property in the tree Ferro merges into QEMU's; a real board
 * (a Raspberry Pi) boots its mainline tree with Ferro's overlay, which adds
 * the ferro,cpufreq node, and the harness names the root compatible that
 * tree must have (ferro_compatible= on the command line, from the board's
 * Board.compatible).
 */
static void check_board(const char *board)
{
	const char *want = getenv("ferro_compatible");
	char *dt;

	if (want) {
		char *compat = slurp("/proc/device-tree/compatible", NULL);
		char *node = slurp("/proc/device-tree/cpufreq/compatible", NULL);

		result(compat && strcmp(compat, want) == 0, "board_device_tree",
		       "root compatible is '%s', expected '%s'", compat ? compat : "(none)", want);
		result(node && strcmp(node, "ferro,cpufreq") == 0, "board_ferro_overlay_applied",
		       "/cpufreq compatible is '%s' (is dtoverlay=ferro in config.txt?)",
		       node ? node : "(none)");
		free(compat);
		free(node);
		return;
	}
	if (!exists("/proc/device-tree")) {
		/* x86 boots without a tree: QEMU names the board as the DMI product. */
		char product[64] = "";

		read_line("/sys/class/dmi/id/product_name", product, sizeof(product));
		result(strcmp(product, board) == 0, "board_dmi_product",
		       "/sys/class/dmi/id/product_name is '%s', expected '%s'", product, board);
		return;
	}
	dt = slurp("/proc/device-tree/ferro,board", NULL);
	result(dt && strcmp(dt, board) == 0, "board_device_tree",
	       "/proc/device-tree/ferro,board is '%s', expected '%s'", dt ? dt : "(none)", board);
	free(dt);
}

/*
 * Each driver's checks, per build mode: <name>_module() and <name>_builtin()
 * of tests/guest/<name>.c, for every driver of the registry (drivers/Kconfig,
 * which the harness turns into ferro-drivers.h). Which drivers a board runs
 * is the harness's to say (Board.drivers): argv[3].
 */
static const struct driver_tests {
	const char *name;
	void (*module)(void);
	void (*builtin)(void);
} drivers[] = {
#define FERRO_DRIVER(name) { #name, name##_module, name##_builtin },
#include "ferro-drivers.h"
#undef FERRO_DRIVER
};

/* Whether `name` is in the comma-separated list `only` ("" is every driver). */
static int wanted(const char *only, const char *name)
{
	size_t len = strlen(name);
	const char *p = only;

	if (!*only)
		return 1;
	while ((p = strstr(p, name))) {
		if ((p == only || p[-1] == ',') && (p[len] == ',' || p[len] == '\0'))
			return 1;
		p += len;
	}
	return 0;
}

/* Whether a file system is mounted on `dir`, by /proc/mounts. */
static int mounted(const char *dir)
{
	char *mounts = slurp("/proc/mounts", NULL), needle[64];
	int found;

	snprintf(needle, sizeof(needle), " %s ", dir);
	found = mounts && strstr(mounts, needle);
	free(mounts);
	return found;
}

/*
 * /proc, /sys and /dev, each unless already there: as PID 1 of an initramfs
 * nothing is, while the card's shell has them and more mounted below them
 * (configfs, debugfs, tracefs), which a second mount on top would hide.
 */
static void mount_basics(void)
{
	if (!exists("/proc/self"))
		mount("proc", "/proc", "proc", 0, NULL);
	if (!mounted("/sys"))
		mount("sysfs", "/sys", "sysfs", 0, NULL);
	if (!mounted("/dev"))
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
}

/*
 * The self-test: `plan` on `board`, for the drivers in `only` ("" is all),
 * with the whole kernel log at the end if `dump`. Returns the failures.
 */
static int selftest(const char *plan, const char *board, const char *only, int dump)
{
	const char *ran_names[ARRAY_SIZE(drivers)];
	size_t i;
	int ran = 0;

	mount_basics();
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("KTAP version 1\n# ferro-init: plan '%s' on board '%s', drivers '%s'\n",
	       plan, board, *only ? only : "all");
	check_board(board);
	/*
	 * The KASAN kernels' boots (make kasan) say so: KASAN must be on.
	 * Checked first, while its boot line is surely still in the log.
	 */
	if (getenv("ferro_kasan"))
		result(log_count_since(0, "KernelAddressSanitizer initialized") == 1, "kasan_on",
		       "no \"KernelAddressSanitizer initialized\" in the kernel log");
	if (strcmp(plan, "bench") == 0)
		bench_plan();
	else if (strcmp(plan, "module") && strcmp(plan, "builtin"))
		result(0, "plan_known", "unknown plan '%s' (expected module, builtin or bench)",
		       plan);
	if (!strcmp(plan, "module") || !strcmp(plan, "builtin"))
		entries_arm(plan);
	for (i = 0; i < ARRAY_SIZE(drivers) && *plan && strcmp(plan, "bench"); i++) {
		char needle[64];

		if (!wanted(only, drivers[i].name))
			continue;
		ran_names[ran++] = drivers[i].name;
		if (strcmp(plan, "module") == 0)
			drivers[i].module();
		else if (strcmp(plan, "builtin") == 0)
			drivers[i].builtin();
		snprintf(needle, sizeof(needle), "ferro_%s", drivers[i].name);
		diag_log(needle);
	}
	if (*only && !ran && strcmp(plan, "bench"))
		result(0, "driver_known", "no tests for drivers '%s'", only);
	/* The debug kernel's boots: fault injection and kmemleak (faults.c). */
	if (getenv("ferro_debug") && (!strcmp(plan, "module") || !strcmp(plan, "builtin")))
		debug_plan(plan, ran_names, ran);
	entries_report(plan, ran_names, ran);
	if (*plan)
		kernel_log_clean(plan);
	if (dump) {
		printf("# kmsg-dump: begin\n");
		diag_log("");
	}
	printf("1..%d\n# ferro-init: %d passed, %d failed\n", test_no,
	       test_no - failures - skips, failures);
	if (skips)
		printf("# ferro-init: %d skipped\n", skips);
	fflush(stdout);
	return failures;
}

/*
 * The Raspberry Pi card (scripts/ferro/userland.py) says in CARD_SELFTEST
 * which plan its drivers were built for and which board it is, as
 * "<plan> <board> <drivers>" (drivers: comma-separated, or "all"); its
 * cmdline.txt carries no "--" words.
 */
#define CARD_SELFTEST "/etc/ferro/selftest"

/* Whether the kernel command line has the word `word`. */
static int cmdline_has(const char *word)
{
	char *cmdline = slurp("/proc/cmdline", NULL), *tok, *save;
	int found = 0;

	for (tok = cmdline ? strtok_r(cmdline, "\n ", &save) : NULL; tok && !found;
	     tok = strtok_r(NULL, "\n ", &save))
		found = strcmp(tok, word) == 0;
	free(cmdline);
	return found;
}

/*
 * The kernel hands its unknown key=value words to init as environment
 * variables, and the checks read theirs (ferro_compatible, ferro_stress)
 * there. A shell started later may not have them: take them from
 * /proc/cmdline again.
 */
static void cmdline_env(void)
{
	char *cmdline = slurp("/proc/cmdline", NULL), *tok, *save, *eq;

	for (tok = cmdline ? strtok_r(cmdline, "\n ", &save) : NULL; tok;
	     tok = strtok_r(NULL, "\n ", &save)) {
		if (!strcmp(tok, "--"))
			break;
		eq = strchr(tok, '=');
		if (strncmp(tok, "ferro_", 6) || !eq)
			continue;
		*eq = '\0';
		setenv(tok, eq + 1, 0);
	}
	free(cmdline);
}

/* The card's self-test for the drivers in `only`: the failures, or -1. */
static int card_selftest(const char *only)
{
	char line[256] = "", plan[32], board[64], all[128];
	int readable = read_line(CARD_SELFTEST, line, sizeof(line));

	if (!readable || sscanf(line, "%31s %63s %127s", plan, board, all) != 3) {
		fprintf(stderr, "ferro-selftest: cannot read '<plan> <board> <drivers>' from %s: %s\n",
			CARD_SELFTEST, !readable ? strerror(errno) : *line ? "malformed" : "empty");
		return -1;
	}
	cmdline_env();
	return selftest(plan, board, *only ? only : strcmp(all, "all") ? all : "", 0);
}

static void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	/* The card's commands are this binary under other names. */
	if (strcmp(self, "ferro-blkio") == 0)
		return blkio_main(argc, argv);
	if (strcmp(self, "ferro-selftest") == 0) {
		if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
			int help = argc == 2 && !strcmp(argv[1], "--help");

			fprintf(help ? stdout : stderr,
				"Usage: ferro-selftest [DRIVER[,DRIVER...]]\n"
				"Run the card's self-test (%s) for every driver, or the named ones.\n",
				CARD_SELFTEST);
			return help ? 0 : 2;
		}
		return card_selftest(argc > 1 ? argv[1] : "") ? 1 : 0;
	}
	/*
	 * PID 1 of a card: the userland's init (busybox, /etc/inittab), or
	 * the self-test when the command line asks for it (ferro.selftest=1).
	 * Its arguments are the command line's bare words, which a board's
	 * cmdline.txt may have for its own reasons ("splash", "quiet"): they
	 * do not matter here.
	 */
	if (getpid() == 1 && exists(CARD_SELFTEST)) {
		mount_basics();
		if (!cmdline_has("ferro.selftest=1")) {
			execl("/bin/busybox", "init", (char *)NULL);
			printf("ferro-init: cannot start /bin/busybox as init (%s): the self-test\n",
			       strerror(errno));
		}
		card_selftest("");
		power_off();
		return 0;
	}
	selftest(argc > 1 ? argv[1] : "", argc > 2 ? argv[2] : "",
		 argc > 3 && strcmp(argv[3], "all") ? argv[3] : "",
		 argc > 4 && strcmp(argv[4], "kmsg") == 0);
	power_off();
	return 0;
}
