"""A district (Landkreis) and its towns: what the district may see of them."""
