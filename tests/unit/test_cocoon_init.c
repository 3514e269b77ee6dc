/* test_cocoon_init.c - cocoon-init's parts without a guest: the kernel
 * command line words, the step runner (order, stop at the first failure,
 * skipped steps, the boot state file and console lines) and the steps that
 * must fail closed outside debug mode. The whole sequence on generated trees
 * is in tests/integration/init_cases.py. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cocoon/util.h"
#include "init.h"

/* --- the kernel command line --- */

static void test_mode_defaults(void **state)
{
	struct init_mode m;
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(init_mode_parse("console=ttyS0 root=/dev/vda ro quiet\n", &m, &err), 0);
	assert_false(m.debug);
	assert_int_equal(m.tee, TEE_TDX);
	assert_false(m.gpu);
	assert_false(m.fs_9p);
	assert_string_equal(m.seal, INIT_SEAL_DEFAULT);
	assert_int_equal(init_mode_parse("", &m, &err), 0);
	assert_int_equal(m.tee, TEE_TDX);
}

/* exactly what cocoon-launch --dev writes (host/cocoon-launch/plan.c) */
static void test_mode_launcher_dev(void **state)
{
	struct init_mode m;
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(init_mode_parse("console=ttyS0 cocoon.tee=sim cocoon.debug=1 "
	                                 "cocoon.health=vport:health cocoon.seal=vport:seal "
	                                 "cocoon.fs=9p\n",
	                                 &m, &err),
	                 0);
	assert_true(m.debug);
	assert_int_equal(m.tee, TEE_SIM);
	assert_true(m.fs_9p);
	assert_string_equal(m.seal, "vport:seal");
}

/* the seal enclaves seal-client accepts and the collateral file (tdx) */
static void test_mode_seal_mrenclave(void **state)
{
	struct init_mode m;
	struct cerr err = CERR_INIT;
	char line[400];
	const char *a = "e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1e1";

	(void)state;
	assert_int_equal(init_mode_parse("", &m, &err), 0);
	assert_int_equal(m.n_seal_mrenclave, 0);
	assert_string_equal(m.seal_collateral, INIT_SEAL_COLLATERAL_DEFAULT);
	snprintf(line, sizeof(line),
	         "cocoon.seal_mrenclave=%s,%.63sF cocoon.seal_collateral=/x/c.json", a, a);
	assert_int_equal(init_mode_parse(line, &m, &err), 0);
	assert_int_equal(m.n_seal_mrenclave, 2);
	assert_int_equal(m.seal_mrenclave[0][0], 0xe1);
	assert_int_equal(m.seal_mrenclave[1][31], 0xef);
	assert_string_equal(m.seal_collateral, "/x/c.json");
	snprintf(line, sizeof(line), "cocoon.seal_mrenclave=%.62s", a);
	assert_int_equal(init_mode_parse(line, &m, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "cocoon.seal_mrenclave"));
	snprintf(line, sizeof(line), "cocoon.seal_mrenclave=%s,", a);
	assert_int_equal(init_mode_parse(line, &m, &err), -EINVAL);
	assert_int_equal(init_mode_parse("cocoon.seal_collateral=rel", &m, &err), -EINVAL);
}

static void test_mode_bare_words(void **state)
{
	struct init_mode m;
	struct cerr err = CERR_INIT;

	(void)state;
	assert_int_equal(init_mode_parse("cocoon_debug\tcocoon_gpu cocoon.tee=tdx", &m, &err), 0);
	assert_true(m.debug);
	assert_true(m.gpu);
	assert_int_equal(m.tee, TEE_TDX);
	assert_int_equal(init_mode_parse("cocoon_debug=0 cocoon.gpu=1", &m, &err), 0);
	assert_false(m.debug);
	assert_true(m.gpu);
	/* look-alikes are not ours */
	assert_int_equal(init_mode_parse("xcocoon_debug cocoon_debugx cocoon.teex=sim", &m, &err),
	                 0);
	assert_false(m.debug);
	assert_int_equal(m.tee, TEE_TDX);
}

