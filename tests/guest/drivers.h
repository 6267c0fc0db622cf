/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Each driver's guest tests, one pair per build mode.
 */
#ifndef FERRO_DRIVERS_H
#define FERRO_DRIVERS_H

#include <stddef.h>

/* <name>_module() and <name>_builtin() of every driver of the registry. */
#define FERRO_DRIVER_DECLARE
#include "ferro-drivers.h"
#undef FERRO_DRIVER_DECLARE
void bench_plan(void);
void null_stress(const char *plan);
void phy_stress(const char *plan);
int dt_has_phy(const char *dir, char *mac, size_t size);
void entries_arm(const char *plan);
void entries_report(const char *plan, const char *const *ran, size_t n_ran);
long entry_hits(const char *event);
void expect_chain(const char *plan, const char *event, const char *const *chain);
void debug_plan(const char *plan, const char *const *modules, size_t n);

#endif /* FERRO_DRIVERS_H */
