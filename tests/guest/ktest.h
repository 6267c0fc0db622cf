/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every driver's guest tests share: KTAP results, facts for
 * the compare report, the kernel log, files, modules and KUnit relays.
 */
#ifndef FERRO_KTEST_H
#define FERRO_KTEST_H

#include <stddef.h>

#define BIG (1024 * 1024)
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

extern int test_no;
extern int failures;
extern int skips;
extern unsigned long long kmsg_lost, kmsg_records;

void result(int ok, const char *name, const char *fmt, ...);
void skip(const char *name, const char *fmt, ...);
void report_fact(const char *driver, const char *key, const char *fmt, ...);
char *slurp(const char *path, size_t *lenp);
int exists(const char *path);
/* The kernel log's text as it is read, record by record. */
struct log_text {
	char *text;
	size_t len, cap;
	unsigned long long next, lost, records;
};

int log_add(struct log_text *r, char *rec);
char *kernel_log(void);
const char *log_find(const char *log, const char *needle);
const char *log_find_last(const char *log, const char *needle);
size_t log_mark(void);
int log_count_since(size_t mark, const char *needle);
void diag(const char *title, const char *text);
void diag_log(const char *needle);
void line_of(const char *p, char *buf, size_t size);
int record_get(const char *rec, const char *key, char *buf, size_t size);
int chain_in_order(const char *rec, const char *const *chain, const char **missing);
int load_module(const char *path, const char *params);
int unload_module(const char *name);
int in_proc_modules(const char *name, char *line, size_t size);
void cmdline_facts(const char *driver, const char *prefix);
void sysfs_facts(const char *driver, const char *dir);
void kunit_suite(const char *plan, const char *suite);
void kunit_relay(const char *plan, const char *suite, const char *log);
void kernel_log_clean(const char *plan);
void log_clean(const char *plan, const char *log, unsigned long long lost,
	       unsigned long long records);
int log_dump_has_frame(const char *log, size_t mark, const char *fn);
int log_record_has_frame(const char *l, const char *pfx, const char *fn);
int read_line(const char *path, char *buf, size_t size);
int write_file(const char *path, const char *text);
long read_long(const char *path);
int find_device(const char *dir, const char *attr, const char *want, char *out, size_t size);
void link_name(const char *path, char *buf, size_t size);
long stress_count(void);
void builtin_delete_module(const char *driver, const char *name);
int frame_matches(const char *frame, const char *want);
int system_sleep(int seconds, char *why, size_t size);

#endif /* FERRO_KTEST_H */
