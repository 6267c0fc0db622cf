// SPDX-License-Identifier: GPL-2.0
/*
 * The debug kernel's extra checks (boards/qemu-virt/debug.config; the
 * harness adds ferro_debug=1 to the command line), run after the drivers'
 * own tests:
 *
 * - allocation failure injection on every init and probe path: the N-th
 *   allocation made by this task fails (/proc/thread-self/fail-nth, slab
 *   and page allocator alike), for N = 1, 2, ... until the operation
 *   completes without reaching the N-th allocation. Module plan: each
 *   driver's finit_module (the loader, the module's init, the probes it
 *   triggers, its KUnit suites). Both plans: a sysfs bind of every device
 *   a Ferro driver has bound. Each injected failure must end in an error
 *   with nothing left behind (not in /proc/modules, not bound) or in a
 *   success that unwinds, and the operation must succeed once no failure
 *   is injected;
 * - unbind/bind of every such device, as many times as the stress loops
 *   run, while a second thread reads its sysfs files and the cpufreq
 *   policies' (and, for the cpufreq driver, a third switches governors
 *   and takes CPUs offline and online);
 * - ferro_null: verified random I/O while a second device is powered on
 *   and off and the module's unload is refused (null_stress); ferro_phy:
 *   auto-negotiation cut short under a flapping link (phy_stress);
 * - a kmemleak scan at the end: no unreferenced object anywhere.
 *
 * The kernel log check that follows (kernel_log_clean) fails on any
 * WARNING, BUG, lockdep report, UBSAN or KASAN report, hung task or Rust
 * panic.
 */

#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktest.h"
#include "drivers.h"

#define FAIL_NTH "/proc/thread-self/fail-nth"
#define KMEMLEAK "/sys/kernel/debug/kmemleak"
#define DEBUGFS "/sys/kernel/debug"

static int env_int(const char *name, int fallback)
{
	const char *env = getenv(name);
	long n = env ? strtol(env, NULL, 10) : 0;

	return n > 0 && n < INT_MAX ? n : fallback;
}

/* The most allocations one sweep fails, one at a time (ferro_fault_points=N). */
static int max_points(void)
{
	return env_int("ferro_fault_points", 1000);
}

/*
 * Every how many allocations one is failed (ferro_fault_stride=S): 1 fails
 * each in turn (make stress); make check samples the whole path with a
 * larger stride.
 */
static int stride(void)
{
	return env_int("ferro_fault_stride", 1);
}

/* What one sweep saw. */
struct sweep {
	int points;		/* failures injected */
	int errors;		/* ... that made the operation fail */
	int absorbed;		/* ... that the operation survived */
	int errnos[4];		/* ENOMEM, EINVAL, ENODEV, other */
	int done;		/* the operation completed with no failure injected */
	char why[1400];		/* what went wrong, if anything */
};

static void count_errno(struct sweep *s, int err)
{
	s->errnos[err == ENOMEM ? 0 : err == EINVAL ? 1 : err == ENODEV ? 2 : 3]++;
}

/*
 * One operation of a sweep, with the n-th allocation failing; 1 if the
 * failure was injected (the counter reached zero), 0 if the operation
 * finished first, -1 if fail-nth cannot be used. *ret and *err are the
 * operation's result and errno.
 */
static int inject(int fd, int n, int (*op)(void *), void *ctx, int *ret, int *err)
{
	char buf[16];
	ssize_t len;

	snprintf(buf, sizeof(buf), "%d", n);
	if (pwrite(fd, buf, strlen(buf), 0) < 0)
		return -1;
	*ret = op(ctx);
	*err = errno;
	len = pread(fd, buf, sizeof(buf) - 1, 0);
	if (pwrite(fd, "0", 1, 0) < 0 || len <= 0)
		return -1;
	buf[len] = '\0';
	return strtol(buf, NULL, 10) == 0;
}

/*
 * Fails allocation 1, 2, ... of op until op runs through. After each
 * point, clean(ctx, ret) undoes a success and checks that a failure left
 * nothing behind (0 if so, else it explains in why).
 */
