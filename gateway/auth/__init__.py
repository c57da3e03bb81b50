"""Who is calling: the credentials the gateway accepts and how each becomes a ``Principal``.

``credentials`` reads the request's headers, ``keys`` checks an API key against the database (hashed,
off the event loop, cached briefly), ``oidc`` validates an OpenID Connect JWT against its issuer's key set,
``openapi`` documents all of it. The ``auth`` policy (``gateway.policies.auth``) puts them together.
"""
