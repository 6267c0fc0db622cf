// SPDX-License-Identifier: GPL-2.0
/*
 * Guest tests of ferro_cpufreq on QEMU virt.
 *
 * Expectations come from the device tree the guest booted with
 * (/proc/device-tree): which CPUs share which OPP table, and the OPPs'
 * rates. Frequencies are checked three ways: what the cpufreq core reports
 * (scaling_cur_freq), what the driver's get callback reads from the clock
 * (cpuinfo_cur_freq), and what the clock framework reports for the mux
 * that drives the CPU (debugfs clk_rate). A DT variant
 * (/proc/device-tree/ferro,dt-variant) turns the run into a check that the
 * probe fails as that variant should.
 *
 * On the Raspberry Pi (the overlay's ferro,runtime-opps) the OPPs are not in
 * the device tree: raspberrypi-cpufreq adds them at run time from the
 * firmware's ARM clock, in 100 MHz steps, for one domain of every CPU. Then
 * the table is read from the policy once bound, checked for that shape, and
 * the rates are compared with the firmware clock's (debugfs fw-clk-arm).
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define CPUFREQ_KO "/lib/modules/ferro/ferro_cpufreq.ko"
#define DRIVER_DIR "/sys/bus/platform/drivers/ferro-cpufreq"
#define CPU_DIR "/sys/devices/system/cpu"
#define DT "/proc/device-tree"
#define MAX_OPPS 16
#define MAX_CPUS 8

/* One frequency domain as the device tree describes it. */
struct domain {
	int first;			/* lowest CPU, the policy's number */
	char cpus[64];			/* "0 1", as related_cpus prints it */
	unsigned long khz[MAX_OPPS];	/* ascending */
	int n;
	char clk[64];			/* the CPU clock's node name */
};

static struct domain domains[MAX_CPUS];
static int n_domains;
static int runtime_opps;		/* the OPPs come from the firmware */
static char pdev[256];			/* our platform device's name */

static unsigned long dt_cell(const char *path, int index, int cells)
{
	size_t len;
	unsigned char *p = (unsigned char *)slurp(path, &len);
	unsigned long v = 0;
	int i;

	if (!p || len < (size_t)(index + cells) * 4) {
		free(p);
		return 0;
	}
	for (i = 0; i < cells * 4; i++)
		v = v << 8 | p[index * 4 + i];
	free(p);
	return v;
}

/* The /proc/device-tree path of the node with this phandle, into out. */
static int dt_by_phandle(const char *dir, unsigned long ph, char *out, size_t size)
{
	char path[512];
	struct dirent *d;
	DIR *dp = opendir(dir);
	int found = 0;

	if (!dp)
		return 0;
	snprintf(path, sizeof(path), "%s/phandle", dir);
	if (exists(path) && dt_cell(path, 0, 1) == ph) {
		snprintf(out, size, "%s", dir);
		closedir(dp);
		return 1;
	}
	while (!found && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || d->d_type != DT_DIR)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		found = dt_by_phandle(path, ph, out, size);
	}
	closedir(dp);
	return found;
}

static int cmp_ulong(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* One domain of every CPU in the device tree, its OPPs still unknown. */
static void runtime_domain(void)
{
	struct domain *dom = &domains[0];
	char path[64];
	int cpu;

	memset(dom, 0, sizeof(*dom));
	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		size_t used = strlen(dom->cpus);

		snprintf(path, sizeof(path), DT "/cpus/cpu@%d", cpu);
		if (exists(path))
			snprintf(dom->cpus + used, sizeof(dom->cpus) - used, "%s%d", cpu ? " " : "",
				 cpu);
	}
	snprintf(dom->clk, sizeof(dom->clk), "fw-clk-arm");
	n_domains = 1;
}