static void sweep(struct sweep *s, int (*op)(void *), int (*clean)(void *, int, char *, size_t),
		  void *ctx)
{
	int fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC), n, ret, err, injected;

	memset(s, 0, sizeof(*s));
	if (fd < 0) {
		snprintf(s->why, sizeof(s->why), "cannot open " FAIL_NTH ": errno %d", errno);
		return;
	}
	for (n = 1; s->points < max_points(); n += stride()) {
		injected = inject(fd, n, op, ctx, &ret, &err);
		if (injected < 0) {
			snprintf(s->why, sizeof(s->why), "fail-nth unusable: errno %d", errno);
			break;
		}
		if (!injected && ret) {
			snprintf(s->why, sizeof(s->why),
				 "failed with errno %d and no failure injected", err);
			break;
		}
		if (injected) {
			s->points++;
			if (ret) {
				s->errors++;
				count_errno(s, err);
			} else {
				s->absorbed++;
			}
		}
		if (clean(ctx, ret, s->why, sizeof(s->why)))
			break;
		if (!injected) {
			s->done = 1;
			break;
		}
	}
	if (!s->done && !*s->why)
		snprintf(s->why, sizeof(s->why), "still failing after %d points (allocation %d)",
			 s->points, n);
	close(fd);
}

static void report_sweep(const char *plan, const char *what, const struct sweep *s)
{
	char name[700];

	static const char *const fmt =
		"points=%d errors=%d absorbed=%d ENOMEM=%d EINVAL=%d ENODEV=%d other=%d";

	report_fact("faults", what, fmt, s->points, s->errors, s->absorbed, s->errnos[0],
		    s->errnos[1], s->errnos[2], s->errnos[3]);
	snprintf(name, sizeof(name), "%s_fault_sweep_%s", plan, what);
	result(s->done && s->points > 0, name, "%d points: %s", s->points,
	       *s->why ? s->why : "no failure was injected");
}

/* finit_module of one driver's module. */
struct load_ctx {
	const char *name;	/* ferro_<driver> */
	int fd;			/* the .ko, opened before the fault is armed */
};

static int load_op(void *p)
{
	struct load_ctx *c = p;

	return syscall(SYS_finit_module, c->fd, "", 0);
}

static int load_clean(void *p, int ret, char *why, size_t size)
{
	struct load_ctx *c = p;

	if (ret == 0) {
		if (unload_module(c->name)) {
			snprintf(why, size, "delete_module after a load: errno %d", errno);
			return -1;
		}
		return 0;
	}
	if (in_proc_modules(c->name, NULL, 0)) {
		snprintf(why, size, "a failed load left %s in /proc/modules", c->name);
		return -1;
	}
	return 0;
}

/*
 * Known not to unwind, so not swept (a crash would end the boot): the
 * reason, in the test's skip line and Documentation/testing.rst.
 */
static const struct {
	const char *driver, *why;
} unsweepable_loads[] = {
	{ "null",
	  "kernel crate 7.3: configfs::Subsystem::new unregisters a subsystem that failed to register" },
};

static void sweep_module(const char *plan, const char *driver)
{
	struct load_ctx c;
	char path[128], name[64], what[96];
	struct sweep s;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(unsweepable_loads); i++) {
		if (strcmp(unsweepable_loads[i].driver, driver) == 0) {
			snprintf(what, sizeof(what), "%s_fault_sweep_%s_load", plan, driver);
			skip(what, "%s", unsweepable_loads[i].why);
			return;
		}
	}
	snprintf(name, sizeof(name), "ferro_%s", driver);
	snprintf(path, sizeof(path), "/lib/modules/ferro/%s.ko", name);
	c.name = name;
	c.fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(what, sizeof(what), "%s_load", driver);
	if (c.fd < 0 || in_proc_modules(name, NULL, 0)) {
		memset(&s, 0, sizeof(s));
		snprintf(s.why, sizeof(s.why), "%s: %s", path,
			 c.fd < 0 ? strerror(errno) : "already loaded");
	} else {
		sweep(&s, load_op, load_clean, &c);
	}
	if (c.fd >= 0)
		close(c.fd);
	report_sweep(plan, what, &s);
}

/* A sysfs bind of one device to one driver. */
struct bind_ctx {
	char dir[600];		/* /sys/bus/<bus>/drivers/<driver> */
	char dev[256];		/* the device's name on its bus */
	int fd;			/* dir/bind, opened before the fault is armed */
};

static int bound(const struct bind_ctx *c)
{
	char path[900];

	snprintf(path, sizeof(path), "%s/%s", c->dir, c->dev);
	return exists(path);
}

