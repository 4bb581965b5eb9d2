"""The OneBot v11 HTTP facade: get_image, get_record, can_send_image, can_send_record.

A thin aiohttp transport over the same MediaQueryService as the gRPC servicer: it parses
parameters, checks the access token, calls the core and wraps the answer in OneBot's envelope.
"""

from mediagate.transport.onebot.server import OneBotServer

__all__ = ["OneBotServer"]