/* The runtime OPPs, as the bound policy lists them (ascending). */
static void runtime_fill(void)
{
	struct domain *dom = &domains[0];
	char got[256], *p, *end;

	dom->n = 0;
	if (!read_line(CPU_DIR "/cpufreq/policy0/scaling_available_frequencies", got, sizeof(got)))
		return;
	for (p = got; dom->n < MAX_OPPS; p = end) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		dom->khz[dom->n++] = v;
	}
	qsort(dom->khz, dom->n, sizeof(dom->khz[0]), cmp_ulong);
}

/* Reads the CPUs' OPP tables and clocks from the device tree. */
static void read_domains(void)
{
	unsigned long table_of[MAX_CPUS] = { 0 };
	int cpu, i;

	n_domains = 0;
	runtime_opps = exists(DT "/cpufreq/ferro,runtime-opps");
	if (runtime_opps) {
		runtime_domain();
		return;
	}
	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		char path[600], table[256], clk[256], *name;
		struct dirent *d;
		struct domain *dom = NULL;
		unsigned long ph;
		DIR *dp;

		snprintf(path, sizeof(path), DT "/cpus/cpu@%d/operating-points-v2", cpu);
		if (!exists(path))
			continue;
		ph = dt_cell(path, 0, 1);
		table_of[cpu] = ph;
		for (i = 0; i < cpu; i++)
			if (table_of[i] == ph)
				break;
		if (i < cpu) {	/* shares an earlier CPU's table */
			for (i = 0; i < n_domains; i++)
				if (table_of[domains[i].first] == ph)
					dom = &domains[i];
			if (dom)
				snprintf(dom->cpus + strlen(dom->cpus),
					 sizeof(dom->cpus) - strlen(dom->cpus), " %d", cpu);
			continue;
		}
		dom = &domains[n_domains++];
		memset(dom, 0, sizeof(*dom));
		dom->first = cpu;
		snprintf(dom->cpus, sizeof(dom->cpus), "%d", cpu);
		if (!dt_by_phandle(DT, ph, table, sizeof(table)))
			continue;
		dp = opendir(table);
		while (dp && (d = readdir(dp)) && dom->n < MAX_OPPS) {
			if (strncmp(d->d_name, "opp", 3) || d->d_type != DT_DIR)
				continue;
			snprintf(path, sizeof(path), "%s/%s/opp-hz", table, d->d_name);
			if (exists(path))
				dom->khz[dom->n++] = dt_cell(path, 0, 2) / 1000;
		}
		if (dp)
			closedir(dp);
		qsort(dom->khz, dom->n, sizeof(dom->khz[0]), cmp_ulong);
		snprintf(path, sizeof(path), DT "/cpus/cpu@%d/clocks", cpu);
		if (dt_by_phandle(DT, dt_cell(path, 0, 1), clk, sizeof(clk))) {
			name = strrchr(clk, '/');
			snprintf(dom->clk, sizeof(dom->clk), "%.63s", name ? name + 1 : clk);
		}
	}
}

/* The platform device made from the "ferro,cpufreq" node, into pdev. */
static int find_pdev(void)
{
	return find_device("/sys/bus/platform/devices", "of_node/compatible", "ferro,cpufreq",
			   pdev, sizeof(pdev));
}

/* The name of the driver bound to our device, into buf ("" if none). */
static void bound_driver(char *buf, size_t size)
{
	char path[512];

	snprintf(path, sizeof(path), "/sys/bus/platform/devices/%s/driver", pdev);
	link_name(path, buf, size);
}

static int policy_exists(int policy)
{
	char path[128];

	snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d", policy);
	return exists(path);
}

static long policy_long(int policy, const char *file)
{
	char path[256];

	snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/%s", policy, file);
	return read_long(path);
}

static int policy_write(int policy, const char *file, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/%s", policy, file);
	return write_file(path, value);
}

static long clk_khz(const struct domain *d)
{
	char path[256];
	long hz;

	snprintf(path, sizeof(path), "/sys/kernel/debug/clk/%s/clk_rate", d->clk);
	hz = read_long(path);
	return hz < 0 ? hz : hz / 1000;
}

