/* workload.c - step 9's reading of cocoon-workload's state file: whether
 * every service of the measured spec is running yet.
 *
 * cocoon-workload writes /run/cocoon/workload-state.json (format in
 * docs/health.md) once every service was started, then every few seconds.
 * cocoon-init writes `ready` only when that file names each service of its
 * own copy of the spec with state "running"; until then it reports what the
 * file says, so that a boot that times out names the service that held it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "init.h"

static const char *str_field(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int init_workload_check(const char *text, size_t len, const struct compose_spec *spec, char *why,
                        size_t why_len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *top = NULL, *svcs;
	int r = 1;

	if (!tok)
		return -ENOMEM;
	top = json_tokener_parse_ex(tok, text, (int)(len > 1 << 20 ? 1 << 20 : len));
	json_tokener_free(tok);
	if (!top || !json_object_object_get_ex(top, "services", &svcs) ||
	    !json_object_is_type(svcs, json_type_array)) {
		snprintf(why, why_len, "the workload state file is not valid");
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < spec->n_svc && r == 1; i++) {
		const char *name = spec->svc[i].name, *state = NULL, *error = NULL;
		size_t n = json_object_array_length(svcs);

		for (size_t j = 0; j < n; j++) {
			json_object *s = json_object_array_get_idx(svcs, j);
			const char *sn = str_field(s, "name");

			if (sn && !strcmp(sn, name)) {
				state = str_field(s, "state");
				error = str_field(s, "error");
				break;
			}
		}
		if (!state) {
			snprintf(why, why_len, "service %s is not in the workload state", name);
			r = 0;
		} else if (strcmp(state, "running")) {
			snprintf(why, why_len, "service %s is %s%s%s", name, state,
			         error && *error ? ": " : "", error && *error ? error : "");
			r = 0;
		}
	}
out:
	if (top)
		json_object_put(top);
	return r;
}
