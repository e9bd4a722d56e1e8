/* The preview fields of an HTML page's head: Open Graph (og:title,
 * og:description, og:image, og:site_name), Twitter cards as a fallback,
 * then <title> and <meta name="description">. Not an HTML parser: a scanner
 * of tags up to </head> or <body, with limits on what it reads (bytes, tags,
 * attributes) and on what it keeps (each field cut at a UTF-8 boundary,
 * entities decoded, whitespace collapsed, control characters and invalid
 * UTF-8 dropped), so its output is safe to put in a JSON string. */
#ifndef PARLEY_HTML_META_H
#define PARLEY_HTML_META_H

#include <stddef.h>

#define HTML_META_SCAN_MAX  (512 * 1024) /* bytes looked at */
#define HTML_META_TAGS_MAX  4000         /* tags looked at */
#define HTML_META_ATTRS_MAX 32           /* attributes read per tag */
#define HTML_META_TITLE_MAX 300          /* bytes kept, each field */
#define HTML_META_DESC_MAX  600
#define HTML_META_URL_MAX   2048

struct html_meta {
	char title[HTML_META_TITLE_MAX + 1];
	char description[HTML_META_DESC_MAX + 1];
	char image[HTML_META_URL_MAX + 1]; /* as written: may be relative */
	char site_name[HTML_META_TITLE_MAX + 1];
	/* internal: the rank of the source each field came from */
	int rank[4];
};

/* Fills *out (all fields "" when none) from html[0..len). */
void html_meta_parse(const char *html, size_t len, struct html_meta *out);

#endif
