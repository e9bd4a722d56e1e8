#include "addr_prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void ipv4(const unsigned char *a, int level, char *out, size_t n)
{
	if (level >= 2)
		snprintf(out, n, "%u.%u.0.0/16", a[0], a[1]);
	else
		snprintf(out, n, "%u.%u.%u.0/24", a[0], a[1], a[2]);
}

void addr_prefix(const char *addr, int level, char *out, size_t n)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];
	size_t keep = level >= 2 ? 6 : 8; /* bytes: /48 or /64 */

	if (inet_pton(AF_INET, addr, a) == 1) {
		ipv4(a, level, out, n);
		return;
	}
	if (inet_pton(AF_INET6, addr, a) == 1) {
		if (!memcmp(a, V4_MAPPED, sizeof V4_MAPPED)) {
			ipv4(a + 12, level, out, n);
			return;
		}
		memset(a + keep, 0, sizeof a - keep);
		if (inet_ntop(AF_INET6, a, text, sizeof text)) {
			snprintf(out, n, "%s/%zu", text, keep * 8);
			return;
		}
	}
	snprintf(out, n, "%s", addr);
}
