"""The documented API as code: the request bodies the checks send (payloads.py) and the
response schemas of openapi/apexapi.yaml (schemas.py).

May import: nothing of the suite.
"""
