import pytest

from glcr.policy.repository_delete import repository_delete_warnings


@pytest.mark.parametrize(
    "gitlab_api, tags, protected, expected",
    [
        (True, 50_000, {}, []),  # GitLab's registry: pages of 1,000, no sample: it finishes
        (False, 2000, {}, []),  # 10 passes of 200 just cover it
        (False, 2001, {}, ["at most 200 a pass"]),
        (None, 99_999, {}, []),  # mode unknown: no guess
        (True, 3, {"v1": "^v"}, ["1 tag(s) are protected (v1)"]),
        (False, 5000, {f"v{i}": "^v" for i in range(7)}, ["7 tag(s) are protected (v0, v1, v2, v3, v4 and 2 more)",
                                                         "5000 tags"]),
    ],
)
def test_when_gitlabs_delete_worker_cannot_finish(gitlab_api, tags, protected, expected):
    got = repository_delete_warnings(gitlab_api=gitlab_api, tags_count=tags, protected=protected)
    assert len(got) == len(expected)
    for text, part in zip(got, expected):
        assert part in text and "delete_failed" in text
