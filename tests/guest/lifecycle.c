// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of ferro_lifecycle: the record its init leaves
 * in /dev/ferro_lifecycle, in both build modes, and its parameters.
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

#define LIFECYCLE_KO "/lib/modules/ferro/ferro_lifecycle.ko"
#define LIFECYCLE_DEV "/dev/ferro_lifecycle"
#define STACK_DEPTH_DEFAULT 16
#define EXIT_LINE "ferro_lifecycle: exit: entry=cleanup_module mode=module system_state=SYSTEM_RUNNING"
#define STACK_DEPTH_MAX 32

/* ferro_lifecycle.stack_depth=N from /proc/cmdline, or the default. */
static long cmdline_stack_depth(void)
{
	char *cmdline = slurp("/proc/cmdline", NULL);
	const char *p = cmdline ? strstr(cmdline, "ferro_lifecycle.stack_depth=") : NULL;
	long v = STACK_DEPTH_DEFAULT;

	if (p)
		v = strtol(p + strlen("ferro_lifecycle.stack_depth="), NULL, 0);

	free(cmdline);
	return v;
}

/* Checks the parts of the record that are the same in both build modes. */
static void check_record(const char *plan, const char *rec, const char *entry,
			 const char *mode, const char *state, long depth,
			 const char *const *chain, const char *log)
{
	char v[256], name[96], logline[512];
	const char *missing, *l;
	double t_rec, t_log;
	int ok;

	snprintf(name, sizeof(name), "%s_record_entry", plan);
	record_get(rec, "entry", v, sizeof(v));
	result(strcmp(v, entry) == 0, name, "entry is '%s', expected '%s'", v, entry);

	snprintf(name, sizeof(name), "%s_record_mode", plan);
	record_get(rec, "mode", v, sizeof(v));
	result(strcmp(v, mode) == 0, name, "mode is '%s', expected '%s'", v, mode);

	snprintf(name, sizeof(name), "%s_record_system_state", plan);
	record_get(rec, "system_state", v, sizeof(v));
	result(strcmp(v, state) == 0, name, "system_state is '%s', expected '%s'", v, state);

	snprintf(name, sizeof(name), "%s_record_stack_depth", plan);
	record_get(rec, "param.stack_depth", v, sizeof(v));
	{
		long got = strtol(v, NULL, 0), frames;

		record_get(rec, "frames", v, sizeof(v));
		frames = strtol(v, NULL, 0);
		result(got == depth && frames > 0 && frames <= depth, name,
		       "param.stack_depth=%ld (expected %ld), frames=%ld", got, depth, frames);
	}

	snprintf(name, sizeof(name), "%s_record_call_chain", plan);
	ok = chain_in_order(rec, chain, &missing);	/* before missing is read */
	result(ok, name, "no frame for %s (in order) in the record", missing);

	/*
	 * The record's time and the printk time stamp of its log line agree:
	 * the last such line, as the module may have been loaded before (by
	 * hand, on a card's shell).
	 */
	snprintf(name, sizeof(name), "%s_record_time_matches_log", plan);
	snprintf(v, sizeof(v), "ferro_lifecycle: init: entry=%s", entry);
	l = log_find_last(log, v);
	record_get(rec, "time", v, sizeof(v));
	t_rec = atof(v);
	t_log = l ? atof(l) : -1;
	if (l)
		line_of(l, logline, sizeof(logline));
	result(l && t_rec > 0 && t_log - t_rec >= 0 && t_log - t_rec < 0.05, name,
	       "record time %.6f, log line %s", t_rec, l ? logline : "(missing)");
}

/* Every class of bad parameter value is refused with EINVAL, leaving nothing. */
static void lifecycle_bad_params(void)
{
	static const struct {
		const char *name, *params;
	} bad[] = {
		{ "below_range", "stack_depth=0" },
		{ "above_range", "stack_depth=33" },
		{ "negative", "stack_depth=-1" },
		{ "overflow", "stack_depth=4294967296" },
		{ "not_a_number", "stack_depth=abc" },
		{ "empty", "stack_depth=" },
		{ "bool_not_a_bool", "dump_stack=maybe" },
	};
	char name[96];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int ret = load_module(LIFECYCLE_KO, bad[i].params), err = errno;

		snprintf(name, sizeof(name), "module_param_%s_einval", bad[i].name);
		result(ret == -1 && err == EINVAL && !in_proc_modules("ferro_lifecycle", NULL, 0) &&
		       !exists(LIFECYCLE_DEV), name, "'%s': finit_module returned %d, errno %d%s",
		       bad[i].params, ret, err,
		       ret == 0 && unload_module("ferro_lifecycle") == 0 ? " (unloaded)" : "");
	}
}