/* Every domain has its policy, with our driver, its CPUs and its OPPs. */
static void check_policies(const char *plan)
{
	char name[96], path[256], got[256], want[256];
	int i, j;

	for (i = 0; i < n_domains; i++) {
		const struct domain *d = &domains[i];

		snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/scaling_driver", d->first);
		snprintf(name, sizeof(name), "%s_cpufreq_policy%d_driver", plan, d->first);
		if (!read_line(path, got, sizeof(got)))
			*got = '\0';
		result(strcmp(got, "ferro-cpufreq") == 0, name,
		       "scaling_driver of policy%d is '%s'", d->first, got);

		snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/related_cpus", d->first);
		snprintf(name, sizeof(name), "%s_cpufreq_policy%d_cpus", plan, d->first);
		if (!read_line(path, got, sizeof(got)))
			*got = '\0';
		result(strcmp(got, d->cpus) == 0, name, "related_cpus '%s', the DT shares '%s'",
		       got, d->cpus);

		*want = '\0';
		for (j = 0; j < d->n; j++)
			snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s%lu",
				 j ? " " : "", d->khz[j]);
		snprintf(path, sizeof(path),
			 CPU_DIR "/cpufreq/policy%d/scaling_available_frequencies", d->first);
		snprintf(name, sizeof(name), "%s_cpufreq_policy%d_frequencies", plan, d->first);
		if (!read_line(path, got, sizeof(got)))
			*got = '\0';
		while (*got && got[strlen(got) - 1] == ' ')
			got[strlen(got) - 1] = '\0';
		if (runtime_opps) {
			long lo = policy_long(d->first, "cpuinfo_min_freq");
			long hi = policy_long(d->first, "cpuinfo_max_freq");
			int steps = d->n > 0;

			for (j = 1; j < d->n; j++)
				steps = steps && d->khz[j] - d->khz[j - 1] == 100000;
			steps = steps && lo == (long)d->khz[0] && hi == (long)d->khz[d->n - 1];
			result(steps && clk_khz(d) > 0, name,
			       "scaling_available_frequencies '%s', expected 100 MHz steps from %ld to %ld kHz; %s at %ld kHz",
			       got, lo, hi, d->clk, clk_khz(d));
		} else {
			result(d->n > 1 && strcmp(got, want) == 0, name,
			       "scaling_available_frequencies '%s', the DT's OPPs '%s'", got, want);
		}
		report_fact("cpufreq", "policy", "policy%d cpus=%s khz=%s clk=%s", d->first,
			    d->cpus, want, d->clk);
	}
}

/*
 * The userspace governor sets every OPP in turn: the core, the driver's get
 * (the clock as cpufreq reads it) and the clock framework all agree, and
 * the transition count grows by one per change.
 */
