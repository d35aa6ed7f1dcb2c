"""Who may see what: roles and the principal (``roles``), user accounts and device tokens (``accounts``), the
audit log (``audit``) and personal-data masking (``masking``). Imports only ``data.core``."""