/*
 * Load and unload N times (ferro_stress=N on the kernel command line, which
 * the kernel hands to init as an environment variable; default 50).
 */
static void lifecycle_load_loop(void)
{
	long n = stress_count(), i;
	int ret = 0, err = 0;

	for (i = 0; i < n; i++) {
		ret = load_module(LIFECYCLE_KO, "");
		err = errno;
		if (ret)
			break;
		ret = unload_module("ferro_lifecycle");
		err = errno;
		if (ret)
			break;
	}
	report_fact("lifecycle", "load_unload_cycles", "%ld", i);
	result(i == n && !in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV),
	       "module_load_unload_loop", "stopped after %ld of %ld cycles: ret %d, errno %d",
	       i, n, ret, err);
}

void lifecycle_module(void)
{
	static const char *const init_chain[] = {
		"init_module", "do_one_initcall", "do_init_module", "load_module", NULL
	};
	char *log, *rec, line[512];
	const char *l;
	size_t mark;
	int ret, err;

	/* A bad parameter is refused with EINVAL, a log line, and no leftovers. */
	ret = load_module(LIFECYCLE_KO, "stack_depth=0");
	err = errno;
	log = kernel_log();
	result(ret == -1 && err == EINVAL, "module_bad_param_einval",
	       "finit_module(stack_depth=0) returned %d, errno %d", ret, err);
	result(!!log_find(log, "ferro_lifecycle: stack_depth=0 is out of range"),
	       "module_bad_param_logged", "no log line names stack_depth=0");
	result(!in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV),
	       "module_bad_param_nothing_left", "module or device left after a failed load");
	free(log);

	/* The load itself. */
	mark = log_mark();
	report_fact("lifecycle", "params", "stack_depth=12 dump_stack=1");
	ret = load_module(LIFECYCLE_KO, "stack_depth=12 dump_stack=1");
	err = errno;
	result(ret == 0, "module_load", "finit_module returned %d, errno %d", ret, err);

	result(in_proc_modules("ferro_lifecycle", line, sizeof(line)) &&
	       !!strstr(line, " Live "), "module_proc_modules_live",
	       "/proc/modules: '%s'", line);

	rec = slurp("/sys/module/ferro_lifecycle/initstate", NULL);
	{
		char *core = slurp("/sys/module/ferro_lifecycle/coresize", NULL);

		result(rec && strncmp(rec, "live", 4) == 0 && core && atol(core) > 0,
		       "module_sysfs", "initstate '%s', coresize '%s'",
		       rec ? rec : "(none)", core ? core : "(none)");
		free(core);
	}
	free(rec);

	sysfs_facts("lifecycle", "/sys/module/ferro_lifecycle");

	rec = slurp(LIFECYCLE_DEV, NULL);
	result(!!rec, "module_record_readable", "cannot read %s: %s",
	       LIFECYCLE_DEV, strerror(errno));
	diag("record (module):", rec);
	log = kernel_log();
	check_record("module", rec, "init_module", "module", "SYSTEM_RUNNING", 12,
		     init_chain, log);

	l = log_find(log, "calling  init_module+");
	result(l && !!strstr(l, "[ferro_lifecycle]"), "module_initcall_debug_calling",
	       "no 'calling  init_module+... [ferro_lifecycle]' line");
	l = log_find_last(log, "initcall init_module+");
	if (l)
		line_of(l, line, sizeof(line));
	result(l && !!strstr(line, "[ferro_lifecycle] returned 0"),
	       "module_initcall_debug_returned_0", "%s",
	       l ? line : "no 'initcall init_module+' line");
	result(log_dump_has_frame(log, mark, "do_init_module+"), "module_dump_stack",
	       "dump_stack=1 printed no call trace through do_init_module");
	free(log);
	free(rec);

	/* Unload: cleanup_module runs and logs the exit path. */
	ret = unload_module("ferro_lifecycle");
	err = errno;
	report_fact("lifecycle", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == 0, "module_unload", "delete_module returned %d, errno %d", ret, err);
	result(!in_proc_modules("ferro_lifecycle", NULL, 0) && !exists(LIFECYCLE_DEV) &&
	       !exists("/sys/module/ferro_lifecycle"), "module_unload_nothing_left",
	       "module, device or sysfs directory left after unload");
	log = kernel_log();
	l = log_find(log, EXIT_LINE);
	result(!!l, "module_exit_logged", "no exit line for cleanup_module");
	result(l && log_record_has_frame(l, "ferro_lifecycle: exit: frame.", "sys_delete_module+"),
	       "module_exit_call_chain",
	       "no frame in *sys_delete_module among the exit record's frames");
	free(log);

	/* A second load starts from fresh state: the defaults again. */
	ret = load_module(LIFECYCLE_KO, "");
	rec = slurp(LIFECYCLE_DEV, NULL);
	{
		char v[64] = "";

		record_get(rec, "param.stack_depth", v, sizeof(v));
		result(ret == 0 && atol(v) == STACK_DEPTH_DEFAULT &&
		       unload_module("ferro_lifecycle") == 0, "module_reload_defaults",
		       "reload returned %d, stack_depth '%s'", ret, v);
	}
	free(rec);

	kunit_suite("module", "ferro_lifecycle");
	lifecycle_bad_params();
	lifecycle_load_loop();
}

