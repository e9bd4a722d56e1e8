#!/bin/sh
# The script host's edges (docs/architecture.md): core/lua/ reaches the chat
# layer only through chat/chat_script.h and chat/chat_bot_post.h, and never
# includes the layers above it (api, app). Prints each include that breaks
# this; exits 1 if there is one.
root=${1:-$(dirname "$0")/..}
bad=$(grep -Hn '#include "\(chat\|api\|app\)/' "$root"/core/lua/*.c "$root"/core/lua/*.h |
	grep -v '"chat/chat_script.h"\|"chat/chat_bot_post.h"')
if [ -n "$bad" ]; then
	echo "core/lua/ includes past its edge (use chat/chat_script.h):"
	echo "$bad"
	exit 1
fi
echo "core/lua/ includes only chat/chat_script.h and chat/chat_bot_post.h of the layers above base, net and host"