static void check_setspeed(const char *plan)
{
	char name[96], khz[32];
	int i, j;

	for (i = 0; i < n_domains; i++) {
		const struct domain *d = &domains[i];
		/* Counted from here: the previous governor cannot change anything now. */
		int ok = d->n > 0 && policy_write(d->first, "scaling_governor", "userspace") == 0;
		long before = policy_long(d->first, "stats/total_trans"), changes = 0;
		char why[256] = "";

		for (j = d->n - 1; ok && j >= 0; j--) {
			long cur, hw, clk, prev = policy_long(d->first, "scaling_cur_freq");

			snprintf(khz, sizeof(khz), "%lu", d->khz[j]);
			if (policy_write(d->first, "scaling_setspeed", khz)) {
				snprintf(why, sizeof(why),
					 "writing %s to scaling_setspeed: errno %d", khz, errno);
				ok = 0;
				break;
			}
			changes += prev != (long)d->khz[j];
			cur = policy_long(d->first, "scaling_cur_freq");
			hw = policy_long(d->first, "cpuinfo_cur_freq");
			clk = clk_khz(d);
			if (cur != (long)d->khz[j] || hw != cur || clk != cur) {
				snprintf(why, sizeof(why),
					 "asked %lu kHz: scaling_cur_freq %ld, cpuinfo_cur_freq %ld, clock %s %ld",
					 d->khz[j], cur, hw, d->clk, clk);
				ok = 0;
			}
		}
		snprintf(name, sizeof(name), "%s_cpufreq_policy%d_setspeed_every_opp", plan,
			 d->first);
		result(ok, name, "%s", *why ? why : d->n ? "cannot select the userspace governor" :
		       "the domain has no OPPs");

		snprintf(name, sizeof(name), "%s_cpufreq_policy%d_transitions_counted", plan,
			 d->first);
		if (d->n < 2)
			skip(name, "a single OPP: no transition to count");
		else
			result(ok && before >= 0 && changes > 0 &&
			       policy_long(d->first, "stats/total_trans") - before == changes, name,
			       "total_trans went from %ld to %ld for %ld changes", before,
			       policy_long(d->first, "stats/total_trans"), changes);
	}
}

/* performance and powersave pin the highest and lowest OPP; back to performance. */
static void check_governors(const char *plan)
{
	static const char *const govs[] = { "powersave", "ondemand", "performance" };
	char name[96], got[64];
	size_t g;
	int i;

	for (i = 0; i < n_domains; i++) {
		const struct domain *d = &domains[i];

		for (g = 0; g < ARRAY_SIZE(govs); g++) {
			char path[256];
			long cur;
			int ok = policy_write(d->first, "scaling_governor", govs[g]) == 0;

			snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/scaling_governor",
				 d->first);
			ok = ok && read_line(path, got, sizeof(got)) && strcmp(got, govs[g]) == 0;
			cur = policy_long(d->first, "cpuinfo_cur_freq");
			if (strcmp(govs[g], "powersave") == 0)
				ok = ok && cur == (long)d->khz[0];
			else if (strcmp(govs[g], "performance") == 0)
				ok = ok && cur == (long)d->khz[d->n - 1];
			snprintf(name, sizeof(name), "%s_cpufreq_policy%d_governor_%s", plan,
				 d->first, govs[g]);
			result(ok, name, "governor '%s', cpuinfo_cur_freq %ld", got, cur);
		}
	}
}

/*
 * Taking every CPU of the last domain offline runs the offline callback,
 * which parks the clock at the lowest OPP; bringing one back runs online.
 */
static void check_hotplug(const char *plan)
{
	const struct domain *d = &domains[n_domains - 1];
	char name[96], path[128];
	int cpu, ok = 1, lines;
	size_t mark;
	long clk;

	if (runtime_opps) {
		/* The Pi's CPUs start by spin table: they cannot go offline. */
		snprintf(name, sizeof(name), "%s_cpufreq_hotplug", plan);
		skip(name, "the Pi's CPUs start by spin table and cannot go offline");
		return;
	}
	if (n_domains < 2 || d->first == 0) {
		result(0, "cpufreq_hotplug_domain", "need a second domain without CPU 0");
		return;
	}
	mark = log_mark();
	for (cpu = MAX_CPUS - 1; cpu >= d->first; cpu--) {
		snprintf(path, sizeof(path), CPU_DIR "/cpu%d/online", cpu);
		if (exists(path))
			ok = ok && write_file(path, "0") == 0;
	}
	clk = clk_khz(d);
	snprintf(path, sizeof(path), "policy%d: offline, parked at %lu kHz", d->first, d->khz[0]);
	lines = log_count_since(mark, path);
	snprintf(name, sizeof(name), "%s_cpufreq_offline_parks_lowest", plan);
	result(ok && clk == (long)d->khz[0] && lines >= 1, name,
	       "offlining CPUs %s: %s, clock %ld kHz, %d log lines '%s' since", d->cpus,
	       ok ? "done" : "failed", clk, lines, path);

	mark = log_mark();
	snprintf(path, sizeof(path), CPU_DIR "/cpu%d/online", d->first);
	ok = write_file(path, "1") == 0;
	snprintf(path, sizeof(path), "policy%d: online", d->first);
	lines = log_count_since(mark, path);
	snprintf(name, sizeof(name), "%s_cpufreq_online_again", plan);
	result(ok && lines >= 1 &&
	       policy_long(d->first, "cpuinfo_cur_freq") == (long)d->khz[d->n - 1], name,
	       "online cpu%d: %s, %d log lines '%s' since, cpuinfo_cur_freq %ld", d->first,
	       ok ? "done" : "failed", lines, path, policy_long(d->first, "cpuinfo_cur_freq"));
	for (cpu = d->first + 1; cpu < MAX_CPUS; cpu++) {
		snprintf(path, sizeof(path), CPU_DIR "/cpu%d/online", cpu);
		if (exists(path))
			write_file(path, "1");
	}
}

