/* token_hash: the hex SHA-256 of a credential (FIPS 180-2 test vectors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/token_hash.h"

static void test_known_vectors(void **state)
{
	(void)state;
	char out[TOKEN_HASH_HEX + 1];
	token_hash_hex("abc", out);
	assert_string_equal(out,
	                    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	token_hash_hex("", out);
	assert_string_equal(out,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	token_hash_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", out);
	assert_string_equal(out,
	                    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_lowercase_hex_of_fixed_length(void **state)
{
	(void)state;
	char a[TOKEN_HASH_HEX + 1], b[TOKEN_HASH_HEX + 1];
	memset(a, 'Z', sizeof a);
	token_hash_hex("a session token", a);
	assert_int_equal(strlen(a), TOKEN_HASH_HEX);
	assert_int_equal(strspn(a, "0123456789abcdef"), TOKEN_HASH_HEX);
	/* One character apart: unrelated hashes. */
	token_hash_hex("a session tokem", b);
	assert_string_not_equal(a, b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_vectors),
	    cmocka_unit_test(test_lowercase_hex_of_fixed_length),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