void lifecycle_builtin(void)
{
	static const char *const init_chain[] = {
		"__ferro_lifecycle_init", "do_one_initcall", "kernel_init_freeable",
		"kernel_init", NULL
	};
	long depth = cmdline_stack_depth();
	int bad = depth < 1 || depth > STACK_DEPTH_MAX;
	char *log = kernel_log(), *rec, *mb, path[256], line[512];
	const char *l;
	struct utsname u;

	l = log_find(log, "calling  __ferro_lifecycle_init+");
	result(l && !!strstr(l, " @ 1"), "builtin_initcall_debug_calling",
	       "no 'calling  __ferro_lifecycle_init+... @ 1' line (pid 1: kernel_init)");
	l = log_find(log, "initcall __ferro_lifecycle_init+");
	if (l)
		line_of(l, line, sizeof(line));
	if (bad) {
		/* An out-of-range command-line value fails the initcall cleanly. */
		result(l && !!strstr(line, "returned -22"), "builtin_bad_param_einval",
		       "%s", l ? line : "no initcall line");
		snprintf(path, sizeof(path),
			 "ferro_lifecycle: stack_depth=%ld is out of range", depth);
		result(!!log_find(log, path), "builtin_bad_param_logged",
		       "no log line '%s'", path);
		result(!exists(LIFECYCLE_DEV), "builtin_bad_param_nothing_left",
		       "%s exists after a failed init", LIFECYCLE_DEV);
		free(log);
		return;
	}
	result(l && !!strstr(line, "returned 0"), "builtin_initcall_debug_returned_0",
	       "%s", l ? line : "no initcall line");

	rec = slurp(LIFECYCLE_DEV, NULL);
	result(!!rec, "builtin_record_readable", "cannot read %s: %s",
	       LIFECYCLE_DEV, strerror(errno));
	diag("record (built-in):", rec);
	check_record("builtin", rec, "__ferro_lifecycle_init", "built-in", "SYSTEM_SCHEDULING",
		     depth, init_chain, log);

	/*
	 * Built-in initcalls run before user space starts: "Run /init as init
	 * process" from an initramfs, "Run /sbin/init ..." from a root
	 * file system (the SD-card images).
	 */
	{
		char v[64] = "";
		const char *run = log_find(log, "as init process");

		record_get(rec, "time", v, sizeof(v));
		result(run && atof(v) > 0 && atof(v) < atof(run), "builtin_runs_before_init",
		       "record time %s, init started at %.6f", v, run ? atof(run) : -1.0);
	}
	free(rec);

	result(!in_proc_modules("ferro_lifecycle", NULL, 0), "builtin_not_in_proc_modules",
	       "built-in code listed in /proc/modules");
	/* Rust module! parameters have perm 0, so no /sys/module entry is made. */
	result(!exists("/sys/module/ferro_lifecycle"), "builtin_no_sysfs_module",
	       "/sys/module/ferro_lifecycle exists");
	sysfs_facts("lifecycle", "/sys/module/ferro_lifecycle");
	cmdline_facts("lifecycle", "ferro_lifecycle.");
	builtin_delete_module("lifecycle", "builtin_delete_module_enoent");

	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
	mb = slurp(path, NULL);
	result(mb && strstr(mb, "drivers/ferro/drivers/lifecycle/ferro_lifecycle.ko\n"),
	       "builtin_modules_builtin", "%s does not list ferro_lifecycle.ko", path);
	free(mb);
	{
		size_t len = 0, off;
		int found = 0;

		snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin.modinfo", u.release);
		mb = slurp(path, &len);
		for (off = 0; mb && off < len; off += strlen(mb + off) + 1)
			if (strcmp(mb + off, "ferro_lifecycle.parmtype=stack_depth:u32") == 0)
				found = 1;
		result(found, "builtin_modules_builtin_modinfo",
		       "%s has no ferro_lifecycle.parmtype=stack_depth:u32", path);
		free(mb);
	}
	kunit_suite("builtin", "ferro_lifecycle");
	free(log);
}
