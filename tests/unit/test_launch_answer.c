/* test_launch_answer.c - what cocoon-launch reads from the other side
 * (host/cocoon-launch/answer.c): the guest's health answer and the QMP
 * stream. The two NULL cases of issue 13 ({"ready":false,"boot":null} and
 * {"event":null}) are here byte for byte: the launcher dereferenced NULL on
 * both before the parsers were moved out of run.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "answer.h"

static enum health_answer answer(const char *s)
{
	return health_answer_parse((const uint8_t *)s, strlen(s));
}

static void test_answer_boot_null(void **state)
{
	(void)state;
	/* issue 13: strncmp(NULL, "failed", 6) */
	assert_int_equal(answer("{\"ready\":false,\"boot\":null}"), HEALTH_ANSWER_BOOTING);
	assert_int_equal(answer("{\"ready\":false,\"boot\":7}"), HEALTH_ANSWER_BOOTING);
	assert_int_equal(answer("{\"ready\":false,\"boot\":[\"failed\"]}"), HEALTH_ANSWER_BOOTING);
}

static void test_answer_outcomes(void **state)
{
	(void)state;
	assert_int_equal(answer("{\"ready\":true,\"tee\":\"sim\"}"), HEALTH_ANSWER_READY);
	assert_int_equal(answer(" {\"ready\":true}\n"), HEALTH_ANSWER_READY);
	assert_int_equal(answer("{\"ready\":false,\"boot\":\"booting: keys\"}"),
	                 HEALTH_ANSWER_BOOTING);
	assert_int_equal(answer("{\"ready\":false}"), HEALTH_ANSWER_BOOTING);
	assert_int_equal(answer("{\"ready\":false,\"boot\":\"failed: keys: no seal-server\"}"),
	                 HEALTH_ANSWER_FAILED);
	assert_int_equal(answer("{\"ready\":false,\"boot\":\"fail\"}"), HEALTH_ANSWER_BOOTING);
	assert_int_equal(answer("{\"ready\":false,\"error\":\"2 checks failed\"}"),
	                 HEALTH_ANSWER_FAILED);
	assert_int_equal(answer("{\"ready\":false,\"error\":null}"), HEALTH_ANSWER_BOOTING);
}