static void bad(const char *cmdline, const char *want)
{
	struct init_mode m;
	struct cerr err = CERR_INIT;

	assert_int_equal(init_mode_parse(cmdline, &m, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("'%s': message '%s' lacks '%s'", cmdline, err.msg, want);
}

static void test_mode_refusals(void **state)
{
	(void)state;
	bad("cocoon.tee=sev", "cocoon.tee=sev");
	bad("cocoon.tee", "cocoon.tee");
	bad("cocoon.tee=sim cocoon.tee=tdx", "given twice");
	bad("cocoon_debug cocoon.debug=1", "given twice");
	bad("cocoon.debug=yes", "cocoon.debug=yes");
	bad("cocoon.fs=nfs", "cocoon.fs=nfs");
	bad("cocoon.seal=", "cocoon.seal");
	bad("cocoon_gpu=2", "cocoon_gpu=2");
}

static void test_mode_long_words(void **state)
{
	char line[3000];
	struct init_mode m;
	struct cerr err = CERR_INIT;

	(void)state;
	/* a word longer than we look at is skipped whole, not cut into one of ours */
	memset(line, 'a', sizeof(line));
	memcpy(line + 1500, " cocoon.tee=sim ", 16);
	memcpy(line, "x=", 2);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(init_mode_parse(line, &m, &err), 0);
	assert_int_equal(m.tee, TEE_SIM);
	memcpy(line + 1200, "cocoon.tee=sev", 14); /* inside a 1500-byte word */
	assert_int_equal(init_mode_parse(line, &m, &err), 0);
}

/* --- the runner --- */

static char order[64];

static int rec(char c, int r, struct cerr *err)
{
	size_t n = strlen(order);

	order[n] = c;
	order[n + 1] = '\0';
	if (r < 0)
		return cerr_setx(err, -r, "step %c broke\nsecond line", c);
	if (r == INIT_SKIPPED)
		snprintf(err->msg, sizeof(err->msg), "nothing to do");
	return r;
}
static int ok_a(struct init_ctx *c, struct cerr *e)
{
	(void)c;
	return rec('a', 0, e);
}
static int skip_b(struct init_ctx *c, struct cerr *e)
{
	(void)c;
	return rec('b', INIT_SKIPPED, e);
}
static int fail_c(struct init_ctx *c, struct cerr *e)
{
	(void)c;
	return rec('c', -EIO, e);
}
static int ok_d(struct init_ctx *c, struct cerr *e)
{
	(void)c;
	return rec('d', 0, e);
}

struct fixture {
	char dir[PATH_MAX];
	char *out;
	size_t outlen;
	struct init_ctx ctx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test-cocoon-init-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	init_ctx_init(&f->ctx);
	snprintf(f->ctx.root, sizeof(f->ctx.root), "%s", f->dir);
	f->ctx.console = open_memstream(&f->out, &f->outlen);
	order[0] = '\0';
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[PATH_MAX + 16];

	fclose(f->ctx.console);
	free(f->out);
	init_ctx_done(&f->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static char *boot_state(struct fixture *f)
{
	char p[PATH_MAX + 64];
	char *s = NULL;
	struct cerr err = CERR_INIT;

	snprintf(p, sizeof(p), "%s%s", f->dir, INIT_STATE_PATH);
	assert_int_equal(read_file(p, 4096, &s, NULL, &err), 0);
	return s;
}

static void test_run_all(void **state)
{
	struct fixture *f = *state;
	const struct init_step steps[] = {
	    {"a", "step A", ok_a}, {"b", "step B", skip_b}, {"d", "step D", ok_d}};
	struct cerr err = CERR_INIT;
	_cleanup_free_ char *st = NULL;

	assert_int_equal(init_run_steps(&f->ctx, steps, 3, &err), 0);
	assert_string_equal(order, "abd");
	st = boot_state(f);
	assert_string_equal(st, "ready\n");
	fflush(f->ctx.console);
	assert_non_null(strstr(f->out, "cocoon-init: [step 1/3] step A ...\n"));
	assert_non_null(strstr(f->out, "cocoon-init: [step 1/3] a done ("));
	assert_non_null(strstr(f->out, "cocoon-init: [step 2/3] b SKIPPED: nothing to do ("));
	assert_non_null(strstr(f->out, "cocoon-init: [step 3/3] d done ("));
	assert_non_null(strstr(f->out, " ms)\n"));
}

static void test_run_stops_at_failure(void **state)
{
	struct fixture *f = *state;
	const struct init_step steps[] = {
	    {"a", "step A", ok_a}, {"c", "step C", fail_c}, {"d", "step D", ok_d}};
	struct cerr err = CERR_INIT;
	_cleanup_free_ char *st = NULL;

	assert_int_equal(init_run_steps(&f->ctx, steps, 3, &err), -EIO);
	assert_string_equal(order, "ac"); /* d never ran */
	st = boot_state(f);
	/* one line, the message's newline flattened */
	assert_string_equal(st, "failed: c: step c broke second line\n");
	fflush(f->ctx.console);
	assert_non_null(
	    strstr(f->out, "cocoon-init: [step 2/3] c FAILED: step c broke second line ("));
	assert_null(strstr(f->out, "[step 3/3]"));
	assert_string_equal(err.msg, "step c broke second line");
}

/* the state file says which step is running */
static int peek_state(struct init_ctx *c, struct cerr *e)
{
	char p[PATH_MAX + 64];
	_cleanup_free_ char *s = NULL;

	snprintf(p, sizeof(p), "%s%s", c->root, INIT_STATE_PATH);
	assert_int_equal(read_file(p, 4096, &s, NULL, e), 0);
	assert_string_equal(s, "booting: peek\n");
	return rec('p', 0, e);
}

static void test_run_booting_state(void **state)
{
	struct fixture *f = *state;
	const struct init_step steps[] = {{"peek", "peek", peek_state}};
	struct cerr err = CERR_INIT;

	assert_int_equal(init_run_steps(&f->ctx, steps, 1, &err), 0);
	assert_string_equal(order, "p");
}

/* --- the real step table --- */

static const struct init_step *find_step(const char *name, size_t *idx)
{
	for (size_t i = 0; i < init_n_steps; i++)
		if (!strcmp(init_steps[i].name, name)) {
			*idx = i;
			return &init_steps[i];
		}
	fail_msg("no step %s", name);
	return NULL;
}

static void test_step_order(void **state)
{
	static const char *const want[] = {"mounts", "spec",   "gpu",    "keys",     "disk",
	                                   "inited", "egress", "engine", "workload", "ready"};

	(void)state;
	assert_int_equal(init_n_steps, 10);
	for (size_t i = 0; i < init_n_steps; i++)
		assert_string_equal(init_steps[i].name, want[i]);
}

static const char yml_two[] = "services:\n"
                              "  web:\n"
                              "    image: r.example/web@sha256:"
                              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
                              "  db:\n"
                              "    image: r.example/db@sha256:"
                              "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n";

/* step 9 has no debug exception either: no cocoon-workload, no boot */
static void test_workload_missing_fails(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	size_t i;

	f->ctx.mode.debug = true;
	assert_int_equal(find_step("workload", &i)->run(&f->ctx, &err), -EINVAL); /* no spec */
	assert_int_equal(compose_parse("docker-compose.yml", yml_two, sizeof(yml_two) - 1, NULL,
	                               &f->ctx.spec, &err),
	                 0);
	f->ctx.have_spec = true;
	f->ctx.workload_bin = "/usr/bin/no-such-cocoon-workload";
	cerr_clear(&err);
	assert_int_equal(find_step("workload", &i)->run(&f->ctx, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "cocoon-workload"));
}

static void test_workload_state_check(void **state)
{
	struct compose_spec spec;
	struct cerr err = CERR_INIT;
	char why[512];
	const char *run2 = "{\"version\":1,\"services\":[{\"name\":\"db\",\"state\":\"running\"},"
	                   "{\"name\":\"web\",\"state\":\"running\",\"error\":\"\"}]}";
	const char *one = "{\"services\":[{\"name\":\"web\",\"state\":\"running\"}]}";
	const char *exited = "{\"services\":[{\"name\":\"web\",\"state\":\"running\"},"
	                     "{\"name\":\"db\",\"state\":\"exited\",\"error\":\"oom\"}]}";

	(void)state;
	assert_int_equal(
	    compose_parse("docker-compose.yml", yml_two, sizeof(yml_two) - 1, NULL, &spec, &err),
	    0);
	assert_int_equal(init_workload_check(run2, strlen(run2), &spec, why, sizeof(why)), 1);
	assert_int_equal(init_workload_check(one, strlen(one), &spec, why, sizeof(why)), 0);
	assert_string_equal(why, "service db is not in the workload state");
	assert_int_equal(init_workload_check(exited, strlen(exited), &spec, why, sizeof(why)), 0);
	assert_string_equal(why, "service db is exited: oom");
	assert_int_equal(init_workload_check("{}", 2, &spec, why, sizeof(why)), -EINVAL);
	assert_int_equal(init_workload_check("{\"services\":[", 13, &spec, why, sizeof(why)),
	                 -EINVAL);
	assert_int_equal(init_workload_check("[]", 2, &spec, why, sizeof(why)), -EINVAL);
	compose_spec_free(&spec);
}

static int resolve_nothing(const char *host, struct egress_addr *out, size_t max, struct cerr *err)
{
	(void)out;
	(void)max;
	return cerr_setx(err, EHOSTUNREACH, "egress rule host '%s' does not resolve", host);
}

/* step 7 has no debug exception: a rule that cannot be built stops the boot */
static void test_egress_fails_closed_in_debug(void **state)
{
	struct fixture *f = *state;
	static const char yml[] =
	    "services:\n"
	    "  web:\n"
	    "    image: r.example/web@sha256:"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "x-cocoon:\n"
	    "  egress:\n"
	    "    - host: nowhere.invalid\n"
	    "      ports: [443]\n";
	static const char yml_cidr[] =
	    "services:\n"
	    "  web:\n"
	    "    image: r.example/web@sha256:"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	    "x-cocoon:\n"
	    "  egress:\n"
	    "    - cidr: 10.0.2.2/32\n"
	    "      ports: [11001]\n";
	struct cerr err = CERR_INIT;
	size_t i;

	f->ctx.mode.debug = true;
	assert_int_equal(find_step("egress", &i)->run(&f->ctx, &err), -EINVAL); /* no spec */
	cerr_clear(&err);
	assert_int_equal(
	    compose_parse("docker-compose.yml", yml, sizeof(yml) - 1, NULL, &f->ctx.spec, &err), 0);
	f->ctx.have_spec = true;
	f->ctx.resolve = resolve_nothing;
	f->ctx.cmds.nft = "/nonexistent/nft";
	assert_int_equal(find_step("egress", &i)->run(&f->ctx, &err), -EHOSTUNREACH);
	assert_non_null(strstr(err.msg, "x-cocoon.egress"));
	assert_non_null(strstr(err.msg, "nowhere.invalid"));
	/* the ruleset builds, but nft is not there */
	compose_spec_free(&f->ctx.spec);
	f->ctx.have_spec = false;
	assert_int_equal(compose_parse("docker-compose.yml", yml_cidr, sizeof(yml_cidr) - 1, NULL,
	                               &f->ctx.spec, &err),
	                 0);
	f->ctx.have_spec = true;
	cerr_clear(&err);
	assert_true(find_step("egress", &i)->run(&f->ctx, &err) < 0);
	assert_non_null(strstr(err.msg, "/nonexistent/nft"));
}

static void test_gpu_skipped_without_word(void **state)
{
	struct fixture *f = *state;
	struct cerr err = CERR_INIT;
	size_t i;

	f->ctx.mode.gpu = false;
	assert_int_equal(find_step("gpu", &i)->run(&f->ctx, &err), INIT_SKIPPED);
	assert_non_null(strstr(err.msg, "cocoon_gpu"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mode_defaults),
	    cmocka_unit_test(test_mode_launcher_dev),
	    cmocka_unit_test(test_mode_bare_words),
	    cmocka_unit_test(test_mode_seal_mrenclave),
	    cmocka_unit_test(test_mode_refusals),
	    cmocka_unit_test(test_mode_long_words),
	    cmocka_unit_test_setup_teardown(test_run_all, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_stops_at_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_run_booting_state, setup, teardown),
	    cmocka_unit_test(test_step_order),
	    cmocka_unit_test_setup_teardown(test_workload_missing_fails, setup, teardown),
	    cmocka_unit_test(test_workload_state_check),
	    cmocka_unit_test_setup_teardown(test_egress_fails_closed_in_debug, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpu_skipped_without_word, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