static void check_chains(const char *plan, int builtin)
{
	static const char *const probe_module[] = {
		"platform_probe", "really_probe", "driver_register", "do_init_module", NULL
	};
	static const char *const probe_builtin[] = {
		"platform_probe", "really_probe", "driver_register", "do_one_initcall",
		"kernel_init_freeable", NULL
	};
	static const char *const probe_any[] = { "platform_probe", "really_probe", NULL };
	static const char *const init[] = {
		"cpufreq_online", "cpufreq_add_dev", "subsys_interface_register",
		"cpufreq_register_driver", NULL
	};
	static const char *const target[] = { "__cpufreq_driver_target", NULL };

	/* Built in on the Pi, the probe waits for the OPPs: a deferred retry. */
	expect_chain(plan, "cpufreq_probe",
		     builtin && runtime_opps ? probe_any : builtin ? probe_builtin : probe_module);
	expect_chain(plan, "cpufreq_init", init);
	/* One OPP (QEMU's raspi4b firmware clock): no change, no target_index. */
	if (domains[0].n > 1) {
		expect_chain(plan, "cpufreq_target_index", target);
	} else {
		char name[96];

		snprintf(name, sizeof(name), "%s_chain_cpufreq_target_index", plan);
		skip(name, "a single OPP (%s): no frequency change, so no target_index",
		     domains[0].n == 1 ? "one rate" : "no rates");
	}
}

/* The device is bound to ferro-cpufreq and every domain has a policy. */
static int bound(void)
{
	char drv[64];
	int i;

	bound_driver(drv, sizeof(drv));
	if (strcmp(drv, "ferro-cpufreq"))
		return 0;
	for (i = 0; i < n_domains; i++)
		if (!policy_exists(domains[i].first))
			return 0;
	return 1;
}

static int no_policies(void)
{
	int i;

	for (i = 0; i < n_domains; i++)
		if (policy_exists(domains[i].first))
			return 0;
	return 1;
}

/* sysfs unbind/bind N times: policies go and come back each time. */
static void check_rebind(const char *plan)
{
	long n = stress_count(), i;
	char name[96], why[160] = "";

	for (i = 0; i < n; i++) {
		if (write_file(DRIVER_DIR "/unbind", pdev) || !no_policies()) {
			snprintf(why, sizeof(why), "unbind %ld: errno %d, policies %s", i, errno,
				 no_policies() ? "gone" : "still there");
			break;
		}
		if (write_file(DRIVER_DIR "/bind", pdev) || !bound()) {
			snprintf(why, sizeof(why), "bind %ld: errno %d", i, errno);
			break;
		}
	}
	report_fact("cpufreq", "unbind_bind_cycles", "%ld", i);
	snprintf(name, sizeof(name), "%s_cpufreq_unbind_bind_loop", plan);
	result(i == n && policy_long(0, "cpuinfo_cur_freq") > 0, name,
	       "stopped after %ld of %ld cycles: %s", i, n, why);
}

