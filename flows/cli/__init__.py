"""`manage.py sluice <verb>`: the `aws appflow` command line, over flows/ and connections/ services.

The management command (flows/management/commands/sluice.py) only parses and dispatches; these
modules hold the pieces: exit codes and errors (`outcome`), option values (`params`), paging
tokens (`paging`), response shapes (`shapes`) and the verbs themselves (`profile_verbs`,
`flow_verbs`). Documented for users in docs/cli.md.
"""
