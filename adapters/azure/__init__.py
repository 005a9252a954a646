"""Adapters on Microsoft Azure: Key Vault through `azure-identity` and `azure-keyvault-secrets`.

Importing this package imports no Azure SDK module: the SDK is imported when an adapter first
talks to Azure, so the container and hosts without Azure installed can import it.
"""
