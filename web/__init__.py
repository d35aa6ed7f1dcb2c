"""The Flask side: the login gate, headers and the principal (``gate``), the admin pages (``admin``,
``admin_intake``), the downloads (``downloads``), answers to malformed requests (``errors``) and the checks of
every value a request carries (``inputs``). Templates in ``templates/``."""
