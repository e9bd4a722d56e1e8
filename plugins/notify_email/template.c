/* Template files, read at each send (they are small, and editing one takes
 * effect without a restart). The substitution is a single pass: values are
 * never re-scanned, so a value holding "{{link}}" stays text. */
#include "template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define EMAIL_VAR_NAME_MAX 64
#define SUBJECT_PREFIX     "Subject:"

int email_kind_valid(const char *kind)
{
	size_t n = strlen(kind);
	if (n == 0 || n > EMAIL_KIND_MAX)
		return 0;
	for (const char *p = kind; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static char *read_file(const char *path, char *err, size_t err_len)
{
	char *data = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, err_len, "cannot open template %s: %s", path, strerror(errno));
		return NULL;
	}
	data = malloc(EMAIL_TEMPLATE_MAX + 1);
	if (!data) {
		snprintf(err, err_len, "out of memory");
		goto done;
	}
	size_t n = fread(data, 1, EMAIL_TEMPLATE_MAX + 1, f);
	if (ferror(f) || n > EMAIL_TEMPLATE_MAX) {
		snprintf(err, err_len, "template %s: %s", path,
		         ferror(f) ? "read error" : "larger than the limit");
		free(data);
		data = NULL;
		goto done;
	}
	data[n] = '\0';
done:
	fclose(f);
	return data;
}

static void html_escape(struct buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(b, "&amp;");
			break;
		case '<':
			buf_puts(b, "&lt;");
			break;
		case '>':
			buf_puts(b, "&gt;");
			break;
		case '"':
			buf_puts(b, "&quot;");
			break;
		case '\'':
			buf_puts(b, "&#39;");
			break;
		default:
			buf_put(b, s, 1);
		}
	}
}

static const char *var_value(const char *const *vars, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (vars[2 * i] && strlen(vars[2 * i]) == len &&
		    memcmp(vars[2 * i], name, len) == 0)
			return vars[2 * i + 1] ? vars[2 * i + 1] : "";
	return "";
}

static char *substitute(const char *tpl, const char *const *vars, size_t n, int html)
{
	struct buf b = {0};
	const char *p = tpl;
	while (*p) {
		const char *open = strstr(p, "{{");
		const char *close = open ? strstr(open + 2, "}}") : NULL;
		if (!open || !close || close - open - 2 > EMAIL_VAR_NAME_MAX) {
			buf_puts(&b, p);
			break;
		}
		buf_put(&b, p, (size_t)(open - p));
		const char *name = open + 2, *end = close;
		while (*name == ' ')
			name++;
		while (end > name && end[-1] == ' ')
			end--;
		const char *v = var_value(vars, n, name, (size_t)(end - name));
		/* "*_html" values are HTML the plugin built and escaped itself
		 * (notify_email.c refuses them from callers). */
		int raw = end - name > 5 && memcmp(end - 5, "_html", 5) == 0;
		if (html && !raw)
			html_escape(&b, v);
		else
			buf_puts(&b, v);
		p = close + 2;
	}
	return buf_take(&b, NULL);
}

int email_template_render(const char *dir, const char *kind, const char *const *vars, size_t n,
                          struct email_rendered *out, char *err, size_t err_len)
{
	char path[4096];
	char *txt = NULL, *html = NULL;
	memset(out, 0, sizeof *out);
	if (!email_kind_valid(kind)) {
		snprintf(err, err_len, "bad notification kind");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s.txt", dir, kind);
	if (!(txt = read_file(path, err, err_len)))
		goto error;
	snprintf(path, sizeof path, "%s/%s.html", dir, kind);
	if (!(html = read_file(path, err, err_len)))
		goto error;
	if (strncmp(txt, SUBJECT_PREFIX, strlen(SUBJECT_PREFIX)) != 0) {
		snprintf(err, err_len, "template %s/%s.txt: the first line must be \"Subject: …\"",
		         dir, kind);
		goto error;
	}
	/* The subject line and the body render apart, so a value with a line
	 * break stays inside the subject, where the caller refuses it. */
	char *s = txt + strlen(SUBJECT_PREFIX), *nl = strchr(txt, '\n');
	while (*s == ' ')
		s++;
	const char *body = nl ? nl + 1 : "";
	if (*body == '\n')
		body++;
	else if (body[0] == '\r' && body[1] == '\n')
		body += 2;
	if (nl) {
		*nl = '\0';
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
	}
	if (!(out->subject = substitute(s, vars, n, 0)) ||
	    !(out->text = substitute(body, vars, n, 0)) ||
	    !(out->html = substitute(html, vars, n, 1))) {
		snprintf(err, err_len, "out of memory");
		goto error;
	}
	free(txt);
	free(html);
	return 0;
error:
	free(txt);
	free(html);
	email_rendered_free(out);
	return -1;
}

void email_rendered_free(struct email_rendered *r)
{
	free(r->subject);
	free(r->text);
	free(r->html);
	memset(r, 0, sizeof *r);
}
