"""What each screen shows, computed from the layers below: the cockpit's numbers, the wall, the geography,
the review, the enterprise profile, the report, the live feed and the admin pages' import runs."""
