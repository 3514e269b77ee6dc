/* gitignore.c - git's ignore rules; see cocoon/gitignore.h.
 *
 * Written from git's documented behaviour (gitignore(5)) and checked against
 * the git binary by tests/integration/spec-vs-git.py, which compares whole
 * tree ids on generated trees. Two details of git that look like accidents
 * are kept on purpose because the hash depends on them:
 *  - an anchored pattern is matched in two steps: its leading literal part is
 *    compared as a plain prefix, and only the rest goes to wildmatch, so a
 *    `**` that starts the rest counts as being "at a slash";
 *  - a CR before the LF ends the line, but other trailing white space than
 *    the space character is part of the pattern.
 */
#include "cocoon/gitignore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- wildmatch ---------------------------------------------------------- */

static bool is_glob_special(unsigned char c)
{
	return c == '*' || c == '?' || c == '[' || c == '\\';
}

static bool in_class(const char *name, size_t n, unsigned char t)
{
#define IS(s) (n == sizeof(s) - 1 && !memcmp(name, s, n))
	bool alpha = (t >= 'a' && t <= 'z') || (t >= 'A' && t <= 'Z');
	bool digit = t >= '0' && t <= '9';

	if (IS("alnum"))
		return alpha || digit;
	if (IS("alpha"))
		return alpha;
	if (IS("blank"))
		return t == ' ' || t == '\t';
	if (IS("cntrl"))
		return t < 0x20 || t == 0x7f;
	if (IS("digit"))
		return digit;
	if (IS("graph"))
		return t > 0x20 && t < 0x7f;
	if (IS("lower"))
		return t >= 'a' && t <= 'z';
	if (IS("print"))
		return t >= 0x20 && t < 0x7f;
	if (IS("punct"))
		return t > 0x20 && t < 0x7f && !alpha && !digit;
	if (IS("space"))
		return t == ' ' || (t >= '\t' && t <= '\r');
	if (IS("upper"))
		return t >= 'A' && t <= 'Z';
	if (IS("xdigit"))
		return digit || (t >= 'a' && t <= 'f') || (t >= 'A' && t <= 'F');
#undef IS
	return false;
}

static bool class_known(const char *name, size_t n)
{
	static const char *const names[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
	                                    "lower", "print", "punct", "space", "upper", "xdigit"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && !memcmp(names[i], name, n))
			return true;
	return false;
}

/* A bracket expression starting just after '['. On return *pp points at the
 * closing ']'. Returns WM_MATCH / WM_NOMATCH for character t, or WM_ABORT_ALL
 * when the expression is not terminated (then nothing later can match). */
static int match_bracket(const unsigned char **pp, unsigned char t, unsigned flags)
{
	const unsigned char *p = *pp;
	unsigned char c = *p, prev = 0;
	bool negated = false, matched = false;

	if (c == '^' || c == '!') {
		negated = true;
		c = *++p;
	}
	/* the first member is taken literally even when it is ']' */
	do {
		if (!c)
			return WM_ABORT_ALL;
		if (c == '\\') {
			c = *++p;
			if (!c)
				return WM_ABORT_ALL;
			if (t == c)
				matched = true;
		} else if (c == '-' && prev && p[1] && p[1] != ']') {
			c = *++p;
			if (c == '\\') {
				c = *++p;
				if (!c)
					return WM_ABORT_ALL;
			}
			if (t >= prev && t <= c)
				matched = true;
			c = 0; /* a range end does not start another range */
		} else if (c == '[' && p[1] == ':') {
			const unsigned char *s = p + 2, *e = s;

			while (*e && *e != ']')
				e++;
			if (!*e)
				return WM_ABORT_ALL;
			if (e - s < 1 || e[-1] != ':') {
				/* not "[:name:]": a plain '[' member */
				if (t == '[')
					matched = true;
			} else {
				size_t n = (size_t)(e - s - 1);

				if (!class_known((const char *)s, n))
					return WM_ABORT_ALL;
				if (in_class((const char *)s, n, t))
					matched = true;
				p = e;
				c = 0;
			}
		} else if (t == c) {
			matched = true;
		}
		prev = c;
		c = *++p;
	} while (c != ']');
	*pp = p;
	if (matched == negated || ((flags & WM_PATHNAME) && t == '/'))
		return WM_NOMATCH;
	return WM_MATCH;
}

