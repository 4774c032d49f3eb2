"""The tests' token signing keys: a key set of their own, as the local platform makes one."""

from __future__ import annotations

import json

from inkwell import jwk

TEST_KEY_SET = jwk.new_key_set("test-1")
PRIVATE_KEYS = json.dumps(TEST_KEY_SET)
PUBLIC_KEYS = jwk.public_key_set(TEST_KEY_SET)
