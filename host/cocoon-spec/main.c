/* cocoon-spec - the spec tool: Cocoon-compatible spec hash, the prepared copy
 * the CVM is started with, and the structural checks.
 *
 *   cocoon-spec hash DIR          print the spec tree hash
 *   cocoon-spec prepare SRC OUT   make the prepared copy, print the hash
 *   cocoon-spec validate DIR      list every rule the spec breaks
 *
 * Exit codes: 0 success, 1 the spec (or the output path) was refused,
 * 2 usage error, 3 system error (I/O, memory).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cocoon-config.h"
#include "cocoon/compose.h"
#include "cocoon/cli.h"
#include "cocoon/log.h"
#include "cocoon/spechash.h"
#include "cocoon/util.h"

enum { EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_SYSTEM = 3 };

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: cocoon-spec [OPTIONS] COMMAND ARGS\n"
	    "\n"
	    "Commands:\n"
	    "  hash DIR           print the spec tree hash of DIR (Cocoon's algorithm:\n"
	    "                     the SHA-256 git tree id after .gitignore rules, without\n"
	    "                     runtime/, spec.tree, spec.meta and .gitignore files)\n"
	    "  prepare SRC OUT    copy what is hashed plus runtime/ to OUT (which must not\n"
	    "                     exist), write OUT/spec.tree and OUT/spec.meta, print the hash\n"
	    "  ls DIR             list the files that go into the hash, with git's mode and\n"
	    "                     blob id, in the layout of `git ls-files -s`\n"
	    "  validate DIR       check the structural rules and, when DIR holds a\n"
	    "                     docker-compose.yml, the Docker-mode workload rules;\n"
	    "                     list every problem found (file, line, key)\n"
	    "\n"
	    "Options:\n"
	    "  --json             machine-readable output on stdout\n"
	    "  -q, --quiet        print nothing but errors (and the hash)\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      print the version\n"
	    "\n"
	    "The source is never modified. Refused: symbolic links and other non-regular\n"
	    "files, any .git entry, files over 10 MiB outside runtime/, a spec.tree that\n"
	    "disagrees with the files.\n"
	    "\n"
	    "Exit status: 0 success, 1 spec or output refused, 2 usage error, 3 system error.\n");
}

static int exit_of(const struct cerr *err)
{
	return (err->code == EINVAL || err->code == EEXIST) ? EXIT_REFUSED : EXIT_SYSTEM;
}

static json_object *stats_json(const char *hex, const struct spec_stats *st)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "spec_tree", hex ? json_object_new_string(hex) : NULL);
	json_object_object_add(o, "files", json_object_new_int64((int64_t)st->files));
	json_object_object_add(o, "bytes", json_object_new_int64((int64_t)st->bytes));
	json_object_object_add(o, "dirs", json_object_new_int64((int64_t)st->dirs));
	json_object_object_add(o, "ignored", json_object_new_int64((int64_t)st->ignored));
	json_object_object_add(o, "runtime_files",
	                       json_object_new_int64((int64_t)st->runtime_files));
	return o;
}

struct problems {
	json_object *list; /* with --json */
	unsigned n;
};

static bool on_problem(void *ctx, const char *path, const char *msg)
{
	struct problems *p = ctx;

	p->n++;
	if (p->list) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(path));
		json_object_object_add(o, "message", json_object_new_string(msg));
		json_object_array_add(p->list, o);
	} else {
		fprintf(stderr, "%s: %s\n", path, msg);
	}
	return true;
}

static int cmd_hash(const char *dir, bool json)
{
	struct cerr err = CERR_INIT;
	struct spec_stats st;
	char hex[SPEC_HASH_HEX_LEN + 1];

	if (spec_hash_dir(dir, hex, &st, NULL, &err) < 0) {
		if (json)
			cli_print_error_json(&err);
		log_cerr(&err);
		return exit_of(&err);
	}
	if (json) {
		json_object *o = stats_json(hex, &st);
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		cli_print_json(o);
	} else {
		puts(hex);
	}
	return 0;
}

static int cmd_prepare(const char *src, const char *out, bool json)
{
	struct cerr err = CERR_INIT;
	struct spec_stats st;
	char hex[SPEC_HASH_HEX_LEN + 1];

	if (spec_prepare(src, out, hex, &st, &err) < 0) {
		if (json)
			cli_print_error_json(&err);
		log_cerr(&err);
		return exit_of(&err);
	}
	log_info("prepared '%s': %llu files, %llu bytes hashed, %llu runtime files copied", out,
	         (unsigned long long)st.files, (unsigned long long)st.bytes,
	         (unsigned long long)st.runtime_files);
	if (json) {
		json_object *o = stats_json(hex, &st);
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "output", json_object_new_string(out));
		cli_print_json(o);
	} else {
		puts(hex);
	}
	return 0;
}

struct ls_entry {
	char *path;
	unsigned mode;
	char blob[65];
};

struct ls_list {
	struct ls_entry *v;
	size_t n, cap;
	bool oom;
};

static void on_file(void *ctx, const char *path, unsigned mode, const uint8_t id[32])
{
	struct ls_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct ls_entry *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv) {
			l->oom = true;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path) {
		l->oom = true;
		return;
	}
	l->v[l->n].mode = mode;
	hex_encode(id, 32, l->v[l->n].blob);
	l->n++;
}

static int cmp_ls(const void *a, const void *b)
{
	/* git's index order: plain byte order of the whole path */
	return strcmp(((const struct ls_entry *)a)->path, ((const struct ls_entry *)b)->path);
}

