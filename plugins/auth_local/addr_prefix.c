#include "addr_prefix.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

void addr_prefix(const char *addr, char *out, size_t n)
{
	unsigned char a[16];
	char text[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, addr, a) == 1) {
		snprintf(out, n, "%u.%u.%u.0/24", a[0], a[1], a[2]);
		return;
	}
	if (inet_pton(AF_INET6, addr, a) == 1) {
		if (!memcmp(a, V4_MAPPED, sizeof V4_MAPPED)) {
			snprintf(out, n, "%u.%u.%u.0/24", a[12], a[13], a[14]);
			return;
		}
		memset(a + 8, 0, 8);
		if (inet_ntop(AF_INET6, a, text, sizeof text)) {
			snprintf(out, n, "%s/64", text);
			return;
		}
	}
	snprintf(out, n, "%s", addr);
}
