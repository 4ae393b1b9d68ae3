"""Independent judges that the tests use to check what the components generate."""
