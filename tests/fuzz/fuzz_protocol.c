/* libFuzzer target: the JSON protocol decoder (proto_decode) and the typed
 * field getters every request handler uses, on arbitrary frame text. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "chat/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_frame f;
	char err[PROTO_ERR_LEN];
	if (proto_decode((const char *)data, size, &f, err, sizeof err) == 0) {
		const char *s;
		int64_t i;
		int b;
		proto_get_str(f.root, "room", 0, PROTO_MAX_ID, &s, err, sizeof err);
		if (proto_get_str(f.root, "text", 0, 0, &s, err, sizeof err) == 1)
			(void)proto_utf8_len(s);
		proto_get_int(f.root, "before", 0, &i, err, sizeof err);
		proto_get_bool(f.root, "on", 0, &b, err, sizeof err);
		json_t *e = proto_error(f.rid, "bad_request", err);
		char *out = proto_dump(e, NULL);
		json_decref(e);
		free(out);
	}
	proto_frame_free(&f);
	return 0;
}
