/* origin.c and client_addr.c: Origin normalisation and checks, CIDR
 * matching, and the client address behind trusted proxies
 * (X-Forwarded-For). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/config.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/client_addr.h"
#include "net/origin.h"

static void test_normalize(void **state)
{
	(void)state;
	char out[ORIGIN_MAX];
	assert_int_equal(origin_normalize("https://Chat.Example.org", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "https://chat.example.org");
	assert_int_equal(origin_normalize("HTTPS://chat.example.org:443", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "https://chat.example.org");
	assert_int_equal(origin_normalize("http://chat.example.org:80", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "http://chat.example.org");
	assert_int_equal(origin_normalize("http://chat.example.org:443", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "http://chat.example.org:443");
	assert_int_equal(origin_normalize("https://chat.example.org:80", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "https://chat.example.org:80");
	assert_int_equal(origin_normalize("http://127.0.0.1:8080", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "http://127.0.0.1:8080");
	assert_int_equal(origin_normalize("http://[::1]:8080", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "http://[::1]:8080");
	assert_int_equal(origin_normalize("https://[2001:DB8::1]", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "https://[2001:db8::1]");

	/* A path is fine in public_url, never in an Origin header. */
	assert_int_equal(origin_normalize("https://chat.example.org/app/", 1, out, sizeof(out)), 0);
	assert_string_equal(out, "https://chat.example.org");
	assert_int_equal(origin_normalize("https://chat.example.org/", 0, out, sizeof(out)), -1);

	assert_int_equal(origin_normalize("null", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("ftp://x", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://:443", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://u@evil.org", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://x:0", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://x:65536", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://x:8a", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://x:", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://[::1", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize("https://[::1]x", 0, out, sizeof(out)), -1);
	assert_int_equal(origin_normalize(NULL, 0, out, sizeof(out)), -1);
	/* Too small an output buffer is an error, not a truncation. */
	assert_int_equal(origin_normalize("https://chat.example.org", 0, out, 10), -1);
}

static void test_check_listed(void **state)
{
	(void)state;
	char *origins[] = {"https://chat.example.org", "http://localhost:8080"};
	struct config cfg = {0};
	cfg.origins = origins;
	cfg.n_origins = 2;
	cfg.public_url = "https://ignored.example.org";

	assert_true(origin_check(&cfg, NULL, "whatever", 0)); /* not a browser */
	assert_true(origin_check(&cfg, "https://chat.example.org", NULL, 0));
	assert_true(origin_check(&cfg, "https://CHAT.example.org:443", NULL, 0));
	assert_true(origin_check(&cfg, "http://localhost:8080", NULL, 0));
	assert_false(origin_check(&cfg, "http://chat.example.org", NULL, 0));
	assert_false(origin_check(&cfg, "https://chat.example.org:8443", NULL, 0));
	assert_false(origin_check(&cfg, "https://chat.example.org.evil.org", NULL, 0));
	assert_false(origin_check(&cfg, "https://ignored.example.org", NULL, 0));
	/* Listed origins win over the Host. */
	assert_false(origin_check(&cfg, "http://127.0.0.1:9000", "127.0.0.1:9000", 0));
	assert_false(origin_check(&cfg, "null", NULL, 0));
}

static void test_check_public_url(void **state)
{
	(void)state;
	struct config cfg = {0};
	cfg.public_url = "https://chat.example.org/";
	assert_true(origin_check(&cfg, "https://chat.example.org", "chat.example.org", 1));
	assert_true(origin_check(&cfg, "https://chat.example.org:443", "other", 0));
	assert_false(origin_check(&cfg, "http://chat.example.org", "chat.example.org", 0));
	assert_false(origin_check(&cfg, "http://127.0.0.1:9000", "127.0.0.1:9000", 0));
}

static void test_check_same_host(void **state)
{
	(void)state;
	struct config cfg = {0};
	assert_true(origin_check(&cfg, "http://127.0.0.1:9000", "127.0.0.1:9000", 0));
	assert_false(origin_check(&cfg, "https://127.0.0.1:9000", "127.0.0.1:9000", 0));
	/* Not loopback: a name that resolves here is not trusted by its Host
	 * alone (DNS rebinding); such a server sets public_url or origins. */
	assert_false(origin_check(&cfg, "https://chat.example.org", "Chat.Example.org:443", 1));
	assert_false(origin_check(&cfg, "http://chat.example.org", "chat.example.org", 0));
	assert_true(origin_check(&cfg, "http://localhost:9000", "LOCALHOST:9000", 0));
	assert_true(origin_check(&cfg, "https://localhost", "localhost:443", 1));
	assert_false(origin_check(&cfg, "http://localhost:9001", "localhost:9000", 0));
	assert_false(origin_check(&cfg, "http://localhost.evil.org", "localhost.evil.org", 0));
	assert_false(origin_check(&cfg, "http://127.0.0.1.evil.org", "127.0.0.1.evil.org", 0));
	assert_false(origin_check(&cfg, "http://evil.example.org", "chat.example.org", 0));
	assert_true(origin_check(&cfg, "http://[::1]:9000", "[::1]:9000", 0));
	assert_false(origin_check(&cfg, "http://chat.example.org", NULL, 0));
	assert_false(origin_check(&cfg, "http://chat.example.org", "", 0));
	assert_false(origin_check(&cfg, "http://chat.example.org", "chat.example.org/x", 0));
	assert_false(origin_check(NULL, "http://a", NULL, 0));
}

/* origin_allowed reads the real request's headers and conn. */
static void test_allowed_request(void **state)
{
	(void)state;
	struct config cfg = {0};
	conn c = {0};
	struct http_request req = {0};
	req.c = &c;
	req.method = "GET";
	req.headers[0].name = "host";
	req.headers[0].value = "127.0.0.1:8080";
	req.n_headers = 1;
	assert_true(origin_allowed(&cfg, &req));

	req.headers[1].name = "origin";
	req.headers[1].value = "http://127.0.0.1:8080";
	req.n_headers = 2;
	assert_true(origin_allowed(&cfg, &req));
	c.tls = 1;
	assert_false(origin_allowed(&cfg, &req));
	req.headers[1].value = "https://127.0.0.1:8080";
	assert_true(origin_allowed(&cfg, &req));
	req.headers[1].value = "https://evil.example.org";
	assert_false(origin_allowed(&cfg, &req));
}

static void test_cidr(void **state)
{
	(void)state;
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", "10.1.2.3"), 1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", "11.1.2.3"), 0);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", "::ffff:10.1.2.3"), 1);
	assert_int_equal(client_addr_cidr_match("192.168.1.0/24", "192.168.1.255"), 1);
	assert_int_equal(client_addr_cidr_match("192.168.1.0/24", "192.168.2.0"), 0);
	assert_int_equal(client_addr_cidr_match("192.168.1.128/25", "192.168.1.127"), 0);
	assert_int_equal(client_addr_cidr_match("192.168.1.128/25", "192.168.1.200"), 1);
	assert_int_equal(client_addr_cidr_match("127.0.0.1", "127.0.0.1"), 1);
	assert_int_equal(client_addr_cidr_match("127.0.0.1", "127.0.0.2"), 0);
	assert_int_equal(client_addr_cidr_match("0.0.0.0/0", "8.8.8.8"), 1);
	assert_int_equal(client_addr_cidr_match("0.0.0.0/0", "::1"), 0);
	assert_int_equal(client_addr_cidr_match("::1/128", "::1"), 1);
	assert_int_equal(client_addr_cidr_match("::1", "::2"), 0);
	assert_int_equal(client_addr_cidr_match("2001:db8::/32", "2001:db8:ffff::1"), 1);
	assert_int_equal(client_addr_cidr_match("2001:db8::/32", "2001:db9::1"), 0);
	assert_int_equal(client_addr_cidr_match("fc00::/7", "fd12::1"), 1);
	assert_int_equal(client_addr_cidr_match("fc00::/7", "fe00::1"), 0);
	assert_int_equal(client_addr_cidr_match("::ffff:10.0.0.0/104", "10.9.9.9"), 1);
	assert_int_equal(client_addr_cidr_match("fe80::/10", "fe80::1%eth0"), 1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", "2001:db8::1"), 0);

	assert_int_equal(client_addr_cidr_match("10.0.0.0/33", "10.0.0.1"), -1);
	assert_int_equal(client_addr_cidr_match("::/129", "::1"), -1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/", "10.0.0.1"), -1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/-1", "10.0.0.1"), -1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8x", "10.0.0.1"), -1);
	assert_int_equal(client_addr_cidr_match("bogus/8", "10.0.0.1"), -1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", "bogus"), -1);
	assert_int_equal(client_addr_cidr_match("10.0.0.0/8", ""), -1);
}

static void test_forwarded_for(void **state)
{
	(void)state;
	char *trusted[] = {"10.0.0.0/8", "::1"};
	char buf[ORIGIN_MAX];

	/* Untrusted peer: its header is not believed. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "203.0.113.9", "1.2.3.4", buf, sizeof(buf)),
	    "203.0.113.9");
	/* No trusted proxies at all. */
	assert_string_equal(client_addr_forwarded(NULL, 0, "10.0.0.1", "1.2.3.4", buf, sizeof(buf)),
	                    "10.0.0.1");
	/* Trusted peer, no header. */
	assert_string_equal(client_addr_forwarded(trusted, 2, "10.0.0.1", NULL, buf, sizeof(buf)),
	                    "10.0.0.1");
	/* The right-most untrusted entry: the client cannot forge what the
	 * proxy appended. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "10.0.0.1", "6.6.6.6, 1.2.3.4", buf, sizeof(buf)),
	    "1.2.3.4");
	/* Trusted hops are skipped. */
	assert_string_equal(client_addr_forwarded(trusted, 2, "10.0.0.1",
	                                          "6.6.6.6,1.2.3.4 , 10.2.2.2,10.3.3.3", buf,
	                                          sizeof(buf)),
	                    "1.2.3.4");
	/* All trusted: the left-most. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "10.0.0.1", "10.9.9.9, 10.2.2.2", buf, sizeof(buf)),
	    "10.9.9.9");
	/* IPv6 peer and entries, with brackets and ports. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "::1", "[2001:db8::5]:4711", buf, sizeof(buf)),
	    "2001:db8::5");
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "::1", "2001:db8::5", buf, sizeof(buf)),
	    "2001:db8::5");
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "::1", "1.2.3.4:5678", buf, sizeof(buf)), "1.2.3.4");
	/* A dual-stack socket's mapped peer address is trusted too. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "::ffff:10.0.0.1", "1.2.3.4", buf, sizeof(buf)),
	    "1.2.3.4");
	/* Garbage ends the walk at the last trusted address. */
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "10.0.0.1", "1.2.3.4, junk", buf, sizeof(buf)),
	    "10.0.0.1");
	assert_string_equal(
	    client_addr_forwarded(trusted, 2, "10.0.0.1", "junk, 10.4.4.4", buf, sizeof(buf)),
	    "10.4.4.4");
	assert_string_equal(client_addr_forwarded(trusted, 2, "10.0.0.1", "", buf, sizeof(buf)),
	                    "10.0.0.1");
	assert_string_equal(client_addr_forwarded(trusted, 2, "10.0.0.1", ",", buf, sizeof(buf)),
	                    "10.0.0.1");
}