static int release(const struct bind_ctx *c)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/unbind", c->dir);
	return write_file(path, c->dev);
}

static int bind_op(void *p)
{
	struct bind_ctx *c = p;
	ssize_t len = strlen(c->dev);

	return write(c->fd, c->dev, len) == len ? 0 : -1;
}

static int bind_clean(void *p, int ret, char *why, size_t size)
{
	struct bind_ctx *c = p;

	if (!bound(c)) {
		if (ret == 0) {
			snprintf(why, size, "bind returned 0 and %s is not bound", c->dev);
			return -1;
		}
		return 0;
	}
	if (release(c)) {
		snprintf(why, size, "unbind after a bind: errno %d", errno);
		return -1;
	}
	return 0;
}

/*
 * Unbind/bind N times while another thread keeps reading the device's
 * sysfs files and the cpufreq policies' (which a cpufreq driver's unbind
 * tears down): the reads may fail while the device is gone, the kernel
 * must not splat, and the device must end up bound.
 */
struct readers {
	char dev_dir[PATH_MAX];	/* the device's sysfs directory */
	int stop;		/* set by the main thread, atomically */
	long reads;		/* files read, of which dev_reads in dev_dir */
	long dev_reads;
};

static void read_dir(struct readers *r, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 300], buf[4096];
	int fd;

	while (d && (e = readdir(d)) && !__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "uevent") ||
		    !strcmp(e->d_name, "driver_override"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR && depth > 0) {
			read_dir(r, path, depth - 1);
		} else if (e->d_type == DT_REG) {
			fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0) {
				if (read(fd, buf, sizeof(buf)) >= 0) {
					__atomic_add_fetch(&r->reads, 1, __ATOMIC_RELAXED);
					if (dir == r->dev_dir)
						__atomic_add_fetch(&r->dev_reads, 1,
								   __ATOMIC_RELAXED);
				}
				close(fd);
			}
		}
	}
	if (d)
		closedir(d);
}

static void *reader(void *p)
{
	struct readers *r = p;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		read_dir(r, r->dev_dir, 0);
		read_dir(r, "/sys/devices/system/cpu/cpufreq", 1);
	}
	return NULL;
}

/*
 * For a cpufreq driver's device, a third thread: governor switches on
 * every policy and CPU hotplug (each CPU but the boot CPU in turn), in a
 * loop. The driver's unbind and bind then race the cpufreq core's
 * governor and hotplug paths.
 */
#define CPU_DIR "/sys/devices/system/cpu"

struct churn {
	int stop;		/* set by the main thread, atomically */
	long switches, hotplugs;
	int stuck_offline;	/* a CPU that would not come back */
};

static int count_policies(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	char path[96];
	int cpu, n = 0;

	for (cpu = 0; cpu < cpus; cpu++) {
		snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d", cpu);
		n += exists(path);
	}
	return n;
}

static void *cpufreq_churn(void *p)
{
	static const char *const governors[] = {
		"performance", "powersave", "schedutil", "userspace", "ondemand",
	};
	struct churn *c = p;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned int i;
	char path[96];
	int cpu;

	for (i = 0; !__atomic_load_n(&c->stop, __ATOMIC_RELAXED); i++) {
		for (cpu = 0; cpu < cpus; cpu++) {
			snprintf(path, sizeof(path), CPU_DIR "/cpufreq/policy%d/scaling_governor",
				 cpu);
			if (exists(path) && !write_file(path, governors[i % ARRAY_SIZE(governors)]))
				__atomic_add_fetch(&c->switches, 1, __ATOMIC_RELAXED);
		}
		if (cpus < 2)
			continue;
		cpu = 1 + i % (cpus - 1);
		snprintf(path, sizeof(path), CPU_DIR "/cpu%d/online", cpu);
		if (!write_file(path, "0")) {
			__atomic_add_fetch(&c->hotplugs, 1, __ATOMIC_RELAXED);
			if (write_file(path, "1"))
				c->stuck_offline = cpu;
		}
	}
	return NULL;
}

static void rebind_with_readers(const char *plan, const char *dir, const char *what,
				struct bind_ctx *c)
{
	struct readers r = { .stop = 0, .reads = 0 };
	struct churn ch = { .stop = 0 };
	long n = stress_count(), i, j;
	char link[900], name[700], why[160] = "", gov[32] = "";
	int cpufreq = !!strstr(dir, "cpufreq"), policies = count_policies(), ok;
	pthread_t t, tc;
	int started, churning = 0;