static int cmd_ls(const char *dir, bool json)
{
	struct cerr err = CERR_INIT;
	struct ls_list l = {0};
	struct spec_walk_opts opts = {.on_file = on_file, .ctx = &l};
	struct spec_stats st;
	char hex[SPEC_HASH_HEX_LEN + 1];
	json_object *o = NULL, *list = NULL;
	int r = spec_hash_dir(dir, hex, &st, &opts, &err);

	if (r == 0 && l.oom)
		r = cerr_set(&err, ENOMEM, "listing '%s'", dir);
	if (r < 0) {
		if (json)
			cli_print_error_json(&err);
		log_cerr(&err);
	} else {
		qsort(l.v, l.n, sizeof(*l.v), cmp_ls);
		if (json) {
			o = stats_json(hex, &st);
			list = json_object_new_array();
		}
		for (size_t i = 0; i < l.n; i++) {
			if (!json) {
				/* the layout of `git ls-files -s`, so the two can be diffed */
				printf("%06o %s 0\t%s\n", l.v[i].mode, l.v[i].blob, l.v[i].path);
				continue;
			}
			json_object *e = json_object_new_object();

			json_object_object_add(e, "path", json_object_new_string(l.v[i].path));
			json_object_object_add(e, "mode", json_object_new_int((int)l.v[i].mode));
			json_object_object_add(e, "blob", json_object_new_string(l.v[i].blob));
			json_object_array_add(list, e);
		}
		if (json) {
			json_object_object_add(o, "ok", json_object_new_boolean(1));
			json_object_object_add(o, "entries", list);
			cli_print_json(o);
		}
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	return r < 0 ? exit_of(&err) : 0;
}

static bool on_compose_problem(void *ctx, const struct compose_problem *cp)
{
	struct problems *p = ctx;

	p->n++;
	if (p->list) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "path", json_object_new_string(cp->file));
		json_object_object_add(o, "line", json_object_new_int((int)cp->line));
		json_object_object_add(o, "key", json_object_new_string(cp->key));
		json_object_object_add(o, "message", json_object_new_string(cp->msg));
		json_object_array_add(p->list, o);
	} else if (cp->line) {
		fprintf(stderr, "%s:%u: %s%s%s\n", cp->file, cp->line, cp->key,
		        *cp->key ? ": " : "", cp->msg);
	} else {
		fprintf(stderr, "%s: %s%s%s\n", cp->file, cp->key, *cp->key ? ": " : "", cp->msg);
	}
	return true;
}

/* The workload spec rules, when the spec has a docker-compose.yml (Docker
 * mode). A symlink or other non-regular file there is already a problem of
 * the structural walk. Returns the number of problems found, or -errno for a
 * system error (err filled). */
static int validate_compose(const char *dir, struct problems *probs, struct cerr *err)
{
	struct compose_opts copts = {
	    .on_problem = on_compose_problem, .ctx = probs, .spec_dirfd = -1};
	struct stat st;
	char path[4096];
	unsigned before = probs->n;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, COMPOSE_FILE);
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	r = compose_load_dir(dir, &copts, NULL, err);
	if (r == -EINVAL && probs->n == before) {
		/* refused before parsing (too big): one problem for the whole file */
		struct compose_problem cp = {COMPOSE_FILE, 0, "", err->msg};

		on_compose_problem(probs, &cp);
	} else if (r < 0 && r != -EINVAL) {
		return r;
	}
	return (int)(probs->n - before);
}

static int cmd_validate(const char *dir, bool json)
{
	struct cerr err = CERR_INIT, cerr = CERR_INIT;
	struct problems probs = {json ? json_object_new_array() : NULL, 0};
	struct spec_walk_opts opts = {.on_problem = on_problem, .ctx = &probs};
	struct spec_stats st;
	char hex[SPEC_HASH_HEX_LEN + 1];
	int r = spec_hash_dir(dir, hex, &st, &opts, &err);
	bool ok = r == 0;
	int nc = 0;

	/* the compose rules are checked even when the walk found problems, so
	 * one run lists everything; not when the directory could not be read */
	if (r == 0 || probs.n) {
		nc = validate_compose(dir, &probs, &cerr);
		if (nc < 0) {
			err = cerr;
			ok = false;
			r = nc;
		} else if (nc > 0) {
			if (ok)
				cerr_setx(&err, EINVAL, "'%s': %d problem%s in %s", dir, nc,
				          nc == 1 ? "" : "s", COMPOSE_FILE);
			ok = false;
		}
	}

	if (json) {
		json_object *o = stats_json(ok ? hex : NULL, &st);

		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "problems", probs.list);
		if (!ok && !probs.n)
			json_object_object_add(o, "error", json_object_new_string(err.msg));
		cli_print_json(o);
	}
	if (!ok) {
		log_cerr(&err);
		return exit_of(&err);
	}
	log_info("'%s' is a valid spec: %llu files, %llu bytes, spec tree %s", dir,
	         (unsigned long long)st.files, (unsigned long long)st.bytes, hex);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false;
	const char *cmd;
	int c;

	log_init(argv[0]);
	while ((c = getopt_long(argc, argv, "qhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		default: {
			int done = cli_common_option(c, "cocoon-spec", usage);

			if (done != CLI_CONTINUE)
				return done;
			break;
		}
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	argc -= optind;
	argv += optind;
	if (!strcmp(cmd, "hash") && argc == 1)
		return cmd_hash(argv[0], json);
	if (!strcmp(cmd, "prepare") && argc == 2)
		return cmd_prepare(argv[0], argv[1], json);
	if (!strcmp(cmd, "ls") && argc == 1)
		return cmd_ls(argv[0], json);
	if (!strcmp(cmd, "validate") && argc == 1)
		return cmd_validate(argv[0], json);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	log_error("unknown command or wrong number of arguments: '%s' (see cocoon-spec --help)",
	          cmd);
	return EXIT_USAGE;
}
