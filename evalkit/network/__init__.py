"""Service-integration networks between organisations at each site and wave."""