	snprintf(link, sizeof(link), "%s/%s", dir, c->dev);
	if (!realpath(link, r.dev_dir))
		snprintf(r.dev_dir, sizeof(r.dev_dir), "%s", link);
	started = pthread_create(&t, NULL, reader, &r) == 0;
	if (cpufreq) {
		read_line(CPU_DIR "/cpufreq/policy0/scaling_governor", gov, sizeof(gov));
		churning = pthread_create(&tc, NULL, cpufreq_churn, &ch) == 0;
	}
	/*
	 * The reader, and the churn (a governor switch and a CPU hotplug
	 * done), are under way before the first unbind.
	 */
	for (i = 0; started && i < 200 && !__atomic_load_n(&r.reads, __ATOMIC_RELAXED); i++)
		usleep(10000);
	for (j = 0; churning && j < 1000 && (!__atomic_load_n(&ch.switches, __ATOMIC_RELAXED) ||
					     !__atomic_load_n(&ch.hotplugs, __ATOMIC_RELAXED)); j++)
		usleep(10000);
	for (i = 0; i < n; i++) {
		if (release(c) || bound(c)) {
			snprintf(why, sizeof(why), "unbind %ld: errno %d", i, errno);
			break;
		}
		if (bind_op(c) || !bound(c)) {
			snprintf(why, sizeof(why), "bind %ld: errno %d", i, errno);
			break;
		}
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&ch.stop, 1, __ATOMIC_RELAXED);
	if (started)
		pthread_join(t, NULL);
	report_fact("faults", "rebind_reads", "%s: %ld cycles, %ld reads", what, i, r.reads);
	snprintf(name, sizeof(name), "%s_rebind_with_readers_%s", plan, what);
	result(started && i == n && r.dev_reads > 0, name,
	       "%ld of %ld cycles, %ld reads (%ld of the device's own files): %s", i, n, r.reads,
	       r.dev_reads, *why ? why : "no reader");
	if (!cpufreq)
		return;
	if (churning)
		pthread_join(tc, NULL);
	/* Every policy back, with the governor it had. */
	ok = count_policies() == policies;
	for (j = 0; *gov && j < sysconf(_SC_NPROCESSORS_CONF); j++) {
		snprintf(link, sizeof(link), CPU_DIR "/cpufreq/policy%ld/scaling_governor", j);
		if (exists(link))
			write_file(link, gov);
	}
	report_fact("faults", "cpufreq_churn", "%s: %ld governor switches, %ld CPU hotplugs",
		    what, ch.switches, ch.hotplugs);
	snprintf(name, sizeof(name), "%s_rebind_with_governors_hotplug_%s", plan, what);
	result(churning && i == n && ch.switches > 0 && ch.hotplugs > 0 && !ch.stuck_offline &&
	       ok, name, "%ld governor switches, %ld hotplugs, cpu%d stuck offline, %d of %d policies",
	       ch.switches, ch.hotplugs, ch.stuck_offline, count_policies(), policies);
}

static void sweep_bind(const char *plan, const char *dir, const char *driver, const char *dev)
{
	struct bind_ctx c;
	char path[700], what[600];
	struct sweep s;
	size_t i;

	memset(&s, 0, sizeof(s));
	snprintf(c.dir, sizeof(c.dir), "%s", dir);
	snprintf(c.dev, sizeof(c.dev), "%s", dev);
	snprintf(what, sizeof(what), "%s_bind_%s", driver, dev);
	for (i = 0; what[i]; i++) {
		what[i] = tolower((unsigned char)what[i]);
		if (!((what[i] >= 'a' && what[i] <= 'z') || (what[i] >= '0' && what[i] <= '9')))
			what[i] = '_';
	}
	snprintf(path, sizeof(path), "%s/bind", dir);
	c.fd = open(path, O_WRONLY | O_CLOEXEC);
	if (c.fd < 0 || release(&c)) {
		snprintf(s.why, sizeof(s.why), "cannot unbind %s from %s: errno %d", dev, dir,
			 errno);
	} else {
		sweep(&s, bind_op, bind_clean, &c);
		/* Leave it bound, as it was. */
		if (!bound(&c) && (bind_op(&c) || !bound(&c)) && !*s.why)
			snprintf(s.why, sizeof(s.why), "%s would not bind again", dev);
	}
	report_sweep(plan, what, &s);
	if (c.fd >= 0 && bound(&c))
		rebind_with_readers(plan, dir, what, &c);
	if (c.fd >= 0)
		close(c.fd);
}

