"""Wire constants of X's web upload protocol shared by the X client and the emulator.

Values come from docs/spec `x-upload-protocol.md` (§1 paths, §2 bearer token, §5 segment limits).
Kept in the core layer, free of imports, so that both adapters can depend on it.
"""

from typing import Final

# The public web-app bearer token every client sends (spec §2), URL-encoded as the clients send it.
# It identifies the web app, not a user: it is not a secret.
PUBLIC_BEARER_TOKEN: Final = (
    "AAAAAAAAAAAAAAAAAAAAANRILgAAAAAAnNwIzUejRCOuH5E6I8xnZz4puTs%3D"
    "1Zv7ttfk8LF81IUq16cHjhLTvJu4FA33AGWWjCpTnA"
)

UPLOAD_PATH: Final = "/i/media/upload.json"
METADATA_PATH: Final = "/i/api/1.1/media/metadata/create.json"

# Documented v1.1 limits (spec §5.1/§5.2): chunks of at most 5 MiB, segment_index 0..999.
MAX_SEGMENT_BYTES: Final = 5 * 1024 * 1024
MAX_SEGMENT_INDEX: Final = 999
