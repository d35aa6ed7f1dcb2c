"""The numbers: change, zero base and Poisson significance (``metrics``), CompStat windows (``compstat``),
operational measures (``measures``) and the programme's headline figures (``programme``)."""
