"""The protocol rules: the catalogue as data (``catalog``), the check functions by area
(``checks``) and the pure engine that applies them to streams (``engine``)."""
