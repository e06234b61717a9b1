"""The management REST API under /api/v1/ (DRF): thin views over tenants.services and tenants.selectors.

Every view decodes with a serializer, makes one service or selector call, and encodes.
The organization in the URL is resolved first, at the edge (base.OrganizationScopedApi),
so a non-member gets 404 before anything else is looked at.
"""