/*
 * System sleep: s2idle, woken by the RTC alarm (QEMU virt's PL031) two
 * seconds later. The cpufreq core suspends the driver on the way down
 * (cpufreq_suspend(), from dpm_suspend()) and resumes it after; every
 * policy must still run at a frequency of its table afterwards.
 */
static void check_system_sleep(const char *plan)
{
	char name[96], why[200] = "";
	long before, after;
	int i;

	snprintf(name, sizeof(name), "%s_cpufreq_system_sleep", plan);
	if (!exists("/sys/class/rtc/rtc0/wakealarm") || !exists("/sys/power/state")) {
		skip(name, "no RTC alarm or no system sleep in this kernel");
		return;
	}
	before = policy_long(domains[0].first, "scaling_cur_freq");
	if (system_sleep(2, why, sizeof(why))) {
		result(0, name, "%s", why);
		return;
	}
	after = policy_long(domains[0].first, "scaling_cur_freq");
	for (i = 0; i < n_domains && !*why; i++)
		if (!policy_exists(domains[i].first))
			snprintf(why, sizeof(why), "policy%d is gone after resume", domains[i].first);
	result(!*why && after > 0, name, "%s (scaling_cur_freq %ld before, %ld after)",
	       *why ? why : "no frequency after resume", before, after);
}

static void cpufreq_bound_checks(const char *plan, int builtin)
{
	char drv[64], name[96];

	if (runtime_opps)
		runtime_fill();
	bound_driver(drv, sizeof(drv));
	snprintf(name, sizeof(name), "%s_cpufreq_bound", plan);
	result(strcmp(drv, "ferro-cpufreq") == 0, name, "device '%s' is bound to '%s'",
	       *pdev ? pdev : "(no ferro,cpufreq device)", drv);
	check_policies(plan);
	check_setspeed(plan);
	check_governors(plan);
	check_chains(plan, builtin);
	check_hotplug(plan);
	check_system_sleep(plan);
	check_rebind(plan);
}

/*
 * A DT variant that must make the probe fail: the log line that names the
 * problem, nothing bound, no policy; deferral shows in devices_deferred.
 */
static const struct variant {
	const char *name, *log;
	int err, cause;
} variants[] = {
	{ "cpufreq-no-opps", "cpu0: no operating-points-v2 in the device tree", ENODEV, ENOENT },
	{ "cpufreq-broken-opps", "cpu0: broken OPP table in the device tree", EINVAL, 0 },
	{ "cpufreq-no-clock", "cpu0: no usable clock in the device tree", ENODEV, ENOENT },
	{ "cpufreq-clock-deferred", NULL, 0, 0 },
};

static int check_variant(const char *plan, const char *dt_variant)
{
	const struct variant *v = NULL;
	char name[96], drv[64], *log, *deferred;
	const char *hit = NULL;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(variants); i++)
		if (strcmp(variants[i].name, dt_variant) == 0)
			v = &variants[i];
	snprintf(name, sizeof(name), "%s_cpufreq_dt_variant_known", plan);
	result(!!v, name, "no expectation for DT variant '%s'", dt_variant);
	if (!v)
		return 0;
	bound_driver(drv, sizeof(drv));
	snprintf(name, sizeof(name), "%s_cpufreq_%s_not_bound", plan, v->name);
	result(*pdev && *drv == '\0' && no_policies(), name, "device '%s' bound to '%s', policy0 %s",
	       pdev, drv, policy_exists(0) ? "exists" : "absent");
	log = kernel_log();
	deferred = slurp("/sys/kernel/debug/devices_deferred", NULL);
	snprintf(name, sizeof(name), "%s_cpufreq_%s_reported", plan, v->name);
	if (v->log) {
		char want[256];

		/* "(error -E, from -C)"; any cause when the table says 0 */
		if (v->cause)
			snprintf(want, sizeof(want), "%s (error %d, from %d)", v->log, -v->err,
				 -v->cause);
		else
			snprintf(want, sizeof(want), "%s (error %d, from", v->log, -v->err);
		hit = log_find(log, want);
		result(!!hit, name, "no log line '%s'", want);
	} else {
		char line[sizeof(pdev) + 2];
		const char *at;

		/* One line per device: "<device>\t<reason>". */
		snprintf(line, sizeof(line), "%s\t", pdev);
		at = deferred && *pdev ? strstr(deferred, line) : NULL;
		result(at && (at == deferred || at[-1] == '\n'), name,
		       "'%s' is not in devices_deferred: '%s'", pdev, deferred ? deferred : "");
	}
	if (v->log && !hit)
		diag_log("ferro");
	free(deferred);
	free(log);
	return 1;
}

