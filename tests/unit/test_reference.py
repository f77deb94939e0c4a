import pytest

from glcr.errors import InvalidInputError
from glcr.reference import project_candidates, short_digest
from glcr.reference import name_problems, parse_image_ref


@pytest.mark.parametrize("text,path,host,tag", [
    ("group/project", "group/project", None, None),
    ("group/project/image:v1", "group/project/image", None, "v1"),
    ("registry.example.com/group/project/image:rc1", "group/project/image", "registry.example.com", "rc1"),
    ("127.0.0.1:5000/a/b:latest", "a/b", "127.0.0.1:5000", "latest"),
    ("localhost/a/b", "a/b", "localhost", None),
    ("gitlab.example.com:5050/g/p", "g/p", "gitlab.example.com:5050", None),
])
def test_parse_image_ref(text, path, host, tag):
    ref = parse_image_ref(text)
    assert (ref.path, ref.host, ref.tag) == (path, host, tag)


@pytest.mark.parametrize("text", ["", "a/b:-bad", "a/b@sha256:xyz", "a/b:" + "x" * 129])
def test_parse_image_ref_rejects(text):
    with pytest.raises(InvalidInputError):
        parse_image_ref(text)


def test_project_candidates_follow_gitlabs_three_levels():
    assert project_candidates("g/p") == ["g/p"]
    assert project_candidates("g/sub/p/img/x") == ["g/sub/p/img/x", "g/sub/p/img", "g/sub/p"]


@pytest.mark.parametrize("path,project,fragment", [
    ("mygroup_/proj", None, None),
    ("_group/proj", None, "underscore"),
    ("group/proj-", None, "hyphen"),
    ("Group/Proj", None, "lower case"),
    ("g/p/a/b/c", "g/p", "3 levels"),
    ("other/x", "g/p", "not under"),
])
def test_name_problems(path, project, fragment):
    problems = name_problems(path, project)
    if fragment is None:
        assert problems  # trailing underscore is invalid by the path regex
    else:
        assert any(fragment in p for p in problems), problems


def test_valid_names_have_no_problems():
    assert name_problems("group/project/image", "group/project") == []
    assert name_problems("a.b/c__d/e---f") == []


@pytest.mark.parametrize(
    ("digest", "short"),
    [("sha256:" + "ab" * 32, "abababababab"), ("sha256:abc", "abc"), (None, "-"), ("", "-")],
)
def test_short_digest(digest, short):
    assert short_digest(digest) == short
