"""What the commands call: one function per command, taking the command's Session (or, for
GitLab's single resources read through python-gitlab, its Credentials) and returning frozen
dataclasses. A confirmation is a callback the function calls before it changes anything."""