void cpufreq_module(void)
{
	char *variant = slurp(DT "/ferro,dt-variant", NULL);
	int ret, err, i;
	long n = stress_count();

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	read_domains();
	result(n_domains > 0 && find_pdev(), "module_cpufreq_dt_describes_domains",
	       "%d domains in the DT, ferro,cpufreq device %s", n_domains, *pdev ? pdev : "absent");

	ret = load_module(CPUFREQ_KO, "");
	err = errno;
	result(ret == 0 && in_proc_modules("ferro_cpufreq", NULL, 0), "module_cpufreq_load",
	       "finit_module: errno %d", err);
	sysfs_facts("cpufreq", "/sys/module/ferro_cpufreq");
	if (variant) {
		check_variant("module", variant);
	} else {
		cpufreq_bound_checks("module", 0);
		kunit_suite("module", "ferro_cpufreq");
	}

	ret = unload_module("ferro_cpufreq");
	err = errno;
	report_fact("cpufreq", "delete_module", "%s", ret == 0 ? "0" : strerror(err));
	result(ret == 0 && !exists(DRIVER_DIR) && no_policies(), "module_cpufreq_unload",
	       "delete_module: %d, errno %d; driver dir %s", ret, err,
	       exists(DRIVER_DIR) ? "still there" : "gone");
	if (variant) {
		free(variant);
		return;
	}

	for (i = 0; i < n; i++) {
		if (load_module(CPUFREQ_KO, "") || !bound() || unload_module("ferro_cpufreq") ||
		    !no_policies())
			break;
	}
	report_fact("cpufreq", "load_unload_cycles", "%d", i);
	result(i == n, "module_cpufreq_load_unload_loop",
	       "stopped after %d of %ld cycles: errno %d", i, n, errno);
}

void cpufreq_builtin(void)
{
	char *variant = slurp(DT "/ferro,dt-variant", NULL);
	long probes;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	read_domains();
	result(n_domains > 0 && find_pdev(), "builtin_cpufreq_dt_describes_domains",
	       "%d domains in the DT, ferro,cpufreq device %s", n_domains, *pdev ? pdev : "absent");
	result(!in_proc_modules("ferro_cpufreq", NULL, 0) && exists(DRIVER_DIR),
	       "builtin_cpufreq_driver_registered", "driver dir %s",
	       exists(DRIVER_DIR) ? "present" : "absent");
	sysfs_facts("cpufreq", "/sys/module/ferro_cpufreq");
	cmdline_facts("cpufreq", "ferro_cpufreq.");
	builtin_delete_module("cpufreq", "builtin_cpufreq_delete_module_enoent");
	if (variant) {
		check_variant("builtin", variant);
		free(variant);
		return;
	}
	/* More than one call of the probe before /init: it was deferred. */
	probes = entry_hits("cpufreq_probe");
	report_fact("cpufreq", "builtin_probe_deferred", "%s",
		    probes < 0 ? "unknown (not observed)" : probes > 1 ? "yes" : "no");
	cpufreq_bound_checks("builtin", 1);
	kunit_suite("builtin", "ferro_cpufreq");
}
