"""Declarations the product is driven by: a project's rules (`rules.yaml`, validated
once into typed objects), the workspace's folders, and the sheet kinds with their
fields and header aliases."""