/* ferro_null: powering on a configfs device (Device::add: tag set, queue, disk). */
#define NULL_DIR "/sys/kernel/config/ferro_null/faults"

static int power_op(void *p)
{
	int fd = *(int *)p;

	return pwrite(fd, "1", 1, 0) == 1 ? 0 : -1;
}

static int power_clean(void *p, int ret, char *why, size_t size)
{
	char state[8] = "";

	(void)p;
	read_line(NULL_DIR "/power", state, sizeof(state));
	if (ret == 0 || strcmp(state, "0")) {
		if (strcmp(state, "1") || write_file(NULL_DIR "/power", "0")) {
			snprintf(why, size, "power '%s' after %s: errno %d", state,
				 ret ? "a failed power on" : "a power on", errno);
			return -1;
		}
	}
	return 0;
}

static void sweep_null_power(const char *plan)
{
	struct sweep s;
	int fd = -1;

	memset(&s, 0, sizeof(s));
	mount("configfs", "/sys/kernel/config", "configfs", 0, NULL);
	if (!mkdir(NULL_DIR, 0755) && !write_file(NULL_DIR "/memory_backed", "1"))
		fd = open(NULL_DIR "/power", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		snprintf(s.why, sizeof(s.why), NULL_DIR ": errno %d", errno);
	else
		sweep(&s, power_op, power_clean, &fd);
	if (fd >= 0)
		close(fd);
	rmdir(NULL_DIR);
	report_sweep(plan, "null_power_on", &s);
}

/*
 * Whether a Ferro driver on a bus is one of module's (ferro_<module>):
 * its name says so ("ferro-cpufreq"), or, for ferro_phy, whose phylib
 * drivers are named after their PHYs, it sits on the MDIO bus.
 */
static int driver_of(const char *bus, const char *driver, const char *module)
{
	return strcasestr(driver, module) ||
	       (strcmp(module, "phy") == 0 && strcmp(bus, "mdio_bus") == 0);
}

/* Devices bound to module's drivers on any bus, swept one by one; how many. */
static int sweep_bound_devices(const char *plan, const char *module)
{
	DIR *buses = opendir("/sys/bus"), *drivers, *devs;
	struct dirent *b, *d, *e;
	char path[300];
	int swept = 0;

	while (buses && (b = readdir(buses))) {
		if (b->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/%s/drivers", b->d_name);
		drivers = opendir(path);
		while (drivers && (d = readdir(drivers))) {
			char dir[600];

			if (strncasecmp(d->d_name, "ferro", 5))
				continue;
			snprintf(dir, sizeof(dir), "/sys/bus/%s/drivers/%s", b->d_name, d->d_name);
			devs = opendir(dir);
			while (devs && (e = readdir(devs))) {
				if (e->d_type != DT_LNK || strcmp(e->d_name, "module") == 0)
					continue;
				if (!driver_of(b->d_name, d->d_name, module))
					continue;
				sweep_bind(plan, dir, d->d_name, e->d_name);
				swept++;
			}
			if (devs)
				closedir(devs);
		}
		if (drivers)
			closedir(drivers);
	}
	if (buses)
		closedir(buses);
	report_fact("faults", "bound_devices_swept", "%d", swept);
	return swept;
}

/*
 * Whether the board has a device for a Ferro driver, from its device tree:
 * the ferro,cpufreq node, or a MAC with a phy-handle (phy.c).
 */
static int board_has_device(const char *driver)
{
	char *compat, mac[256];
	int has = 0;

	if (strcmp(driver, "cpufreq") == 0) {
		compat = slurp("/proc/device-tree/cpufreq/compatible", NULL);
		has = compat && strcmp(compat, "ferro,cpufreq") == 0;
		free(compat);
	} else if (strcmp(driver, "phy") == 0) {
		has = dt_has_phy("/proc/device-tree", mac, sizeof(mac));
	}
	return has;
}

/* A sweep of bound devices that swept none where the board has one fails. */
static void check_swept(const char *plan, const char *driver, int swept)
{
	char name[96];

	if (!board_has_device(driver))
		return;
	snprintf(name, sizeof(name), "%s_fault_%s_devices_swept", plan, driver);
	result(swept > 0, name, "the device tree has a device for ferro_%s, but none was bound",
	       driver);
}

/*
 * fail-nth counts the allocations the injectors consider: slab allocations
 * and page allocations of order 1 and up (fail_page_alloc's min-order;
 * order-0 pages are what vmalloc backs the module loader's copies with,
 * one per page, which would make every load sweep thousands of points),
 * including those that may sleep once the injectors stop ignoring them
 * (their default). Quiet, or every injected failure would log a stack.
 */
static int setup_injection(void)
{
	static const char *const knobs[][2] = {
		{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
		{ DEBUGFS "/failslab/verbose", "0" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
		{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ DEBUGFS "/fail_page_alloc/verbose", "0" },
		/* A task blocked for 30 s is reported (and fails the log check). */
		{ "/proc/sys/kernel/hung_task_timeout_secs", "30" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(knobs); i++) {
		if (write_file(knobs[i][0], knobs[i][1])) {
			diag("cannot set a fault injection knob", knobs[i][0]);
			return 0;
		}
	}
	return 1;
}

/* A kmemleak scan; every unreferenced object it reports is a failure. */
static void check_kmemleak(const char *plan)
{
	char name[64], *report;
	size_t len = 0;

	snprintf(name, sizeof(name), "%s_kmemleak_clean", plan);
	/*
	 * kmemleak reports only objects older than 5 s (MSECS_MIN_AGE in
	 * mm/kmemleak.c): what the last sweeps leaked must age first.
	 */
	sleep(6);
	if (write_file(KMEMLEAK, "scan")) {
		result(0, name, "cannot scan: errno %d", errno);
		return;
	}
	report = slurp(KMEMLEAK, &len);
	if (report && len)
		diag("kmemleak", report);
	result(report && len == 0, name, "%s", report ? "unreferenced objects (above)" :
	       "cannot read " KMEMLEAK);
	free(report);
}

void debug_plan(const char *plan, const char *const *modules, size_t n)
{
	char name[64];
	size_t i;
	int ok;

	mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	snprintf(name, sizeof(name), "%s_debug_kernel", plan);
	ok = exists(FAIL_NTH) && exists(KMEMLEAK) && exists(DEBUGFS "/failslab");
	result(ok, name, "fail-nth %d, kmemleak %d, failslab %d: is this the debug kernel?",
	       exists(FAIL_NTH), exists(KMEMLEAK), exists(DEBUGFS "/failslab"));
	if (!ok)
		return;
	if (!setup_injection()) {
		snprintf(name, sizeof(name), "%s_fault_injection_setup", plan);
		result(0, name, "cannot set a fault injection knob (above)");
		return;
	}
	if (strcmp(plan, "builtin") == 0) {
		for (i = 0; i < n; i++)
			check_swept(plan, modules[i], sweep_bound_devices(plan, modules[i]));
		for (i = 0; i < n; i++) {
			if (strcmp(modules[i], "null") == 0) {
				sweep_null_power(plan);
				null_stress(plan);
			}
			if (strcmp(modules[i], "phy") == 0)
				phy_stress(plan);
		}
	} else {
		for (i = 0; i < n; i++) {
			char path[128], mod[64];

			sweep_module(plan, modules[i]);
			/* Loaded without faults, its devices are swept too. */
			snprintf(mod, sizeof(mod), "ferro_%s", modules[i]);
			snprintf(path, sizeof(path), "/lib/modules/ferro/%s.ko", mod);
			if (load_module(path, "")) {
				snprintf(name, sizeof(name), "%s_fault_reload_%s", plan, modules[i]);
				result(0, name, "finit_module after the sweep: errno %d", errno);
			} else {
				check_swept(plan, modules[i],
					    sweep_bound_devices(plan, modules[i]));
				if (strcmp(modules[i], "null") == 0)
					sweep_null_power(plan);
				if (strcmp(modules[i], "phy") == 0)
					phy_stress(plan);
				unload_module(mod);
			}
			if (strcmp(modules[i], "null") == 0)
				null_stress(plan);
		}
	}
	check_kmemleak(plan);
}
