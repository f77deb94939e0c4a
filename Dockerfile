# glcr in a small image, for CI jobs (see `glcr ci-template`) and for trying it without Python.
#
#   docker build -t registry.example.com/tools/glcr:0.1.0 .
#   docker run --rm -e GITLAB_URL -e GITLAB_TOKEN registry.example.com/tools/glcr:0.1.0 glcr doctor mygroup/app
#
# Two stages: the first builds and installs glcr (pip compiles the .pyc files there, so the
# image starts as fast as a local install); the second copies only the installed result.
# Every dependency ships manylinux wheels (google-re2, cryptography), so no compiler is needed.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY glcr ./glcr
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore --prefix=/install .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="glcr" \
      org.opencontainers.image.description="Operate a GitLab Container Registry: list, plan, clean up, migrate."
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /install /usr/local
COPY completions/glcr.bash /usr/share/bash-completion/completions/glcr
# Not root: glcr needs no privileges, and a CI job's files stay owned by an ordinary user.
RUN useradd --create-home --uid 10001 glcr
USER glcr
WORKDIR /home/glcr
# No ENTRYPOINT: GitLab Runner starts a shell in the image to run the job's `script:` lines.
CMD ["glcr", "--help"]
