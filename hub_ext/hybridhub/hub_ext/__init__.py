"""hybridhub's hub side: the demo, login glue, culler and cost services, admin pages."""
