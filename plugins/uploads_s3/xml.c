/* Just enough XML for S3's answers: the text of one element. The answers
 * are small (bounded by request.c) and flat; no general parser needed. */
#include <string.h>

#include "s3.h"

int s3_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t n)
{
	char open[64], close[64];
	size_t tl = strlen(tag);
	if (!xml || tl + 4 > sizeof open || n == 0)
		return -1;
	memcpy(open, "<", 1);
	memcpy(open + 1, tag, tl);
	memcpy(open + 1 + tl, ">", 2);
	memcpy(close, "</", 2);
	memcpy(close + 2, tag, tl);
	memcpy(close + 2 + tl, ">", 2);
	const char *s = memmem(xml, len, open, tl + 2);
	if (!s)
		return -1;
	s += tl + 2;
	const char *e = memmem(s, len - (size_t)(s - xml), close, tl + 3);
	if (!e)
		return -1;
	size_t o = 0;
	static const struct {
		const char *ent;
		char ch;
	} ents[] = {
	    {"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}};
	while (s < e) {
		char ch = *s++;
		if (ch == '&') {
			for (size_t i = 0; i < sizeof ents / sizeof ents[0]; i++) {
				size_t el = strlen(ents[i].ent) - 1;
				if ((size_t)(e - s) >= el && memcmp(s, ents[i].ent + 1, el) == 0) {
					ch = ents[i].ch;
					s += el;
					break;
				}
			}
		}
		if (o + 1 >= n)
			return -1;
		out[o++] = ch;
	}
	out[o] = '\0';
	return 0;
}
