"""Cloud Storage in the fake Google (fake_google.py): the JSON API's buckets.get and
buckets.list, as the GCS probe calls them (`fields=name`; `project=P&maxResults=1&
fields=items/name`). The bucket ce-probe of project ce-project is the only one; the errors are
GCS's (no "status").
"""

import time
import urllib.parse

from fake_google_base import AUTH, BUCKET, PROJECT, PROJECT_NUMBER, google_error, route

GCS_SCOPES = {AUTH + s for s in ("cloud-platform", "cloud-platform.read-only",
                                 "devstorage.read_only", "devstorage.read_write",
                                 "devstorage.full_control")}
BUCKET_TARGET = "Google Cloud Storage bucket"   # what buckets.get's refusals name
PROJECT_TARGET = "Google Cloud project"          # what buckets.list's refusals name


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def bucket_resource(st):
    created = rfc3339(st.started)
    return {
        "kind": "storage#bucket",
        "selfLink": st.base_url + "/storage/v1/b/" + BUCKET,
        "id": BUCKET,
        "name": BUCKET,
        "projectNumber": PROJECT_NUMBER,
        "generation": "1764412800000000",
        "metageneration": "1",
        "location": "US",
        "storageClass": "STANDARD",
        "etag": "CAE=",
        "timeCreated": created,
        "updated": created,
        "softDeletePolicy": {"retentionDurationSeconds": "604800", "effectiveTime": created},
        "iamConfiguration": {"bucketPolicyOnly": {"enabled": True},
                             "uniformBucketLevelAccess": {"enabled": True},
                             "publicAccessPrevention": "inherited"},
        "locationType": "multi-region",
        "rpo": "DEFAULT",
    }


def no_access(who, permission, target):
    """GCS's text for a caller without storage.buckets.PERMISSION on the target."""
    return ("%s does not have storage.buckets.%s access to the %s. Permission "
            "'storage.buckets.%s' denied on resource (or it may not exist)."
            % (who, permission, target, permission))


def caller(h, permission, target):
    """The caller's token info when it may call GCS at all; None after answering 401 or 403."""
    info = h.api_auth("gcs", no_access("Anonymous caller", permission, target), with_status=False)
    if info is not None and not info["scopes"] & GCS_SCOPES:
        h.send_json(403, google_error(403, "Provided scope(s) are not authorized", "forbidden"))
        return None
    return info


def bucket_get(h, match, query, _body):
    """GET /storage/v1/b/{bucket}: 404 for any other bucket, 403 without rights on ce-probe."""
    info = caller(h, "get", BUCKET_TARGET)
    if info is None:
        return
    if urllib.parse.unquote(match.group(1)) != BUCKET:
        return h.send_json(404, google_error(404, "The specified bucket does not exist.",
                                             "notFound"))
    if not h.has_access(info):
        return h.send_json(403, google_error(
            403, no_access(info["principal"], "get", BUCKET_TARGET), "forbidden"))
    h.send_selected(query, bucket_resource(h.st), with_status=False)


def bucket_list(h, _match, query, _body):
    """GET /storage/v1/b?project=P: 400 without a project, 403 for another project or without
    rights."""
    info = caller(h, "list", PROJECT_TARGET)
    if info is None:
        return
    project = query.get("project", "")
    if not project:
        return h.send_json(400, google_error(400, "Required parameter: project", "required",
                                             location=("parameter", "project")))
    if project not in (PROJECT, PROJECT_NUMBER) or not h.has_access(info):
        return h.send_json(403, google_error(
            403, no_access(info["principal"], "list", PROJECT_TARGET), "forbidden"))
    h.send_selected(query, {"kind": "storage#buckets", "items": [bucket_resource(h.st)]},
                    with_status=False)


ROUTES = [
    route("GET", r"/storage/v1/b", bucket_list),
    route("GET", r"/storage/v1/b/([^/]+)/?", bucket_get),
]
