"""The media types the sandbox reads and writes, spelled out here rather than taken from glcr:
a test double that shared glcr's constants would agree with glcr's typos instead of catching them.
"""

MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MEDIA_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
INDEX_MEDIA_TYPES = frozenset({MEDIA_DOCKER_LIST, MEDIA_OCI_INDEX})
# What a registry client accepts when it reads a manifest: every kind the sandbox pushes.
MANIFEST_MEDIA_TYPES = (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST, MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST)
