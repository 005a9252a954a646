"""Value types of the domain: configuration, runs, manifests, policies."""