static void test_client_addr_request(void **state)
{
	(void)state;
	char *trusted[] = {"127.0.0.0/8"};
	struct config cfg = {0};
	cfg.trusted_proxies = trusted;
	cfg.n_trusted_proxies = 1;
	conn c = {0};
	strcpy(c.peer_ip, "127.0.0.1");
	struct http_request req = {0};
	req.c = &c;
	char buf[ORIGIN_MAX];
	assert_string_equal(origin_client_addr(&cfg, &req, buf, sizeof(buf)), "127.0.0.1");
	req.headers[0].name = "x-forwarded-for";
	req.headers[0].value = "198.51.100.7";
	req.n_headers = 1;
	assert_string_equal(origin_client_addr(&cfg, &req, buf, sizeof(buf)), "198.51.100.7");
	strcpy(c.peer_ip, "192.0.2.1");
	assert_string_equal(origin_client_addr(&cfg, &req, buf, sizeof(buf)), "192.0.2.1");
	assert_string_equal(origin_client_addr(NULL, &req, buf, sizeof(buf)), "192.0.2.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_normalize),        cmocka_unit_test(test_check_listed),
	    cmocka_unit_test(test_check_public_url), cmocka_unit_test(test_check_same_host),
	    cmocka_unit_test(test_allowed_request),  cmocka_unit_test(test_cidr),
	    cmocka_unit_test(test_forwarded_for),    cmocka_unit_test(test_client_addr_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
