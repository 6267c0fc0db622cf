// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's log checks (tests/guest/ktest.c) run on the host against
 * logs written here, the good and the broken: test_guest_helpers.py builds
 * this with the host's compiler and reads the KTAP it prints. Each case
 * is one command-line word; its results are named after it.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ktest.h"

/* A log built from /dev/kmsg-style records, as kernel_log() builds it. */
static char *records(const char *const *recs, unsigned long long *lost,
		     unsigned long long *count)
{
	struct log_text r = { .cap = 64 };
	char buf[512];

	r.text = malloc(r.cap);
	*r.text = '\0';
	for (; *recs; recs++) {
		snprintf(buf, sizeof(buf), "%s", *recs);
		if (log_add(&r, buf))
			exit(2);
	}
	*lost = r.lost;
	*count = r.records;
	return r.text;
}

static void check_clean(const char *name, const char *const *recs)
{
	unsigned long long lost, count;
	char *log = records(recs, &lost, &count);

	log_clean(name, log, lost, count);
	free(log);
}

#define KUNIT_LOG(line2) \
	"1.000000 KTAP version 1\n1.000001 # Subtest: suite\n" \
	"1.000002     ok 1 first\n1.000003     " line2 "\n1.000004 ok 1 suite\n"

#define TRACE(frame) \
	"1.0 ferro_lifecycle: init: frame.4: do_init_module+0x54/0x234\n" \
	"1.1 CPU: 0 PID: 1 Comm: init\n1.2 Call trace:\n" \
	"1.3  show_stack+0x18/0x24\n1.4  " frame "+0x10/0x20\n1.5 next message\n" \
	"1.6 do_init_module+0x54/0x234 (not a frame: no leading space)\n"

#define EXIT(frames) \
	"2.0 ferro_lifecycle: exit: entry=cleanup_module\n" frames \
	"2.9 ferro_lifecycle: init: entry=init_module\n" \
	"3.0 ferro_lifecycle: exit: frame.0: capture+0x5c/0x90\n" \
	"3.1 ferro_lifecycle: exit: frame.1: __arm64_sys_delete_module+0x160/0x244\n"

int main(int argc, char **argv)
{
	static const char *const whole[] = {
		"6,0,100,-;first", "6,1,200,-;second", "6,2,300,-;third", NULL
	};
	static const char *const gap[] = {
		"6,0,100,-;first", "6,3,400,-;after two were overwritten", NULL
	};
	static const char *const late[] = {
		"6,5,600,-;the first five are gone", "6,6,700,-;next", NULL
	};
	static const char *const warned[] = {
		"6,0,100,-;first", "4,1,200,-;WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x4", NULL
	};
	const char *c = argc > 1 ? argv[1] : "";
	char buf[64] = "stale";

	printf("KTAP version 1\n");
	if (!strcmp(c, "clean"))
		check_clean("clean", whole);
	else if (!strcmp(c, "gap"))
		check_clean("gap", gap);
	else if (!strcmp(c, "late"))
		check_clean("late", late);
	else if (!strcmp(c, "warned"))
		check_clean("warned", warned);
	else if (!strcmp(c, "kunit_pass"))
		kunit_relay("kunit_pass", "suite", KUNIT_LOG("ok 2 second"));
	else if (!strcmp(c, "kunit_skip"))
		kunit_relay("kunit_skip", "suite", KUNIT_LOG("ok 2 second # SKIP no device"));
	else if (!strcmp(c, "kunit_fail"))
		kunit_relay("kunit_fail", "suite", KUNIT_LOG("not ok 2 second"));
	else if (!strcmp(c, "dump"))
		result(log_dump_has_frame(TRACE("do_init_module"), 0, "do_init_module+"),
		       "dump", "no frame");
	else if (!strcmp(c, "dump_without_frame"))
		result(log_dump_has_frame(TRACE("load_module"), 0, "do_init_module+"),
		       "dump_without_frame", "no frame");
	else if (!strcmp(c, "exit_frames"))
		result(log_record_has_frame(EXIT("2.1 ferro_lifecycle: exit: frame.0: capture+0x5c/0x90\n"
						 "2.2 ferro_lifecycle: exit: frame.1: __arm64_sys_delete_module+0x160/0x244\n"),
					    "ferro_lifecycle: exit: frame.", "sys_delete_module+"),
		       "exit_frames", "no frame");
	else if (!strcmp(c, "exit_frames_elsewhere"))
		result(log_record_has_frame(EXIT("2.1 ferro_lifecycle: exit: frame.0: capture+0x5c/0x90\n"),
					    "ferro_lifecycle: exit: frame.", "sys_delete_module+"),
		       "exit_frames_elsewhere", "no frame");
	else if (!strcmp(c, "exit_without_frames"))
		result(log_record_has_frame(EXIT(""), "ferro_lifecycle: exit: frame.",
					    "sys_delete_module+"),
		       "exit_without_frames", "no frame");
	else if (!strcmp(c, "record_absent_key"))
		result(!record_get("entry: init_module\nmode: module\n", "frames", buf, sizeof(buf)) &&
		       !*buf, "record_absent_key", "buffer holds '%s'", buf);
	else
		result(0, "case_known", "unknown case '%s'", c);
	printf("1..%d\n", test_no);
	return 0;
}
