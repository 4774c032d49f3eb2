"""The Inkwell AWS CDK app: ``app.py`` is the entry point, ``inkwell_infra`` the constructs."""
