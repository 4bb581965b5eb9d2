"""mediagate_client: x-api-rs's upload API (and the OneBot media queries) over a mediagate
gateway. `from mediagate_client import Twitter` replaces `from x_api_rs import Twitter`;
`mediagate_client.upload` replaces `x_api_rs.upload`. See docs/migrating-from-x-api-rs.md."""

from mediagate_client.errors import InvalidArgumentError, MediagateError
from mediagate_client.media import ImageInfo, MediaClient, RecordInfo
from mediagate_client.twitter import Twitter
from mediagate_client.types import (
    MEDIA_CATEGORIES,
    BatchUploadResult,
    ClientProfile,
    MediaMetadata,
    ProcessingError,
    ProcessingInfo,
    ProcessingState,
    SensitiveCategory,
    UploadOptions,
    UploadProgress,
    UploadResult,
)
from mediagate_client.upload import DEFAULT_TARGET, UploadClient

__all__ = [
    "DEFAULT_TARGET",
    "MEDIA_CATEGORIES",
    "BatchUploadResult",
    "ClientProfile",
    "ImageInfo",
    "InvalidArgumentError",
    "MediaClient",
    "MediaMetadata",
    "MediagateError",
    "ProcessingError",
    "ProcessingInfo",
    "ProcessingState",
    "RecordInfo",
    "SensitiveCategory",
    "Twitter",
    "UploadClient",
    "UploadOptions",
    "UploadProgress",
    "UploadResult",
]
