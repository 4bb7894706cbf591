"""The API's routes, one router per resource, included by `create_app` under /v1."""
