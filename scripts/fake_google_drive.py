"""Drive in the fake Google (fake_google.py): about.get with `fields=user`, as the Drive probe
calls it with a user's access token. The errors are Drive's (with "status").
"""

import hashlib

from fake_google_base import AUTH, google_error, route

DRIVE_SCOPES = {AUTH + s for s in ("drive", "drive.readonly", "drive.file", "drive.appdata",
                                   "drive.metadata", "drive.metadata.readonly",
                                   "drive.photos.readonly")}


def about(h, _match, query, _body):
    """GET /drive/v3/about?fields=user: the token's user."""
    info = h.api_auth("drive", None, with_status=True)
    if info is None:
        return
    if not info["scopes"] & DRIVE_SCOPES:
        msg = "Request had insufficient authentication scopes."
        return h.send_json(403, google_error(403, msg, "insufficientPermissions",
                                             "PERMISSION_DENIED",
                                             item_message="Insufficient Permission: " + msg))
    if "fields" not in query:
        msg = "The 'fields' parameter is required for this method."
        return h.send_json(400, google_error(400, msg, "required",
                                             location=("parameter", "fields")))
    email = info["principal"]
    user = {"kind": "drive#user", "displayName": email.split("@")[0], "me": True,
            "permissionId": str(int(hashlib.sha256(email.encode()).hexdigest(), 16))[:20],
            "emailAddress": email}
    h.send_selected(query, {"kind": "drive#about", "user": user}, with_status=True)


ROUTES = [
    route("GET", r"/drive/v3/about", about),
]
