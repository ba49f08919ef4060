"""The flow wizard: five steps that build the same AppFlow-shaped document import and the CLI
accept, saved as a FlowDraft after each valid step. See docs/wizard.md."""
