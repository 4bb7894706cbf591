"""The site's transport to its region: the hub's HTTP client, its errors, document files."""