static void test_answer_not_ours(void **state)
{
	static const uint8_t nul[] = "{\"ready\":true}\0junk";

	(void)state;
	/* health-client's text status, meant for an earlier peer */
	assert_int_equal(answer("ready: true\nboot: ready\n"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer(""), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("null"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("[{\"ready\":true}]"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("{\"boot\":\"ready\"}"), HEALTH_ANSWER_NOT_OURS);
	/* "ready" must be a JSON boolean: json-c would call the string "no" true */
	assert_int_equal(answer("{\"ready\":\"no\"}"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("{\"ready\":null}"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("{\"ready\":1}"), HEALTH_ANSWER_NOT_OURS);
	/* one value and nothing after it */
	assert_int_equal(answer("{\"ready\":false}{\"ready\":true}"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(answer("{\"ready\":true"), HEALTH_ANSWER_NOT_OURS);
	assert_int_equal(health_answer_parse(nul, sizeof(nul) - 1), HEALTH_ANSWER_NOT_OURS);
}

static void test_excerpt(void **state)
{
	static const uint8_t esc[] = "ok\x1b[2J\n\\";
	char out[16], wide[18];

	(void)state;
	/* 2 + 4 + 3 + 4 + 4 = 17 characters: fits in 18, not in 16 */
	answer_excerpt(esc, sizeof(esc) - 1, wide, sizeof(wide));
	assert_string_equal(wide, "ok\\x1b[2J\\x0a\\x5c");
	answer_excerpt(esc, sizeof(esc) - 1, out, sizeof(out));
	assert_string_equal(out, "ok\\x1b[2J...");
	answer_excerpt((const uint8_t *)"0123456789abcdefghij", 20, out, sizeof(out));
	assert_string_equal(out, "0123456789ab...");
	answer_excerpt((const uint8_t *)"\x01\x02\x03\x04", 4, out, 8);
	assert_string_equal(out, "\\x01...");
	answer_excerpt((const uint8_t *)"abc", 3, out, 1);
	assert_string_equal(out, "");
}

static void feed(struct qmp_stream *q, const char *s)
{
	qmp_stream_feed(q, (const uint8_t *)s, strlen(s));
}

static void test_qmp_event_null(void **state)
{
	struct qmp_stream q;

	(void)state;
	qmp_stream_init(&q);
	/* issue 13: strcmp(NULL, "SHUTDOWN") */
	feed(&q, "{\"event\":null}\n");
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":null}\n");
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":{\"reason\":null}}\n");
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":{\"reason\":[1]}}\n");
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":\"guest-shutdown\"}\n");
	assert_int_equal(q.events, 4);
	assert_string_equal(q.shutdown_reason, "");
}

static void test_qmp_stream(void **state)
{
	static struct qmp_stream q;
	static char big[QMP_LINE_MAX + 100];

	(void)state;
	qmp_stream_init(&q);
	feed(&q, "{\"QMP\":{\"version\":{}}}\n{\"return\":{}}\n{\"event\":\"POWERDOWN\"}\n");
	assert_int_equal(q.events, 1);
	/* a line in pieces */
	feed(&q, "{\"event\":\"SHUT");
	feed(&q, "DOWN\",\"data\":{\"guest\":true,\"reason\":\"guest-shutdown\"}}");
	assert_string_equal(q.shutdown_reason, "");
	feed(&q, "\n");
	assert_string_equal(q.shutdown_reason, "guest-shutdown");
	/* an over-long line is dropped to its end: its tail is not a line of its own */
	qmp_stream_init(&q);
	memset(big, ' ', sizeof(big));
	qmp_stream_feed(&q, (const uint8_t *)big, sizeof(big));
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":{\"reason\":\"host-qmp-quit\"}}\n");
	assert_int_equal(q.events, 0);
	assert_string_equal(q.shutdown_reason, "");
	feed(&q, "{\"event\":\"SHUTDOWN\",\"data\":{\"reason\":\"guest-\\u001breset\"}}\n");
	assert_int_equal(q.events, 1);
	assert_string_equal(q.shutdown_reason, "guest-\\x1breset");
}

/* A real QEMU's QMP bytes: qemu-system-x86_64 10.0.2 (Debian
 * 1:10.0.2+ds-2+deb13u1~bpo12+1, -machine none) asked qmp_capabilities,
 * system_powerdown and quit; CRLF line ends as QEMU sends them. Also
 * tests/fuzz/corpus/launch/qemu-10.0.2-powerdown-quit. */
static const char qemu_session[] =
    "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 2, \"minor\": 0, \"major\": 10}, \"package\": "
    "\"Debian 1:10.0.2+ds-2+deb13u1~bpo12+1\"}, \"capabilities\": [\"oob\"]}}\r\n"
    "{\"return\": {}}\r\n"
    "{\"timestamp\": {\"seconds\": 1796229910, \"microseconds\": 40267}, \"event\": "
    "\"POWERDOWN\"}\r\n"
    "{\"return\": {}}\r\n"
    "{\"timestamp\": {\"seconds\": 1796229910, \"microseconds\": 340291}, \"event\": \"SHUTDOWN\", "
    "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}\r\n"
    "{\"return\": {}}\r\n";

static void test_qmp_real_qemu(void **state)
{
	static struct qmp_stream q;
	size_t n = sizeof(qemu_session) - 1;

	(void)state;
	/* in pieces of 7 bytes, as reads may cut it */
	qmp_stream_init(&q);
	for (size_t i = 0; i < n; i += 7)
		qmp_stream_feed(&q, (const uint8_t *)qemu_session + i, n - i < 7 ? n - i : 7);
	assert_int_equal(q.events, 2); /* POWERDOWN, SHUTDOWN */
	assert_string_equal(q.shutdown_reason, "host-qmp-quit");
	assert_int_equal(q.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer_boot_null), cmocka_unit_test(test_answer_outcomes),
	    cmocka_unit_test(test_answer_not_ours),  cmocka_unit_test(test_excerpt),
	    cmocka_unit_test(test_qmp_event_null),   cmocka_unit_test(test_qmp_stream),
	    cmocka_unit_test(test_qmp_real_qemu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
