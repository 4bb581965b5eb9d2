"""The grpc.aio server: options and servicer registration."""

from __future__ import annotations

from typing import Final

import grpc

from mediagate.transport.grpc.streams import MAX_CHUNK_BYTES
from mediagate.transport.grpc.upload_servicer import UploadServicer
from mediagate.v1 import upload_service_pb2_grpc as pb_grpc

__all__ = ["MAX_MESSAGE_BYTES", "build_server"]

# Just above the largest chunk: room for the message framing and a spec in the same message.
MAX_MESSAGE_BYTES: Final = MAX_CHUNK_BYTES + 64 * 1024


def build_server(upload: UploadServicer) -> grpc.aio.Server:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ]
    )
    pb_grpc.add_MediaUploadServiceServicer_to_server(upload, server)
    return server