static int dowild(const unsigned char *p, const unsigned char *text, const unsigned char *pstart,
                  unsigned flags)
{
	for (; *p; text++, p++) {
		unsigned char t = *text, pc = *p;
		bool match_slash;
		int r;

		if (!t && pc != '*')
			return WM_ABORT_ALL;
		switch (pc) {
		case '\\':
			pc = *++p;
			if (t != pc)
				return WM_NOMATCH;
			continue;
		case '?':
			if ((flags & WM_PATHNAME) && t == '/')
				return WM_NOMATCH;
			continue;
		case '[':
			p++;
			r = match_bracket(&p, t, flags);
			if (r != WM_MATCH)
				return r;
			continue;
		case '*':
			if (p[1] == '*') {
				const unsigned char *before = p - 1;

				while (p[1] == '*')
					p++;
				p++;
				/* "**" counts only alone between slashes (or the ends) */
				if ((before < pstart || *before == '/') &&
				    (!*p || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
					/* "**" + "/" may match no directory at all */
					if (*p == '/' &&
					    dowild(p + 1, text, pstart, flags) == WM_MATCH)
						return WM_MATCH;
					match_slash = true;
				} else {
					match_slash = !(flags & WM_PATHNAME);
				}
			} else {
				p++;
				match_slash = !(flags & WM_PATHNAME);
			}
			if (!*p) {
				/* trailing star: the rest matches unless it crosses a '/' */
				if (!match_slash && strchr((const char *)text, '/'))
					return WM_ABORT_TO_STARSTAR;
				return WM_MATCH;
			}
			if (!match_slash && *p == '/') {
				/* a single star before a slash eats up to the next slash */
				const char *slash = strchr((const char *)text, '/');

				if (!slash)
					return WM_ABORT_ALL;
				text = (const unsigned char *)slash;
				continue; /* the loop step consumes both slashes */
			}
			for (; (t = *text) != 0; text++) {
				r = dowild(p, text, pstart, flags);
				if (r != WM_NOMATCH) {
					if (!match_slash || r != WM_ABORT_TO_STARSTAR)
						return r;
				} else if (!match_slash && t == '/') {
					return WM_ABORT_TO_STARSTAR;
				}
			}
			return WM_ABORT_ALL;
		default:
			if (t != pc)
				return WM_NOMATCH;
			continue;
		}
	}
	return *text ? WM_NOMATCH : WM_MATCH;
}

int wildmatch(const char *pattern, const char *text, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)pattern;

	return dowild(p, (const unsigned char *)text, p, flags) == WM_MATCH ? WM_MATCH : WM_NOMATCH;
}

/* ---- patterns ------------------------------------------------------------ */

/* Removes unescaped trailing spaces (only ' ', as git does). */
static void trim_trailing_spaces(char *s)
{
	char *last_space = NULL;

	for (char *p = s; *p; p++) {
		if (*p == ' ') {
			if (!last_space)
				last_space = p;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (!*p)
				return;
		}
		last_space = NULL;
	}
	if (last_space)
		*last_space = '\0';
}

static size_t simple_length(const char *s)
{
	size_t n = 0;

	while (s[n] && !is_glob_special((unsigned char)s[n]))
		n++;
	return n;
}

static int add_pattern(struct gi_list *l, const char *line, struct cerr *err)
{
	struct gi_pattern *np, *x;
	unsigned flags = 0;
	size_t len;

	if (*line == '!') {
		flags |= GI_NEGATIVE;
		line++;
	}
	len = strlen(line);
	if (len && line[len - 1] == '/') {
		len--;
		flags |= GI_MUSTBEDIR;
	}
	if (!memchr(line, '/', len))
		flags |= GI_NODIR;

	np = realloc(l->v, (l->n + 1) * sizeof(*l->v));
	if (!np)
		return cerr_set(err, ENOMEM, "parsing .gitignore in '%s'", l->base);
	l->v = np;
	x = &l->v[l->n];
	x->pat = strndup(line, len);
	if (!x->pat)
		return cerr_set(err, ENOMEM, "parsing .gitignore in '%s'", l->base);
	x->len = len;
	x->nowildcardlen = simple_length(x->pat);
	x->flags = flags;
	l->n++;
	return 0;
}

