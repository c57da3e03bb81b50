"""``DirectRoute``: an ``APIRoute`` that calls a ``(request) -> Response`` endpoint directly.

The gateway's hot endpoints read their body themselves (see ``gateway.api.body``) and return a finished
``Response``, so FastAPI's per-request work for them (resolving dependencies, looking for query and body
parameters, serialising a return value) does nothing but cost time. Such an endpoint is served straight
from the ``Request``; the route stays an ``APIRoute``, so it is documented in the OpenAPI document like any
other. Endpoints with other parameters (path parameters, say) keep FastAPI's handler.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class DirectRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        endpoint = self.endpoint
        if not inspect.iscoroutinefunction(endpoint):
            return super().get_route_handler()
        parameters = list(inspect.signature(endpoint).parameters.values())
        if not parameters:

            async def without_request(_: Request) -> Response:
                response: Response = await endpoint()
                return response

            return without_request
        if len(parameters) == 1 and parameters[0].annotation in (Request, "Request"):
            return endpoint
        return super().get_route_handler()
