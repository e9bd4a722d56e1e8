/* Mail templates: <dir>/<kind>.txt (first line "Subject: …", then the
 * plain-text body) and <dir>/<kind>.html. {{name}} is replaced by the
 * variable's value, HTML-escaped in .html files; an unknown name renders
 * as nothing. */
#ifndef EMAIL_TEMPLATE_H
#define EMAIL_TEMPLATE_H

#include <stddef.h>

#define EMAIL_TEMPLATE_MAX (64 * 1024) /* bytes of one template file */
#define EMAIL_KIND_MAX     64

struct email_rendered {
	char *subject, *text, *html; /* malloc'd */
};

/* vars: n pairs (vars[2i] name, vars[2i+1] value; a NULL value is empty).
 * 0, or -1 with a reason in err. */
int email_template_render(const char *dir, const char *kind, const char *const *vars, size_t n,
                          struct email_rendered *out, char *err, size_t err_len);
void email_rendered_free(struct email_rendered *r);
/* 1 when kind is a safe template name ([a-z0-9_], not empty). */
int email_kind_valid(const char *kind);

#endif