int gi_list_parse(struct gi_list *l, const char *base, const char *text, size_t len,
                  struct cerr *err)
{
	size_t i = 0;
	char *line;
	int r = 0;

	memset(l, 0, sizeof(*l));
	l->base = strdup(base);
	if (!l->base)
		return cerr_set(err, ENOMEM, "parsing .gitignore");
	l->baselen = strlen(base);
	line = malloc(len + 1);
	if (!line)
		return cerr_set(err, ENOMEM, "parsing .gitignore in '%s'", base);

	/* a UTF-8 byte order mark at the start is skipped */
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3;
	while (i < len && r == 0) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - i;

		/* git only takes lines that end in a newline, except the last */
		if (n > 0 && text[i] != '#') {
			memcpy(line, text + i, n);
			if (nl && line[n - 1] == '\r')
				n--;
			line[n] = '\0';
			/* NUL bytes end the pattern early, as they do for git */
			trim_trailing_spaces(line);
			r = add_pattern(l, line, err);
		}
		i = end + 1;
	}
	free(line);
	return r;
}

void gi_list_free(struct gi_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].pat);
	free(l->v);
	free(l->base);
	memset(l, 0, sizeof(*l));
}

static bool match_pathname(const char *path, size_t pathlen, const struct gi_list *l,
                           const struct gi_pattern *x)
{
	const char *pat = x->pat;
	size_t prefix = x->nowildcardlen, patlen = x->len;
	size_t baselen = l->baselen ? l->baselen - 1 : 0; /* without the slash */
	const char *name;
	size_t namelen;

	if (*pat == '/') {
		pat++;
		patlen--;
		if (prefix)
			prefix--;
	}
	if (pathlen < baselen + 1 || (baselen && path[baselen] != '/') ||
	    memcmp(path, l->base, baselen))
		return false;
	namelen = baselen ? pathlen - baselen - 1 : pathlen;
	name = path + pathlen - namelen;
	if (prefix) {
		if (prefix > namelen || memcmp(pat, name, prefix))
			return false;
		pat += prefix;
		patlen -= prefix;
		name += prefix;
		namelen -= prefix;
		if (!patlen && !namelen)
			return true;
	}
	/* the pattern part is NUL-terminated at patlen: x->pat ends there */
	return wildmatch(pat, name, WM_PATHNAME) == WM_MATCH;
}

enum gi_verdict gi_list_match(const struct gi_list *l, const char *path, size_t pathlen,
                              bool is_dir)
{
	const char *slash = memrchr(path, '/', pathlen);
	const char *basename = slash ? slash + 1 : path;

	for (size_t i = l->n; i-- > 0;) {
		const struct gi_pattern *x = &l->v[i];
		bool hit;

		if ((x->flags & GI_MUSTBEDIR) && !is_dir)
			continue;
		if (x->flags & GI_NODIR)
			hit = wildmatch(x->pat, basename, 0) == WM_MATCH;
		else
			hit = match_pathname(path, pathlen, l, x);
		if (hit)
			return (x->flags & GI_NEGATIVE) ? GI_INCLUDE : GI_EXCLUDE;
	}
	return GI_UNDECIDED;
}

enum gi_verdict gi_stack_match(struct gi_list *const *lists, size_t n, const char *path,
                               size_t pathlen, bool is_dir)
{
	for (size_t i = n; i-- > 0;) {
		enum gi_verdict v;

		if (!lists[i])
			continue;
		v = gi_list_match(lists[i], path, pathlen, is_dir);

		if (v != GI_UNDECIDED)
			return v;
	}
	return GI_UNDECIDED;
}
