/* fuzz_health_request.c - libFuzzer target for health_request_parse(), the
 * request frame health-monitor reads from the host.
 *
 * Any bytes give a request or a refusal with a message. An accepted request
 * has a known command, a service from the allowlist (or none), a line count
 * in 1..HEALTH_LOGS_MAX, and came from printable ASCII and spaces only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct health_services allow;
	static bool have_allow;
	struct cerr err = CERR_INIT;
	struct health_request req;
	int r;

	if (!have_allow) {
		if (health_services_parse(HEALTH_DEFAULT_SERVICES, &allow, &err) < 0)
			abort();
		have_allow = true;
	}
	r = health_request_parse(data, size, &allow, &req, &err);
	if (r < 0) {
		if (err.msg[0] == '\0' || strlen(err.msg) >= sizeof(err.msg))
			abort();
		return 0;
	}
	if (size > HEALTH_REQUEST_MAX || req.cmd < HCMD_STATUS || req.cmd > HCMD_CONTAINERS ||
	    !strcmp(health_cmd_name(req.cmd), "?"))
		abort();
	if (req.svc[0] && !health_services_has(&allow, req.svc))
		abort();
	if (req.lines < 1 || req.lines > HEALTH_LOGS_MAX)
		abort();
	for (size_t i = 0; i < size; i++)
		if (data[i] != ' ' && (data[i] < 0x21 || data[i] > 0x7e))
			abort();
	return 0;
}
